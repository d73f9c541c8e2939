"""Long work shows its progress (issue 13): a first backfill and a large import, live on a
terminal, one summary line per source when piped or under cron; later polls stay quiet."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rich.console import Console

from tests.collecting import FakeSleep, Stage, fake_sleep, run_cli, staged  # noqa: F401
from tests.fakes.mastodon import MASTODON, World
from tests.replay import Reply
from twoway.config import load_config
from twoway.model import Batch
from twoway.progress import Tally
from twoway.scheduler import backfilling
from twoway.store import Store, store_location


@pytest.fixture
def mastodon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep) -> Iterator[Stage[World]]:  # noqa: F811
    with staged(MASTODON, tmp_path, monkeypatch) as stage:
        yield stage


def ticking(monkeypatch: pytest.MonkeyPatch, *moments: float) -> None:
    """The clock work is timed with, reading `moments` in turn."""
    clock = iter(moments)
    monkeypatch.setattr("twoway.progress.seconds", lambda: next(clock))


def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a terminal that can redraw: what the progress display drew on it."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    monkeypatch.setattr("twoway.progress.terminal", lambda: console)
    return screen


def stored_posts(config: Path, sid: str) -> int:
    with contextlib.closing(sqlite3.connect(config.parent / "store.db")) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM posts WHERE source_id = ?", (sid,)).fetchone()
    return int(count)


def test_a_first_backfill_piped_is_one_summary_line_and_later_polls_are_quiet(
    mastodon: Stage[World], monkeypatch: pytest.MonkeyPatch
) -> None:
    ticking(monkeypatch, 100.0, 101.2)
    code, out, err = run_cli("--config", str(mastodon.config), "collect", "--once")
    assert (code, err) == (0, "")
    pages, posts = len(mastodon.server.requests()), stored_posts(mastodon.config, "library-mastodon")
    assert pages > 1 and posts > 1
    assert out == f"library-mastodon: backfilled {pages} pages, {posts} posts in 1.2 s\n"
    assert run_cli("--config", str(mastodon.config), "collect", "--once") == (0, "", "")


FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Library news</title><link>https://library.example</link>
<item><title>Storytime on Saturday</title><link>https://library.example/storytime</link>
<guid>https://library.example/storytime</guid><pubDate>Mon, 29 Jun 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""


def with_news_and_a_dead_feed(stage: Stage[World]) -> None:
    """The stage's config, plus a healthy feed on its server and one where nothing listens."""

    stage.server.route("GET", "/news.xml", lambda r: Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"}))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = closed.getsockname()[1]
    text = stage.config.read_text()
    stage.config.write_text(
        text.replace(
            "[[sources]]",
            f'[[sources]]\nid = "news"\nplatform = "rss"\nurl = "{stage.server.url}/news.xml"\n\n'
            f'[[sources]]\nid = "dead"\nplatform = "rss"\nurl = "http://127.0.0.1:{refused}/feed"\n\n[[sources]]',
            1,
        )
    )


SUMMARY = re.compile(
    r"^(?P<sid>[\w-]+): backfilled (?:(?P<pages>[\d,]+) pages?, )?(?P<posts>[\d,]+) posts? in \d+\.\d s$"
)


def summaries(out: str) -> dict[str, tuple[int, int]]:
    """Source → (pages, posts) of each summary line; every line must be one."""
    found = {}
    for line in out.splitlines():
        match = SUMMARY.match(line)
        assert match, line
        found[match["sid"]] = (int(match["pages"] or 0), int(match["posts"]))
    assert len(found) == len(out.splitlines())
    return found


def test_one_line_per_source_a_summary_for_each_backfill_and_an_error_for_each_failure(
    mastodon: Stage[World],
) -> None:
    with_news_and_a_dead_feed(mastodon)
    code, out, err = run_cli("--config", str(mastodon.config), "collect", "--once")
    assert code == 1
    (error,) = err.splitlines()
    assert error.startswith("twoway: dead: ") and "cannot connect" in error
    assert summaries(out) == {
        "news": (len(mastodon.server.requests("/news.xml")), stored_posts(mastodon.config, "news")),
        "library-mastodon": (len(mastodon.server.requests("/api/")), stored_posts(mastodon.config, "library-mastodon")),
    }
    # the failed source is still in its first backfill: the next cycle tries it again and says so once more
    code, out, err = run_cli("--config", str(mastodon.config), "collect", "--once")
    assert (code, out, len(err.splitlines())) == (1, "", 1)


def test_on_a_terminal_each_backfill_is_a_live_row_gone_when_done(
    mastodon: Stage[World], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = on_a_terminal(monkeypatch)
    with_news_and_a_dead_feed(mastodon)
    code, out, err = run_cli("--config", str(mastodon.config), "collect", "--once")
    assert code == 1 and len(err.splitlines()) == 1
    drawn = screen.getvalue()
    pages, posts = len(mastodon.server.requests("/api/")), stored_posts(mastodon.config, "library-mastodon")
    assert re.search(rf"library-mastodon +done: {pages} pages, {posts} posts +0:00:\d\d", drawn), drawn
    assert re.search(r"news +done: 1 page, 1 post +0:00:\d\d", drawn), drawn
    assert re.search(r"dead +failed: .*cannot connect", drawn), drawn
    erased = drawn.rsplit("\x1b[?25h", 1)[1]  # after the last frame, the cursor shown again
    assert re.fullmatch(r"\r(\x1b\[1A\x1b\[2K){3}", erased), repr(erased)  # and each of the 3 rows erased
    assert set(summaries(out)) == {"news", "library-mastodon"}  # the same summary lines as piped


def test_nothing_to_backfill_draws_nothing(mastodon: Stage[World], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli("--config", str(mastodon.config), "collect", "--once")[0] == 0
    screen = on_a_terminal(monkeypatch)
    assert run_cli("--config", str(mastodon.config), "collect", "--once") == (0, "", "")
    assert screen.getvalue() == ""


def test_the_collect_daemon_says_each_backfill_once_as_it_ends(mastodon: Stage[World]) -> None:
    """`twoway collect` under a service manager: the line is written (flushed) when the backfill
    ends, not when the daemon stops, and the polls after it add nothing."""

    daemon = subprocess.Popen(
        [sys.executable, "-m", "twoway", "--config", str(mastodon.config), "collect"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
        text=True,
    )
    guard = threading.Timer(60, daemon.kill)  # a daemon that never says it: the test fails, never hangs
    guard.start()
    try:
        assert daemon.stdout is not None
        first = daemon.stdout.readline()
    finally:
        guard.cancel()
        daemon.send_signal(signal.SIGTERM)
        rest, err = daemon.communicate(timeout=60)
    assert (daemon.returncode, err) == (0, "")
    pages, posts = len(mastodon.server.requests("/api/")), stored_posts(mastodon.config, "library-mastodon")
    assert summaries(first) == {"library-mastodon": (pages, posts)} and rest == ""


# -- import ------------------------------------------------------------------------------


@pytest.fixture
def csv_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWOWAY_NOW", "2026-11-26T12:00:00Z")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[organization]\nname = "T"\n[dashboard]\ndatabase = "{tmp_path / "store.db"}"\n'
        '[[sources]]\nid = "myspace"\nplatform = "csv"\n'
    )
    return config


def archive(path: Path, rows: int) -> Path:
    """A CSV export of `rows` posts, one a day back from the clock."""
    lines = ["date,url,text,likes"]
    lines += [
        f"2026-11-{1 + n % 25:02d}T{n % 24:02d}:00:00Z,https://myspace.com/r/{n},Post {n},{n % 7}" for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_import_piped_is_its_one_line(csv_source: Path, tmp_path: Path) -> None:
    posts = archive(tmp_path / "posts.csv", 250)
    assert run_cli("--config", str(csv_source), "import", str(posts), "--source", "myspace") == (
        0,
        f"imported 250 posts from {posts} into myspace\n",
        "",
    )


def test_an_import_on_a_terminal_shows_what_it_stored_and_the_time(
    csv_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = on_a_terminal(monkeypatch)
    posts = archive(tmp_path / "posts.csv", 250)
    code, out, err = run_cli("--config", str(csv_source), "import", str(posts), "--source", "myspace")
    assert (code, out, err) == (0, f"imported 250 posts from {posts} into myspace\n", "")
    assert re.search(r"myspace +done: 250 posts +0:00:\d\d", screen.getvalue()), screen.getvalue()


def test_a_broken_file_on_a_terminal_is_still_its_one_error_line(
    csv_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = on_a_terminal(monkeypatch)
    broken = tmp_path / "broken.csv"
    broken.write_text("date,url\nnot a date,https://myspace.com/r/1\n", encoding="utf-8")
    code, out, err = run_cli("--config", str(csv_source), "import", str(broken), "--source", "myspace")
    assert (code, out, len(err.splitlines())) == (1, "", 1)
    assert "broken.csv" in err and "date" in err
    assert screen.getvalue().endswith("\x1b[2K")  # the display erased before the error line


def test_a_real_terminal_is_told_from_a_pipe(csv_source: Path, tmp_path: Path) -> None:
    """`python -m twoway import` with stderr on a pseudo-terminal and stdout on a pipe."""

    posts = archive(tmp_path / "posts.csv", 40)
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "TWOWAY_NOW": "2026-11-26T12:00:00Z"}
    process = subprocess.Popen(
        [sys.executable, "-m", "twoway", "--config", str(csv_source), "import", str(posts), "--source", "myspace"],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    drawn = b""
    with contextlib.suppress(OSError):  # EIO once the process has closed its end
        while chunk := os.read(leader, 4096):
            drawn += chunk
    os.close(leader)
    out = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0
    assert out == f"imported 40 posts from {posts} into myspace\n"
    plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", drawn)  # without its colours and cursor moves
    assert re.search(rb"myspace +done: 40 posts +0:00:\d\d", plain), drawn


# -- which sources are backfilling, and how a summary reads -------------------------------


def test_backfilling_is_every_polled_source_without_a_successful_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROGRESS_TEST_TOKEN", raising=False)
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        f'[organization]\nname = "T"\n[dashboard]\ndatabase = "{tmp_path / "store.db"}"\n'
        '[[sources]]\nid = "blog"\nplatform = "rss"\nurl = "https://blog.example/feed"\n'
        '[[sources]]\nid = "news"\nplatform = "rss"\nurl = "https://news.example/feed"\n'
        '[[sources]]\nid = "myspace"\nplatform = "csv"\n'
        '[[sources]]\nid = "page"\nplatform = "facebook"\npage_id = "1"\ntoken = { env = "PROGRESS_TEST_TOKEN" }\n'
    )
    config = load_config(config_path)
    store = Store.open(store_location(config))
    try:
        # only files fill the CSV source; the Facebook page cannot poll without its token
        assert backfilling(config, store) == ["blog", "news"]
        now = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
        store.write(Batch("news", "rss", now))
        store.record_error("blog", "rss", now, "cannot connect")
        assert backfilling(config, store) == ["blog"]  # a failed first poll: the next one is still the backfill
        store.write(Batch("blog", "rss", now))
        assert backfilling(config, store) == []
    finally:
        store.close()


@pytest.mark.parametrize(
    ("pages", "posts", "took", "line"),
    [
        (3, 57, 1.24, "src: backfilled 3 pages, 57 posts in 1.2 s"),
        (1, 1, 0.04, "src: backfilled 1 page, 1 post in 0.0 s"),
        (0, 12_345, 125.0, "src: backfilled 12,345 posts in 2m 05s"),  # no HTTP pages: only the posts
        (4_210, 0, 3720.0, "src: backfilled 4,210 pages, 0 posts in 1h 02m"),
    ],
)
def test_a_summary_line_reads(pages: int, posts: int, took: float, line: str) -> None:
    assert Tally(0.0, pages, posts, took).summary("src") == line


def test_a_hostile_source_id_is_made_inert_in_its_line() -> None:
    assert Tally(0.0, 1, 1, 1.0).summary("evil\x1b]0;pwned\x07") == "evil: backfilled 1 page, 1 post in 1.0 s"
