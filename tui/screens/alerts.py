"""What fires now (`a`): each alert, since when, for how long, which channels it reached and what failed.

Read from the app's `alerts` (the store's ledger, read after each report), so it is
what every process evaluating that store found, not only this app. A row is one
alert: its wait (or how long its source is down or its goal missed), since when in
the organization's clock, where, its link, and how many of its rule's claimed
channels (webhook, email, command, Apprise) it reached. Under the table, the
selected alert in full: its rule, when it fired, every channel with what it was
sent or why not, and its whole link.

`z` snoozes the selected alert (not repeated before then, SPEC §9): an hour, four
hours, or until the organization's next day's opening; `Enter` or `o` opens its link
as the goal screen does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets.option_list import Option

from twoway.text import excerpt
from twoway.tui.links import open_link
from twoway.tui.render import UNICODE, clean, human_duration, local
from twoway.tui.screens.goal import WHEN_SHORT
from twoway.tui.widgets.fit import CELL_PADDING, FitTable, column_width
from twoway.tui.widgets.keys_footer import KeysFooter
from twoway.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from twoway.alerts.model import Alert, Rule
    from twoway.config import Config
    from twoway.hours import OpeningHours
    from twoway.report import Report
    from twoway.store import AlertDelivery, LedgerAlert
    from twoway.tui.alert_feed import AlertsView

__all__ = ["AlertRow", "AlertsScreen", "SnoozeChoice", "alert_rows", "snooze_choices"]

TEXT_MIN = 12
"""Narrowest the goal, the rule or the link gets before the others give it room."""
LOCAL = ("app", "bell", "desktop")


class AlertRow(NamedTuple):
    """One firing alert as the screen lists it."""

    alert: LedgerAlert
    lasted: float | None
    """How long it has been the case: the message's wait (as the report counts it: open hours
    where set), the source down, the goal missed; `None` where the report does not list the message."""
    since: datetime
    """When it began: the message written, the source down, the goal found missed."""
    rule: Rule | None
    """Its rule in the config; `None` once taken out (it resolves at the next evaluation)."""
    deliveries: tuple[AlertDelivery, ...]

    @property
    def reached(self) -> int:
        return sum(1 for d in self.deliveries if d.sent_at is not None)

    @property
    def failing(self) -> bool:
        return any(d.error is not None for d in self.deliveries)

    def snoozed(self, now: datetime) -> bool:
        return self.alert.snoozed_until is not None and self.alert.snoozed_until > now


def alert_rows(view: AlertsView, report: Report, config: Config) -> list[AlertRow]:
    """Every firing alert, each rule's in config order, oldest first."""
    from twoway.alerts.evaluate import as_alerts

    rules = {r.name: r for r in config.alerts.rules}
    order = {name: index for index, name in enumerate(rules)}
    waits: dict[str, Alert] = {a.key: a for a in as_alerts(view.firing, report)}
    now = report.generated_at
    rows = []
    for alert in view.firing:
        since = alert.at or alert.fired_at
        lasted = waits[alert.key].waiting_seconds if alert.kind == "waiting" else (now - since).total_seconds()
        rows.append(AlertRow(alert, lasted, since, rules.get(alert.rule), view.of(alert.key)))
    rows.sort(key=lambda r: (order.get(r.alert.rule, len(order)), r.since, r.alert.key))
    return rows


def _when(moment: datetime, zone: str, now: datetime) -> str:
    """`06:00` today, `Fri 09:00` within the week, else the date: in the organization's clock."""
    at, today = local(moment, zone), local(now, zone)
    if at.date() == today.date():
        return f"{at:%H:%M}"
    return f"{at:%a %H:%M}" if abs((at.date() - today.date()).days) < 7 else f"{at:%Y-%m-%d %H:%M}"


def _delivery(d: AlertDelivery, zone: str, now: datetime) -> Text:
    """`webhook env HOOK 06:01`, or what failed: `email a@b: SMTP 550 (try 2 of 5)`."""
    from twoway.store.alert_ledger import MAX_TRIES

    text = Text(clean(d.channel), style="bold")
    if d.sent_at is not None:
        text.append(f" sent {_when(d.sent_at, zone, now)}")
    if d.error is not None:
        tries = f"given up after {MAX_TRIES} tries" if d.failed else f"try {d.tries} of {MAX_TRIES}"
        text.append(f": {' '.join(clean(d.error).split())} ({tries})", style="red")
    elif d.sent_at is None:
        text.append(" not sent yet", style="dim")
    return text


