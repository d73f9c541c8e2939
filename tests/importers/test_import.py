"""`twoway import` and the generic CSV importer: quirky files, all-or-nothing, idempotence."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.importers.importing import dump
from twoway import plugins
from twoway.cli import main
from twoway.collectors.importers.csv_generic import CsvImporter
from twoway.collectors.importers.googleplus import GooglePlusImporter
from twoway.collectors.importers.linkedin_export import LinkedInExportImporter
from twoway.collectors.importers.mastodon_archive import MastodonArchiveImporter
from twoway.collectors.importers.meta_export import MetaExportImporter
from twoway.collectors.importers.x_export import XExportImporter
from twoway.plugin.importer import ORG_AUTHOR, ImportFailed

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
EXPORTED = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

# A header in another case with spaces and an extra column; text with commas and quotes;
# four date forms; an empty counter cell; a blank line; a spreadsheet's Total row.
QUIRKY = (
    " Date ,URL, TEXT ,Replies,REPOSTS , likes ,Campaign\n"
    '2026-11-20,https://myspace.com/riverside/1,"Story time, today at 10: ""bring a friend"" #StoryTime",4,2,10,fall\n'
    '11/21/2026 15:30,https://myspace.com/riverside/2,"Closed, for the holiday",,1,,\n'
    "22.11.2026,,No url here,0,0,3,\n"
    "\n"
    "2026-11-23T08:00:00+02:00,https://myspace.com/riverside/4,Offset time,1,,5,\n"
    "Total,,,5,3,18,\n"
)


def semicolons(text: str) -> str:
    """The same file as a European spreadsheet saves it: `;` between cells."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        writer.writerow(row)
    return out.getvalue()


def write(path: Path, text: str, at: datetime = EXPORTED) -> Path:
    path.write_text(text, encoding="utf-8")
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


def read(path: Path) -> object:
    return CsvImporter().read(path, "myspace", "csv", NOW)


# -- the importer ----------------------------------------------------------------------


def test_quirky_csv_reads_every_row_but_the_total(tmp_path: Path) -> None:
    batch = read(write(tmp_path / "posts.csv", QUIRKY))
    posts = {p.created_at: p for p in batch.posts}  # type: ignore[attr-defined]
    assert len(posts) == 4
    first = posts[datetime(2026, 11, 20, tzinfo=timezone.utc)]
    assert first.id == first.url == "https://myspace.com/riverside/1"
    assert first.text == 'Story time, today at 10: "bring a friend" #StoryTime'
    assert first.hashtags == ("StoryTime",)
    assert first.author_id == ORG_AUTHOR
    assert datetime(2026, 11, 21, 15, 30, tzinfo=timezone.utc) in posts  # MM/DD/YYYY, naive = UTC
    no_url = posts[datetime(2026, 11, 22, tzinfo=timezone.utc)]  # DD.MM.YYYY
    assert no_url.url == "" and no_url.id.startswith("csv:")
    assert datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc) in posts  # offset converted to UTC
    assert batch.accounts[0].author_id == ORG_AUTHOR  # type: ignore[attr-defined]
    assert batch.measures == frozenset({"reposts", "likes"})  # type: ignore[attr-defined]
    counters = {c.post_id: c for c in batch.counters}  # type: ignore[attr-defined]
    assert counters["https://myspace.com/riverside/1"][2:] == (4, 2, None, 10)
    assert counters["https://myspace.com/riverside/2"][2:] == (None, 1, None, None)  # empty = not observed
    assert all(c.observed_at == NOW for c in counters.values())


def test_semicolon_variant_reads_the_same_posts(tmp_path: Path) -> None:
    comma = read(write(tmp_path / "comma.csv", QUIRKY))
    semi = read(write(tmp_path / "semi.csv", semicolons(QUIRKY)))
    assert semi.posts == comma.posts and semi.counters == comma.counters  # type: ignore[attr-defined]


