"""The compact overview: one row per goal, k9s style, so every goal fits on 80×24.

What a panel says in ten lines, in one: status, broadcast, two-way, response rate,
median response, what waits and for how long. Laid out like the goal screen's tables
(`twoway.tui.widgets.fit`): the numbers are whole or not there, and the goal's name
takes what they leave; where the name would get too narrow beside the status word,
the status shows as its mark only (the panels' ✓, ✗, ?, ·), coloured as ever.
While alerts fire for a goal's waiting list, a narrow `⚑` column at the end counts
them, as a panel's `⚑ 2 alerts` does; it is not there while none fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.text import Text

from twoway.tui.render import (
    STATUS_STYLE,
    UNICODE,
    clean,
    format_value,
    goal_status,
    human_duration,
)
from twoway.tui.widgets.fit import CELL_PADDING, FitTable, column_width

if TYPE_CHECKING:
    from twoway.report import GoalReport

__all__ = ["Overview", "overview_cells"]

COLUMNS = (
    ("broadcast", "broadcast"),
    ("two-way", "two_way"),
    ("response", "response_rate"),
    ("median", "median_response_seconds"),
)
"""Header → metric: the numbers of a row, in the order a panel shows them."""
NAME_MIN = 16
"""Narrowest the goal's name gets before the status word gives way to its mark."""


def overview_cells(goal: GoalReport) -> list[Text]:
    """A goal's numbers as the overview shows them: the metrics, then waiting and the longest wait."""
    cells = [Text(format_value(metric, goal.metrics.get(metric)), justify="right") for _, metric in COLUMNS]
    waiting = "?" if goal.not_polled else f"{goal.waiting_total:,}"
    style = "bold yellow" if goal.waiting_total and not goal.not_polled else ""
    longest = human_duration(goal.longest_wait) if goal.longest_wait is not None else UNICODE.null
    cells.append(Text(waiting, style=style, justify="right"))
    cells.append(Text(longest, style=style, justify="right"))
    return cells


class Overview(FitTable):
    """Every goal, one row each; `Enter` on a row opens its goal as on the panels."""

    alerts: Mapping[str, int] = {}
    """Goal name → its waiting alerts firing, as the home screen last gave them."""

    def show(self, goals: tuple[GoalReport, ...]) -> None:
        row = self.cursor_row
        pad = 2 * CELL_PADDING
        heads = [head for head, _ in COLUMNS] + ["waiting", "longest"]
        rows = [overview_cells(goal) for goal in goals]
        if any(self.alerts.get(goal.name) for goal in goals):
            heads.append(UNICODE.flag)
            for goal, cells in zip(goals, rows):
                count = self.alerts.get(goal.name, 0)
                cells.append(Text(f"{count:,}" if count else "", style="bold red", justify="right"))
        widths = [column_width(head, [r[i] for r in rows]) for i, head in enumerate(heads)]
        statuses = [goal_status(goal) for goal in goals]
        marks = [Text(s.plain.split(" ", 1)[0], style=STATUS_STYLE.get(g.status, "")) for s, g in zip(statuses, goals)]
        room = max(0, self.scrollable_content_region.width or self.size.width) - sum(w + pad for w in widths) - pad
        words = room - (column_width("status", statuses) + pad) >= NAME_MIN
        status_cells = statuses if words else marks
        status_w = column_width("status" if words else "", status_cells)
        names = [Text(clean(goal.name), style="bold") for goal in goals]
        name_w = max(4, min(room - status_w - pad, column_width("goal", names)))
        self.clear(columns=True)
        self.add_column("goal", width=name_w, key="goal")
        self.add_column("status" if words else "", width=status_w, key="status")
        for head, width in zip(heads, widths):
            self.add_column(Text(head, justify="right"), width=width, key=head)
        for goal, name, status, cells in zip(goals, names, status_cells, rows):
            name.truncate(name_w, overflow="ellipsis")
            self.add_row(name, status, *cells, key=goal.name)
        if goals:
            self.move_cursor(row=min(row, len(goals) - 1))
