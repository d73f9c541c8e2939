"""The live app's start-up order: the demo's store filled and its first report read by a child
process, the home screen made with that report, collecting only once it is shown."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from textual.app import ComposeResult

from tests.tui.test_app import NOW, demo_app, settle
from twoway.config import Source
from twoway.errors import TwowayError
from twoway.tui.app import TwowayApp
from twoway.tui.widgets.goal_panel import GoalPanel
from twoway.wiring import DemoStart, demo_config


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


def test_the_demo_child_reads_the_report_the_apps_first_read_would(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for app in demo_app(monkeypatch, tmp_path):
        start = app._starting
        assert isinstance(start, DemoStart)
        start.wait()
        assert start.done()
        first = start.first()
        assert first is not None and first == app._read_report(None, daily=True)
        assert first.demo and all(g.daily for g in first.goals)
        assert start.first() is None  # once: later reads see polls the child never saw


def test_a_demo_child_that_cannot_fill_the_store_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    (tmp_path / "file").write_text("not a folder")
    config = demo_config()
    config = config._replace(dashboard=config.dashboard._replace(database=tmp_path / "file" / "demo.db"))
    start = DemoStart(config)
    for _ in range(2):  # every time it is asked
        with pytest.raises(TwowayError, match="the demo store was not filled: .*demo.db"):
            start.wait()
    assert start.first() is None


async def test_the_home_screen_is_made_with_a_report_read_already(
    monkeypatch: pytest.MonkeyPatch, app: TwowayApp
) -> None:
    """The child done before the app mounts: each panel has its numbers and status class before it is first
    styled (so nothing restyles it), and the app reads nothing itself."""
    assert app._starting is not None
    app._starting.wait()
    reads: list[int | None] = []
    made: dict[str, set[str]] = {}
    refresh, compose = app.refresh_report, GoalPanel.compose

    def reading(window: int | None) -> None:
        reads.append(window)
        refresh(window)

    def composing(panel: GoalPanel) -> ComposeResult:
        made[panel.goal_name] = set(panel.classes)
        return compose(panel)

    monkeypatch.setattr(app, "refresh_report", reading)
    monkeypatch.setattr(GoalPanel, "compose", composing)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert made["Summer reading"] == {"-missed"} and made["Events"] == {"-met"}
        assert reads == []  # the demo's sources are fresh: no poll ended, no read
        assert app.polls == 0 and app.schedule  # but the first cycle ran and armed each source


async def test_collecting_begins_once_the_first_report_is_shown(
    monkeypatch: pytest.MonkeyPatch, app: TwowayApp
) -> None:
    seen: list[tuple[str, bool]] = []
    poll, count = app.poll, app._count_backfilling

    def polling(sources: Sequence[Source] | None = None) -> None:
        seen.append(("poll", app.report is not None))
        poll(sources)

    def counting() -> None:
        seen.append(("count", app.report is not None))
        count()

    monkeypatch.setattr(app, "poll", polling)
    monkeypatch.setattr(app, "_count_backfilling", counting)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert seen == [("count", True), ("poll", True)]  # the backfill count, then the first cycle
        assert app.backfilling == (0, 3)
