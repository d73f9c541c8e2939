"""The home screen: the header and one panel per goal in a responsive grid, or the
compact overview, one row per goal.

The grid's column count follows the screen's width class (`-narrow`, `-wide`,
`-ultrawide`, set by the app's breakpoints); arrow keys move between panels by
reading the grid's current column count, so keys and layout never disagree.

Below `COMPACT_BELOW` rows the panels would not show every goal, so the overview
takes their place; `v` switches by hand either way, and the choice holds until the
next `v`. The selected goal goes along: the focused panel becomes the selected row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable

from twoway import clock
from twoway.tui.screens.goal import GoalScreen
from twoway.tui.widgets.goal_panel import GoalPanel, panels_shown
from twoway.tui.widgets.header import DashboardHeader
from twoway.tui.widgets.keys_footer import KeysFooter
from twoway.tui.widgets.overview import Overview

if TYPE_CHECKING:
    from twoway.hours import OpeningHours
    from twoway.report import Report
    from twoway.tui.alert_feed import AlertsView

__all__ = ["COMPACT_BELOW", "HomeScreen"]

COMPACT_BELOW = 32
"""Fewer rows than this and the home screen opens on the compact overview."""


class HomeScreen(Screen[None]):
    """Every goal at a glance."""

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
        Binding("v", "toggle_view", "View"),
    ]

    chosen: reactive[bool | None] = reactive(None, init=False)
    """`v`'s choice: `True` for the overview, `False` for the panels, `None` to follow the height."""

    def __init__(self, goal_names: Sequence[str], source_ids: Sequence[str], hours: OpeningHours | None = None) -> None:
        super().__init__()
        self.goal_names = tuple(goal_names)
        self.source_ids = tuple(source_ids)
        self.hours = hours
        self._shown_compact: bool | None = None

    def compose(self) -> ComposeResult:
        report: Report | None = getattr(self.app, "report", None)  # read already: the panels are made with it
        shown = panels_shown(report, self.goal_names) if report is not None else {}
        yield DashboardHeader(self.source_ids, hours=self.hours, id="header")
        with Grid(id="goals"):
            for index, name in enumerate(self.goal_names):
                yield GoalPanel(name, shown.get(name), id=f"goal-{index}")
        yield Overview(id="overview", cursor_type="row")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "report", self._show)
        self.watch(self.app, "backfilling", self._show_backfilling)
        self.watch(self.app, "alerts", self._show_alerts)
        self._lay_out()

    @property
    def compact(self) -> bool:
        """Whether the overview shows: `v`'s choice, else whether the panels would not fit."""
        return self.chosen if self.chosen is not None else self.size.height < COMPACT_BELOW

    def on_resize(self) -> None:
        self._lay_out()

    def watch_chosen(self) -> None:
        self._lay_out()

    def action_toggle_view(self) -> None:
        self.chosen = not self.compact

    def _lay_out(self) -> None:
        """Show the panels or the overview, keeping the same goal selected."""
        overview, grid, panels = self.query_one(Overview), self.query_one("#goals", Grid), self.panels
        compact = self.compact
        if compact == self._shown_compact:
            return
        self._shown_compact = compact
        focused = self.focused
        index = panels.index(focused) if isinstance(focused, GoalPanel) and focused in panels else None
        if index is None and overview.has_focus:
            index = overview.cursor_row
        grid.display, overview.display = not compact, compact
        self.set_class(compact, "-compact")
        if compact:
            if index is not None and overview.row_count:
                overview.move_cursor(row=index)
            overview.focus()
        elif panels:
            panels[min(index or 0, len(panels) - 1)].focus()

    @property
    def panels(self) -> list[GoalPanel]:
        return list(self.query(GoalPanel).results(GoalPanel))

    def _show_backfilling(self, backfilling: tuple[int, int]) -> None:
        self.query_one(DashboardHeader).backfilling = backfilling

    def _show_alerts(self, alerts: AlertsView) -> None:
        """The header's count, and each goal's waiting alerts on its panel and its overview row."""
        self.query_one(DashboardHeader).firing = (len(alerts.firing), alerts.snoozed(clock.now()))
        counts = alerts.on_waiting_lists()
        for panel in self.panels:
            panel.alerts = counts.get(panel.goal_name, 0)
        overview = self.query_one(Overview)
        if overview.alerts != counts:
            overview.alerts = counts
            report: Report | None = getattr(self.app, "report", None)
            if report is not None:
                overview.show(report.goals)

    def _show(self, report: Report | None) -> None:
        if report is None:
            return
        self.query_one(DashboardHeader).report = report
        self.query_one(Overview).show(report.goals)
        panels = self.panels
        shown = panels_shown(report, [panel.goal_name for panel in panels])
        for panel in panels:
            panel.show(shown[panel.goal_name])

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

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.app.push_screen(GoalScreen(event.row_key.value))

    def on_fit_table_resized(self, event: Overview.Resized) -> None:
        report = getattr(self.app, "report", None)
        if report is not None:
            self.query_one(Overview).show(report.goals)
