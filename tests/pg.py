"""A PostgreSQL server of the tests' own, and the store tests' two backends.

The server is Debian's PostgreSQL (`apt-get install postgresql`), started once per test
session: `initdb` in a temp dir, its unix socket there and 127.0.0.1 on a free port,
nothing durable (fsync off). `initdb` and `pg_ctl` refuse root, so as root they run as
the `postgres` user. Each test gets a schema of its own in the one database, as each
organization of a consortium does (SPEC §11).

Where PostgreSQL cannot start, its half of each parametrized test skips with the one
reason why; with `TWOWAY_REQUIRE_POSTGRES=1` (CI, once it installed the package) that
is a failure instead, so CI never passes without having run them.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from twoway.store import PgTarget

__all__ = ["Backend", "PgServer", "current", "postgres_server"]

USER = "postgres"
DATABASE = "twoway"


class PgServer(NamedTuple):
    socket_dir: Path
    port: int

    def url(self, user: str = USER) -> str:
        """A unix-socket URL: no password, no TLS."""
        return f"postgresql://{user}@/{DATABASE}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, user: str) -> str:
        """Over 127.0.0.1, where roles log in with their passwords."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{DATABASE}"

    def psql(self, sql: str) -> None:
        """Run `sql` as the superuser (roles, grants)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.encode())


class Backend(NamedTuple):
    """Where a test's store lives: a SQLite file in its temp dir, or a schema of its own."""

    name: str
    server: PgServer | None = None

    def location(self, tmp: Path) -> Path | PgTarget:
        if self.server is None:
            return tmp / "store.db"
        return PgTarget(self.server.url(), schema_for(tmp))

    def dashboard(self, tmp: Path) -> str:
        """The `[dashboard]` lines that name this store in a config."""
        where = self.location(tmp)
        if isinstance(where, PgTarget):
            return f'database = "{where.url}"\nschema = "{where.schema}"'
        return f'database = "{where}"'

    @property
    def read_only_error(self) -> type[Exception]:
        """What a write on a read-only store raises."""
        if self.server is None:
            import sqlite3

            return sqlite3.OperationalError
        import psycopg

        return psycopg.errors.ReadOnlySqlTransaction


current = Backend("sqlite")
"""The backend of the test running: SQLite unless it asked for the `backend` fixture, which
sets this for `tests.scenario.Scenario` and `tests.collecting.write_config`."""


def schema_for(tmp: Path) -> str:
    """A schema per temp dir: the same dir is the same store, as one SQLite file is."""
    return "t_" + hashlib.sha256(str(tmp).encode()).hexdigest()[:20]


def _binaries() -> Path | None:
    """The folder of `initdb` and `pg_ctl`: Debian's /usr/lib/postgresql/N/bin, newest first."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    return next((Path(f) for f in folders if (Path(f) / "initdb").exists()), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(base: Path) -> tuple[PgServer | None, str]:
    """The server, or why it cannot start."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed (pip install -e '.[postgres]')"
    binaries = _binaries()
    if binaries is None:
        return None, "PostgreSQL is not installed (apt-get install postgresql): no initdb"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb and pg_ctl refuse root
        if shutil.which("runuser") is None:
            return None, "running as root without runuser: initdb cannot run as the postgres user"
        as_user = ["runuser", "-u", USER, "--"]
        shutil.chown(base, USER)
    base.chmod(0o755)
    data, port = base / "data", _free_port()
    steps = [
        [str(binaries / "initdb"), "-D", str(data), "-U", USER, "-E", "UTF8", "--locale=C",
         "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"],
        [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60", "-o",
         f"-k {base} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
         " -c full_page_writes=off -c max_connections=200", "start"],
    ]
    for step in steps:
        done = subprocess.run([*as_user, *step], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
            said = " ".join((done.stderr + log).split())[-300:]
            return None, f"PostgreSQL did not start ({Path(step[0]).name} exit {done.returncode}): {said}"
    server = PgServer(base, port)
    import psycopg

    with psycopg.connect(f"postgresql://{USER}@/postgres?host={base}&port={port}", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}".encode())
    return server, ""


def _stop(base: Path) -> None:
    binaries = _binaries()
    as_user = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
    if binaries is not None and (base / "data" / "postmaster.pid").exists():
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
    shutil.rmtree(base, ignore_errors=True)


def postgres_server() -> Iterator[PgServer | str]:
    """The session's server, or the reason it has none (a session fixture's body)."""
    base = Path(tempfile.mkdtemp(prefix="twoway-pg-"))  # not under pytest's 0700 tmp: postgres must reach it
    try:
        server, reason = _start(base)
        if server is None and os.environ.get("TWOWAY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"TWOWAY_REQUIRE_POSTGRES=1, but {reason}", pytrace=False)
        yield server if server is not None else reason
    finally:
        _stop(base)
