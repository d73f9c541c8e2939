"""The dashboard's header: who, which window, how fresh, and each source's health.

Three one-line rows of labels, so the DEMO badge, goal counts and each source's
status are CSS classes the theme colours (`-ok`, `-stale`, `-error`, `-met`, ...),
not colours baked into text. Every label exists from the start and is updated in
place, so a new report never remounts anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label

from tui.render import UNICODE, clean, relative_time, utc

if TYPE_CHECKING:
    from twoway.report import Report

__all__ = ["DashboardHeader"]

GOAL_ORDER = ("missed", "no-data", "met", "no-targets")
SOURCE_STATUSES = ("ok", "stale", "error")


class DashboardHeader(Widget):
    """Organization, window, DEMO badge, last successful poll and source health."""

    report: reactive[Report | None] = reactive(None)

    def __init__(self, source_ids: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source_ids = tuple(source_ids)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("DEMO", id="demo-badge")
            yield Label("twoway", id="organization")
            yield Label("", id="window")
        with Horizontal(classes="row"):
            yield Label("loading…", id="goal-total")
            for status in GOAL_ORDER:
                yield Label("", classes=f"count -{status}")
            yield Label("", id="last-poll")
        with Horizontal(classes="row"):
            yield Label("", id="source-total")
            for source_id in self.source_ids:
                yield Label(Content(f"● {clean(source_id)}"), classes="source")

    def on_mount(self) -> None:
        self.watch_report(self.report)

    def watch_report(self, report: Report | None) -> None:
        if report is None or not self.is_mounted:
            return
        self.query_one("#demo-badge").display = report.demo
        self.query_one("#organization", Label).update(Content(clean(report.organization)))
        window = f"window {clean(report.window)} for every goal" if report.window else "each goal's own window"
        self.query_one("#window", Label).update(Content(f" {UNICODE.dot} {window}"))
        self._goal_counts(report)
        self._health(report)

    def _goal_counts(self, report: Report) -> None:
        statuses: list[str] = [g.status for g in report.goals]
        total = f"{len(statuses)} goal{'s' * (len(statuses) != 1)}:"
        self.query_one("#goal-total", Label).update(Content(total))
        shown = 0
        for status, label in zip(GOAL_ORDER, self.query(".count").results(Label)):
            count = statuses.count(status)
            label.update(Content(f"{',' if shown else ''} {count} {status}"))
            label.display = count > 0
            shown += count > 0

    def _health(self, report: Report) -> None:
        polled = [s.last_success for s in report.sources if s.last_success is not None]
        if polled:
            last = max(polled)
            text = f" {UNICODE.dot} last poll {utc(last):%H:%M} UTC, {relative_time(last, report.generated_at)}"
        else:
            text = f" {UNICODE.dot} no successful poll yet"
        self.query_one("#last-poll", Label).update(Content(text))
        health: list[str] = [s.status for s in report.sources]
        counts = ", ".join(f"{health.count(s)} {s}" for s in ("error", "stale", "ok") if health.count(s))
        self.query_one("#source-total", Label).update(Content(f"{len(health)} sources: {counts}"))
        status = {s.id: s.status for s in report.sources}
        for source_id, label in zip(self.source_ids, self.query(".source").results(Label)):
            for name in SOURCE_STATUSES:
                label.set_class(status.get(source_id) == name, f"-{name}")
            label.tooltip = Content(f"{clean(source_id)}: {status.get(source_id, 'unknown')}")