def test_hash_id_is_stable_and_tab_files_read(tmp_path: Path) -> None:
    text = "date\ttext\n2026-11-22\tNo url here\n"
    one = read(write(tmp_path / "a.tsv", text))
    two = read(write(tmp_path / "b.tsv", text))
    assert one.posts[0].id == two.posts[0].id  # type: ignore[attr-defined]
    assert one.measures == frozenset() and one.counters == ()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,likes\n2026-11-20,1\n2026-11-21,2\n2026-11-22,1\n2026-11-23,1\n2026-11-24,1\nyesterday,3\n",
         "posts.csv: row 7, column 'date': 'yesterday' is not a date like 2024-05-01"),
        ("date,likes\n2026-11-20,many\n", "posts.csv: row 2, column 'likes': 'many' is not a whole number"),
        ("date,likes\n2026-02-30,1\n", "posts.csv: row 2, column 'date': '2026-02-30' is not a date"),
        ("when,likes\n2026-11-20,1\n", "posts.csv: row 1: no 'date' column"),
        ("", "posts.csv: empty file"),
    ],
)
def test_broken_file_is_one_line_naming_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ImportFailed) as failed:
        read(write(tmp_path / "posts.csv", text))
    assert str(failed.value).startswith(message)
    assert "\n" not in str(failed.value)


@pytest.mark.parametrize(
    ("name", "importer"),
    [
        ("csv", CsvImporter),
        ("googleplus", GooglePlusImporter),
        ("mastodon_archive", MastodonArchiveImporter),
        ("x_export", XExportImporter),
        ("linkedin_export", LinkedInExportImporter),
        ("meta_export", MetaExportImporter),
    ],
)
def test_importer_is_an_entry_point(name: str, importer: type[object]) -> None:
    assert name in plugins.installed_importers()
    assert plugins.load_importer(name) is importer


def test_the_other_importers_are_installed_and_unknown_ones_are_not() -> None:
    assert {"pinterest_export", "youtube_export"} <= set(plugins.installed_importers())
    assert plugins.load_importer("no-such-format") is None


# -- twoway import ---------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWOWAY_NOW", "2026-11-26T12:00:00Z")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[organization]\nname = "T"\n[dashboard]\ndatabase = "{tmp_path / "t.db"}"\n'
        '[[sources]]\nid = "myspace"\nplatform = "csv"\n'
        '[[sources]]\nid = "toots"\nplatform = "mastodon"\ninstance = "https://example.social"\naccount = "lib"\n'
        '[[goals]]\nname = "Myspace"\nsources = ["myspace"]\nwindow = "30d"\n'
    )
    return path


