"""`twoway done URL` (SPEC §9): what it says, its exit codes, and the waiting list it changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scenario import ORG, Scenario, at, make_config, post
from twoway.cli import main

NOW = "2026-06-30T12:00:00Z"
"""The scenario's NOW: its messages are inside the window."""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration on a store with r1 waiting and r2 answered, in Chicago's clock."""
    sc = Scenario(tmp_path, make_config(sources=(("blog", "rss"),)))
    sc.write(
        post("b1", ORG, at(days=3)),
        post("r1", "alice", at(days=2), parent_id="b1", root_id="b1"),
        post("r2", "bob", at(days=2), parent_id="b1", root_id="b1"),
        post("a2", ORG, at(days=1), parent_id="r2", root_id="b1"),
        source="blog",
    )
    sc.store.close()
    path = tmp_path / "config.toml"
    path.write_text(
        f'[organization]\nname = "T"\ntimezone = "America/Chicago"\n[dashboard]\ndatabase = "{sc.path}"\n'
        '[[sources]]\nid = "blog"\nplatform = "rss"\nurl = "http://127.0.0.1:9/feed"\n'
        '[[goals]]\nname = "All"\n'
    )
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    return path


def done(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), "done", *args])
    out, err = capsys.readouterr()
    return code, out, err


def waiting(config: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["--config", str(config), "snapshot", "--no-poll", "--format", "json"]) == 0
    (goal,) = json.loads(capsys.readouterr().out)["goals"]
    assert goal["waiting_total"] == len(goal["waiting"])
    return [w["url"] for w in goal["waiting"]]


def test_done_marks_says_which_message_and_undo_takes_it_back(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://x.example/r1"
    assert waiting(config, capsys) == [url]
    message = "the message of 2026-06-28 07:00 America/Chicago on blog"  # 12:00 UTC, in the organization's zone
    assert done(config, capsys, url) == (0, f"no reply needed: {message} leaves the waiting list\n", "")
    assert waiting(config, capsys) == []
    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T15:00:00Z")
    assert done(config, capsys, url) == (0, f"already marked done on 2026-06-30 07:00: {message}\n", "")
    assert done(config, capsys, url, "--undo") == (0, f"no longer marked done: {message}\n", "")
    assert waiting(config, capsys) == [url]
    assert done(config, capsys, "--undo", url) == (0, f"not marked done: {message}, nothing to undo\n", "")


@pytest.mark.parametrize(
    ("url", "undo"),
    [
        ("https://x.example/nowhere", False),  # not in the store
        ("https://x.example/r2", False),  # answered: waiting for nobody
        ("https://x.example/b1", False),  # the broadcast, not a community message
        ("https://x.example/b1", True),
        ("https://x.example/\x1b[2Jr1", True),
    ],
)
def test_a_link_that_is_no_waiting_message_is_one_line_and_exit_1(
    config: Path, capsys: pytest.CaptureFixture[str], url: str, undo: bool
) -> None:
    code, out, err = done(config, capsys, url, *(["--undo"] if undo else []))
    assert code == 1 and out == ""
    assert err.startswith("twoway done: https://x.example/") and err.count("\n") == 1 and "\x1b" not in err
    assert "community message in the store has this link" in err
    assert waiting(config, capsys) == ["https://x.example/r1"]


def test_done_is_not_for_the_demo_nor_without_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["done", "--demo", "https://x.example/r1"]) == 2
    assert "not with --demo" in capsys.readouterr().err
    assert main(["done"]) == 2
    assert "URL" in capsys.readouterr().err
