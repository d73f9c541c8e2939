"""Crashes and concurrency: a killed collector loses at most its poll; readers always see whole polls."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import write_config
from tests.replay import ReplayServer, Reply, Request, replay_server

NOW = "2026-06-30T12:00:00Z"
ENTRIES = 120
COMMENTS = 6


def _feed(server: ReplayServer) -> str:
    items = []
    for n in range(ENTRIES):
        day = 1 + n % 28
        items.append(
            f"<item><title>Post {n} #SummerReading</title><link>https://lib.example/p/{n}</link>"
            f"<guid>https://lib.example/p/{n}</guid><pubDate>Mon, {day:02d} Jun 2026 10:00:00 GMT</pubDate>"
            f"<category>SummerReading</category><slash:comments>{COMMENTS}</slash:comments>"
            f"<wfw:commentRss>{server.url}/comments/{n}.xml</wfw:commentRss></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
        ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"><channel><title>Library</title>'
        "<link>https://lib.example</link>" + "".join(items) + "</channel></rss>"
    )


def _comments(request: Request) -> Reply:
    n = int(request.path.rsplit("/", 1)[1].split(".")[0])
    day = 1 + n % 28
    entries = "".join(
        f"<entry><id>tag:lib.example,2026:c-{n}-{k}</id><title>c</title><author><name>{'Library' if k % 3 == 2 else f'patron{k}'}</name></author>"
        f"<updated>2026-06-{day:02d}T1{k}:00:00Z</updated>"
        f'<thr:in-reply-to ref="{f"tag:lib.example,2026:c-{n}-{k - 1}" if k % 3 == 2 else f"https://lib.example/p/{n}"}"/>'
        f"<content>Comment {k}</content></entry>"
        for k in range(COMMENTS)
    )
    body = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">'
        f"<title>Comments</title>{entries}</feed>"
    )
    return Reply(200, body.encode(), {"Content-Type": "application/atom+xml"})


@pytest.fixture
def feed_server() -> Iterator[ReplayServer]:
    with replay_server() as server:
        server.route(
            "GET", "/feed.xml", lambda r: Reply(200, _feed(server).encode(), {"Content-Type": "application/rss+xml"})
        )
        server.route("GET", "/comments/*", _comments)
        yield server


def _config(tmp: Path, server: ReplayServer, interval: str = "5m") -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    return write_config(
        tmp,
        f'[[sources]]\nid = "blog"\nplatform = "rss"\nurl = "{server.url}/feed.xml"\ninterval = "{interval}"\n',
        '[[goals]]\nname = "Summer"\nhashtags = ["SummerReading"]\nwindow = "90d"\n',
        organization='also = ["rss:Library"]',
    )


def _twoway(config: Path, *args: str, capture: bool = False, now: str | None = NOW) -> subprocess.Popen[str]:
    env = {**os.environ, "TWOWAY_NOW": now} if now else {k: v for k, v in os.environ.items() if k != "TWOWAY_NOW"}
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "twoway", "--config", str(config), *args],
        env=env,
        stdout=output,
        stderr=output,
        text=True,
    )


def _snapshot(config: Path) -> dict[str, Any]:
    process = _twoway(config, "snapshot", "--no-poll", "--format", "json", capture=True)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def _metrics(report: dict[str, Any]) -> dict[str, Any]:
    metrics: dict[str, Any] = report["goals"][0]["metrics"]
    return metrics


def test_a_collector_killed_at_random_moments_loses_at_most_its_poll(tmp_path: Path, feed_server: ReplayServer) -> None:
    clean = _config(tmp_path / "clean", feed_server)
    assert _twoway(clean, "collect", "--once").wait(timeout=120) == 0
    started = time.monotonic()
    _twoway(clean, "collect", "--once").wait(timeout=120)
    one_poll = time.monotonic() - started
    expected = _metrics(_snapshot(clean))
    assert expected["broadcast"] == ENTRIES and expected["replies"] > 0 and expected["responses"] > 0

    killed = _config(tmp_path / "killed", feed_server)
    rng = random.Random(20261126)
    for _ in range(20):
        process = _twoway(killed, "collect", "--once")
        time.sleep(rng.uniform(0.05, one_poll))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    with sqlite3.connect(tmp_path / "killed" / "store.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert _twoway(killed, "collect", "--once").wait(timeout=120) == 0
    assert _metrics(_snapshot(killed)) == expected


def test_snapshots_while_collect_writes_see_whole_polls(tmp_path: Path, feed_server: ReplayServer) -> None:
    config = _config(tmp_path, feed_server, interval="1s")
    assert _twoway(config, "collect", "--once", now=None).wait(timeout=120) == 0
    writer = _twoway(config, "collect", now=None)  # the daemon, on the real clock: a poll every second
    polls = len(feed_server.requests("/feed.xml"))
    try:
        for _ in range(25):
            # on the real clock too: the polls' data begins then (SPEC §3 coverage)
            readers = [
                _twoway(config, "snapshot", "--no-poll", "--format", "json", capture=True, now=None) for _ in range(2)
            ]
            for reader in readers:
                out, err = reader.communicate(timeout=60)
                assert reader.returncode == 0, err
                m = _metrics(json.loads(out))
                assert m["community_messages"] == (m["replies"] or 0) + (m["mentions"] or 0)
                assert m["two_way"] == m["community_messages"] + (m["responses"] or 0)
                assert m["answered"] <= m["community_messages"] and m["voices"] <= m["community_messages"]
        assert len(feed_server.requests("/feed.xml")) >= polls + 2  # it polled (and wrote) meanwhile
    finally:
        writer.send_signal(signal.SIGTERM)
        assert writer.wait(timeout=60) == 0  # stopped by a signal: exit 0
