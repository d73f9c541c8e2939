"""Every source's health, then its polling: next poll and the rate-limit budget left.

The health table is `twoway.tui.render.sources_table`, the one `twoway snapshot` prints from
the report. Polling is what only the running app knows, its `schedule` (when each
source polls next, whether it is polling now, the budget its collector's HTTP layer
last read), so it is a second, narrow table under the first: both fit 80 columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from twoway.platforms import IMPORTERS
from twoway.tui.render import UNICODE, clean, human_duration, local, sources_table, titled_table
from twoway.tui.widgets.keys_footer import KeysFooter
from twoway.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from rich.console import RenderableType

    from twoway.config import Source
    from twoway.report import Report
    from twoway.tui.app import SourcePlan

__all__ = ["SourcesScreen", "format_budget", "format_next_poll", "polling_table"]

LOW_BUDGET = 0.1
"""At or below this share of its limit left, a budget is shown as a warning."""


def format_next_poll(plan: SourcePlan | None, zone: str = "UTC") -> str:
    """`12:05` in the organization's clock (`zone`), `polling now`, or the null glyph before
    the first poll is armed.

    A clock time, unlike `in 5m`, stays true between redraws.
    """
    if plan is None or (plan.next_poll is None and not plan.polling):
        return UNICODE.null
    if plan.polling or plan.next_poll is None:
        return "polling now"
    return f"{local(plan.next_poll, zone):%H:%M}"


def format_budget(plan: SourcePlan | None) -> Text:
    """`287/300` (requests left of the limit), `287 left` without a limit, or the null glyph."""
    if plan is None or plan.budget is None:
        return Text(UNICODE.null, style="dim")
    remaining, limit = plan.budget
    if limit is None:
        return Text(f"{remaining:,} left")
    low = remaining <= limit * LOW_BUDGET
    return Text(f"{remaining:,}/{limit:,}", style="bold yellow" if low else "")


def polling_table(sources: Sequence[Source], schedule: Mapping[str, SourcePlan], zone: str = "UTC") -> Table:
    """One row per source: how often, when next, and the rate-limit budget left where the platform says."""
    table = titled_table("polling")
    table.add_column("source", overflow="fold")
    table.add_column("every", justify="right", no_wrap=True)
    table.add_column(f"next poll ({clean(zone)})", no_wrap=True)
    table.add_column("budget", justify="right", no_wrap=True)
    for source in sources:
        plan = schedule.get(source.id)
        if source.platform in IMPORTERS:  # filled by `twoway import`, never polled
            table.add_row(Text(clean(source.id), style="bold"), Text("import", style="dim"), Text(UNICODE.null), "")
            continue
        table.add_row(
            Text(clean(source.id), style="bold"),
            Text(human_duration(source.interval)),
            Text(format_next_poll(plan, zone)),
            format_budget(plan),
        )
    return table


def sources_view(report: Report, sources: Sequence[Source], schedule: Mapping[str, SourcePlan]) -> RenderableType:
    return Group(sources_table(report), Text(), polling_table(sources, schedule, report.timezone))


class SourcesScreen(Screen[None]):
    """Health, errors in full, then polling."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("s", "app.pop_screen", "Back", show=False)]

    def compose(self) -> ComposeResult:
        yield TitleBar("sources", id="sources-bar")
        with VerticalScroll(id="sources"):
            yield Static("loading…", id="sources-table")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "report", self._show)
        self.watch(self.app, "schedule", self._show)

    def _show(self, _: object = None) -> None:
        report: Report | None = getattr(self.app, "report", None)
        if report is None:
            return
        schedule: Mapping[str, SourcePlan] = getattr(self.app, "schedule", {})
        config = getattr(self.app, "config", None)
        sources = config.sources if config is not None else ()
        self.query_one("#sources-table", Static).update(sources_view(report, sources, schedule))
        statuses = {s.status for s in report.sources}
        health = [s.status for s in report.sources]
        counts = ", ".join(f"{health.count(s)} {s}" for s in ("error", "stale", "ok") if health.count(s))
        total = f"{len(health)} source{'s' * (len(health) != 1)}: {counts}"
        self.query_one(TitleBar).show(demo=report.demo, status=Text(total))
        self.set_class("error" in statuses, "-error")
        self.set_class("stale" in statuses, "-stale")
