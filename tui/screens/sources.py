"""Every source's health: platform, status, last success, last error, followers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.render import sources_table

if TYPE_CHECKING:
    from twoway.report import Report

__all__ = ["SourcesScreen"]


class SourcesScreen(Screen[None]):
    """The sources table shared with `twoway snapshot`, errors in full below it."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("s", "app.pop_screen", "Back", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="sources"):
            yield Static("loading…", id="sources-table")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "report", self._show)

    def _show(self, report: Report | None) -> None:
        if report is None:
            return
        self.query_one("#sources-table", Static).update(sources_table(report))
        statuses = {s.status for s in report.sources}
        self.set_class("error" in statuses, "-error")
        self.set_class("stale" in statuses, "-stale")
