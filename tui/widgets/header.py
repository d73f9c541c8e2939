"""The dashboard's header: who, which window, how fresh, and each source's health.

Three one-line rows of labels, so the DEMO badge, goal counts and each source's
status are CSS classes the theme colours (`-ok`, `-stale`, `-error`, `-met`, ...),
not colours baked into text. Every label exists from the start and is updated in
place, so a new report never remounts anything.

The fourth row is the organization's clock: its time now and its zone, named once by
its IANA name (`06:00 America/Chicago`), since every time on every screen is in it. With
opening hours configured, it also says whether the response clock runs: waits count
open hours only, so outside them the numbers hold still on purpose, and the header
says so (`-paused`) with the next opening.

A row shows only while alerts fire (`2 alerts firing`, in the theme's error colour,
with how many of them are snoozed): what the alerts screen (`a`) lists.

Another shows only while sources are in their first backfill (`backfilling 2/3
sources`): long work, which the numbers above do not show yet, on a row of its own so
it never crowds the others at 80 columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label

from twoway.tui.render import UNICODE, clean, local, relative_time

if TYPE_CHECKING:
    from twoway.hours import OpeningHours
    from twoway.report import Report

__all__ = ["DashboardHeader", "clock_state", "next_change"]

GOAL_ORDER = ("missed", "no-data", "met", "no-targets")
SOURCE_STATUSES = ("ok", "stale", "error")


def next_change(hours: OpeningHours, now: datetime) -> datetime | None:
    """When the organization next opens (if closed at `now`) or closes (if open), in its zone.

    Looks a week ahead, wall-clock day by day as `OpeningHours` does; `None` when no
    change comes within it (no hours at all, or open around the clock).
    """
    zone = hours.zone
    local = now.astimezone(zone)
    is_open = hours.is_open(now)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for start, end in hours.week[day.weekday()]:
            minute = end if is_open else start
            if minute >= 1440:
                moment = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
            else:
                moment = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            # An interval closing at 24:00 runs on into the next day's 00:00 opening.
            if moment > local and not (is_open and hours.is_open(moment)):
                return moment
    return None


def clock_state(hours: OpeningHours, now: datetime) -> tuple[bool, str]:
    """(paused, what the header says): `clock paused: closed until Mon 09:00`, in the organization's time."""
    change = next_change(hours, now)
    when = f" {change:%a %H:%M}" if change is not None else ""
    if hours.is_open(now):
        return False, f"response clock running: open until{when}" if when else "response clock running: open"
    return True, f"clock paused: closed until{when}" if when else "clock paused (outside opening hours)"


class DashboardHeader(Widget):
    """Organization, window, DEMO badge, last successful poll, source health, and the clock."""

    report: reactive[Report | None] = reactive(None)
    backfilling: reactive[tuple[int, int]] = reactive((0, 0))
    """(sources in their first backfill, polled sources), from the app: shown until the count is 0."""
    firing: reactive[tuple[int, int]] = reactive((0, 0))
    """(alerts firing, of which snoozed), from the app's alert ledger read: shown while any fires."""

    def __init__(self, source_ids: Sequence[str], *, hours: OpeningHours | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source_ids = tuple(source_ids)
        self.hours = hours
        """The organization's opening hours; `None` when its clock always runs."""

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
        with Horizontal(classes="row", id="clock-row"):
            yield Label("", id="now")
            yield Label("", id="clock")
        with Horizontal(classes="row", id="alerts-row"):
            yield Label("", id="alerts-firing", classes="-error")
            yield Label("", id="alerts-snoozed")
        with Horizontal(classes="row", id="backfill-row"):
            yield Label("", id="backfilling")

    def on_mount(self) -> None:
        self.query_one("#clock").display = self.hours is not None
        self.watch_report(self.report)
        self.watch_backfilling(self.backfilling)
        self.watch_firing(self.firing)

    def watch_firing(self, firing: tuple[int, int]) -> None:
        if not self.is_mounted:
            return
        count, snoozed = firing
        self.query_one("#alerts-row").display = count > 0
        self.query_one("#alerts-firing", Label).update(Content(f"{count} alert{'s' * (count != 1)} firing"))
        self.query_one("#alerts-snoozed", Label).update(Content(f" ({snoozed} snoozed)" if snoozed else ""))

    def watch_backfilling(self, backfilling: tuple[int, int]) -> None:
        if not self.is_mounted:
            return
        busy, polled = backfilling
        self.query_one("#backfill-row").display = busy > 0
        self.query_one("#backfilling", Label).update(
            Content(f"backfilling {busy}/{polled} source{'s' * (polled != 1)}")
        )

    def watch_report(self, report: Report | None) -> None:
        if report is None or not self.is_mounted:
            return
        self.query_one("#demo-badge").display = report.demo
        self.query_one("#organization", Label).update(Content(clean(report.organization)))
        window = f"window {clean(report.window)} for every goal" if report.window else "each goal's own window"
        self.query_one("#window", Label).update(Content(f" {UNICODE.dot} {window}"))
        self._goal_counts(report)
        self._health(report)
        self._clock(report)

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
            when = _time(local(last, report.timezone), report)
            text = f" {UNICODE.dot} last poll {when}, {relative_time(last, report.generated_at)}"
        else:
            text = f" {UNICODE.dot} no successful poll yet"
        self.query_one("#last-poll", Label).update(Content(text))
        health: list[str] = [s.status for s in report.sources]
        counts = ", ".join(f"{health.count(s)} {s}" for s in ("error", "stale", "ok") if health.count(s))
        plural = "s" * (len(health) != 1)
        self.query_one("#source-total", Label).update(Content(f"{len(health)} source{plural}: {counts}"))
        status = {s.id: s.status for s in report.sources}
        for source_id, label in zip(self.source_ids, self.query(".source").results(Label)):
            for name in SOURCE_STATUSES:
                label.set_class(status.get(source_id) == name, f"-{name}")
            label.tooltip = Content(f"{clean(source_id)}: {status.get(source_id, 'unknown')}")

    def _clock(self, report: Report) -> None:
        now = local(report.generated_at, report.timezone)
        self.query_one("#now", Label).update(Content(f"{now:%a %H:%M} {clean(report.timezone)}"))
        if self.hours is None:
            return
        paused, text = clock_state(self.hours, report.generated_at)
        label = self.query_one("#clock", Label)
        label.update(Content(f" {UNICODE.dot} {text}"))
        label.set_class(paused, "-paused")


def _time(moment: datetime, report: Report) -> str:
    """`06:00` on the report's day, `Nov 25 06:00` before it: a clock time stays true between redraws."""
    today = local(report.generated_at, report.timezone).date()
    return f"{moment:%H:%M}" if moment.date() == today else f"{moment:%b %d %H:%M}"
