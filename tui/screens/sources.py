"""Every source's health, then its polling: next poll and the rate-limit budget left.

The health table is `twoway.tui.render.sources_table`, the one `twoway snapshot` prints from
the report. Polling is what only the running app knows, its `schedule` (when each
source polls next, whether it is polling now, the budget its collector's HTTP layer
last read), so it is a second, narrow table under the first: both fit 80 columns.

With alert rules, a third: each channel of each rule that is claimed (webhook, email,
command, Apprise), when it last accepted a delivery, and its last failure with what is
retried or given up (the store's alert ledger, so a `collect` daemon's deliveries show
too). `app`, `bell` and `desktop` are each running app's own and are not listed.
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

    from twoway.config import Config, Source
    from twoway.report import Report
    from twoway.store import ChannelDeliveries
    from twoway.tui.alert_feed import AlertsView
    from twoway.tui.app import SourcePlan

__all__ = ["SourcesScreen", "channels_table", "format_budget", "format_next_poll", "polling_table"]

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


def _failing(seen: ChannelDeliveries | None) -> list[tuple[int, str]]:
    """Its deliveries that failed: tried again at the next evaluation, or given up after 5 tries."""
    return [(seen.retrying, "retrying"), (seen.failed, "given up")] if seen is not None else []


def channels_table(config: Config, alerts: AlertsView, zone: str = "UTC") -> RenderableType | None:
    """One row per claimed channel of each rule: its last delivery and what fails, each last failure
    in full below (as the sources' errors); `None` when no rule has such a channel."""
    from twoway.alerts.model import channel_id

    table = titled_table("alert channels")
    table.add_column("channel", overflow="fold")
    table.add_column("rule", overflow="fold")
    table.add_column("last sent", no_wrap=True)
    table.add_column("failing", no_wrap=True)
    known = {(d.rule, d.channel): d for d in alerts.channels}
    errors = Text()
    for rule in config.alerts.rules:
        for channel in dict.fromkeys(channel_id(c) for c in rule.notify if not isinstance(c, str)):
            seen = known.get((rule.name, channel))
            sent = seen.last_sent if seen is not None else None
            counts = [f"{n} {what}" for n, what in _failing(seen) if n]
            table.add_row(
                Text(clean(channel), style="bold"),
                Text(clean(rule.name)),
                Text(f"{local(sent, zone):%m-%d %H:%M}" if sent is not None else UNICODE.null),
                Text(", ".join(counts), style="bold red") if counts else Text(UNICODE.null, style="dim"),
            )
            if seen is not None and seen.last_error is not None and seen.last_error_at is not None:
                errors.append("\n" if errors else "")
                errors.append(f"{clean(channel)} ({clean(rule.name)}): ", style="bold red")
                errors.append(f"{local(seen.last_error_at, zone):%m-%d %H:%M} ")
                errors.append(" ".join(clean(seen.last_error).split()))
    if not table.row_count:
        return None
    return Group(table, errors) if errors else table


def sources_view(
    report: Report,
    sources: Sequence[Source],
    schedule: Mapping[str, SourcePlan],
    config: Config | None = None,
    alerts: AlertsView | None = None,
) -> RenderableType:
    parts: list[RenderableType] = [sources_table(report), Text(), polling_table(sources, schedule, report.timezone)]
    channels = channels_table(config, alerts, report.timezone) if config is not None and alerts is not None else None
    if channels is not None:
        parts += [Text(), channels]
    return Group(*parts)


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
        self.watch(self.app, "alerts", self._show)

    def _show(self, _: object = None) -> None:
        report: Report | None = getattr(self.app, "report", None)
        if report is None:
            return
        schedule: Mapping[str, SourcePlan] = getattr(self.app, "schedule", {})
        config = getattr(self.app, "config", None)
        sources = config.sources if config is not None else ()
        alerts: AlertsView | None = getattr(self.app, "alerts", None)
        view = sources_view(report, sources, schedule, config, alerts)
        self.query_one("#sources-table", Static).update(view)
        statuses = {s.status for s in report.sources}
        health = [s.status for s in report.sources]
        counts = ", ".join(f"{health.count(s)} {s}" for s in ("error", "stale", "ok") if health.count(s))
        total = f"{len(health)} source{'s' * (len(health) != 1)}: {counts}"
        self.query_one(TitleBar).show(demo=report.demo, status=Text(total))
        self.set_class("error" in statuses, "-error")
        self.set_class("stale" in statuses, "-stale")
