"""The store: SQLite in WAL mode, or a shared PostgreSQL schema; written by collectors, read by metrics.

`database` holds every SQL statement but the alert ledger's (`alert_ledger`); `schema`
the tables and migrations; `dialect` where SQLite and PostgreSQL differ, and `postgres`
how PostgreSQL is reached; `derive` and `packing` the pure-Python steps between the
posts collectors saw and the columns metrics count.
"""

from twoway.store.alert_ledger import AlertDelivery, AlertLedger, ChannelDeliveries, Due, Firing, LedgerAlert
from twoway.store.configured import store_location, store_policy
from twoway.store.database import DoneMark, ImportRecord, SourceState, Store, StorePolicy, default_path
from twoway.store.packing import MATCH_SEPARATOR, PAGE_COUNTS, RECORD_SEPARATOR, Page, unpack, voice
from twoway.store.postgres import PgTarget
from twoway.store.schema import SCHEMA_VERSION

__all__ = [
    "AlertDelivery",
    "AlertLedger",
    "ChannelDeliveries",
    "Due",
    "Firing",
    "LedgerAlert",
    "MATCH_SEPARATOR",
    "PAGE_COUNTS",
    "RECORD_SEPARATOR",
    "SCHEMA_VERSION",
    "DoneMark",
    "ImportRecord",
    "Page",
    "PgTarget",
    "SourceState",
    "Store",
    "StorePolicy",
    "default_path",
    "store_location",
    "store_policy",
    "unpack",
    "voice",
]
