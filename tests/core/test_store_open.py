"""Opening a store that does not exist yet, from many processes at once (issue 12).

Whoever opens a new store first migrates it under an exclusive lock; the others wait
for that (at most `[dashboard] timeout`) and find it done, or exit 1 with one line;
a read-only snapshot of a store not made yet says `no store yet`. Never a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.replay import ReplayServer, Reply, Request, replay_server
from twoway.errors import StoreError
from twoway.store import SCHEMA_VERSION, Store, StorePolicy

NOW = "2026-06-30T12:00:00Z"
ENTRIES = 8
COMMENTS = 3
ROUNDS = 20
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("collect", "--once"),
    ("snapshot", "--format", "json"),
    ("snapshot", "--no-poll", "--format", "json"),
    ("collect", "--once"),
    ("snapshot", "--no-poll", "--format", "json"),
    ("snapshot", "--format", "json"),
    ("collect", "--once"),
    ("snapshot", "--no-poll", "--format", "json"),
    ("collect", "--once"),
    ("snapshot", "--format", "json"),
)
"""Ten processes, collectors and snapshots (polling or not) interleaved."""

RUNNER = """
import os, sys, time
import twoway.cli, twoway.config, twoway.store  # the imports done before the barrier
ready, go = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
raise SystemExit(twoway.cli.main(sys.argv[3:]))
"""
"""`python -m twoway`, except that each process waits at a barrier after importing: all
of them reach the store at the same moment, not one interpreter start-up apart."""


def _feed(server: ReplayServer) -> str:
    items = "".join(
        f"<item><title>Post {n} #SummerReading</title><link>https://lib.example/p/{n}</link>"
        f"<guid>https://lib.example/p/{n}</guid><pubDate>Mon, {1 + n:02d} Jun 2026 10:00:00 GMT</pubDate>"
        f"<category>SummerReading</category><slash:comments>{COMMENTS}</slash:comments>"
        f"<wfw:commentRss>{server.url}/comments/{n}.xml</wfw:commentRss></item>"
        for n in range(ENTRIES)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
        ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"><channel><title>Library</title>'
        f"<link>https://lib.example</link>{items}</channel></rss>"
    )


def _comments(request: Request) -> Reply:
    n = int(request.path.rsplit("/", 1)[1].split(".")[0])
    entries = "".join(
        f"<entry><id>tag:lib.example,2026:c-{n}-{k}</id><title>c</title><author><name>patron{k}</name></author>"
        f"<updated>2026-06-{1 + n:02d}T1{k}:00:00Z</updated>"
        f'<thr:in-reply-to ref="https://lib.example/p/{n}"/><content>Comment {k}</content></entry>'
        for k in range(COMMENTS)
    )
    body = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"'
        f' xmlns:thr="http://purl.org/syndication/thread/1.0"><title>Comments</title>{entries}</feed>'
    )
    return Reply(200, body.encode(), {"Content-Type": "application/atom+xml"})


@pytest.fixture(scope="module")
def feed_server() -> Iterator[ReplayServer]:
    """One server for every round: the feed never changes."""
    with replay_server() as server:
        server.route(
            "GET", "/feed.xml", lambda r: Reply(200, _feed(server).encode(), {"Content-Type": "application/rss+xml"})
        )
        server.route("GET", "/comments/*", _comments)
        yield server


def _config(tmp: Path, server: ReplayServer) -> Path:
    config = tmp / "config.toml"
    config.write_text(
        f'[organization]\nname = "Test Library"\n\n[dashboard]\ndatabase = "{tmp / "data" / "store.db"}"\n'
        'timeout = "20s"\n\n'
        f'[[sources]]\nid = "blog"\nplatform = "rss"\nurl = "{server.url}/feed.xml"\ninterval = "5m"\n\n'
        '[[goals]]\nname = "Summer"\nhashtags = ["SummerReading"]\nwindow = "90d"\n',
        encoding="utf-8",
    )
    return config


def _schema(path: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(path) as db:
        return {(t, n, s) for t, n, s in db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")}


@pytest.fixture(scope="module")
def whole_schema(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, str]]:
    """Every table and index of a store one process made alone."""
    path = tmp_path_factory.mktemp("alone") / "store.db"
    Store.open(path).close()
    return _schema(path)


def _assert_whole(path: Path, whole_schema: set[tuple[str, str, str]]) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(*) FROM meta WHERE key = 'salt'").fetchone() == (1,)
    assert _schema(path) == whole_schema
    assert path.stat().st_mode & 0o077 == 0


def _broadcasts(report: dict[str, Any]) -> Any:
    return report["goals"][0]["metrics"]["broadcast"]


def _check_report(out: str) -> None:
    """A snapshot shows the whole poll, or that there is no data yet."""
    report = json.loads(out)
    sources = {s["id"]: s for s in report["sources"]}
    if sources.get("blog", {}).get("last_success") is not None:
        assert _broadcasts(report) == ENTRIES
    else:
        assert report["goals"][0]["status"] in ("no-data", "no-targets") and not _broadcasts(report)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_ten_processes_opening_a_new_store_at_once(
    round_: int, tmp_path: Path, feed_server: ReplayServer, whole_schema: set[tuple[str, str, str]]
) -> None:
    config = _config(tmp_path, feed_server)
    store = tmp_path / "data" / "store.db"
    assert not store.exists()
    go = tmp_path / "go"
    env = {**os.environ, "TWOWAY_NOW": NOW}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(tmp_path / f"ready-{n}"), str(go), "--config", str(config), *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, command in enumerate(COMMANDS)
    ]
    try:
        for n in range(len(COMMANDS)):  # the barrier: every process imported and waiting
            while not (tmp_path / f"ready-{n}").exists():
                assert processes[n].poll() is None, processes[n].communicate()
                time.sleep(0.005)
        go.touch()
        outcomes = [(command, *p.communicate(timeout=120), p.returncode) for command, p in zip(COMMANDS, processes)]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for command, out, err, code in outcomes:
        what = f"{' '.join(command)} exited {code}: {err!r}"
        assert "Traceback" not in err, what
        assert code in (0, 1), what
        assert len(err.strip().splitlines()) == (1 if code else 0), what
        if command[0] == "snapshot" and code == 0:
            _check_report(out)
        elif command[0] == "snapshot":
            assert "no store yet" in err or "did not finish" in err, what
    _assert_whole(store, whole_schema)
    with sqlite3.connect(store) as db:  # some process polled, and all of its poll landed
        assert db.execute("SELECT COUNT(*) FROM posts WHERE source_id = 'blog'").fetchone() == (
            ENTRIES * (1 + COMMENTS),
        )
        assert db.execute("SELECT last_success IS NOT NULL FROM sources WHERE source_id = 'blog'").fetchone() == (1,)


# -- Store.open and Store.open_readonly themselves ------------------------------------------


def _race(path: Path, writers: int, readers: int) -> list[object]:
    """`Store.open` and `Store.open_readonly` from threads released together: what each got."""
    barrier = threading.Barrier(writers + readers)
    results: list[object] = [None] * (writers + readers)

    def run(n: int) -> None:
        barrier.wait()
        try:
            store = Store.open(path) if n < writers else Store.open_readonly(path)
        except Exception as e:  # noqa: BLE001 - what the test looks at
            results[n] = e
        else:
            results[n] = int(store.conn.execute("PRAGMA user_version").fetchone()[0])
            store.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(writers + readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_threads_opening_one_fresh_path_at_once(tmp_path: Path, whole_schema: set[tuple[str, str, str]]) -> None:
    for n in range(ROUNDS):
        path = tmp_path / str(n) / "store.db"
        results = _race(path, writers=8, readers=4)
        assert results[:8] == [SCHEMA_VERSION] * 8, results
        for result in results[8:]:  # readers: the whole store, or not there yet
            assert result == SCHEMA_VERSION or (
                isinstance(result, StoreError) and "no store yet" in str(result) and "\n" not in str(result)
            ), results
        _assert_whole(path, whole_schema)


def test_a_readonly_open_of_no_store_says_so(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.db", tmp_path / "empty.db"):
        if path.name == "empty.db":
            path.touch(mode=0o600)  # a writer has just created the file, not yet its tables
        with pytest.raises(StoreError, match="no store yet") as raised:
            Store.open_readonly(path)
        assert "\n" not in str(raised.value)


def test_an_opener_waits_for_a_migration_at_most_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.touch(mode=0o600)
    migrating = sqlite3.connect(path, isolation_level=None)
    assert migrating.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    migrating.execute("BEGIN EXCLUSIVE")  # another process, stuck in the middle of migrating
    migrating.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    try:
        with pytest.raises(StoreError, match="did not finish") as raised:
            Store.open(path, StorePolicy(timeout=0.2))
        assert "\n" not in str(raised.value) and raised.value.exit_code == 1
        with pytest.raises(StoreError, match="no store yet"):
            Store.open_readonly(path, StorePolicy(timeout=0.2))  # nothing committed yet
    finally:
        migrating.execute("ROLLBACK")
        migrating.close()
    Store.open(path, StorePolicy(timeout=0.2)).close()  # the lock is gone: this one migrates
    assert Store.open_readonly(path).conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_an_opener_waits_for_a_lock_that_goes_in_time(tmp_path: Path) -> None:
    """Switching to WAL needs the file to itself: a reader holding it a moment only delays it."""
    path = tmp_path / "store.db"
    path.touch(mode=0o600)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE other (x)")  # a rollback-journal database, read by another process
    other.execute("BEGIN")
    other.execute("SELECT * FROM other").fetchall()
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        store = Store.open(path, StorePolicy(timeout=20))
    finally:
        release.join()
        other.close()
    assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store.conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    store.close()