def describe(row: AlertRow, zone: str, now: datetime) -> Text:
    """The selected alert in full: its rule, when it fired, each channel, its snooze, its link."""
    a, dot = row.alert, f" {UNICODE.dot} "
    when = clean(row.rule.when) if row.rule is not None else "no longer configured"
    rule = f"{clean(a.rule)} ({when})"
    text = Text(rule, style="bold")
    for where in (a.goal, a.source):
        if where:
            text.append(f"{dot}{clean(where)}")
    text.append(f"{dot}fired {_when(a.fired_at, zone, now)}")
    if row.snoozed(now) and a.snoozed_until is not None:
        text.append(f"{dot}snoozed until {_when(a.snoozed_until, zone, now)}", style="yellow")
    local_channels = [c for c in (row.rule.notify if row.rule is not None else ()) if isinstance(c, str) and c in LOCAL]
    if local_channels:
        text.append(f"\nshown here: {', '.join(local_channels)}")
    for d in row.deliveries:
        text.append("\n")
        text.append_text(_delivery(d, zone, now))
    if a.url:
        text.append(f"\n{clean(a.url)}")
    return text


class SnoozeChoice(ModalScreen["datetime | None"]):
    """An hour, four hours, or until the next day's opening: the snooze `z` asks for."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Cancel"),
        Binding("1", "choose(0)", show=False),
        Binding("2", "choose(1)", show=False),
        Binding("3", "choose(2)", show=False),
    ]

    def __init__(self, choices: list[tuple[str, datetime]]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="snooze"):
            yield Label(Content("snooze: not repeated before"), id="snooze-title")
            yield OptionList(*(Option(f"{i}  {label}") for i, (label, _) in enumerate(self.choices, 1)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose(event.option_index)

    def action_choose(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.dismiss(self.choices[index][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def snooze_choices(now: datetime, zone: str, hours: OpeningHours | None) -> list[tuple[str, datetime]]:
    """`1 hour (until 07:00)`, `4 hours`, and the next day's opening where `[organization] hours` says,
    else this time tomorrow; the times in the organization's clock."""
    choices = [(f"{n} hour{'s' * (n != 1)}", now + timedelta(hours=n)) for n in (1, 4)]
    opening = hours.opening_after(now) if hours is not None else None
    if opening is not None:
        tomorrow = local(opening, zone).date() == local(now, zone).date() + timedelta(days=1)
        choices.append(("until tomorrow's opening" if tomorrow else "until the next opening", opening))
    else:
        choices.append(("until this time tomorrow", now + timedelta(days=1)))
    return [(f"{label} ({_when(until, zone, now)})", until) for label, until in choices]


