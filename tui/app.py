"""The live dashboard: a thin App that owns the data, while screens own the panels.

Data flow (SPEC §1, one way): polls write the store, a thread worker reads it into a
frozen `Report`, the report comes back as a message and lands on `TwowayApp.report`,
and every screen watches that one attribute. The UI never reads the store itself; a
goal screen's `x` ("no reply needed", SPEC §9) asks the app, whose thread worker marks
the message through the writer and reads the report again. After each report, what
fires is read from the alert ledger the same way (`twoway.tui.alert_feed`) onto
`TwowayApp.alerts`, and each new alert is told once.

Collection: each poll cycle is an async worker around `twoway.scheduler.poll_once`,
so the network waits never block the UI. A source is never polled twice at once
(`_polling`), and its next poll is armed only when its last one ends, `interval`
seconds later; `r` polls every idle source now and re-arms them. What the store cannot
know (when each source polls next, whether it is polling now, the rate-limit budget
its collector last saw) is the app's `schedule`, a frozen mapping the sources screen
watches next to `report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from twoway.errors import TwowayError
from twoway.tui import palette
from twoway.tui.alert_feed import AlertNews, AlertsView
from twoway.tui.commands import GoalCommands
from twoway.tui.screens.home import HomeScreen

if TYPE_CHECKING:
    import httpx
    from textual.screen import Screen

    from twoway.config import Config, Source
    from twoway.plugin import Collector
    from twoway.report import Report
    from twoway.scheduler import CollectorFor
    from twoway.store import DoneMark, Store
    from twoway.tui.prometheus import ProcessSeries
    from twoway.tui.screens.alerts import AlertsScreen
    from twoway.tui.screens.goal import GoalScreen

__all__ = ["WINDOWS", "CollectorFactory", "SourcePlan", "Starting", "TwowayApp", "run_dashboard"]

CollectorFactory = Callable[["httpx.AsyncClient", "dict[str, Collector]"], "CollectorFor"]
"""Makes each source's collector around the app's HTTP client, keeping them in the dict
it is given; the command line passes `twoway.wiring.collector_factory`, since views
never import collectors (SPEC §1)."""

DAY = 86400
WINDOWS: tuple[int | None, ...] = (None, 7 * DAY, 30 * DAY, 90 * DAY)
"""What `w` cycles through: each goal's own window, then 7d, 30d, 90d for every goal."""
TEXTUAL_COMMANDS_KEPT = frozenset({"Screenshot"})
"""Textual's own palette commands worth keeping here: a screenshot to send to whoever helps."""
REREAD_SECONDS = 60
"""How often the report is read again without a poll, so "5m ago" and `stale` stay true."""


class Starting(Protocol):
    """A store still being prepared as the app starts, by another process that reads its first report too."""

    def done(self) -> bool:
        """Whether `wait` would return at once."""

    def wait(self) -> None:
        """Until the store is ready; raises a `TwowayError` if it never will be."""

    def first(self) -> Report | None:
        """The first report, once, after `wait`; then `None`."""


class SourcePlan(NamedTuple):
    """A source's polling as the app sees it: what the sources screen adds to the report."""

    next_poll: datetime | None
    """When its armed timer fires (`twoway.clock` time), or `None` while none is armed."""
    polling: bool
    budget: tuple[int, int | None] | None
    """(requests left, limit) of its host with the smallest share left, from the last rate-limit headers;
    `None` when unknown (no such headers yet, as with the demo's collectors)."""


