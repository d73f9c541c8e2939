"""A goal's window day by day: broadcasts and two-way as two one-line bar charts, dated.

The charts of one screen share their scales (`Scales`, the busiest day of any goal on
it, per series), so two goals' days compare at a glance, and each line ends with
that top (`top 12/day`). Under the bars, the window's first and last day in the
organization's clock. A day takes a whole number of cells (or, when the window has
more days than cells, each cell shows its days' busiest), so no day looks wider
than another. The colours are the theme's, matching the panel's bars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from twoway.tui.render import local

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import RenderableType

    from twoway.report import GoalReport

__all__ = ["BLOCKS", "DailyChart", "Scales", "bar_line", "screen_scales"]

BLOCKS = " ▁▂▃▄▅▆▇█"
"""A day's height in eighths of a cell: a blank for none, a full block for the scale's top."""
LABEL_W = 10
TOP_W = 14
"""Cells the range at a line's end takes (`top 1,234/day`)."""


class Scales(NamedTuple):
    """The busiest day of any goal on a screen: the top of each series' bars."""

    broadcast: int = 0
    two_way: int = 0


def screen_scales(goals: Sequence[GoalReport]) -> Scales:
    """One scale per series for every chart on a screen."""
    days = [day for goal in goals for day in goal.daily]
    return Scales(max((b for b, _ in days), default=0), max((t for _, t in days), default=0))


def bar_line(values: Sequence[int], cells: int, top: int) -> str:
    """`values` as `cells` blocks against `top`: each day as wide as every other, a day with
    anything at least one eighth tall, so a quiet day never reads as none."""
    if not values or cells <= 0:
        return ""
    if len(values) <= cells:
        width = cells // len(values)
        columns = [v for v in values for _ in range(width)]
    else:  # more days than cells: each cell its days' busiest
        columns = [max(values[i * len(values) // cells : (i + 1) * len(values) // cells]) for i in range(cells)]
    full = len(BLOCKS) - 1
    return "".join(BLOCKS[0 if not v or not top else max(1, min(full, round(v / top * full)))] for v in columns)


class DailyChart(Widget):
    """Broadcast and two-way per day of the goal's window, oldest day on the left."""

    COMPONENT_CLASSES = {"daily--broadcast", "daily--two-way"}

    goal: reactive[GoalReport | None] = reactive(None, layout=True)
    """The goal whose `daily` series is drawn; hidden while it has none."""
    scales: reactive[Scales] = reactive(Scales, layout=True)
    """The screen's scales, set by the screen from every goal it shows."""

    def __init__(self, goal: GoalReport | None = None, scales: Scales | None = None) -> None:
        """Made with its panel's goal and scales when it has them, so its `-empty` class is right from the start."""
        super().__init__(classes="" if goal is not None and goal.daily else "-empty")
        self.set_reactive(DailyChart.goal, goal)
        self.set_reactive(DailyChart.scales, scales or Scales())

    def watch_goal(self, goal: GoalReport | None) -> None:
        self.set_class(goal is None or not goal.daily, "-empty")

    def render(self) -> RenderableType:
        goal = self.goal
        if goal is None or not goal.daily:
            return Text()
        scales = self.scales
        cells = max(1, self.content_size.width - LABEL_W - 1 - TOP_W)
        days = len(goal.daily)
        drawn = days * (cells // days) if days <= cells else cells
        text = Text(no_wrap=True, overflow="crop")
        series = (("broadcast", 0, scales.broadcast), ("two-way", 1, scales.two_way))
        for label, index, top in series:
            values = [day[index] for day in goal.daily]
            top = max(top, *values)
            text.append(label.ljust(LABEL_W), "bold")
            text.append(bar_line(values, drawn, top), self.get_component_rich_style(f"daily--{label}"))
            text.append(f" top {top:,}/day\n", "dim")
        first, last = local(goal.start, goal.timezone), local(goal.end, goal.timezone)
        left, right = f"{first:%m-%d}", f"{last:%m-%d}"
        axis = left + right.rjust(max(len(right) + 1, drawn - len(left)))
        text.append(" " * LABEL_W + axis, "dim")
        return text
