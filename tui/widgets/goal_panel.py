"""One goal on the home screen: a compact, focusable summary of its `GoalReport`.

The numbers and their formatting come from `twoway.tui.render`, shared with `twoway snapshot`;
the panel only chooses which parts fit on a dashboard tile. Status is a CSS class
(`-met`, `-missed`, `-no-data`, `-no-targets`, plus `-stale` when a source of the goal
is not collecting), and the stylesheet colours the border from it.

The panel holds one `goal` and binds it down to its parts: the totals (status and
bars), the per-day chart under them, and the details. The chart is the first thing
to go when space is short: the panel marks itself `-cramped` when narrower than
`CHART_MIN_WIDTH`, and the stylesheet hides the chart then (and on short screens).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from twoway.tui.render import (
    ONE_WAY,
    UNICODE,
    Flowing,
    bar_top,
    bars,
    clean,
    coverage_note,
    delta_style,
    format_delta,
    format_value,
    goal_status,
    imported_note,
    local,
    metric_inline,
    targets,
    waiting_summary,
)
from twoway.tui.widgets.daily_chart import DailyChart, Scales, screen_scales

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import RenderableType
    from textual.events import Resize

    from twoway.report import GoalReport, Report
    from twoway.tui.render import Glyphs

__all__ = ["GoalPanel", "Shown", "alert_marker", "panels_shown"]

RATES = {"conversation_rate": "conversation", "response_rate": "response", "median_response_seconds": "median"}
"""The key rates a tile has room for, with the short labels that keep them on one line."""
STATUS_CLASSES = ("-met", "-missed", "-no-data", "-no-targets")
CHART_MIN_WIDTH = 40
"""Narrower than this (content cells), a sparkline would be too short to read: the chart hides."""


class Shown(NamedTuple):
    """What a panel shows of a report: its goal, whether a source of it is behind, and the screen's scales."""

    goal: GoalReport | None
    stale: bool
    top: float
    scales: Scales


def panels_shown(report: Report, names: Sequence[str]) -> dict[str, Shown]:
    """Goal name → what its panel shows (no goal when the report has none of that name), every goal's bars and
    charts on the screen's scales."""
    goals = {g.name: g for g in report.goals}
    health = {s.id: s.status for s in report.sources}
    top, scales = bar_top(report.goals), screen_scales(report.goals)  # one scale per screen
    shown = {}
    for name in names:
        goal = goals.get(name)
        stale = goal is not None and any(health.get(sid, "ok") != "ok" for sid in goal.by_source)
        shown[name] = Shown(goal, stale, top, scales)
    return shown


def alert_marker(count: int, glyphs: Glyphs = UNICODE) -> str:
    """`⚑ 2 alerts`: a goal's waiting alerts firing."""
    return f"{glyphs.flag} {count:,} alert{'s' * (count != 1)}"


class GoalTotals(Widget):
    """Status and window, then broadcast next to two-way as bars."""

    goal: reactive[GoalReport | None] = reactive(None, layout=True)
    top: reactive[float] = reactive(0.0)
    """The bars' scale, shared by every goal of the screen."""

    def render(self) -> RenderableType:
        goal = self.goal
        if goal is None:
            return Text("loading…", style="dim")
        glyphs = UNICODE
        status = Text.assemble(
            goal_status(goal, glyphs),
            (f"  {clean(goal.window)} {glyphs.dot} {local(goal.start, goal.timezone):%Y-%m-%d} {glyphs.arrow} ", "dim"),
            (f"{local(goal.end, goal.timezone):%Y-%m-%d}", "dim"),
        )
        return Group(status, bars(goal, max(20, self.content_size.width), glyphs, self.top))

    def on_resize(self, event: Resize) -> None:
        # The bars were drawn for the width before: measured at the new one they could wrap onto a third line.
        self.refresh(layout=True)


