"""Provenance of imported numbers (issue 7): marked in the store, shown in every output,
and an import into a live source is no poll of it."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from twoway.cli import main
from twoway.model import Account, Batch, Counters, Post
from twoway.store import Store, StorePolicy

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
EXPORTED = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
POLLED = datetime(2026, 11, 26, 11, 0, tzinfo=timezone.utc)

EXPORT = "date,url,text,replies,reposts,likes\n2026-11-20,https://example.social/@lib/1,Story time,3,2,10\n"
OLD_EXPORT = "date,url,text,likes\n2025-01-10,https://myspace.com/riverside/9,Back then,4\n"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[organization]\nname = "T"\n[dashboard]\ndatabase = "{tmp_path / "t.db"}"\n'
        '[[sources]]\nid = "myspace"\nplatform = "csv"\n'
        '[[sources]]\nid = "toots"\nplatform = "mastodon"\ninstance = "https://example.social"\naccount = "lib"\n'
        'interval = "1h"\n'
        '[[goals]]\nname = "Myspace"\nsources = ["myspace"]\nwindow = "30d"\n'
        '[[goals]]\nname = "Toots"\nsources = ["toots"]\nwindow = "30d"\n'
    )
    return path


def export(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (EXPORTED.timestamp(), EXPORTED.timestamp()))
    return path


def run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["--config", str(config), *args]) == 0
    return capsys.readouterr().out


def test_imported_numbers_are_marked_in_the_store_and_every_output(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = export(tmp_path / "riverside-posts.csv", EXPORT)
    run(config, capsys, "import", str(posts), "--source", "myspace")

    conn = sqlite3.connect(tmp_path / "t.db")
    assert conn.execute("SELECT imported, observed_at FROM counters").fetchall() == [
        ("riverside-posts.csv", int(EXPORTED.timestamp()))
    ]
    conn.close()

    doc = json.loads(run(config, capsys, "snapshot", "--no-poll", "--format", "json"))
    note = {
        "source": "myspace", "file": "riverside-posts.csv", "format": "csv",
        "exported_at": "2026-11-25T09:30:00Z", "imported_at": "2026-11-26T12:00:00Z", "posts": 1,
    }
    sources = {s["id"]: s for s in doc["sources"]}
    assert sources["myspace"]["imports"] == [note]
    assert sources["myspace"]["status"] == "ok" and sources["myspace"]["last_success"] == "2026-11-26T12:00:00Z"
    assert sources["toots"]["imports"] == []
    goals = {g["name"]: g for g in doc["goals"]}
    assert goals["Myspace"]["imported"] == [note] and goals["Toots"]["imported"] == []

    text = run(config, capsys, "snapshot", "--no-poll")
    assert text.count("imported: riverside-posts.csv into myspace, exported 2026-11-25 (1 posts)") == 2  # goal, sources
    markdown = run(config, capsys, "snapshot", "--no-poll", "--format", "markdown")
    assert "Imported: riverside-posts.csv into myspace, exported 2026-11-25 (1 posts)." in markdown
    assert "- Imported: riverside-posts.csv into myspace" in markdown


def test_a_goal_is_marked_only_when_the_import_reaches_its_windows(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(config, capsys, "import", str(export(tmp_path / "2025.csv", OLD_EXPORT)), "--source", "myspace")
    doc = json.loads(run(config, capsys, "snapshot", "--no-poll", "--format", "json"))
    assert doc["goals"][0]["imported"] == []  # January 2025 is before this window and its baseline
    assert doc["sources"][0]["imports"][0]["file"] == "2025.csv"
    assert doc["goals"][0]["metrics"]["broadcast"] == 0


def test_an_import_into_a_live_source_is_no_poll_of_it(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(tmp_path / "t.db", StorePolicy(horizon=60 * 86400))  # a first poll backfills 60 days
    store.write(
        Batch(
            "toots", "mastodon", POLLED,
            posts=(Post("1", "lib-id", datetime(2026, 11, 20, tzinfo=timezone.utc), "https://example.social/@lib/1"),),
            counters=(Counters("1", POLLED, replies=3, reposts=2, likes=11),),
            accounts=(Account("lib-id", "lib"),),
            measures=frozenset({"replies", "responses", "reposts", "likes", "mentions"}),
            cursor='{"polled": true}',
        )
    )
    store.close()
    posts = export(tmp_path / "archive.csv", EXPORT.replace("https://example.social/@lib/1", ""))
    run(config, capsys, "import", str(posts), "--source", "toots", "--format", "csv")

    doc = json.loads(run(config, capsys, "snapshot", "--no-poll", "--format", "json"))
    toots = next(s for s in doc["sources"] if s["id"] == "toots")
    assert toots["last_success"] == "2026-11-26T11:00:00Z" and toots["status"] == "ok"  # still the poll's
    goal = next(g for g in doc["goals"] if g["name"] == "Toots")
    assert goal["unavailable"].get("mentions") is None  # what the poll measures stays measured
    assert goal["metrics"]["broadcast"] == 2 and goal["metrics"]["likes"] == 11 + 10
    store = Store.open(tmp_path / "t.db")
    assert store.cursor("toots") == '{"polled": true}'
    store.close()


def test_an_archive_imported_into_a_polled_source_only_adds(tmp_path: Path) -> None:
    """Polling is newer than any export: a post it saw deleted stays deleted, its threads stay placed."""
    from twoway.model import Imported

    born = datetime(2026, 11, 20, tzinfo=timezone.utc)
    store = Store.open(tmp_path / "t.db")
    store.write(Batch("toots", "mastodon", POLLED, accounts=(Account("lib-id", "lib"),),
                      posts=(Post("1", "lib-id", born), Post("2", "lib-id", born))))
    store.write(Batch("toots", "mastodon", POLLED, deleted=("1",)))
    archive = Imported("archive.zip", "mastodon_archive", EXPORTED, NOW)
    store.write(Batch("toots", "mastodon", EXPORTED, imported=archive, posts=(
        Post("1", "lib-id", born), Post("2", "lib-id", born, parent_id="https://elsewhere.example/9"),
        Post("3", "lib-id", born),
    )))
    rows = store.conn.execute("SELECT post_id, deleted, parent_id FROM posts ORDER BY post_id").fetchall()
    store.close()
    assert rows == [("1", 1, None), ("2", 0, None), ("3", 0, None)]
