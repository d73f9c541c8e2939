"""Alerts (SPEC §9): nobody waits unseen.

`model` holds the configuration and digest types every part shares; evaluation reads
the report and the store's alert ledger, and channels deliver digests.
"""
