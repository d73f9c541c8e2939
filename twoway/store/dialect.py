"""Where SQLite and PostgreSQL differ, said once; every other statement of the store runs on both.

- placeholders: the store writes `?`; PostgreSQL's driver takes `%s` (`PgConnection`);
- column types: the migrations say `INTEGER`, `BLOB` and `WITHOUT ROWID`; PostgreSQL gets
  `BIGINT` (timestamps past 2038), `BYTEA`, a plain table, and text compared byte by byte
  (`COLLATE "C"`, SQLite's order: the same rows in the same order on both);
- the schema version: SQLite's `PRAGMA user_version`, PostgreSQL's `meta` row;
- write transactions: SQLite's `BEGIN IMMEDIATE` (one writer at a time, the others
  queue); PostgreSQL's `BEGIN` and a transaction-level advisory lock per schema, the
  same one writer at a time, migrations included;
- a report: SQLite's deferred `BEGIN`; PostgreSQL's `REPEATABLE READ READ ONLY`.
"""

from __future__ import annotations

import re
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

__all__ = ["POSTGRES_LOCK_CLASS", "SQLITE", "Connection", "Dialect", "Lock", "Postgres", "SQLite", "quoted"]

Lock = Literal["IMMEDIATE", "EXCLUSIVE"]
"""A write transaction's lock: `EXCLUSIVE` migrates, keeping readers out on SQLite too."""

POSTGRES_LOCK_CLASS = 0x7477
"""The first key of twoway's advisory locks ("tw"); the second is the schema's."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the store calls on a connection: sqlite3's, or `PgConnection` around psycopg's."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> object: ...

    def close(self) -> None: ...


class Dialect(Protocol):
    name: str
    missing_table: type[Exception]
    """What a query on a table that does not exist yet raises."""
    read: str
    """The statement that begins a report's one read transaction."""

    def ddl(self, statement: str) -> str:
        """A migration's statement as this database spells it."""
        ...

    def begin(self, lock: Lock, wait_ms: int) -> list[str]:
        """The statements that begin a write transaction; `EXCLUSIVE` waits at most `wait_ms`."""
        ...

    def create_schema(self, conn: Connection) -> None:
        """Within a migration: where the tables go, created when missing."""
        ...

    def version(self, conn: Connection) -> int: ...

    def set_version(self, conn: Connection, version: int) -> None: ...


class SQLite:
    name = "SQLite"
    missing_table: type[Exception] = sqlite3.OperationalError
    read = "BEGIN"

    def ddl(self, statement: str) -> str:
        return statement

    def begin(self, lock: Lock, wait_ms: int) -> list[str]:
        if lock == "EXCLUSIVE":
            return [f"PRAGMA busy_timeout = {max(wait_ms, 1)}", "BEGIN EXCLUSIVE"]
        return ["BEGIN IMMEDIATE"]

    def create_schema(self, conn: Connection) -> None:
        pass  # the file is the schema

    def version(self, conn: Connection) -> int:
        return int(conn.execute("PRAGMA user_version").fetchall()[0][0])

    def set_version(self, conn: Connection, version: int) -> None:
        conn.execute(f"PRAGMA user_version = {int(version)}")


SQLITE = SQLite()

_TYPES = (
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT ROWID\s*$")


def quoted(identifier: str) -> str:
    """A PostgreSQL identifier as SQL (the configuration allows only plain ones; this is for any)."""
    return '"' + identifier.replace('"', '""') + '"'


class Postgres:
    """PostgreSQL, for the tables of one schema (`search_path` names it alone)."""

    name = "PostgreSQL"
    read = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    def __init__(self, schema: str) -> None:
        import psycopg

        self.schema = schema
        self.missing_table: type[Exception] = psycopg.errors.UndefinedTable
        self.lock_key = zlib.crc32(schema.encode()) - 2**31  # an int4, the same in every process

    def ddl(self, statement: str) -> str:
        for pattern, replacement in _TYPES:
            statement = pattern.sub(replacement, statement)
        return _WITHOUT_ROWID.sub(")", statement.rstrip())

    def begin(self, lock: Lock, wait_ms: int) -> list[str]:
        statements = ["BEGIN"]
        if lock == "EXCLUSIVE":
            statements.append(f"SET LOCAL lock_timeout = {max(wait_ms, 1)}")
        return [*statements, f"SELECT pg_advisory_xact_lock({POSTGRES_LOCK_CLASS}, {self.lock_key})"]

    def create_schema(self, conn: Connection) -> None:
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = ?", (self.schema,)).fetchone() is None:
            conn.execute(f"CREATE SCHEMA {quoted(self.schema)}")

    def version(self, conn: Connection) -> int:
        if conn.execute("SELECT to_regclass('meta') IS NULL").fetchone()[0]:
            return 0
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return 0 if row is None else int(row[0])

    def set_version(self, conn: Connection, version: int) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(version),),
        )
