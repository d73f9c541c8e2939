"""One goal in detail: its sources side by side, its broadcasts, and the messages waiting
for a response.

`o` opens the selected broadcast or waiting message: only an http(s) URL, and only in a browser
when there is a display; over SSH the URL is shown and copied with OSC 52 instead,
so a text browser never takes over the terminal (SPEC §8).
"""

from __future__ import annotations

import os
import sys
import webbrowser
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label

from twoway.text import excerpt
from twoway.tui.render import LABELS, UNICODE, clean, format_value, goal_status, human_duration, utc

if TYPE_CHECKING:
    from twoway.report import GoalReport, Report

__all__ = ["GoalScreen", "has_display", "is_web_url"]

SHORT = {
    "community_messages": "community msgs",
    "amplification_rate": "amplification",
    "two_way_per_broadcast": "two-way/broadcast",
    "median_response_seconds": "median response",
}
"""Shorter labels, so a goal's three sources and its total fit in 80 columns."""
BY_SOURCE = (
    "broadcast",
    "two_way",
    "community_messages",
    "responses",
    "reposts",
    "quotes",
    "likes",
    "conversation_rate",
    "amplification_rate",
    "applause_rate",
    "two_way_per_broadcast",
    "response_rate",
    "median_response_seconds",
    "unanswered",
)


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def has_display() -> bool:
    """A graphical browser can open here: a local desktop, not a bare SSH session."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class GoalScreen(Screen[None]):
    """A goal's sources and its waiting list."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "open", "Open link"),
    ]

    def __init__(self, goal_name: str) -> None:
        super().__init__()
        self.goal_name = goal_name

    def compose(self) -> ComposeResult:
        yield Label(Content(clean(self.goal_name)), id="goal-title")
        yield Label("loading…", id="goal-status")
        yield Label("by source", classes="section")
        yield DataTable(id="by-source", cursor_type="none", zebra_stripes=True)
        yield Label("waiting for a response", id="waiting-title", classes="section")
        yield DataTable(id="waiting", cursor_type="row")
        yield Label("broadcasts", id="broadcasts-title", classes="section")
        yield DataTable(id="broadcasts", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#waiting", DataTable).focus()
        self.watch(self.app, "report", self._show)

    def _goal(self, report: Report | None) -> GoalReport | None:
        if report is None:
            return None
        return next((g for g in report.goals if g.name == self.goal_name), None)

    def _show(self, report: Report | None) -> None:
        goal = self._goal(report)
        if goal is None:
            return
        status = goal_status(goal, UNICODE)
        status.append(
            f"  {clean(goal.window)} {UNICODE.dot} {utc(goal.start):%Y-%m-%d} {UNICODE.arrow} {utc(goal.end):%Y-%m-%d}",
            style="dim",
        )
        self.query_one("#goal-status", Label).update(status)
        for name in ("met", "missed", "no-data", "no-targets"):
            self.set_class(goal.status == name, f"-{name}")
        self._by_source(goal)
        self._waiting(goal)
        self._broadcasts(goal)

    def _by_source(self, goal: GoalReport) -> None:
        table = self.query_one("#by-source", DataTable)
        table.clear(columns=True)
        sources = list(goal.by_source)
        table.add_column("metric", key="metric")
        for source in sources:
            table.add_column(Text(clean(source), style="bold"), key=source)
        table.add_column(Text("goal", style="bold"), key="goal")
        for metric in BY_SOURCE:
            cells: list[Text] = [Text(SHORT.get(metric, LABELS[metric]))]
            for source in sources:
                cells.append(Text(format_value(metric, goal.by_source[source].get(metric)), justify="right"))
            cells.append(Text(format_value(metric, goal.metrics.get(metric)), style="bold", justify="right"))
            table.add_row(*cells, key=metric)

    def _waiting(self, goal: GoalReport) -> None:
        title = f"waiting for a response: {goal.waiting_total:,}"
        if goal.longest_wait is not None:
            title += f", longest {human_duration(goal.longest_wait)}"
        if goal.waiting_total > len(goal.waiting):
            title += f" (the {len(goal.waiting)} oldest listed)"
        self.query_one("#waiting-title", Label).update(Content(title))
        table = self.query_one("#waiting", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_columns("waiting", "source", "since (UTC)", "link")
        for index, item in enumerate(goal.waiting):
            table.add_row(
                Text(human_duration(item.waiting_seconds), justify="right"),
                Text(clean(item.source)),
                Text(f"{utc(item.at):%Y-%m-%d %H:%M}"),
                Text(clean(item.url)),
                key=str(index),
            )
        if goal.waiting:
            table.move_cursor(row=min(row, len(goal.waiting) - 1))

    def _broadcasts(self, goal: GoalReport) -> None:
        count = goal.metrics.get("broadcast") or 0
        self.query_one("#broadcasts-title", Label).update(Content(f"broadcasts: {count:,}"))
        table = self.query_one("#broadcasts", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_columns("when (UTC)", "source", "post", "replies", "responses", "reposts", "likes")
        for index, item in enumerate(goal.broadcasts):
            table.add_row(
                Text(f"{utc(item.at):%Y-%m-%d %H:%M}"),
                Text(clean(item.source)),
                Text(excerpt(clean(item.excerpt), 40)),
                *(Text(f"{n:,}", justify="right") for n in (item.replies, item.responses, item.reposts, item.likes)),
                key=str(index),
            )
        if goal.broadcasts:
            table.move_cursor(row=min(row, len(goal.broadcasts) - 1))

    def selected_url(self) -> str | None:
        """The link of the selected row: in the broadcasts table when it has focus, else the waiting list."""
        goal = self._goal(getattr(self.app, "report", None))
        if goal is None:
            return None
        broadcasts = self.query_one("#broadcasts", DataTable)
        items = goal.broadcasts if broadcasts.has_focus else goal.waiting
        table = broadcasts if broadcasts.has_focus else self.query_one("#waiting", DataTable)
        if not items or table.row_count == 0:
            return None
        return items[min(table.cursor_row, len(items) - 1)].url

    def action_open(self) -> None:
        url = self.selected_url()
        if url is None:
            self.notify("Nothing selected.", severity="warning")
            return
        shown = clean(url)
        if not is_web_url(url):
            self.notify(shown, title="Not opened: only http(s) links open", severity="warning", markup=False)
            return
        if has_display():
            webbrowser.open(url, new=2)
            self.notify(shown, title="Opened in the browser", markup=False)
        else:
            self.app.copy_to_clipboard(url)
            self.notify(shown, title="No display: link copied to the clipboard", markup=False)
