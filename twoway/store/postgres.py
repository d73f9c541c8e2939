"""Reaching a PostgreSQL store (SPEC §11): psycopg 3 behind the calls the store makes on sqlite3.

The store's SQL is the same on both (see `dialect`); this module connects, points
`search_path` at the organization's schema alone, and turns the driver's failures into
one-line `StoreError`s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from twoway.errors import StoreError
from twoway.store.dialect import Postgres, quoted

if TYPE_CHECKING:
    import psycopg

__all__ = ["PgConnection", "PgTarget", "connect", "failures"]

_BUSY_MS = 30_000
"""Once open, how long a write waits for another process's write transaction."""


class PgTarget(NamedTuple):
    """A PostgreSQL store: the URL (never with a password), the schema, the password if configured."""

    url: str
    schema: str | None = None
    password: str | None = None
    unset: str | None = None
    """Where a configured password should have come from, when it was not there (`env NAME`)."""

    def __str__(self) -> str:
        return f"{self.url} (schema {self.schema})" if self.schema else self.url


@lru_cache(maxsize=2048)
def _placeholders(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def _text(params: Sequence[Any]) -> tuple[Any, ...]:
    """PostgreSQL text holds no NUL; twoway shows none anyway (C0 controls are removed, SPEC §8)."""
    return tuple(p.replace("\x00", "") if isinstance(p, str) and "\x00" in p else p for p in params)


class PgConnection:
    """psycopg's connection as the store uses sqlite3's: `?` placeholders, `execute`, `executemany`.

    Autocommit, so the store's own `BEGIN` ... `COMMIT` are the transactions, as on SQLite.
    """

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[tuple[Any, ...]]:
        return self.raw.execute(_placeholders(sql), _text(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(_placeholders(sql), [_text(row) for row in parameters])

    def close(self) -> None:
        self.raw.close()


def _line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def connect(target: PgTarget, timeout: float) -> tuple[PgConnection, Postgres]:
    """A connection whose `search_path` is the store's schema alone (it may not exist yet)."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            f"{target}: a PostgreSQL store needs psycopg: pip install 'twoway[postgres]'"
        ) from None
    if target.unset is not None:
        raise StoreError(f"{target}: [dashboard] password: {target.unset} is not set")
    given: dict[str, Any] = {"connect_timeout": max(2, round(timeout))}  # libpq's least is 2 s
    if target.password is not None:
        given["password"] = target.password
    try:
        raw = psycopg.connect(target.url, autocommit=True, **given)
    except psycopg.Error as e:
        raise StoreError(f"{target}: cannot connect: {_line(e)}") from None
    conn = PgConnection(raw)
    try:
        schema = target.schema or conn.execute("SELECT current_schema()").fetchall()[0][0]
        if schema is None:
            raise StoreError(f"{target}: no schema in the role's search_path: set [dashboard] schema")
        conn.execute(f"SET search_path TO {quoted(schema)}")
        conn.execute(f"SET lock_timeout = {_BUSY_MS}")
    except psycopg.Error as e:
        raw.close()
        raise StoreError(f"{target}: cannot open the store: {_line(e)}") from None
    except BaseException:
        raw.close()
        raise
    return conn, Postgres(schema)


@contextmanager
def failures(target: PgTarget, timeout: float, conn: PgConnection, doing: str) -> Iterator[None]:
    """The driver's errors while opening as one line; the connection closed on any failure."""
    import psycopg

    try:
        yield
    except psycopg.errors.LockNotAvailable:
        conn.close()
        raise StoreError(
            f"{target}: another twoway is creating or upgrading the store and did not finish"
            f" within {timeout:g} s ([dashboard] timeout): try again"
        ) from None
    except psycopg.errors.InsufficientPrivilege as e:
        conn.close()
        raise StoreError(
            f"{target}: {doing}: this role cannot create or upgrade the store ({_line(e)}):"
            " run `twoway migrate` as the role that owns the schema"
        ) from None
    except psycopg.Error as e:
        conn.close()
        raise StoreError(f"{target}: {doing}: {_line(e)}") from None
    except BaseException:
        conn.close()
        raise
