"""Hostile text arriving from a platform (post text, author names, URLs) is neutralised in
every snapshot format and in the live app, and the layout holds (SPEC §8)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import collect_once, fake_sleep, write_config  # noqa: F401
from tests.replay import ReplayServer, json_reply, replay_server
from twoway.cli import main

NOW = "2026-06-30T12:00:00Z"
HOSTILE = (
    "\x1b[2J\x1b[31mCLEAR\x1b[0m \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b]52;c;cHduZWQ=\x07"
    " [bold red]markup[/] \u202eexe.gnp\u202c zero\u200bwidth \x9b2J a\u0301\u0301\u0301\u0301\u0301\u0301 "
    "漢字😀 " + "long " * 2000
)
URL = "https://evil.example/\x1b[31mred\x07?q=[link=x]"
# what must never reach a terminal: ESC, BEL, C1 controls, bidi overrides, zero-width characters
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u202a-\u202e\u2066-\u2069\ufeff]")


def _account(aid: str, name: str) -> dict[str, Any]:
    return {"id": aid, "acct": name, "username": name, "display_name": HOSTILE, "followers_count": 3}


def _status(sid: str, account: dict[str, Any], at: str, parent: str | None = None) -> dict[str, Any]:
    return {
        "id": sid,
        "created_at": at,
        "content": f"<p>{HOSTILE}</p>",
        "url": URL + sid,
        "account": account,
        "in_reply_to_id": parent,
        "in_reply_to_account_id": None,
        "replies_count": 1 if parent is None else 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "tags": [{"name": "SummerReading"}],
        "mentions": [],
        "visibility": "public",
        "reblog": None,
        "spoiler_text": HOSTILE[:40],
        "card": None,
        "edited_at": None,
    }


def _serve(server: ReplayServer) -> None:
    library, patron = _account("1", "library"), _account("2", "patron")
    broadcast = _status("10", library, "2026-06-28T10:00:00.000Z")
    reply = _status("11", patron, "2026-06-29T10:00:00.000Z", parent="10")
    server.route("GET", "/api/v1/accounts/lookup", lambda r: json_reply(library))
    server.route("GET", "/api/v1/accounts/1/statuses", lambda r: json_reply([broadcast]))
    server.route("GET", "/api/v1/statuses/10/context", lambda r: json_reply({"ancestors": [], "descendants": [reply]}))


def _mastodon_config(tmp_path: Path, server: ReplayServer, goals: str = "") -> Path:
    """A config whose one source, `social`, is the Mastodon account `library` on `server`."""
    source = f'[[sources]]\nid = "social"\nplatform = "mastodon"\ninstance = "{server.url}"\naccount = "library"\n'
    return write_config(tmp_path, source, goals)


@pytest.fixture
def hostile_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object) -> Any:  # noqa: F811
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    with replay_server() as server:
        _serve(server)
        config = _mastodon_config(tmp_path, server, '[[goals]]\nname = "Summer"\nhashtags = ["SummerReading"]\n')
        assert collect_once(config) == (0, "")
        yield config


@pytest.mark.parametrize("fmt", ["text", "json", "csv", "markdown", "prometheus"])
def test_every_format_neutralises_what_the_platform_sent(hostile_config: Path, fmt: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(hostile_config), "snapshot", "--no-poll", "--format", fmt]) == 0
    text = out.getvalue()
    if fmt not in ("csv", "prometheus"):  # they hold metrics only
        assert "evil.example" in text  # the waiting message's link is shown ...
    assert not FORBIDDEN.search(text)  # ... without anything that could steer the terminal
    if fmt == "text":
        assert max(len(line) for line in text.splitlines()) <= 80


def test_the_text_snapshot_works_under_ascii_and_the_c_locale(hostile_config: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C", "TWOWAY_NOW": NOW}
    result = subprocess.run(
        [sys.executable, "-m", "twoway", "--config", str(hostile_config), "snapshot", "--no-poll"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    result.stdout.encode("ascii")
    assert not FORBIDDEN.search(result.stdout)


async def test_the_live_app_shows_it_literally(hostile_config: Path) -> None:
    from textual.widgets import DataTable

    from twoway.config import load_config
    from twoway.wiring import build_app

    app = build_app(load_config(hostile_config), demo=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if app.report is not None:
                break
        await pilot.press("enter")
        await pilot.pause(0.2)
        for table in app.screen.query(DataTable):
            for row in range(table.row_count):
                for cell in table.get_row_at(row):
                    assert not FORBIDDEN.search(str(cell))
        screen = app.export_screenshot()  # the SVG of what the terminal shows
        assert "evil.example" in screen and not FORBIDDEN.search(screen)
    app.store.close()


@pytest.mark.parametrize(
    "drift",
    [
        {"content": None, "tags": None, "mentions": "x"},  # nulls and wrong types
        {"account": None},  # a missing author
        {"created_at": "yesterday"},  # a time that is not one
        {"unknown_field": {"nested": [1, 2]}},  # extra fields are fine
    ],
    ids=["nulls", "no-author", "bad-time", "extra"],
)
def test_schema_drift_fails_the_source_in_one_line_or_is_ignored(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_sleep: object,  # noqa: F811
    drift: dict[str, Any],
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    library = _account("1", "library")
    status = {**_status("10", library, "2026-06-28T10:00:00.000Z"), **drift}
    with replay_server() as server:
        server.route("GET", "/api/v1/accounts/lookup", lambda r: json_reply(library))
        server.route("GET", "/api/v1/accounts/1/statuses", lambda r: json_reply([status]))
        server.route("GET", "/api/v1/statuses/10/context", lambda r: json_reply({"ancestors": [], "descendants": []}))
        code, stderr = collect_once(_mastodon_config(tmp_path, server))
    assert "Traceback" not in stderr
    if code:
        assert stderr.count("\n") == 1 and stderr.startswith("twoway: social: ")
    else:
        assert stderr == ""


def test_a_link_header_that_repeats_the_same_page_fails_the_source(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_sleep: object,  # noqa: F811
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    library = _account("1", "library")
    page = [_status(str(n), library, "2026-06-28T10:00:00.000Z") for n in (12, 11)]
    with replay_server() as server:
        server.route("GET", "/api/v1/accounts/lookup", lambda r: json_reply(library))
        link = {"Link": f'<{server.url}/api/v1/accounts/1/statuses?max_id=11>; rel="next"'}
        server.route("GET", "/api/v1/accounts/1/statuses", lambda r: json_reply(page, headers=link))
        code, stderr = collect_once(_mastodon_config(tmp_path, server))
        assert len(server.requests("/api/v1/accounts/1/statuses")) == 2
    assert code == 1 and "repeats the same page" in stderr and stderr.count("\n") == 1
