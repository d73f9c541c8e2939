"""The goal screen at every size from 80×20 to 120×40: every number whole, the goal's total on every row.

Read off the screen as the terminal shows it (the compositor's lines), against the
report's numbers formatted as the screen formats them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.test_app import demo_app, settle
from twoway.report import GoalReport
from twoway.tui.app import TwowayApp
from twoway.tui.render import LABELS, format_value
from twoway.tui.screens.goal import BY_SOURCE, LIST_MIN, SHORT, GoalScreen, share_rows
from twoway.tui.widgets.fit import fit_columns, more_sources

HEIGHTS = range(20, 41)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


def screen_lines(app: TwowayApp) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def resized(app: TwowayApp, pilot: Pilot[int], size: tuple[int, int]) -> None:
    """Resize, then wait until the screen is laid out at that size: on a loaded machine it lags a refresh."""
    await pilot.resize_terminal(*size)
    for _ in range(100):
        if app.size == size and len(screen_lines(app)) == size[1]:
            return
        await pilot.pause()
    raise AssertionError(f"never laid out at {size[0]}×{size[1]}")


def goal_of(app: TwowayApp, screen: GoalScreen) -> GoalReport:
    assert app.report is not None
    return next(g for g in app.report.goals if g.name == screen.goal_name)


def check_goal_screen(app: TwowayApp, goal: GoalReport, size: tuple[int, int]) -> None:
    """The first line, then each by-source row: its label, the shown sources' figures and the goal's, each whole.

    Rows are read within the table's columns on screen, so a scrollbar beside it is not a figure.
    """
    everything = screen_lines(app)
    where = f"at {size[0]}×{size[1]}"
    assert len(everything) == size[1]
    first = everything[0]
    region = app.screen.query_one("#by-source").region
    lines = [line[region.x : region.right] for line in everything]
    assert goal.name in first and goal.status in first and "DEMO" in first, f"{where}: {first!r}"
    header = next((i for i, line in enumerate(lines) if line.split()[:1] == ["metric"]), None)
    assert header is not None, f"{where}: no by-source header in\n" + "\n".join(lines)
    assert lines[header].rstrip().endswith("goal"), f"{where}: {lines[header]!r}"
    shown = [s for s in goal.by_source if s in lines[header]]
    hidden = len(goal.by_source) - len(shown)
    if hidden:
        assert more_sources(hidden) in lines[header], f"{where}: {lines[header]!r}"
    for offset, metric in enumerate(BY_SOURCE, start=1):
        row = lines[header + offset]
        label = SHORT.get(metric, LABELS[metric])
        assert row.strip().startswith(label), f"{where}: {metric} row is {row!r}"
        cells = re.split(r"\s{2,}", row.strip()[len(label) :].strip())
        expected = [format_value(metric, goal.by_source[s].get(metric)) for s in shown]
        expected.append(format_value(metric, goal.metrics.get(metric)))
        assert cells == expected, f"{where}: {metric} row is {row!r}"
    check_footer(app, everything[-1], where)


def check_footer(app: TwowayApp, footer: str, where: str) -> None:
    """Each key whole or not there: the footer is whole keys, then maybe the palette's."""
    rest = footer.replace("▏^p palette", "")
    shown = [b for b in app.screen.active_bindings.values() if b[1].show]
    for _, binding, _, _ in shown:
        rest = rest.replace(f"{app.get_key_display(binding)} {binding.description}", "", 1)
    assert not rest.strip(), f"{where}: a key is cut in the footer {footer!r}"
    if app.size.width >= 80:
        assert rest != footer and len(footer.split()) >= 2 * len(shown), f"{where}: keys missing in {footer!r}"


async def test_every_figure_of_the_goal_column_is_whole_at_every_size(app: TwowayApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GoalScreen)
        goal = goal_of(app, screen)
        for width in (80, 100, 120):
            for height in HEIGHTS:
                await resized(app, pilot, (width, height))
                check_goal_screen(app, goal, (width, height))


async def test_sources_that_do_not_fit_give_way_whole(app: TwowayApp) -> None:
    """Narrower than the three sources need, the last go, as `+N sources`, and the goal's total stays."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GoalScreen)
        goal = goal_of(app, screen)
        for width in (44, 56, 64, 72):
            await resized(app, pilot, (width, 24))
            await pilot.pause()
            check_goal_screen(app, goal, (width, 24))
        header = next(line for line in screen_lines(app) if line.split()[:1] == ["metric"])
        assert "+1 source" in header or "+2 sources" in header or "+3 sources" in header
        title = next(line for line in screen_lines(app) if line.strip().startswith("by source"))
        assert "not shown" in title


async def test_post_texts_and_links_use_the_width_they_have(app: TwowayApp) -> None:
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GoalScreen)
        goal = goal_of(app, screen)
        text = "\n".join(screen_lines(app))
        for item in goal.waiting:
            assert item.url in text  # whole, at 200 columns
        longest = max(goal.broadcasts, key=lambda b: len(b.excerpt))
        assert " ".join(longest.excerpt.split())[:80] in text  # far past the old 40 characters


def test_fit_columns_keeps_the_fixed_and_drops_from_the_end() -> None:
    assert fit_columns(100, [10, 5], [10, 10, 10]) == 3
    assert fit_columns(45, [10, 5], [10, 10, 10], marker=9) == 1  # 12 + 7, a marker of 11: room for one of 12
    assert fit_columns(10, [10, 5], [10], marker=9) == 0


def test_the_lists_share_the_rows_left() -> None:
    assert share_rows(40, [10, 30]) == (10, 30)  # the short list takes what it needs, the long one the rest
    assert share_rows(40, [30, 10]) == (30, 10)
    assert share_rows(40, [30, 30]) == (20, 20)
    assert share_rows(6, [30, 30]) == (LIST_MIN, LIST_MIN)  # too short: both keep their minimum, the screen scrolls