def cli(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def snapshot(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert cli(config, "snapshot", "--no-poll", "--format", "json") == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report



def test_import_then_metrics(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = write(tmp_path / "posts.csv", QUIRKY)
    assert cli(config, "import", str(posts), "--source", "myspace") == 0
    assert capsys.readouterr().out.strip() == f"imported 4 posts from {posts} into myspace"
    # the export begins with its earliest post (Nov 20): a window starting before is not covered
    goal = snapshot(config, capsys)["goals"][0]
    assert goal["metrics"]["broadcast"] is None and goal["deltas"]["broadcast"] is None
    assert goal["coverage"]["metrics"] == {"covered_from": "2026-11-20T00:00:00Z", "sources": ["myspace"]}
    monkeypatch.setenv("TWOWAY_NOW", "2026-12-20T00:00:00Z")  # 30 days on, the window starts there
    goal = snapshot(config, capsys)["goals"][0]
    assert goal["coverage"]["metrics"]["sources"] == [] and goal["coverage"]["baseline"]["sources"] == ["myspace"]
    metrics = goal["metrics"]
    assert metrics["broadcast"] == 4
    assert metrics["likes"] == 10 + 3 + 5  # the Total row is not a post
    assert metrics["reposts"] == 2 + 1 + 0
    assert metrics["applause_rate"] == pytest.approx(18 / 4)
    # reply counters are not replies: nothing to count conversations with
    assert metrics["replies"] is None and metrics["conversation_rate"] is None
    assert "myspace" in goal["unavailable"]["replies"]
    assert "myspace" in goal["unavailable"]["conversation_rate"]


def test_importing_twice_changes_nothing(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posts = write(tmp_path / "posts.csv", QUIRKY)
    assert cli(config, "import", str(posts), "--source", "myspace") == 0
    before, report = dump(tmp_path / "t.db"), snapshot(config, capsys)
    assert cli(config, "import", str(posts), "--source", "myspace") == 0
    assert dump(tmp_path / "t.db") == before
    assert snapshot(config, capsys) == report
    capsys.readouterr()
    assert cli(config, "import", str(posts), "--source", "myspace", "--dry-run") == 0
    assert capsys.readouterr().out.strip() == "would store 4 posts (0 new), counters for 4"


def test_newer_export_updates_counters(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", "2026-12-20T00:00:00Z")  # a window the export covers (from Nov 20)
    assert cli(config, "import", str(write(tmp_path / "posts.csv", QUIRKY)), "--source", "myspace") == 0
    newer = QUIRKY.replace("4,2,10,fall", "4,2,30,fall")
    later = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
    assert cli(config, "import", str(write(tmp_path / "posts-new.csv", newer, later)), "--source", "myspace") == 0
    assert snapshot(config, capsys)["goals"][0]["metrics"]["likes"] == 30 + 3 + 5
    # an older export imported afterwards does not undo the newer counters
    assert cli(config, "import", str(write(tmp_path / "posts.csv", QUIRKY)), "--source", "myspace") == 0
    assert snapshot(config, capsys)["goals"][0]["metrics"]["likes"] == 30 + 3 + 5


def test_broken_file_stores_nothing(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = write(tmp_path / "posts.csv", QUIRKY.replace("22.11.2026", "22.13.2026"))
    assert cli(config, "import", str(broken), "--source", "myspace") == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "posts.csv: row 4, column 'date': '22.13.2026' is not a date" in err
    assert not (tmp_path / "t.db").exists()
    # nor over an earlier import
    assert cli(config, "import", str(write(tmp_path / "good.csv", QUIRKY)), "--source", "myspace") == 0
    before = dump(tmp_path / "t.db")
    assert cli(config, "import", str(broken), "--source", "myspace") == 1
    assert dump(tmp_path / "t.db") == before


def test_dry_run_stores_nothing(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posts = write(tmp_path / "posts.csv", QUIRKY)
    assert cli(config, "import", str(posts), "--source", "myspace", "--dry-run") == 0
    assert capsys.readouterr().out.strip() == "would store 4 posts (4 new), counters for 4"
    assert not (tmp_path / "t.db").exists()


def test_format_and_source_are_checked(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posts = write(tmp_path / "posts.csv", QUIRKY)
    assert cli(config, "import", str(posts), "--source", "nope") == 2
    assert "no source named 'nope'" in capsys.readouterr().err
    assert cli(config, "import", str(posts), "--source", "myspace", "--format", "geocities") == 2
    err = capsys.readouterr().err
    assert "no importer named 'geocities'" in err and "installed: csv" in err
    assert cli(config, "import", str(posts), "--source", "toots") == 2  # a live source needs --format
    assert "--format" in capsys.readouterr().err
    assert cli(config, "import", str(posts), "--source", "toots", "--format", "csv", "--dry-run") == 0
    assert cli(config, "import", str(tmp_path / "missing.csv"), "--source", "myspace") == 1
    assert "no such file" in capsys.readouterr().err


def test_importer_sources_are_never_polled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TWOWAY_NOW", "2026-11-26T12:00:00Z")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[organization]\nname = "T"\n[dashboard]\ndatabase = "{tmp_path / "t.db"}"\n'
        '[[sources]]\nid = "myspace"\nplatform = "csv"\n'
    )
    assert cli(config, "import", str(write(tmp_path / "posts.csv", QUIRKY)), "--source", "myspace") == 0
    assert cli(config, "collect", "--once") == 0
    capsys.readouterr()
    assert cli(config, "snapshot", "--format", "json") == 0  # polls what is due: not the CSV source
    source = json.loads(capsys.readouterr().out)["sources"][0]
    assert source["error"] is None and source["status"] != "error"