class TwowayApp(App[int]):
    """twoway's live dashboard over one store."""

    TITLE = "twoway"
    CSS_PATH = ["global.tcss", "app.tcss"]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide"), (210, "-ultrawide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    COMMANDS = App.COMMANDS | {GoalCommands}
    ansi_theme_dark = reactive(palette.DARK, init=False)
    ansi_theme_light = reactive(palette.LIGHT, init=False)
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("r", "poll_now", "Poll"),
        Binding("w", "cycle_window", "Window"),
        Binding("s", "sources", "Sources"),
        Binding("a", "alerts", "Alerts"),
        Binding("R", "write_report", "Report"),
        Binding("t", "toggle_dark", "Theme", show=False),
        Binding("question_mark", "help", "Help"),
    ]

    report: reactive[Report | None] = reactive(None)
    """The latest view-model; screens watch it. `None` until the first read lands."""
    window: reactive[int | None] = reactive(None, init=False)
    """The `w` override in seconds, or `None` for each goal's own window."""
    schedule: reactive[Mapping[str, SourcePlan]] = reactive(dict, init=False)
    """Source id → its `SourcePlan`; replaced whole whenever a poll starts, ends or is armed."""
    backfilling: reactive[tuple[int, int]] = reactive((0, 0), init=False)
    """(sources still in their first backfill, polled sources): the header's "backfilling 2/3 sources"."""
    alerts: reactive[AlertsView] = reactive(AlertsView, init=False)
    """What fires, from the store's alert ledger, read after each report and each evaluation."""

    class ReportReady(Message):
        """A fresh report from the report worker; a newer one replaces a queued older one."""

        def __init__(self, report: Report) -> None:
            super().__init__()
            self.report = report

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, TwowayApp.ReportReady)

    def __init__(
        self,
        config: Config,
        store: Store,
        collectors: CollectorFactory,
        *,
        demo: bool = False,
        series: ProcessSeries | None = None,
        start: Starting | None = None,
    ) -> None:
        super().__init__()
        self.series = series
        """`--metrics`: where the alerts this app delivers are counted."""
        self.config = config
        self.store = store
        """The writer, used by the poll workers only (on the event loop)."""
        self.make_collectors = collectors
        self.demo = demo
        self._starting = start
        """The store being prepared while the app starts, and its first report (the demo's `DemoStart`)."""
        self._collecting = False
        """Whether the first report was read and collecting began."""
        self.goal_names = tuple(g.name for g in config.goals)
        self.polls = 0
        """Finished poll cycles, for the status line and tests."""
        self._polling: set[str] = set()
        self._next_poll: dict[str, Timer] = {}
        self._next_poll_at: dict[str, datetime] = {}
        self._errors: dict[str, str | None] = {}
        self._client: httpx.AsyncClient | None = None
        self._collector_for: CollectorFor | None = None
        self._collectors: dict[str, Collector] = {}
        """Each source's collector, made once by `make_collectors` and kept for the process."""
        self._alerting = False
        """An alert evaluation is running: a cycle ending meanwhile starts none."""
        self._marked: list[str] = []
        """The links `x` marked "no reply needed" in this run, the latest last: what `u` takes back."""
        self._news = AlertNews()

    # -- lifecycle ------------------------------------------------------------------

    async def on_mount(self) -> None:
        """The home screen with the first report when it is read already, else read while the screen is put
        together; collecting waits for it."""
        from twoway.tui.preferences import load_theme

        report = None
        if self._starting is not None and self._starting.done():
            with contextlib.suppress(TwowayError):  # the report worker says what failed
                self._starting.wait()
                report = self._starting.first()
        if report is None:
            self.refresh_report(self.window)
        else:  # the panels are made with their numbers: one layout, no "loading…" first
            self.report = report
        remembered = load_theme()
        if remembered in self.available_themes:
            self.theme = remembered
        self._remember_theme = True
        sources = [s.id for s in self.config.sources]
        home = HomeScreen(self.goal_names, sources, self.config.organization.hours)
        await self.push_screen(home.update_classes(self._breakpoint_classes(), update=False))
        if report is not None:
            self._collect_after_paint()
        self._quit_on_hangup()

    def _breakpoint_classes(self) -> dict[str, bool]:
        """The width and height classes (`-wide`, `-tall`) Textual gives a screen at its first resize.

        Given before the home screen mounts, so its widgets are styled once: set at that
        resize, they restyled every widget again (about 70 ms on the demo).
        """
        classes: dict[str, bool] = {}
        width, height = self.size
        for breakpoints, size in ((self.HORIZONTAL_BREAKPOINTS, width), (self.VERTICAL_BREAKPOINTS, height)):
            edges = sorted(breakpoints or [])
            chosen = next((name for edge, name in reversed(edges) if size >= edge), None)
            classes.update((name, name == chosen) for _, name in edges)
        return classes

    def _collect_after_paint(self) -> None:
        """Once, when the first report is read: start collecting after it is painted (in a worker, so whoever
        waits for the workers waits for the first poll too)."""
        if not self._collecting:
            self._collecting = True
            self.run_worker(self._start_collecting(), name="start", group="start", exit_on_error=False)

    async def _start_collecting(self) -> None:
        """After the first report's paint: the backfill count, the first poll cycle and the re-read timer.

        Nothing of it shows before a report does, and a poll's first cycle (httpx, the
        collectors, a store write) would only hold the first paint back.
        """
        await self.screen.wait_for_refresh()
        self.refresh_alerts()  # a first report from the demo's child came without a `ReportReady`
        self._count_backfilling()
        self.poll()
        # Relative times and `stale` depend on now, not only on new data.
        self.set_interval(REREAD_SECONDS, lambda: self.refresh_report(self.window), name="reread")

    def _quit_on_hangup(self) -> None:
        """A closed terminal or a `kill` quits like `q`: the store closes and the demo's temporary files go."""
        loop = asyncio.get_running_loop()
        for name in ("SIGHUP", "SIGTERM"):
            if hasattr(signal, name):
                with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' loop
                    loop.add_signal_handler(getattr(signal, name), self.exit)

    _remember_theme = False
    """Set once the remembered theme is applied, so applying it is not saved again."""

    def watch_theme(self, theme: str) -> None:
        if self._remember_theme:
            from twoway.tui.preferences import save_theme

            save_theme(theme)

    async def on_unmount(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._starting is not None:  # a demo quit at once: its child finishes before the files go
            with contextlib.suppress(TwowayError):
                self._starting.wait()

    # -- reading: store → report (thread) --------------------------------------------

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def refresh_report(self, window: int | None) -> None:
        """Read the store on its own read-only connection, so a poll's write is never seen half done."""
        first = None
        if self._starting is not None:  # the store is being filled: read it once it is
            self._starting.wait()
            first = self._starting.first() if window is None else None
        report = first or self._read_report(window, daily=True)
        if not get_current_worker().is_cancelled:
            self.post_message(self.ReportReady(report))

    def _read_report(
        self, window: int | None, goals: Sequence[str] = (), *, daily: bool = False, weekly: bool = False
    ) -> Report:
        from twoway import clock
        from twoway.metrics import build_report
        from twoway.store import Store, store_location, store_policy

        store = Store.open_readonly(store_location(self.config), store_policy(self.config))
        try:
            now = clock.now()
            return build_report(
                store, self.config, now, window=window, goal_names=goals, demo=self.demo, daily=daily, weekly=weekly
            )
        finally:
            store.close()

    @work(thread=True, group="write-report", exit_on_error=False)
    def write_report(self, window: int | None, goals: Sequence[str]) -> None:
        """`R`: the HTML report (twoway/publish) of `window` and `goals` into the documents folder, and where."""
        from twoway.tui.report_file import documents_dir, write_report

        report = self._read_report(window, goals, weekly=True)
        try:
            path = write_report(report, documents_dir())
        except OSError as e:
            said = " ".join(str(e).split())
            self.call_from_thread(self.notify, f"report not written: {said}", severity="error", markup=False)
            return
        self.call_from_thread(self.notify, str(path), title="Report written", markup=False)

    def on_twoway_app_report_ready(self, message: ReportReady) -> None:
        self.report = message.report
        self.refresh_alerts()

    @work(thread=True, exclusive=True, group="alert-read", exit_on_error=False)
    def refresh_alerts(self) -> None:
        """What fires now, from the ledger on a read-only connection, then told where new."""
        from twoway.tui.alert_feed import read_alerts

        view = read_alerts(self.config)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._alerts_read, view)

    def _alerts_read(self, view: AlertsView) -> None:
        self.alerts = view
        if self.report is not None:
            self._news.tell(self, view, self.config, self.report)

    def on_alerts_screen_snooze(self, message: AlertsScreen.Snooze) -> None:
        """`z` on the alerts screen: not repeated before then (SPEC §9), written off the event loop."""
        self.run_worker(partial(self._snooze, message.key, message.until), thread=True, exit_on_error=False)

    def _snooze(self, key: str, until: datetime) -> None:
        self.store.ledger.snooze(key, until)
        self.call_from_thread(self.refresh_alerts)

    # -- no reply needed (SPEC §9): x on a goal's waiting list -----------------------

    def on_goal_screen_mark_done(self, message: GoalScreen.MarkDone) -> None:
        """`x` marks a link; `u` (no link) takes back this run's last mark."""
        if message.url is not None:
            self.mark_done(message.url, undo=False)
        elif self._marked:
            self.mark_done(self._marked.pop(), undo=True)
        else:
            self.notify(
                "x marks a waiting message; `twoway done --undo URL` takes back an older mark.",
                title="Nothing to undo",
                severity="warning",
                markup=False,
            )

    @work(thread=True, group="done", exit_on_error=False)
    def mark_done(self, url: str, *, undo: bool) -> None:
        """On the writer, off the event loop: finding a link reads the whole store."""
        from twoway import clock

        marks = self.store.unmark_done(url) if undo else self.store.mark_done(url, clock.now())
        self.call_from_thread(self._said_done, url, marks, undo)

    def _said_done(self, url: str, marks: tuple[DoneMark, ...], undo: bool) -> None:
        from twoway.tui.render import clean, local

        if not marks:
            why = "no longer in the store" if undo else "no longer waiting: answered or gone"
            self.notify(f"{clean(url)} is {why}", title="Not changed", severity="warning", markup=False)
            return
        if not undo:
            self._marked.append(url)
        written = local(marks[0].written_at, self.config.organization.timezone)
        sources = ", ".join(clean(m.source_id) for m in marks)
        said = f"{sources}: the message of {written:%Y-%m-%d %H:%M}"
        if undo:
            self.notify(f"{said} is no longer marked done", title="Mark taken back", markup=False)
        else:
            self.notify(f"{said} leaves the waiting list (u takes it back)", title="No reply needed", markup=False)
        self.refresh_report(self.window)

    # -- collecting: sources → store (async) ------------------------------------------

    def poll(self, sources: Sequence[Source] | None = None) -> None:
        """Start a cycle for `sources`, by default those due; a source already polling is skipped."""
        self.run_worker(self._cycle(sources), name="poll", group="poll", exit_on_error=False)

    async def _cycle(self, sources: Sequence[Source] | None) -> None:
        from twoway import clock
        from twoway.scheduler import due_sources, poll_once

        if sources is None:
            due = due_sources(self.config, self.store)
            self._arm_idle(due)
            sources = due
        todo = [s for s in sources if s.id not in self._polling]
        if not todo:
            return
        if self._client is None or self._collector_for is None:  # made at the first poll, after the first paint
            import httpx

            self._client = httpx.AsyncClient()
            self._collector_for = self.make_collectors(self._client, self._collectors)
        self._polling.update(s.id for s in todo)
        for source in todo:
            timer = self._next_poll.pop(source.id, None)
            self._next_poll_at.pop(source.id, None)
            if timer is not None:
                timer.stop()
        self._update_schedule()
        try:
            results = await poll_once(self.store, todo, self._collector_for, clock.now)
        finally:
            self._polling.difference_update(s.id for s in todo)
            for source in todo:
                self._arm(source, source.interval)
        self.polls += 1
        self._count_backfilling()
        self._tell_failures(results)
        self.refresh_report(self.window)
        if self.config.alerts.rules and not self._alerting:  # one evaluation at a time, beside the polls
            self._alerting = True
            self.run_worker(self._alert(), name="alerts", group="alerts", exit_on_error=False)

    async def _alert(self) -> None:
        """Evaluate after a cycle, as every process that polled does (SPEC §9): the store read and
        written in threads, the deliveries on the network, so neither the UI nor the next poll waits."""
        from twoway.alerts.evaluate import after_poll

        try:
            evaluation = await after_poll(self.store, self.config, client=self._client, threads=True)
            if self.series is not None and evaluation is not None:
                self.series.delivered(evaluation.sent)
        finally:
            self._alerting = False
        self.refresh_alerts()  # what this evaluation fired, shown now rather than at the next report

    def _count_backfilling(self) -> None:
        from twoway.scheduler import backfilling, polled_sources

        self.backfilling = (len(backfilling(self.config, self.store)), len(polled_sources(self.config)))

    def _arm(self, source: Source, delay: float) -> None:
        from twoway import clock

        old = self._next_poll.pop(source.id, None)
        if old is not None:
            old.stop()
        delay = max(1.0, delay)
        self._next_poll[source.id] = self.set_timer(delay, partial(self.poll, [source]), name=source.id)
        self._next_poll_at[source.id] = clock.now() + timedelta(seconds=delay)
        self._update_schedule()

    def _update_schedule(self) -> None:
        self.schedule = {
            s.id: SourcePlan(self._next_poll_at.get(s.id), s.id in self._polling, self._budget(s.id))
            for s in self.config.sources
        }

    def _budget(self, source_id: str) -> tuple[int, int | None] | None:
        """The budget of the host with the smallest share left."""
        collector = self._collectors.get(source_id)
        budgets = collector.context.http.budgets.values() if collector is not None else ()
        known = [(b.remaining, b.limit) for b in budgets if b.remaining is not None]
        return min(known, key=lambda b: b[0] / b[1] if b[1] else float(b[0]), default=None)

    def _arm_idle(self, due: Sequence[Source]) -> None:
        """Sources not due yet get their first poll when their data turns as old as their interval."""
        from twoway import clock
        from twoway.scheduler import polled_sources

        now = clock.now()
        states = self.store.source_states()

        waiting = {s.id for s in due} | self._polling | set(self._next_poll)
        for source in polled_sources(self.config):
            state = states.get(source.id)
            if source.id in waiting or state is None or state.last_success is None:
                continue
            self._arm(source, source.interval - (now - state.last_success).total_seconds())

    def _tell_failures(self, results: dict[str, str | None]) -> None:
        """One notification when a source turns to error, one when it recovers; never one per cycle."""
        for source_id, error in results.items():
            before = self._errors.get(source_id)
            self._errors[source_id] = error
            if error and not before:
                self.notify(error, title=f"{source_id} failed", severity="error", markup=False)
            elif before and not error:
                self.notify("collecting again", title=f"{source_id} recovered", markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "report" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._collect_after_paint()  # its report, if any, was handled before this
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                " ".join(str(error).split()) or type(error).__name__,
                title=f"{event.worker.name or event.worker.group} failed",
                severity="error",
                markup=False,
            )

    # -- actions ----------------------------------------------------------------------

    def action_poll_now(self) -> None:
        busy = [s.id for s in self.config.sources if s.id in self._polling]
        self.notify("polling every source now" + (f" ({', '.join(busy)} already polling)" if busy else ""))
        from twoway.scheduler import polled_sources

        self.poll(polled_sources(self.config))

    def action_cycle_window(self) -> None:
        index = WINDOWS.index(self.window) if self.window in WINDOWS else 0
        self.window = WINDOWS[(index + 1) % len(WINDOWS)]

    def watch_window(self, window: int | None) -> None:
        self.refresh_report(window)

    def action_write_report(self) -> None:
        goal = getattr(self.screen, "goal_name", None)  # on a goal's screen, that goal's report
        self.write_report(self.window, (goal,) if goal else ())

    def action_sources(self) -> None:
        from twoway.tui.screens.sources import SourcesScreen

        if not isinstance(self.screen, SourcesScreen):
            self.push_screen(SourcesScreen())

    def action_alerts(self) -> None:
        from twoway.tui.screens.alerts import AlertsScreen

        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen())

    def action_help(self) -> None:
        from twoway.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):  # from a goal's screen, about that goal
            self.push_screen(HelpScreen(getattr(self.screen, "goal_name", None)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Ours first; of Textual's, only the screenshot (the rest repeat ours or do nothing here)."""
        yield SystemCommand("Cycle window", "Each goal's own window, 7d, 30d, 90d", self.action_cycle_window)
        yield SystemCommand("Sources", "Every source's status, last success and errors", self.action_sources)
        yield SystemCommand("Alerts", "What fires, since when, which channels it reached", self.action_alerts)
        yield SystemCommand("Poll now", "Poll every source now", self.action_poll_now)
        yield SystemCommand(
            "Write the report", "The HTML report of this window into your documents folder", self.action_write_report
        )
        yield SystemCommand("Toggle light/dark", "Switch between the light and dark theme", self.action_toggle_dark)
        yield SystemCommand("Help", "The keys", self.action_help)
        yield SystemCommand("Quit", "Quit twoway", self.action_quit)
        yield from (c for c in super().get_system_commands(screen) if c.title in TEXTUAL_COMMANDS_KEPT)


def run_dashboard(app: TwowayApp) -> int:
    """`twoway` with no command: the live dashboard until the user quits; returns the exit code."""
    try:
        app.run()
    finally:
        app.store.close()
    return app.return_code or 0
