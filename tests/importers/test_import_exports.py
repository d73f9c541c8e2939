"""The platforms' native analytics exports: LinkedIn (XLSX, XLS), Pinterest, X (classic and current),
Meta (Facebook, Instagram) and YouTube (ZIP), each file written here in the export's layout with its
quirks (title lines, a header holding commas, quoted dates with commas, `Total` rows, ids after a space
or an apostrophe, older column names), imported with `twoway import` and measured with `twoway snapshot`;
every expected metric is worked out here by hand from the rows.

NOW is 2026-11-26 12:00 UTC and every goal's window is 30d: the window is 2026-10-27 12:00 → NOW and
the baseline 2026-09-27 12:00 → 2026-10-27 12:00.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import struct
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import openpyxl
import pytest

from tests.collecting import snapshot_json, write_config
from tests.importers.importing import dump
from twoway.cli import main
from twoway.collectors.importers.linkedin_export import LinkedInExportImporter
from twoway.collectors.importers.meta_export import MetaExportImporter
from twoway.collectors.importers.pinterest_export import PinterestExportImporter
from twoway.collectors.importers.x_export import XExportImporter
from twoway.plugin.importer import ORG_AUTHOR, ImportFailed
from twoway.plugin.table import Column, open_table, parse_count, parse_date

UTC = timezone.utc
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXPORTED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

SOURCES = {"x": "x_export", "li": "linkedin_export", "fb": "meta_export", "ig": "meta_export",
           "pins": "pinterest_export", "yt": "youtube_export"}
NOT_IN_EXPORTS = ("replies", "mentions", "community_messages", "responses", "answered", "two_way", "conversation_rate",
                  "two_way_per_broadcast", "response_rate", "median_response_seconds", "p90_response_seconds",
                  "unanswered", "voices")
"""Metrics no export can give: the files hold counters, not the conversations."""


# -- writing files in the exports' layouts ----------------------------------------------------


def stamp(path: Path, at: datetime) -> Path:
    """The export's time: `twoway import` observes its counters then."""
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


def write_csv(path: Path, rows: Sequence[Sequence[object]], *, at: datetime = EXPORTED,
              quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=quoting).writerows(rows)
    return stamp(path, at)


def write_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]], *, at: datetime = EXPORTED) -> Path:
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return stamp(path, at)


