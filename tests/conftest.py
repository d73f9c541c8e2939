"""Shared fixtures. Tests never touch the network and never wait on real time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests import pg

if TYPE_CHECKING:
    from twoway.store import PgTarget
    from twoway.store.dialect import Postgres
    from twoway.store.postgres import PgConnection

# Textual drops colour under NO_COLOR, which would change every SVG snapshot.
os.environ.pop("NO_COLOR", None)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's own config, store or credentials."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.delenv("TWOWAY_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the network: any connection beyond 127.0.0.0/8 and ::1 fails loudly."""
    import ipaddress
    import socket

    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                allowed = ipaddress.ip_address(host).is_loopback
            except ValueError:
                allowed = host == "localhost"
            if not allowed:
                raise OSError(f"test tried to reach {host}: tests stay on 127.0.0.1")
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer | str]:
    """The session's PostgreSQL server (tests/pg.py), or why there is none."""
    yield from pg.postgres_server()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[pg.Backend]:
    """The test once on SQLite and once on PostgreSQL: `Scenario` and `write_config` store there.

    A test's stores are left open as SQLite's may be; PostgreSQL's connections are closed after it."""
    chosen = pg.Backend("sqlite")
    opened: list[PgConnection] = []
    if request.param == "postgres":
        server = request.getfixturevalue("pg_server")
        if isinstance(server, str):
            pytest.skip(f"PostgreSQL: {server}")
        chosen = pg.Backend("postgres", server)
        from twoway.store import postgres

        def connect(target: PgTarget, timeout: float) -> tuple[PgConnection, Postgres]:
            conn, dialect = real(target, timeout)
            opened.append(conn)
            return conn, dialect

        real = postgres.connect
        monkeypatch.setattr(postgres, "connect", connect)
    monkeypatch.setattr(pg, "current", chosen)
    yield chosen
    for conn in opened:
        conn.close()


# -- the real servers' share of the run (tests/real/), said at the end so CI's log shows it --

_real_server_runs: dict[str, list[float]] = {}
"""Outcome → durations (setup, call and teardown) of the `real_server` tests."""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "real_server" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome in ("skipped", "failed")):
        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        _real_server_runs.setdefault(outcome, []).append(report.duration)
    _real_server_runs.setdefault("_seconds", []).append(report.duration)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    seconds = sum(_real_server_runs.pop("_seconds", []))
    if not _real_server_runs:
        return
    counts = ", ".join(f"{len(runs)} {outcome}" for outcome, runs in sorted(_real_server_runs.items()))
    terminalreporter.write_line(f"real servers (tests/real, -m real_server): {counts} in {seconds:.1f} s, setup included")
