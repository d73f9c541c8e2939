"""Collect, snapshot, compare every metric: each platform's scenario on SQLite and on PostgreSQL
gives the same JSON, byte for byte once parsed (SPEC §11: the same SQL on both)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.collecting import FakeSleep, snapshot_json, staged
from tests.fakes import Platform, rss, x
from tests.fakes import bluesky as bsky
from tests.fakes import discourse as dsc
from tests.fakes import facebook as fb
from tests.fakes import instagram as ig
from tests.fakes import linkedin as li
from tests.fakes import mastodon as masto
from tests.fakes import pinterest as pin
from tests.fakes import reddit as rd
from tests.fakes import threads as th
from tests.fakes import wordpress as wp
from tests.fakes import youtube as yt
from twoway.collectors.bluesky import BlueskyCollector

SCENARIOS = [
    masto.MASTODON, bsky.BLUESKY, bsky.BLUESKY_PUBLIC, wp.WORDPRESS, rss.RSS, fb.FACEBOOK, ig.INSTAGRAM,
    th.THREADS, x.X, li.LINKEDIN, pin.PINTEREST, yt.YOUTUBE, rd.REDDIT, dsc.DISCOURSE,
]


def _played(platform: Platform[Any], tmp: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The snapshots after the backfill and after a poll an hour on, the fake's address left out
    (each run has a server, and a port, of its own)."""
    BlueskyCollector._sessions.clear()
    tmp.mkdir()
    with staged(platform, tmp, monkeypatch) as stage:
        stage.collect(platform.now)
        first = snapshot_json(stage.config)
        later = platform.now + timedelta(hours=1)
        stage.collect(later)
        seen = json.dumps([first, snapshot_json(stage.config)])
        played: list[dict[str, Any]] = json.loads(seen.replace(stage.server.url, "http://fake"))
        return played


@pytest.mark.parametrize("platform", SCENARIOS, ids=lambda p: f"{p.name}-{p.sid}")
def test_collect_and_snapshot_give_the_same_json_on_sqlite_and_postgresql(
    platform: Platform[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep,
    pg_server: pg.PgServer | str,
) -> None:
    if isinstance(pg_server, str):
        pytest.skip(f"PostgreSQL: {pg_server}")
    monkeypatch.setattr(pg, "current", pg.Backend("sqlite"))
    on_sqlite = _played(platform, tmp_path / "sqlite", monkeypatch)
    monkeypatch.setattr(pg, "current", pg.Backend("postgres", pg_server))
    on_postgres = _played(platform, tmp_path / "postgres", monkeypatch)
    assert any(goal["metrics"]["broadcast"] for goal in on_sqlite[-1]["goals"])  # something was counted
    assert on_postgres == on_sqlite