def _record(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(kind: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def biff8(sheets: Mapping[str, Sequence[Sequence[object]]]) -> bytes:
    """An Excel 97–2003 workbook stream (BIFF8): text, number and date cells, as LinkedIn's .xls has.

    XF 0 is General, XF 1 the built-in date format 14, so a reader tells date cells by their format.
    """
    bodies = []
    for rows in sheets.values():
        cells = b""
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    serial = (value - datetime(1899, 12, 30)).total_seconds() / 86400
                    cells += _record(0x0203, struct.pack("<HHHd", r, c, 1, serial))
                elif isinstance(value, (int, float)):
                    cells += _record(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
                elif value is not None:
                    text = str(value)
                    cells += _record(0x0204, struct.pack("<HHHHB", r, c, 0, len(text), 1) + text.encode("utf-16-le"))
        bodies.append(_bof(0x10) + cells + _record(0x0A, b""))

    def workbook_globals(offsets: Sequence[int]) -> bytes:
        out = _bof(0x05)
        for number_format, kind in ((0, 0xFFF5), (14, 0x0001)):
            out += _record(0xE0, struct.pack("<HHHBBBBIiH", 0, number_format, kind, 0, 0, 0, 0, 0, 0, 0))
        for title, offset in zip(sheets, offsets):
            out += _record(0x85, struct.pack("<IBBBB", offset, 0, 0, len(title), 1) + title.encode("utf-16-le"))
        return out + _record(0x0A, b"")

    offsets, at = [], len(workbook_globals([0] * len(sheets)))
    for body in bodies:
        offsets.append(at)
        at += len(body)
    return workbook_globals(offsets) + b"".join(bodies)


def ole2(stream: bytes) -> bytes:
    """`stream` as the `Workbook` of an OLE2 compound file, the container every .xls is."""
    stream = stream.ljust(max(4096, -(-len(stream) // 512) * 512), b"\0")  # 4096+: a regular, not a mini, stream
    sectors = len(stream) // 512
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<iiiiiiii", header, 44, 1, 1, 0, 4096, -2, 0, -2, 0)  # 1 FAT sector, directory at 1
    struct.pack_into("<109i", header, 76, 0, *([-1] * 108))
    fat = [-3, -2, *range(3, 2 + sectors), -2]
    fat += [-1] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        raw[: len(encoded)] = encoded
        struct.pack_into("<HBBiii", raw, 64, len(encoded), kind, 1, -1, -1, child)
        struct.pack_into("<iI", raw, 116, start, size)
        return bytes(raw)

    unused = entry("", 0, -1, -1, 0)
    directory = entry("Root Entry", 5, 1, -2, 0) + entry("Workbook", 2, -1, 2, len(stream)) + unused * 2
    return bytes(header) + struct.pack("<128i", *fat) + directory + stream


def write_bytes(path: Path, data: bytes, *, at: datetime = EXPORTED) -> Path:
    path.write_bytes(data)
    return stamp(path, at)


def write_xls(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]], *, at: datetime = EXPORTED) -> Path:
    path.write_bytes(ole2(biff8(sheets)))
    return stamp(path, at)


# -- the exports ------------------------------------------------------------------------------

X_CLASSIC_HEADER = [
    "Tweet id", "Tweet permalink", "Tweet text", "time", "impressions", "engagements", "engagement rate",
    "retweets", "replies", "likes", "user profile clicks", "url clicks", "hashtag clicks", "detail expands",
    "permalink clicks", "app opens", "app installs", "follows", "email tweet", "dial phone", "media views",
    "media engagements",
]


def x_classic(tweet_id: str, text: str, time: str, *counts: str) -> list[str]:
    """A row of the classic X export: impressions, engagements, engagement rate, retweets, replies,
    likes and the click columns in that order, those not given 0."""
    permalink = f"https://twitter.com/riverside/status/{tweet_id.strip()}"
    return [tweet_id, permalink, text, time, *counts, *["0"] * (len(X_CLASSIC_HEADER) - 4 - len(counts))]


X_CLASSIC = [
    X_CLASSIC_HEADER,
    x_classic("1860000000000000001", "Story time, today at 10 #StoryTime", "2026-11-20 15:00 +0000",
              "1,234", "40", "0.0324", "3", "2", "12", "1", "0", "2", "5", "1"),
    # the account's reply: not a broadcast
    x_classic("1860000000000000002", "@reader Yes, we are open until 8!", "2026-11-21 09:00 +0000",
              "100", "5", "0.05", "0", "1", "4"),
    # a retweet: someone else's post
    x_classic("1860000000000000009", "RT @cityhall: Road closures downtown this weekend", "2026-11-22 10:00 +0000",
              "50"),
    # the id after a space (quoted, so the space is the cell's); likes not observed
    x_classic(" 1860000000000000003", "Closed Thursday for the holiday", "2026-11-24 18:30 +0000",
              "300", "4", "0.013", "1", "0", ""),
    # in the baseline window
    x_classic("1850000000000000004", "Book sale recap", "2026-10-10 12:00 +0000",
              "2,000", "60", "0.03", "5", "1", "20"),
]
X_CURRENT = [
    ["Post id", "Date", "Post text", "Post Link", "Impressions", "Likes", "Engagements", "Bookmarks", "Shares",
     "New follows", "Replies", "Reposts", "Profile visits", "Detail Expands", "URL Clicks", "Hashtag Clicks",
     "Permalink Clicks"],
    ["1860000000000000001", "Fri, Nov 20, 2026", "Story time, today at 10 #StoryTime",
     "https://x.com/riverside/status/1860000000000000001", "2000", "30", "50", "2", "7", "0", "2", "4", "1", "3",
     "0", "2", "1"],
    ["1860000000000000005", "Wed, Nov 25, 2026", "New: museum passes #LibraryPasses",
     "https://x.com/riverside/status/1860000000000000005", "400", "8", "12", "0", "1", "0", "0", "2", "0", "1",
     "0", "0", "0"],
]

LI_POSTS_HEADER: list[object] = [
    "Post title", "Post link", "Post type", "Campaign name", "Posted by", "Created date", "Campaign start date",
    "Campaign end date", "Audience", "Impressions", "Views", "Clicks", "Click through rate (CTR)", "Likes",
    "Comments", "Reposts", "Follows", "Engagement rate", "Content type",
]
LI_XLSX: dict[str, list[list[object]]] = {
    "Metrics": [
        ["Aggregated metrics for the page's posts in the selected date range."],
        ["Date", "Impressions (organic)", "Impressions (sponsored)", "Impressions (total)", "Clicks (organic)",
         "Reactions (organic)", "Comments (organic)", "Reposts (organic)", "Engagement rate (organic)"],
        ["11/18/2026", 900, 0, 900, 20, 15, 2, 1, 0.04],
    ],
    "All posts": [
        ["All posts: data for posts created in the selected date range. Metrics are lifetime totals."],
        LI_POSTS_HEADER,
        ["Our fall reading list is out #FallReads",
         "https://www.linkedin.com/feed/update/urn:li:activity:7260000000000000001",
         "Organic", None, "Jane Doe", datetime(2026, 11, 18), None, None, "All followers", 1500, None, 40, 0.026,
         25, 3, 2, 1, 0.047, "Image"],
        # a date as text, the link percent-encoded, a grouped count as text
        ["Volunteer with us", "https://www.linkedin.com/feed/update/urn%3Ali%3AugcPost%3A7260000000000000002",
         "Organic", None, "Jane Doe", "11/22/2026", None, None, "All followers", 9000, None, 300, 0.033,
         "1,204", 0, 6, 4, 0.17, "Text"],
        # older than both windows
        ["Summer recap", "https://www.linkedin.com/feed/update/urn:li:activity:7250000000000000003",
         "Organic", None, "Jane Doe", datetime(2026, 9, 1), None, None, "All followers", 700, None, 9, 0.013,
         8, 1, 0, 0, 0.03, "Image"],
    ],
}
LI_XLS: dict[str, list[list[object]]] = {  # an older export: `Update …` and `Shares`, dates as date cells
    "Metrics": [["Date", "Impressions (organic)"], ["10/01/2026", 100]],
    "All posts": [
        ["All updates: lifetime metrics of the updates created in the selected range."],
        ["Update title", "Update link", "Update type", "Campaign name", "Posted by", "Created date", "Audience",
         "Impressions", "Clicks", "Click through rate (CTR)", "Likes", "Comments", "Shares", "Follows",
         "Engagement rate"],
        ["Banned books week #BannedBooksWeek",
         "https://www.linkedin.com/feed/update/urn:li:activity:7240000000000000001",
         "Organic", "", "Sam Roe", datetime(2026, 9, 30, 14, 30), "All followers", 2200, 61, 0.028, 31, 4, 5, 2,
         0.045],
        ["Job opening: children's librarian", "https://www.linkedin.com/feed/update/urn:li:share:7240000000000000002",
         "Organic", "", "Sam Roe", "10/02/2026", "All followers", 5000, 250, 0.05, 44, 9, 12, 7, 0.06],
    ],
}

FB_HEADER = [
    "Post ID", "Page ID", "Page name", "Title", "Description", "Duration (sec)", "Publish time", "Caption type",
    "Permalink", "Post type", "Languages", "Custom labels", "Funded content status", "Data comment", "Date",
    "Views", "Reach", "Reactions, Comments and Shares", "Reactions", "Comments", "Shares", "Total clicks",
    "Seconds viewed", "Average Seconds viewed", "Estimated earnings (USD)",
]
FB = [
    FB_HEADER,
    # the id after Excel's text apostrophe
    ["'1015000000000000001", "192928685520", "Riverside Library", "",
     "Storytime moves to Saturdays, starting Nov 21 #StoryTime", "", "11/19/2026 16:45", "",
     "https://www.facebook.com/192928685520/posts/1015000000000000001", "Photos", "", "", "", "", "Lifetime",
     "900", "700", "52", "40", "7", "5", "33", "", "", ""],
    ["1015000000000000002", "192928685520", "Riverside Library", "", "Closed for Thanksgiving", "",
     "11/23/2026 08:00", "", "https://www.facebook.com/192928685520/posts/1015000000000000002", "Text", "", "",
     "", "", "Lifetime", "300", "250", "15", "15", "0", "", "2", "", "", ""],
]
IG = [
    ["Post ID", "Account ID", "Account username", "Account name", "Description", "Duration (sec)", "Publish time",
     "Permalink", "Post type", "Data comment", "Date", "Views", "Reach", "Likes", "Shares", "Follows", "Comments",
     "Saves"],
    ["17900000000000001", "17841400000000000", "riversidelib", "Riverside Library", "New arrivals, shelved today",
     "0", "11/24/2026 12:00", "https://www.instagram.com/p/DAbC123xYz/", "IG image", "", "Lifetime", "500", "400",
     "60", "4", "1", "6", "9"],
]

PINS = [
    ["Pinterest Analytics"],
    ["Top Pins, 10/27/2026 - 11/26/2026"],
    [],
    ["Pin ID", "Pin URL", "Pin title", "Pin description", "Created at", "Impressions", "Engagements", "Pin clicks",
     "Outbound clicks", "Saves", "Engagement rate"],
    ["'987654321012345678", "https://www.pinterest.com/pin/987654321012345678/", "Autumn crafts",
     "Leaf garlands with kids #Crafts", "Nov 19, 2026 10:00 am", "12,400", "300", "120", "45", "1,050", "2.4%"],
    ["", "https://www.pinterest.com/pin/987654321012345679/", "Reading nook ideas", "", "Nov 23, 2026", "800",
     "30", "10", "2", "12", "3.8%"],
    ["Total", "", "", "", "", "13,200", "330", "130", "47", "1,062", "2.5%"],
]

YT_TABLE = [
    ["Content", "Video title", "Video publish time", "Duration", "Views", "Watch time (hours)", "Subscribers",
     "Impressions", "Impressions click-through rate (%)", "Likes", "Comments added", "Shares",
     "Average view duration"],
    ["Total", "", "", "", "1500", "80.5", "12", "20000", "4.1", "95", "14", "9", "0:03:12"],
    [" aBcDeFgHiJ1", "Storytime: The Gruffalo, read aloud", "Nov 20, 2026", "312", "900", "50.1", "8", "12000",
     "4.5", "70", "10", "6", "0:03:20"],
    ["xYz_-123456", "How to use the library app", "Oct 5, 2026", "185", "600", "30.4", "4", "8000", "3.6", "25",
     "4", "3", "0:03:02"],
]


def csv_text(rows: Sequence[Sequence[object]], quoting: Literal[0, 1, 2, 3] = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=quoting, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def write_youtube_zip(path: Path, table: Sequence[Sequence[object]], *, at: datetime = EXPORTED) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Table data.csv", csv_text(table))
        archive.writestr("Chart data.csv", csv_text([["Date", "Views"], ["2026-11-20", "300"]]))
        archive.writestr("Totals.csv", csv_text([["Date", "Views"], ["Total", "1500"]]))
    return stamp(path, at)


EXPORTS: dict[str, Callable[[Path], Path]] = {
    "x": lambda d: write_csv(d / "tweet_activity_metrics_riverside_20261001_20261126_en.csv", X_CLASSIC,
                             quoting=csv.QUOTE_ALL),
    "li": lambda d: write_xlsx(d / "riverside_content_1732000000000.xlsx", LI_XLSX),
    "fb": lambda d: write_csv(d / "Nov-01-2026_Nov-26-2026_1234.csv", FB),
    "ig": lambda d: write_csv(d / "Nov-01-2026_Nov-26-2026_5678.csv", IG),
    "pins": lambda d: write_csv(d / "pinterest-top-pins.csv", PINS),
    "yt": lambda d: write_youtube_zip(d / "Content 2026-10-01_2026-11-26 Riverside.zip", YT_TABLE),
}


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWOWAY_NOW", "2026-11-26T12:00:00Z")
    sources = "".join(f'[[sources]]\nid = "{sid}"\nplatform = "{platform}"\n' for sid, platform in SOURCES.items())
    goals = "".join(f'[[goals]]\nname = "{sid}"\nsources = ["{sid}"]\nwindow = "30d"\n' for sid in SOURCES)
    goals += '[[goals]]\nname = "Story time"\nhashtags = ["StoryTime"]\nwindow = "30d"\n'
    return write_config(tmp_path, sources, goals)


def run(config: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--config", str(config), *args])
    return code, out.getvalue(), err.getvalue()


def imported(config: Path, source: str, path: Path, *extra: str) -> None:
    code, out, err = run(config, "import", str(path), "--source", source, *extra)
    assert code == 0, err
    assert out.startswith("imported ")


def goal(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in report["goals"] if g["name"] == name)



def later(monkeypatch: pytest.MonkeyPatch, config: Path, now: str) -> dict[str, Any]:
    """The snapshot at another moment."""
    monkeypatch.setenv("TWOWAY_NOW", now)
    return snapshot_json(config)


def test_every_export_measured(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for source, write in EXPORTS.items():
        imported(config, source, write(tmp_path))
    report = snapshot_json(config)

    # X: the posts of November 20 and 24 are in the window (the reply and the retweet are no broadcasts, the
    # October post is in the baseline); retweets 3 + 1; likes 12 (Nov 24's likes cell is empty: not observed)
    x = goal(report, "x")
    assert (x["metrics"]["broadcast"], x["metrics"]["reposts"], x["metrics"]["likes"]) == (2, 4, 12)
    assert x["metrics"]["applause_rate"] == pytest.approx(12 / 2)
    assert x["metrics"]["amplification_rate"] == pytest.approx(4 / 2)  # no quotes column: quotes count as none
    assert x["metrics"]["quotes"] is None and "x" in x["unavailable"]["quotes"]
    # the export begins with that October post, after the baseline's start: no baseline, no change
    assert (x["baseline"]["broadcast"], x["baseline"]["reposts"], x["baseline"]["likes"]) == (None, None, None)
    assert x["coverage"]["baseline"]["sources"] == ["x"] and x["deltas"]["broadcast"] is None

    # LinkedIn: the two November posts; the September one is older than the baseline; Metrics is no post
    li = goal(report, "li")
    assert (li["metrics"]["broadcast"], li["metrics"]["likes"], li["metrics"]["reposts"]) == (2, 25 + 1204, 2 + 6)
    assert li["baseline"]["broadcast"] == 0

    # Facebook, Instagram, Pinterest: exports that begin inside the window do not cover it (SPEC §3);
    # 30 days after each one's earliest post, its window starts there and counts all of it
    for sid, begins in (("fb", "2026-11-19T16:45:00Z"), ("ig", "2026-11-24T12:00:00Z"), ("pins", "2026-11-19T10:00:00Z")):
        assert goal(report, sid)["metrics"]["broadcast"] is None
        assert goal(report, sid)["coverage"]["metrics"] == {"covered_from": begins, "sources": [sid]}
    fb = goal(later(monkeypatch, config, "2026-12-19T16:45:00Z"), "fb")
    assert (fb["metrics"]["broadcast"], fb["metrics"]["likes"], fb["metrics"]["reposts"]) == (2, 55, 5)
    # Instagram: likes 60, shares 4 (saves are bookmarks, not reposts)
    ig = goal(later(monkeypatch, config, "2026-12-24T12:00:00Z"), "ig")
    assert (ig["metrics"]["broadcast"], ig["metrics"]["likes"], ig["metrics"]["reposts"]) == (1, 60, 4)

    # Pinterest: two pins (the title lines and the Total row are none); saves 1,050 + 12; no reactions column
    pins = goal(later(monkeypatch, config, "2026-12-19T10:00:00Z"), "pins")
    assert (pins["metrics"]["broadcast"], pins["metrics"]["reposts"]) == (2, 1062)
    assert pins["metrics"]["likes"] is None and "pins" in pins["unavailable"]["likes"]
    monkeypatch.setenv("TWOWAY_NOW", "2026-11-26T12:00:00Z")

    # YouTube: the Total row is skipped; one video in the window, one (October 5) in the baseline
    yt = goal(report, "yt")
    assert (yt["metrics"]["broadcast"], yt["metrics"]["likes"], yt["metrics"]["reposts"]) == (1, 70, 6)
    # ... which is where the export begins, after the baseline's start: not covered
    assert (yt["baseline"]["broadcast"], yt["baseline"]["likes"], yt["baseline"]["reposts"]) == (None, None, None)
    assert yt["coverage"]["baseline"] == {"covered_from": "2026-10-05T00:00:00Z", "sources": ["yt"]}

    # a comment counter is not the comments: no export measures a conversation
    for source in SOURCES:
        g = goal(report, source)
        for metric in NOT_IN_EXPORTS:
            assert g["metrics"][metric] is None and g["baseline"][metric] is None, (source, metric)
            assert g["unavailable"][metric] == [source], (source, metric)

    # hashtags are read from the texts: X row 1 (12 likes, 3 retweets); the Facebook post of November 19
    # (40 reactions, 5 shares) too, once the Facebook export covers the window
    story = goal(report, "Story time")
    assert (story["metrics"]["broadcast"], story["metrics"]["likes"], story["metrics"]["reposts"]) == (1, 12, 3)
    assert story["coverage"]["metrics"]["sources"] == ["fb", "ig", "pins"]
    monkeypatch.setenv("TWOWAY_NOW", "2026-12-19T16:45:00Z")
    story = goal(snapshot_json(config), "Story time")["metrics"]
    assert (story["broadcast"], story["likes"], story["reposts"]) == (2, 12 + 40, 3 + 5)


def test_importing_twice_changes_nothing(config: Path, tmp_path: Path) -> None:
    files = {source: write(tmp_path) for source, write in EXPORTS.items()}
    for source, path in files.items():
        imported(config, source, path)
    before, report = dump(tmp_path / "store.db"), snapshot_json(config)
    for source, path in files.items():
        imported(config, source, path)
        code, out, _ = run(config, "import", str(path), "--source", source, "--dry-run")
        assert code == 0 and "(0 new)" in out
    assert dump(tmp_path / "store.db") == before
    assert snapshot_json(config) == report


def test_newer_x_export_updates_the_same_posts(config: Path, tmp_path: Path) -> None:
    """The current "Post analytics" export after the classic one: same ids, so no post counts twice."""
    imported(config, "x", EXPORTS["x"](tmp_path))
    imported(config, "x", write_csv(tmp_path / "account_analytics_content_2026-11-01_2026-11-26.csv", X_CURRENT,
                                    at=LATER))
    metrics = goal(snapshot_json(config), "x")["metrics"]
    # Nov 20's post now has 30 likes and 4 reposts (its `Shares`, 7, are not reposts); Nov 24's keeps its
    # reposts (1) and unobserved likes; Nov 25's is new with 8 likes and 2 reposts
    assert metrics["broadcast"] == 3
    assert metrics["likes"] == 30 + 8
    assert metrics["reposts"] == 4 + 1 + 2


def test_x_rows_read_as_the_api_names_them(tmp_path: Path) -> None:
    batch = XExportImporter().read(EXPORTS["x"](tmp_path), "x", "x_export", NOW)
    posts = {p.id: p for p in batch.posts}
    assert sorted(posts) == ["1850000000000000004", "1860000000000000001", "1860000000000000003"]
    first = posts["1860000000000000001"]
    assert first.created_at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert first.url == "https://twitter.com/riverside/status/1860000000000000001"
    assert (first.author_id, first.hashtags) == (ORG_AUTHOR, ("StoryTime",))
    assert batch.measures == frozenset({"reposts", "likes"})
    current = XExportImporter().read(write_csv(tmp_path / "current.csv", X_CURRENT), "x", "x_export", NOW)
    assert current.posts[0].created_at == datetime(2026, 11, 20, tzinfo=UTC)  # "Fri, Nov 20, 2026"
    # saved again by a spreadsheet, the id lost its digits: the permalink still has them
    resaved = [X_CURRENT[0], ["1.86E+18", *X_CURRENT[1][1:]]]
    (post,) = XExportImporter().read(write_csv(tmp_path / "resaved.csv", resaved), "x", "x_export", NOW).posts
    assert post.id == "1860000000000000001"


def test_pinterest_columns_and_links(tmp_path: Path) -> None:
    """A report `Date` left of the pin's creation date is not it; a link off Pinterest is the pin's destination."""
    path = write_csv(tmp_path / "pins.csv", [
        ["Date", "Pin ID", "Pin link", "Title", "Created at", "Saves"],
        ["2026-11-26", "987654321012345678", "https://library.example/crafts", "Crafts", "2026-11-19", "3"],
    ])
    (pin,) = PinterestExportImporter().read(path, "pins", "pinterest_export", NOW).posts
    assert (pin.id, pin.created_at) == ("987654321012345678", datetime(2026, 11, 19, tzinfo=UTC))
    assert pin.url == "https://www.pinterest.com/pin/987654321012345678/"
    assert pin.links == ("https://library.example/crafts",)


def test_meta_ids_are_the_graph_apis(tmp_path: Path) -> None:
    fb = MetaExportImporter().read(EXPORTS["fb"](tmp_path), "fb", "meta_export", NOW)
    assert [p.id for p in fb.posts] == ["192928685520_1015000000000000001", "192928685520_1015000000000000002"]
    assert {p.author_id for p in fb.posts} == {"192928685520"}
    assert [(a.author_id, a.handle) for a in fb.accounts] == [("192928685520", "Riverside Library")]
    assert fb.posts[0].created_at == datetime(2026, 11, 19, 16, 45, tzinfo=UTC)  # month first
    assert fb.posts[0].text == "Storytime moves to Saturdays, starting Nov 21 #StoryTime"
    ig = MetaExportImporter().read(EXPORTS["ig"](tmp_path), "ig", "meta_export", NOW)
    assert [(p.id, p.author_id) for p in ig.posts] == [("17900000000000001", "17841400000000000")]
    assert ig.counters[0][2:] == (6, 4, None, 60)  # comments (a counter), shares, no quotes, likes


def test_linkedin_xls_with_older_column_names(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "riverside_content_old.xls", LI_XLS)
    batch = LinkedInExportImporter().read(path, "li", "linkedin_export", NOW)
    posts = {p.id: p for p in batch.posts}
    assert sorted(posts) == ["urn:li:activity:7240000000000000001", "urn:li:share:7240000000000000002"]
    first = posts["urn:li:activity:7240000000000000001"]
    assert first.created_at == datetime(2026, 9, 30, 14, 30, tzinfo=UTC)  # a date cell
    assert first.hashtags == ("BannedBooksWeek",)
    assert posts["urn:li:share:7240000000000000002"].created_at == datetime(2026, 10, 2, tzinfo=UTC)
    counters = {c.post_id: c[2:] for c in batch.counters}
    assert counters["urn:li:share:7240000000000000002"] == (9, 12, None, 44)  # `Shares` are reposts
    assert batch.measures == frozenset({"reposts", "likes"})


def test_linkedin_xlsx_ids_and_dates(tmp_path: Path) -> None:
    batch = LinkedInExportImporter().read(EXPORTS["li"](tmp_path), "li", "linkedin_export", NOW)
    assert [(p.id, p.created_at.date().isoformat()) for p in batch.posts] == [
        ("urn:li:activity:7260000000000000001", "2026-11-18"),
        ("urn:li:ugcPost:7260000000000000002", "2026-11-22"),
        ("urn:li:activity:7250000000000000003", "2026-09-01"),
    ]


@pytest.mark.parametrize(
    ("source", "name", "write", "message"),
    [
        ("x", "tweets.csv", lambda p: write_csv(p, [X_CLASSIC_HEADER, X_CLASSIC[1],
                                                    [*X_CLASSIC[-1][:3], "yesterday", *X_CLASSIC[-1][4:]]]),
         "tweets.csv: row 3, column 'time': 'yesterday' is not a date"),
        ("fb", "fb.csv", lambda p: write_csv(p, [FB_HEADER, FB[1], [*FB[2][:18], "many", *FB[2][19:]]]),
         "fb.csv: row 3, column 'Reactions': 'many' is not a whole number"),
        ("li", "li.xlsx", lambda p: write_xlsx(p, {"All posts": [
            LI_XLSX["All posts"][0], [h for h in LI_POSTS_HEADER if h != "Created date"], ["x", "y"]]}),
         "li.xlsx: sheet 'All posts', row 2: no 'Created date' column"),
        ("yt", "yt.zip", lambda p: write_youtube_zip(p, [*YT_TABLE[:2], [*YT_TABLE[2][:9], "7O", *YT_TABLE[2][10:]]]),
         "yt.zip: file 'Table data.csv', row 3, column 'Likes': '7O' is not a whole number"),
        ("pins", "pins.csv", lambda p: write_csv(p, [PINS[3], ["9.87654E+17", "", "Crafts", "", "Nov 19, 2026"]]),
         "pins.csv: row 2, column 'Pin ID': '9.87654E+17' is not a post id"),
        ("yt", "yt.zip", lambda p: write_bytes(p, b"PK\x05\x06" + bytes(18) + b"PK\x03\x04"),
         "yt.zip: no 'Table data.csv' in the archive (it holds nothing)"),
        ("li", "li.xlsx", lambda p: write_bytes(p, b"PK\x03\x04 not really a workbook"),
         "li.xlsx: not a readable XLSX workbook"),
    ],
)
def test_broken_export_is_one_line_and_stores_nothing(config: Path, tmp_path: Path, source: str, name: str,
                                                      write: Any, message: str) -> None:
    path = write(tmp_path / name)
    code, _, err = run(config, "import", str(path), "--source", source)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert not (tmp_path / "store.db").exists()
    # nor over an earlier import
    imported(config, source, EXPORTS[source](tmp_path))
    before = dump(tmp_path / "store.db")
    assert run(config, "import", str(path), "--source", source)[0] == 1
    assert dump(tmp_path / "store.db") == before


# -- the shared table reader ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-06-01", datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-06-01T10:00:00Z", datetime(2024, 6, 1, 10, tzinfo=UTC)),
        ("2024-06-01 10:00 +0200", datetime(2024, 6, 1, 8, tzinfo=UTC)),  # X's classic `time`
        ("06/01/2024 21:00", datetime(2024, 6, 1, 21, tzinfo=UTC)),  # Meta's `Publish time`, month first
        ("01.06.2024", datetime(2024, 6, 1, tzinfo=UTC)),
        ("Jun 1, 2024 10:00 am", datetime(2024, 6, 1, 10, tzinfo=UTC)),
        ("Jun 1, 2024, 12:30 PM", datetime(2024, 6, 1, 12, 30, tzinfo=UTC)),
        ("Jun 1, 2024 12:05 am", datetime(2024, 6, 1, 0, 5, tzinfo=UTC)),
        ("Sat, Jun 1, 2024", datetime(2024, 6, 1, tzinfo=UTC)),  # X's current `Date`
        ("1 June 2024", datetime(2024, 6, 1, tzinfo=UTC)),
        ("Sept 3, 2024", datetime(2024, 9, 3, tzinfo=UTC)),
        (datetime(2024, 6, 1, 10, 0), datetime(2024, 6, 1, 10, tzinfo=UTC)),  # a spreadsheet's date cell
        ("Jun 31, 2024", None),
        ("Jun 1, 2024 13:00 pm", None),
        ("Juni 1, 2024", None),
        ("yesterday", None),
        (45000, None),
    ],
)
def test_dates_in_the_exports_forms(cell: Any, expected: datetime | None) -> None:
    assert parse_date(cell) == expected


@pytest.mark.parametrize(("cell", "expected"), [("1,234", 1234), ("1.234", 1234), ("1\u202f234", 1234), ("7", 7),
                                                (12.0, 12), (0, 0), ("", None), (None, None), ("  ", None)])
def test_counts(cell: Any, expected: int | None) -> None:
    assert parse_count(cell) == expected


@pytest.mark.parametrize("cell", ["12.5", "-3", "1,23", "many", 2.5, -1, "2.4%"])
def test_not_counts(cell: Any) -> None:
    with pytest.raises(ValueError):
        parse_count(cell)


COLUMNS = (Column("Date", required=True), Column("Likes", ("Reactions",)))


def test_encodings_a_spreadsheet_saves() -> None:
    for encoding, delimiter in (("utf-16", "\t"), ("cp1252", ";"), ("utf-8-sig", ",")):
        data = f"Date{delimiter}Likes{delimiter}Title\r\n2024-06-01{delimiter}3{delimiter}Café\r\n".encode(encoding)
        table = open_table("t.csv", data, (*COLUMNS, Column("Title")))
        (row,) = table.rows()
        assert (row.number, row.date("Date").day, row.count("Likes"), row.text("Title")) == (2, 1, 3, "Café")


def test_sheet_search_and_its_errors(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"Notes": [["nothing here"]],
                                               "Data": [["Export"], ["date", "REACTIONS"], ["2024-06-01", 4]]})
    table = open_table(path.name, path.read_bytes(), COLUMNS)
    assert table.part == "sheet 'Data'" and table.label("Likes") == "REACTIONS"
    assert [r.count("Likes") for r in table.rows()] == [4]
    both = (Column("Date", required=True), Column("Title", required=True))
    with pytest.raises(ImportFailed) as failed:
        open_table(path.name, path.read_bytes(), both)
    assert str(failed.value) == "book.xlsx: no sheet has the columns 'Date', 'Title' (sheets: 'Notes', 'Data')"


def test_an_id_a_spreadsheet_rounded_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ids.xlsx", {"Posts": [["Post ID", "Publish time"], [1.015e18, "11/19/2026 16:45"]]})
    with pytest.raises(ImportFailed) as failed:
        MetaExportImporter().read(path, "fb", "meta_export", NOW)
    assert str(failed.value).startswith("ids.xlsx: sheet 'Posts', row 2, column 'Post ID': 1.015e+18 lost digits")