class AlertsScreen(Screen[None]):
    """Every alert firing now, and the selected one in full."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "app.pop_screen", "Back", show=False),
        Binding("o", "open", "Open link"),
        Binding("z", "snooze", "Snooze"),
        # The window and the report do not change what fires: their keys work, unlisted, so the
        # footer keeps room for the help and the palette at 80 columns.
        Binding("w", "app.cycle_window", show=False),
        Binding("R", "app.write_report", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar("alerts", id="alerts-bar")
        yield FitTable(id="alerts-table", cursor_type="row")
        yield Static("", id="alert-detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.watch(self.app, "report", self._show)
        self.watch(self.app, "alerts", self._show)

    def _rows(self) -> list[AlertRow]:
        report: Report | None = getattr(self.app, "report", None)
        view: AlertsView | None = getattr(self.app, "alerts", None)
        config: Config | None = getattr(self.app, "config", None)
        if report is None or view is None or config is None:
            return []
        return alert_rows(view, report, config)

    class Snooze(Message):
        """`z` chose: the app writes `snoozed_until` through its writer."""

        def __init__(self, key: str, until: datetime) -> None:
            super().__init__()
            self.key = key
            self.until = until

    def selected(self) -> AlertRow | None:
        """The row under the cursor, found by its alert's key (a new read may reorder the rows)."""
        table = self.query_one(FitTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self._rows() if r.alert.key == key), None)

    def _show(self, _: object = None) -> None:
        report: Report | None = getattr(self.app, "report", None)
        config: Config | None = getattr(self.app, "config", None)
        if report is None or config is None:
            return
        rows, now, zone = self._rows(), report.generated_at, report.timezone
        snoozed = sum(1 for r in rows if r.snoozed(now))
        status = f"{len(rows)} firing" + (f", {snoozed} snoozed" if snoozed else "")
        self.query_one(TitleBar).show(demo=report.demo, status=Text(status), details=(Text(f"times in {clean(zone)}"),))
        self.set_class(bool(rows), "-firing")
        self._table(rows, zone, now)
        self._detail(rows, config, zone, now)

    def _table(self, rows: list[AlertRow], zone: str, now: datetime) -> None:
        table = self.query_one(FitTable)
        selected = self.selected()
        lasted = [Text(UNICODE.null if r.lasted is None else human_duration(r.lasted), justify="right") for r in rows]
        since = [Text(f"{local(r.since, zone):{WHEN_SHORT}}") for r in rows]
        sources = [Text(clean(r.alert.source or UNICODE.null)) for r in rows]
        sent = [self._sent(r) for r in rows]
        goals = [clean(r.alert.goal or UNICODE.null) for r in rows]
        links = [clean(r.alert.url or UNICODE.null) for r in rows]
        rules = [clean(r.alert.rule) for r in rows]
        # a rule or a goal every row shares is said under the table, not on every row
        free = [(head, texts) for head, texts in (("rule", rules), ("goal", goals)) if len(set(texts)) > 1]
        free.append(("link", links))
        fixed = [column_width("for", lasted), column_width("since", since), column_width("source", sources)]
        fixed.append(column_width("sent", sent))
        pad = 2 * CELL_PADDING
        room = max(0, table.scrollable_content_region.width or table.size.width) - sum(w + pad for w in fixed)
        room -= pad * len(free)
        widths = [column_width(head, texts) for head, texts in free]
        share = [max(TEXT_MIN, min(w, room // len(free))) for w in widths]
        spare = room - sum(share)
        for index, width in enumerate(widths):  # what one needs less than its share goes to the others
            extra = min(max(0, spare), width - share[index])
            if extra > 0:
                share[index] += extra
                spare -= extra
        table.clear(columns=True)
        for head, width in zip(("for", "since", "source"), fixed):
            table.add_column(head, width=width)
        for (head, _), width in zip(free, share):
            table.add_column(head, width=width)
        table.add_column("sent", width=fixed[3])
        for index, row in enumerate(rows):
            style = "dim" if row.snoozed(now) else ""
            texts = [t[index] for _, t in free]
            cells = [lasted[index], since[index], sources[index]]
            cells += [Text(excerpt(t, w)) for t, w in zip(texts, share)]
            for cell in cells:
                cell.stylize(style)
            table.add_row(*cells, sent[index], key=row.alert.key)
        if rows:
            keys = [r.alert.key for r in rows]
            at = keys.index(selected.alert.key) if selected is not None and selected.alert.key in keys else 0
            table.move_cursor(row=at)

    @staticmethod
    def _sent(row: AlertRow) -> Text:
        """`1/2`: of its rule's claimed channels, how many it reached, red when one failed."""
        if not row.deliveries:
            return Text(UNICODE.null, style="dim", justify="right")
        return Text(f"{row.reached}/{len(row.deliveries)}", style="bold red" if row.failing else "", justify="right")

    def _detail(self, rows: list[AlertRow], config: Config, zone: str, now: datetime) -> None:
        detail = self.query_one("#alert-detail", Static)
        row = self.selected()
        if row is not None:
            detail.update(describe(row, zone, now))
        elif not config.alerts.rules:
            detail.update(Text("No alert rules: [[alerts.rules]] in the config says what to watch (docs/alerts.md)."))
        else:
            names = ", ".join(f"{clean(r.name)} ({clean(r.when)})" for r in config.alerts.rules)
            detail.update(Text(f"Nothing fires. Watching: {names}"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        report: Report | None = getattr(self.app, "report", None)
        config: Config | None = getattr(self.app, "config", None)
        if report is not None and config is not None:
            self._detail(self._rows(), config, report.timezone, report.generated_at)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """`Enter` opens the alert's link, as `o` does."""
        event.stop()
        self.action_open()

    def on_fit_table_resized(self, event: FitTable.Resized) -> None:
        self._show()

    def action_open(self) -> None:
        row = self.selected()
        open_link(self, row.alert.url if row is not None else None)

    def action_snooze(self) -> None:
        row, report = self.selected(), getattr(self.app, "report", None)
        config: Config | None = getattr(self.app, "config", None)
        if row is None or report is None or config is None:
            self.notify("Nothing selected.", severity="warning")
            return
        key = row.alert.key
        from twoway import clock

        choices = snooze_choices(clock.now(), report.timezone, config.organization.hours)

        def chosen(until: datetime | None) -> None:
            if until is not None:
                self.post_message(self.Snooze(key, until))
                self.notify(f"not repeated before {_when(until, report.timezone, clock.now())}", title="Snoozed")

        self.app.push_screen(SnoozeChoice(choices), chosen)
