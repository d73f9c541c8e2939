"""`twoway collect --once` across sources: one source's failure never touches another.
Every test on SQLite and on PostgreSQL (`backend`, tests/pg.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timezone
from pathlib import Path

import pytest

from tests.collecting import FakeSleep, collect_once, snapshot_json, write_config
from tests.replay import Reply, replay_server

FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Library news</title><link>https://library.example</link>
<item><title>Storytime on Saturday</title><link>https://library.example/storytime</link>
<guid>https://library.example/storytime</guid><pubDate>Mon, 29 Jun 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""


pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def dead_ends() -> Iterator[tuple[int, int]]:
    """A loopback port where nothing listens, and a listener that accepts and never answers."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = closed.getsockname()[1]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        yield refused, silent.getsockname()[1]


def test_dead_ends_fail_alone_after_the_configured_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep, dead_ends: tuple[int, int]
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:00Z")
    refused, silent = dead_ends
    with replay_server() as server:
        server.route("GET", "/feed.xml", lambda r: Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"}))
        config = write_config(
            tmp_path,
            f'[[sources]]\nid = "news"\nplatform = "rss"\nurl = "{server.url}/feed.xml"\n'
            f'[[sources]]\nid = "refused"\nplatform = "rss"\nurl = "http://127.0.0.1:{refused}/feed"\n'
            f'[[sources]]\nid = "silent"\nplatform = "rss"\nurl = "http://127.0.0.1:{silent}/feed"\n',
            '[[goals]]\nname = "News"\nsources = ["news"]\n',
        )
        config.write_text(config.read_text().replace('timeout = "2s"', 'timeout = "1s"'))
        code, stderr = collect_once(config)
    assert code == 1
    lines = stderr.strip().splitlines()
    assert sorted(line.split(":")[1].strip() for line in lines) == ["refused", "silent"]
    silent_line = next(line for line in lines if "silent" in line)
    assert "no answer within 1 s (3 attempts)" in silent_line  # the configured timeout, each attempt
    assert "cannot connect" in next(line for line in lines if "refused" in line)
    assert fake_sleep.pauses  # backoff between attempts went through the injected sleep
    report = snapshot_json(config)
    status = {s["id"]: s["status"] for s in report["sources"]}
    assert status == {"news": "ok", "refused": "error", "silent": "error"}
    assert report["goals"][0]["metrics"]["broadcast"] == 1  # the healthy source was collected


@pytest.mark.parametrize(
    "fault",
    [
        Reply(503),
        Reply(200, b"<!DOCTYPE html><html>Down for maintenance</html>", {"Content-Type": "text/html"}),
        Reply(429, headers={"Retry-After": "5"}),
        Reply(200, b"<rss>" + b"x" * 6_000_000, {"Content-Type": "application/rss+xml"}),
        Reply(200, b"\x00\xff not a feed", {"Content-Type": "application/rss+xml"}),
        "slow",
        Reply(401, b'{"error": "expired"}', {"Content-Type": "application/json"}),
        Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"}, cut=40),
    ],
    ids=["503", "html-200", "429", "over-max-bytes", "garbage", "timeout", "401", "reset-mid-body"],
)
def test_once_a_fault_clears_the_next_cycle_equals_a_fault_free_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep, fault: Reply | str
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:00Z")
    broken = {"on": True}
    good = Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"})

    def answer(request: object) -> Reply:
        if not broken["on"]:
            return good
        if fault == "slow":  # longer than the configured timeout, every attempt
            time.sleep(1.3)
            return good
        return fault  # type: ignore[return-value]

    with replay_server() as server:
        server.route("GET", "/feed.xml", answer)
        goal = '[[goals]]\nname = "News"\n'
        source = f'[[sources]]\nid = "news"\nplatform = "rss"\nurl = "{server.url}/feed.xml"\n'
        (tmp_path / "reference").mkdir()
        reference = write_config(tmp_path / "reference", source, goal)
        faulty = write_config(tmp_path, source, goal)
        faulty.write_text(faulty.read_text().replace('timeout = "2s"', 'timeout = "1s"'))
        code, stderr = collect_once(faulty)
        assert code == 1 and stderr.startswith("twoway: news: ")
        assert snapshot_json(faulty)["sources"][0]["status"] == "error"
        broken["on"] = False
        assert collect_once(faulty) == (0, "")
        assert collect_once(reference) == (0, "")
        recovered, clean = snapshot_json(faulty), snapshot_json(reference)
    assert recovered["sources"][0]["status"] == "ok"
    assert recovered["goals"] == clean["goals"]


def test_a_source_leased_elsewhere_is_skipped_in_one_line_until_its_lease_runs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    """SPEC §11: each source polled by one process at a time; `collect --once` says so and exits 0,
    and a lease its holder never gave back (killed on another machine) is taken once it expires."""
    from datetime import datetime, timedelta

    from tests import pg
    from tests.collecting import run_cli
    from twoway.scheduler import LEASE_SECONDS
    from twoway.store import Store

    start = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)
    with replay_server() as server:
        for path in ("/news.xml", "/events.xml"):
            server.route("GET", path, lambda r: Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"}))
        config = write_config(
            tmp_path,
            f'[[sources]]\nid = "news"\nplatform = "rss"\nurl = "{server.url}/news.xml"\n'
            f'[[sources]]\nid = "events"\nplatform = "rss"\nurl = "{server.url}/events.xml"\n',
            '[[goals]]\nname = "News"\nsources = ["news"]\n',
        )
        store = Store.open(pg.current.location(tmp_path))
        assert store.acquire_lease("news", "rss", "branch-2:4242", start, LEASE_SECONDS)
        store.close()
        monkeypatch.setenv("TWOWAY_NOW", (start + timedelta(seconds=30)).isoformat())
        code, out, err = run_cli("--config", str(config), "collect", "--once")
        until = (start + timedelta(seconds=LEASE_SECONDS)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (code, err) == (0, "")
        skipped = f"news: polled by branch-2:4242 (its lease runs until {until}): skipped"
        lines = out.splitlines()
        assert lines[0] == skipped and len(lines) == 2 and lines[1].startswith("events: backfilled 1 page, 1 post in ")
        assert [r.path for r in server.requests()] == ["/events.xml"]  # the other source was polled
        assert snapshot_json(config)["goals"][0]["metrics"]["broadcast"] is None  # never polled: unknown
        server.reset_log()
        monkeypatch.setenv("TWOWAY_NOW", (start + timedelta(seconds=LEASE_SECONDS + 1)).isoformat())
        code, out, err = run_cli("--config", str(config), "collect", "--once")
        assert (code, err) == (0, "") and out.startswith("news: backfilled 1 page, 1 post")
        assert sorted(r.path for r in server.requests()) == ["/events.xml", "/news.xml"]
    assert snapshot_json(config)["goals"][0]["metrics"]["broadcast"] == 1
    store = Store.open_readonly(pg.current.location(tmp_path))
    assert {s.lease_owner for s in store.source_states().values()} == {None}  # each lease given back
    store.close()


def test_a_collector_killed_mid_poll_leaves_its_source_to_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    """SIGKILL mid-poll: its lease names a process that is gone, so the next collector of this
    machine takes the source at once (another machine's waits for the lease to run out, above);
    nothing is lost or counted twice."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from tests import pg
    from twoway.store import Store

    arrived, release = threading.Event(), threading.Event()

    def held(request: object) -> Reply:
        arrived.set()
        release.wait(60)  # answered only once the collector asking is dead
        return Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"})

    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:00Z")
    with replay_server() as server:
        server.route("GET", "/feed.xml", held)
        config = write_config(
            tmp_path, f'[[sources]]\nid = "news"\nplatform = "rss"\nurl = "{server.url}/feed.xml"\n',
            '[[goals]]\nname = "News"\nsources = ["news"]\n',
        )
        killed = subprocess.Popen(
            [sys.executable, "-m", "twoway", "--config", str(config), "collect", "--once"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
        )
        try:
            assert arrived.wait(120), "the collector never asked for the feed"
            store = Store.open_readonly(pg.current.location(tmp_path))
            assert store.source_states()["news"].lease_owner == f"{socket.gethostname()}:{killed.pid}"
            store.close()
        finally:
            killed.send_signal(signal.SIGKILL)
            killed.wait()
            release.set()
        monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:30Z")
        code, err = collect_once(config)
    assert (code, err) == (0, "")
    assert snapshot_json(config)["goals"][0]["metrics"]["broadcast"] == 1
    store = Store.open_readonly(pg.current.location(tmp_path))
    assert store.source_states()["news"].lease_owner is None
    store.close()
