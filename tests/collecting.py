"""Running `twoway collect` and `twoway snapshot` in-process against replay servers,
with a fixed clock and a fake sleep: no test waits on real time. Also one collector's
poll, called directly, for what the command line does not show (budgets, cursors)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import pytest

from tests import pg
from tests.fakes import Platform
from tests.replay import ReplayServer, replay_server
from twoway import plugins
from twoway.cli import main
from twoway.config import Source
from twoway.errors import StoreError
from twoway.model import Batch
from twoway.plugin.http import Http
from twoway.plugin.protocol import Context
from twoway.store import Store

W = TypeVar("W")
REFRESH = 'thread_refresh = "1h"'
"""The scenarios' `[dashboard]` line: a thread nothing points at is read again after an hour."""


class FakeSleep:
    """Records every pause the HTTP layer asks for, and returns at once."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


@pytest.fixture
def fake_sleep(monkeypatch: pytest.MonkeyPatch) -> FakeSleep:
    sleep = FakeSleep()
    monkeypatch.setattr("twoway.plugin.http.wait", sleep)
    return sleep


def write_config(tmp_path: Path, sources: str, goals: str = "", organization: str = "", dashboard: str = "") -> Path:
    """A config with the given `[[sources]]` (and goals, and `[dashboard]` keys) and a store in `tmp_path`."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[organization]\nname = "Test Library"\n{organization}\n'
        f'[dashboard]\n{pg.current.dashboard(tmp_path)}\ntimeout = "2s"\n{dashboard}\n\n{sources}\n{goals}\n',
        encoding="utf-8",
    )
    return config


def run_cli(*args: str) -> tuple[int, str, str]:
    """`twoway ARGS` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def collect_once(config: Path, capsys: pytest.CaptureFixture[str] | None = None) -> tuple[int, str]:
    """`twoway collect --once`: (exit code, what it printed on stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--config", str(config), "collect", "--once"])
    return code, err.getvalue()


def collect(config: Path, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    """`twoway collect --once` at `at` (through `TWOWAY_NOW`), which must succeed silently."""
    monkeypatch.setenv("TWOWAY_NOW", at.isoformat())
    assert collect_once(config) == (0, "")


def goals(config: Path) -> dict[str, dict[str, Any]]:
    """The snapshot's goals by name."""
    return {g["name"]: g for g in snapshot_json(config)["goals"]}


def measured(config: Path) -> dict[str, tuple[Any, Any]]:
    """Each goal's metrics and baseline: what must not move when nothing changed."""
    return {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}


def health(config: Path) -> tuple[str, int | None]:
    """The status and followers of the config's one source, as the snapshot shows them."""
    (source,) = snapshot_json(config)["sources"]
    return source["status"], source["followers"]


def snapshot_json(config: Path) -> dict[str, Any]:
    """`twoway snapshot --no-poll --format json`, parsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(config), "snapshot", "--no-poll", "--format", "json"]) == 0
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


@dataclass
class Stage(Generic[W]):
    """A platform's scenario being played: its world on a running server, and a config reading it."""

    platform: Platform[W]
    world: W
    server: ReplayServer
    config: Path
    monkeypatch: pytest.MonkeyPatch

    def collect(self, at: datetime) -> None:
        """`collect --once` at `at`, with the fake's own clock set to it, which must succeed silently."""
        if self.platform.clock is not None:
            self.platform.clock(self.world, at)
        collect(self.config, self.monkeypatch, at)


@contextmanager
def staged(
    platform: Platform[W], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dashboard: str = REFRESH
) -> Iterator[Stage[W]]:
    """The scenario's world served, its credentials and `TWOWAY_NOW` set, its config written."""
    for name, value in platform.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TWOWAY_NOW", platform.now.isoformat())
    with replay_server() as server:
        world = platform.build(server)
        config = write_config(
            tmp_path, platform.sources(server.url), platform.goals, platform.organization, dashboard
        )
        yield Stage(platform, world, server, config, monkeypatch)


def played(platform: Platform[W], dashboard: str = REFRESH) -> Callable[..., Iterator[Stage[W]]]:
    """A fixture playing `platform`'s scenario afresh for each test that asks for it:
    `world = played(MASTODON)` in a test module, then `def test_...(world: Stage[World])`."""

    @pytest.fixture
    def stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep) -> Iterator[Stage[W]]:
        with staged(platform, tmp_path, monkeypatch, dashboard) as playing:
            yield playing

    return stage


def context(
    platform: str,
    options: Mapping[str, object],
    *,
    sid: str = "src",
    horizon_days: int = 60,
    refresh_hours: int = 6,
    also: tuple[str, ...] = (),
    http: Http | None = None,
) -> Context:
    """What the command line would give a collector of `platform` with these source options."""
    source = Source(sid, platform, 300, dict(options))
    return Context(source, http or Http(httpx.AsyncClient()), horizon_days * 86400, refresh_hours * 3600, also)


def poll(context: Context, now: datetime, cursor: str | None = None) -> Batch:
    """One poll of the source's collector, called directly; its HTTP client is closed after."""
    collector = plugins.load(context.source.platform)
    assert collector is not None, context.source.platform

    async def run() -> Batch:
        try:
            return await collector(context).poll(cursor, now)
        finally:
            await context.http.client.aclose()

    return asyncio.run(run())


def cursor(config: Path, sid: str) -> dict[str, Any]:
    """What the store remembers for a source between cycles (its cursor), `{}` before the first."""
    try:
        store = Store.open_readonly(pg.current.location(config.parent))
    except StoreError:  # no store yet
        return {}
    with contextlib.closing(store):
        row = store.cursor(sid)
    remembered: dict[str, Any] = json.loads(row) if row else {}
    return remembered
