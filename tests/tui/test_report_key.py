"""`R` in the live app: the HTML report of the window and goals shown, in the documents folder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.test_app import demo_app, settle
from twoway.tui.app import TwowayApp
from twoway.tui.screens.goal import GoalScreen


@pytest.fixture
def documents(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "Documents"
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(folder))  # platformdirs' documents folder on Linux
    return folder


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, documents: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


def report_json(path: Path) -> dict[str, Any]:
    html = path.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="twoway-report">(.*?)</script>', html, re.S)
    assert block is not None
    data: dict[str, Any] = json.loads(block.group(1))
    return data


async def test_r_writes_the_report_of_every_goal_and_says_where(app: TwowayApp, documents: Path) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        files = list(documents.iterdir())
        assert len(files) == 1 and files[0].suffix == ".html"
        data = report_json(files[0])
        assert [g["name"] for g in data["goals"]] == list(app.goal_names)
        assert data["window"] is None and data["demo"] is True
        told = [n for n in app._notifications if str(files[0]) in n.message]
        assert told and told[0].severity == "information"


async def test_r_follows_the_window_and_the_goal_shown(app: TwowayApp, documents: Path) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("w")  # 7d for every goal
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GoalScreen)
        await pilot.press("R")
        await settle(app, pilot)
        (written,) = documents.iterdir()
        data = report_json(written)
        assert [g["name"] for g in data["goals"]] == [screen.goal_name]
        assert data["window"] == "7d" and data["goals"][0]["window"] == "7d"


async def test_an_unwritable_folder_is_one_line_and_the_app_stays(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be\n")
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(blocked / "Documents"))
    for app in demo_app(monkeypatch, tmp_path):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("R")
            await settle(app, pilot)
            errors = [n for n in app._notifications if n.severity == "error"]
            assert len(errors) == 1
            assert "report not written" in errors[0].message and "\n" not in errors[0].message
            assert "not-a-folder" in errors[0].message
            assert app.is_running and app.return_code is None


async def test_r_is_in_the_footer_the_help_and_the_palette(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        footer = [strip.text for strip in app.screen._compositor.render_strips()][-1]
        assert "R Report" in footer
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Write the report" in titles
        from twoway.tui.screens.help import KEYS

        assert any(key == "R" for key, _ in KEYS)
