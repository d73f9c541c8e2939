"""The home screen: the header and one panel per goal in a responsive grid.

The grid's column count follows the screen's width class (`-narrow`, `-wide`,
`-ultrawide`, set by the app's breakpoints); arrow keys move between panels by
reading the grid's current column count, so keys and layout never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen

from twoway.tui.screens.goal import GoalScreen
from twoway.tui.widgets.goal_panel import GoalPanel
from twoway.tui.widgets.header import DashboardHeader
from twoway.tui.widgets.keys_footer import KeysFooter

if TYPE_CHECKING:
    from twoway.hours import OpeningHours
    from twoway.report import Report

__all__ = ["HomeScreen"]


class HomeScreen(Screen[None]):
    """Every goal at a glance."""

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
    ]

    def __init__(self, goal_names: Sequence[str], source_ids: Sequence[str], hours: OpeningHours | None = None) -> None:
        super().__init__()
        self.goal_names = tuple(goal_names)
        self.source_ids = tuple(source_ids)
        self.hours = hours

    def compose(self) -> ComposeResult:
        yield DashboardHeader(self.source_ids, hours=self.hours, id="header")
        with Grid(id="goals"):
            for index, name in enumerate(self.goal_names):
                yield GoalPanel(name, id=f"goal-{index}")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "report", self._show)
        panels = self.panels
        if panels:
            panels[0].focus()

    @property
    def panels(self) -> list[GoalPanel]:
        return list(self.query(GoalPanel).results(GoalPanel))

    def _show(self, report: Report | None) -> None:
        if report is None:
            return
        self.query_one(DashboardHeader).report = report
        goals = {g.name: g for g in report.goals}
        health = {s.id: s.status for s in report.sources}
        for panel in self.panels:
            goal = goals.get(panel.goal_name)
            panel.goal = goal
            panel.stale = goal is not None and any(health.get(sid, "ok") != "ok" for sid in goal.by_source)

    def action_move(self, dx: int, dy: int) -> None:
        panels = self.panels
        if not panels:
            return
        focused = self.focused
        index = panels.index(focused) if isinstance(focused, GoalPanel) and focused in panels else 0
        columns = max(1, self.query_one("#goals", Grid).styles.grid_size_columns or 1)
        target = index + dx + dy * columns
        if 0 <= target < len(panels):
            panels[target].focus()

    def on_goal_panel_selected(self, event: GoalPanel.Selected) -> None:
        event.stop()
        self.app.push_screen(GoalScreen(event.goal_name))
