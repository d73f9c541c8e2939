"""A goal's window day by day: broadcasts and two-way as two one-line sparklines.

Each line has its own scale (Textual's `Sparkline` spans its data's minimum to its
maximum), so the range is printed at its end: the shape says when, the range says
how much. A day takes a whole number of cells (or, when the window has more days than
cells, each cell shows its days' busiest), so no day looks wider than another. The
colours are the theme's, set on the `-broadcast` and `-two-way` rows in the
stylesheet, matching the panel's bars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Sparkline

if TYPE_CHECKING:
    from textual.events import Resize

    from twoway.report import GoalReport

__all__ = ["DailyChart"]

SERIES = (("broadcast", "-broadcast"), ("two-way", "-two-way"))
"""Each line's label and class, in the order of `GoalReport.daily`'s pairs."""
BESIDE = 10 + 1 + 11
"""Cells the label, the gap and the longest range (`0–1,234/day`) take beside a sparkline."""


class DailyChart(Widget):
    """Broadcast and two-way per day of the goal's window, oldest day on the left."""

    goal: reactive[GoalReport | None] = reactive(None)
    """The goal whose `daily` series is drawn; hidden while it has none."""

    def compose(self) -> ComposeResult:
        for label, name in SERIES:
            with Horizontal(classes=f"series {name}"):
                yield Label(label, classes="label")
                yield Sparkline([], classes=name)
                yield Label("", classes="range")

    def watch_goal(self, goal: GoalReport | None) -> None:
        daily = goal.daily if goal is not None else ()
        self.set_class(not daily, "-empty")
        if not daily or not self.is_mounted:
            return
        for index, row in enumerate(self.query(".series").results(Horizontal)):
            values = [day[index] for day in daily]
            row.query_one(Sparkline).data = values
            row.query_one(".range", Label).update(Content(f"{min(values):,}–{max(values):,}/day"))
        self._fit(len(daily))

    def on_mount(self) -> None:
        self.watch_goal(self.goal)

    def on_resize(self, event: Resize) -> None:
        if self.goal is not None and self.goal.daily:
            self._fit(len(self.goal.daily))

    def _fit(self, days: int) -> None:
        available = max(1, self.content_size.width - BESIDE)
        width = days * (available // days) if days <= available else available
        for sparkline in self.query(Sparkline):
            sparkline.styles.width = width