class GoalDetails(Widget):
    """One-way engagement, the key rates, targets and what waits for a response."""

    goal: reactive[GoalReport | None] = reactive(None, layout=True)
    alerts: reactive[int] = reactive(0, layout=True)
    """Alerts firing for messages on its waiting list."""

    def watch_goal(self, goal: GoalReport | None) -> None:
        self.display = goal is not None

    def render(self) -> RenderableType:
        goal = self.goal
        if goal is None:
            return Text()
        glyphs = UNICODE
        one_way = Flowing(
            [metric_inline(goal, m, glyphs) for m in ONE_WAY],
            separator=f" {glyphs.dot} ",
            lead=Text("one-way  ", style="bold"),
        )
        rates = Flowing([self._rate(goal, m, label) for m, label in RATES.items()], separator="  ")
        imported = imported_note(goal.imported, glyphs)
        parts: list[RenderableType] = [one_way, rates, targets(goal, glyphs), self._waiting(goal, glyphs)]
        notes = [Text(note, style="dim") for note in (coverage_note(goal, glyphs),) if note is not None]
        return Group(*parts, *notes, *([imported] if imported is not None else []))

    def _waiting(self, goal: GoalReport, glyphs: Glyphs) -> Text:
        """What waits, and `⚑ 2 alerts` where some of it fires (the alerts screen, `a`, lists them)."""
        text = waiting_summary(goal, glyphs)
        if self.alerts:
            text.append("  ")
            text.append(alert_marker(self.alerts, glyphs), "bold red")
        return text

    @staticmethod
    def _rate(goal: GoalReport, metric: str, label: str) -> Text:
        """`conversation 0.69 (−0.72)`: `metric_inline` with a label short enough for a tile."""
        value, delta = goal.metrics.get(metric), goal.deltas.get(metric)
        text = Text.assemble((label + " ", "dim"), (format_value(metric, value), "bold"))
        if value is not None:
            text.append(f" ({format_delta(metric, delta)})", delta_style(metric, delta))
        return text


class GoalPanel(Widget, can_focus=True):
    """A goal's status, broadcast next to two-way and their days, one-way apart, targets and what waits."""

    BINDINGS = [Binding("enter", "select", "Open")]

    goal: reactive[GoalReport | None] = reactive(None, layout=True)
    """The goal's numbers; `None` until the first report lands."""
    stale: reactive[bool] = reactive(False)
    """A source of this goal is stale or in error: its numbers may be behind."""
    top: reactive[float] = reactive(0.0)
    """The longest bar of the screen: every goal's bars on one scale (`render.bar_top`)."""
    scales: reactive[Scales] = reactive(Scales)
    """The daily charts' scales, shared by every goal of the screen."""
    alerts: reactive[int] = reactive(0)
    """Alerts firing for its waiting list, from the app's alert ledger read."""

    class Selected(Message):
        """The user asked for this goal's detail."""

        def __init__(self, panel: GoalPanel) -> None:
            super().__init__()
            self.panel = panel

        @property
        def goal_name(self) -> str:
            return self.panel.goal_name

    def __init__(self, goal_name: str, shown: Shown | None = None, *, id: str | None = None) -> None:
        """`shown`: what the screen's report says of the goal, when it has one before the panel is mounted."""
        super().__init__(id=id)
        self.goal_name = goal_name
        self.border_title = Text(clean(goal_name))
        if shown is not None:  # its classes before it is first styled: restyling a panel restyles its parts
            self.set_reactive(GoalPanel.goal, shown.goal)
            self.set_reactive(GoalPanel.stale, shown.stale)
            self.set_reactive(GoalPanel.top, shown.top)
            self.set_reactive(GoalPanel.scales, shown.scales)
            self._status(shown.goal, update=False)
            self.set_class(shown.stale, "-stale", update=False)

    def _status(self, goal: GoalReport | None, *, update: bool = True) -> None:
        status = f"-{goal.status}" if goal is not None else None
        for name in STATUS_CLASSES:
            self.set_class(name == status, name, update=update)

    def watch_goal(self, goal: GoalReport | None) -> None:
        self._status(goal)

    def watch_stale(self, stale: bool) -> None:
        self.set_class(stale, "-stale")

    def show(self, shown: Shown) -> None:
        """A new report's numbers for this goal."""
        self.top, self.scales = shown.top, shown.scales
        self.goal = shown.goal
        self.stale = shown.stale

    def compose(self) -> ComposeResult:
        yield GoalTotals().data_bind(GoalPanel.goal, GoalPanel.top)
        yield DailyChart(self.goal, self.scales).data_bind(GoalPanel.goal, GoalPanel.scales)
        yield GoalDetails().data_bind(GoalPanel.goal, GoalPanel.alerts)

    def on_resize(self, event: Resize) -> None:
        self.set_class(self.content_size.width < CHART_MIN_WIDTH, "-cramped")

    def action_select(self) -> None:
        self.post_message(self.Selected(self))

    def on_click(self) -> None:
        self.focus()
        self.post_message(self.Selected(self))
