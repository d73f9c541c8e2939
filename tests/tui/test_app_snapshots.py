"""SVG snapshots of the live app on the demo, with the clock fixed (pytest-textual-snapshot).

Update with `pytest tests/tui/test_app_snapshots.py --snapshot-update`, then read the SVGs
under `tests/tui/__snapshots__/` before accepting them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.test_app import SUNDAY, WEEKDAYS, backfilling_app, demo_app, settle
from twoway.tui.app import TwowayApp
from twoway.tui.screens.home import COMPACT_BELOW

Compare = Callable[..., bool]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


def settled(*keys: str, theme: str | None = None) -> Callable[[Pilot[Any]], Any]:
    """Wait for the first report, press `keys` letting each land, then let workers finish."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, TwowayApp)
        if theme:
            app.theme = theme
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)

    return run_before


def test_home_160x48(snap_compare: Compare, app: TwowayApp) -> None:
    """Two columns of panels, each with its per-day chart under the bars."""
    assert snap_compare(app, terminal_size=(160, 48), run_before=settled())


def test_home_7d_window(snap_compare: Compare, app: TwowayApp) -> None:
    assert snap_compare(app, terminal_size=(160, 48), run_before=settled("w"))


def test_goal_screen(snap_compare: Compare, app: TwowayApp) -> None:
    assert snap_compare(app, terminal_size=(100, 32), run_before=settled("enter"))


SIZES = [(80, 24), (80, 30), (120, 40), (200, 60)]
by_size = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


def opens_compact(size: tuple[int, int]) -> bool:
    return size[1] < COMPACT_BELOW


@by_size
def test_home_panels_at(snap_compare: Compare, app: TwowayApp, size: tuple[int, int]) -> None:
    """The goal panels, with `v` where the overview opens by itself."""
    keys = ("v",) if opens_compact(size) else ()
    assert snap_compare(app, terminal_size=size, run_before=settled(*keys))


@by_size
def test_overview_at(snap_compare: Compare, app: TwowayApp, size: tuple[int, int]) -> None:
    """The compact overview, with `v` where the panels open by themselves."""
    keys = () if opens_compact(size) else ("v",)
    assert snap_compare(app, terminal_size=size, run_before=settled(*keys))


@by_size
def test_goal_screen_at(snap_compare: Compare, app: TwowayApp, size: tuple[int, int]) -> None:
    """The first line pinned, every row of the goal's numbers whole, links and posts as wide as there is room."""
    assert snap_compare(app, terminal_size=size, run_before=settled("enter"))


def test_sources_screen(snap_compare: Compare, app: TwowayApp) -> None:
    assert snap_compare(app, terminal_size=(100, 24), run_before=settled("s"))


def test_sources_screen_with_an_error(snap_compare: Compare, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TWOWAY_DEMO_FAIL", "library-blog=HTTP 503 from blog")  # the demo collector's fault hook
    for app in demo_app(monkeypatch, tmp_path):
        assert snap_compare(app, terminal_size=(100, 24), run_before=settled("r", "s"))


def test_header_clock_paused(snap_compare: Compare, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Opening hours on weekdays, and now a Sunday: the header says the response clock is paused."""
    for app in demo_app(monkeypatch, tmp_path, now=SUNDAY, hours=WEEKDAYS):
        assert snap_compare(app, terminal_size=(100, 24), run_before=settled())


def test_help(snap_compare: Compare, app: TwowayApp) -> None:
    assert snap_compare(app, terminal_size=(100, 24), run_before=settled("question_mark"))


def test_home_light_theme(snap_compare: Compare, app: TwowayApp) -> None:
    assert snap_compare(app, terminal_size=(160, 48), run_before=settled(theme="textual-light"))


def test_home_250x70(snap_compare: Compare, app: TwowayApp) -> None:
    assert snap_compare(app, terminal_size=(250, 70), run_before=settled())


def test_header_while_backfilling(snap_compare: Compare, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A first run: one source's backfill failed, so the header's own row says `backfilling 1/3 sources`."""
    for app in backfilling_app(monkeypatch, tmp_path):
        assert snap_compare(app, terminal_size=(80, 24), run_before=settled())
