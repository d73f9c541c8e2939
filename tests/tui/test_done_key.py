"""`x` on a goal's waiting list (SPEC §9): the message needs no reply, leaves the list, and `u` takes it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.tui.test_app import demo_app, settle
from twoway.report import GoalReport
from twoway.tui.app import TwowayApp
from twoway.tui.screens.goal import GoalScreen


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


def shown(app: TwowayApp) -> GoalReport:
    screen = app.screen
    assert isinstance(screen, GoalScreen) and app.report is not None
    return next(g for g in app.report.goals if g.name == screen.goal_name)


def titles(app: TwowayApp) -> list[str]:
    return [n.title for n in app._notifications]


async def test_x_marks_the_selected_message_and_u_takes_it_back(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        before = shown(app)
        chosen = before.waiting[1]
        await pilot.press("down", "x")
        await settle(app, pilot)
        after = shown(app)
        assert after.waiting_total == before.waiting_total - 1
        assert chosen.url not in [w.url for w in after.waiting]
        assert [w for w in before.waiting if w != chosen][: len(after.waiting) - 1] == list(after.waiting[:-1])
        assert after.metrics == before.metrics and after.by_source == before.by_source  # it was not answered
        assert app.screen.query_one("#waiting", DataTable).row_count == len(after.waiting)
        (said,) = [n for n in app._notifications if n.title == "No reply needed"]
        assert said.message.startswith(f"{chosen.source}: the message of ") and "u takes it back" in said.message
        await pilot.press("u")
        await settle(app, pilot)
        assert shown(app).waiting == before.waiting and shown(app).waiting_total == before.waiting_total
        assert "Mark taken back" in titles(app)
        await pilot.press("u")  # nothing left to take back
        await settle(app, pilot)
        assert "Nothing to undo" in titles(app)
        assert shown(app).waiting == before.waiting


async def test_x_on_a_broadcast_marks_nothing(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        before = shown(app)
        app.screen.query_one("#broadcasts", DataTable).focus()
        await pilot.press("x")
        await settle(app, pilot)
        assert shown(app) == before
        assert app.store.conn.execute("SELECT COUNT(*) FROM no_reply_needed").fetchone() == (0,)
        assert any("select one there" in n.message for n in app._notifications)


async def test_x_is_in_the_goal_screens_footer_and_the_help(app: TwowayApp) -> None:
    from twoway.tui.screens.help import KEYS

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        footer = [strip.text for strip in app.screen._compositor.render_strips()][-1]
        assert "x Done" in footer
    assert {"x", "u"} <= {key for key, _ in KEYS}
