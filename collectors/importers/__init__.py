"""Importers: read a platform's export, an archive or the generic CSV into one `Batch`.

Each is registered under the entry-point group `twoway.importers` and run by
`twoway import PATH --source ID [--format NAME]` (SPEC §6); the protocol is in `base`.
"""
