"""The `twoway` command line: parses, wires config → store → metrics → view, maps errors to exit codes.

Imports are deferred to the command that needs them, so `twoway snapshot` starts
without Textual, and without httpx when it has nothing to poll.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from twoway import __version__, wiring
from twoway.errors import TwowayError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from twoway.config import Config, Source
    from twoway.model import Batch
    from twoway.periods import Period
    from twoway.progress import Progress, Tracker
    from twoway.report import Report
    from twoway.store import PgTarget, Store, StorePolicy
    from twoway.tui.prometheus import ProcessSeries

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_UNKNOWN = 0, 1, 3
"""Exit codes (SPEC §4); 2, a configuration or usage error, comes from the error itself."""
FORMATS = ("text", "json", "csv", "markdown", "prometheus")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="the configuration file")
    common.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="run on the built-in demo organization"
    )
    parser = _Parser(
        prog="twoway",
        description="What your organization broadcast, next to the two-way engagement that followed.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"twoway {__version__}")
    metrics = {
        "metavar": "HOST:PORT",
        "type": _listen_address,
        "default": argparse.SUPPRESS,
        "help": "serve /metrics (Prometheus) and /healthz there; a port alone listens on 127.0.0.1",
    }
    parser.add_argument("--metrics", **metrics)  # type: ignore[arg-type]
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    snapshot = commands.add_parser("snapshot", parents=[common], help="render the dashboard once and exit")
    snapshot.add_argument("--format", choices=FORMATS, default="text")
    snapshot.add_argument("--goal", action="append", default=[], metavar="NAME", help="only this goal (repeatable)")
    snapshot.add_argument("--window", metavar="DURATION", help="override every goal's window, e.g. 7d")
    snapshot.add_argument(
        "--period", metavar="PERIOD", help="a calendar month, quarter or year: 2026-11, 2026-Q4, 2026"
    )
    snapshot.add_argument("--no-poll", action="store_true", help="read the store only, never poll")
    snapshot.add_argument("--no-header", action="store_true", help="CSV without its header row, for appending")
    snapshot.add_argument(
        "--ascii", action="store_true", help="plain ASCII glyphs and boxes, for proportional fonts and old mail clients"
    )
    snapshot.add_argument(
        "--check", action="store_true", help="exit 1 if a goal missed, 3 if a goal has no data or a source errs"
    )
    snapshot.add_argument(
        "--waiting",
        type=_waiting_listed,
        default=False,
        metavar="N|all",
        help="list the N oldest waiting messages of each goal in every format, or all of them"
        " (default: 5 in text and markdown, 100 in JSON)",
    )

    report = commands.add_parser(
        "report", parents=[common], help="the report for people who never open a terminal: one HTML file, or Markdown"
    )
    report.add_argument(
        "--period", metavar="PERIOD", help="2026-11, 2026-Q4 or 2026 (default: the last complete month)"
    )
    report.add_argument("--window", metavar="DURATION", help="a window ending now instead of a period, e.g. 30d")
    report.add_argument("--goal", action="append", default=[], metavar="NAME", help="only this goal (repeatable)")
    report.add_argument("--format", choices=("html", "markdown"), default="html")
    report.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (default: stdout)")
    report.add_argument("--no-poll", action="store_true", help="read the store only, never poll")
    report.add_argument(
        "--email",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="send the report there through [alerts] smtp, as an attachment (repeatable; for a monthly cron line)",
    )

    collect = commands.add_parser("collect", parents=[common], help="poll every source into the store")
    collect.add_argument("--once", action="store_true", help="one cycle, then exit (for cron)")
    collect.add_argument("--metrics", **metrics)  # type: ignore[arg-type]

    commands.add_parser("check-config", parents=[common], help="validate the configuration")

    alerts = commands.add_parser(
        "alerts", parents=[common], help="what fires now (exit 1 when something does); --once sends, --test tries"
    )
    alerts.add_argument("--format", choices=("text", "json"), default="text")
    alerting = alerts.add_mutually_exclusive_group()
    alerting.add_argument("--once", action="store_true", help="evaluate and send what is due, as after a poll")
    alerting.add_argument("--test", action="store_true", help="send a test through every channel and say how it went")

    imports = commands.add_parser(
        "import", parents=[common], help="read an export, an archive or a CSV file into a source"
    )
    imports.add_argument("path", metavar="PATH", help="the file to import")
    imports.add_argument("--source", required=True, metavar="ID", help="the configured source it fills")
    imports.add_argument("--format", metavar="NAME", help="the importer (default: the source's platform)")
    imports.add_argument("--dry-run", action="store_true", help="say what would be stored, store nothing")

    done = commands.add_parser(
        "done", parents=[common], help='mark a waiting message "no reply needed": it leaves the waiting list'
    )
    done.add_argument("url", metavar="URL", help="the message's link, as the waiting list shows it")
    done.add_argument("--undo", action="store_true", help="take the mark back")

    commands.add_parser("migrate", parents=[common], help="create or upgrade the store's schema, then exit")

    forget = commands.add_parser("forget", parents=[common], help="remove everything a source stored")
    forget.add_argument("source", metavar="ID")

    init = commands.add_parser("init", parents=[common], help="write a configuration from the accounts' addresses")
    init.__class__ = _IntermixedParser  # options before, between or after the addresses (SPEC §12)
    init.add_argument("addresses", nargs="*", metavar="ADDRESS", help="@account@server, a Bluesky handle, a URL")
    init.add_argument("--name", metavar="NAME", help="the organization's name (default: the first account's)")
    init.add_argument("--add", action="store_true", help="append the new sources to the existing file")
    init.add_argument("--force", action="store_true", help="replace an existing file (kept as .bak)")
    init.add_argument("--yes", action="store_true", help="take the suggested goals without asking")
    init.add_argument("--bluesky-service", metavar="URL", help="the Bluesky AppView to resolve handles on")
    return parser


_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?")


def _listen_address(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT`, or a `PORT` alone (loopback): exactly where `--metrics` listens."""
    import ipaddress

    host, colon, port = value.rpartition(":")
    if not colon:
        host = "127.0.0.1"
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r}: {host!r} in brackets is not an IPv6 address") from None
    elif ":" in host:
        raise argparse.ArgumentTypeError(f"{value!r}: an IPv6 address goes in brackets, e.g. [::1]:9464")
    elif not _HOSTNAME.fullmatch(host) or not (colon or port.isdigit()):
        raise argparse.ArgumentTypeError(
            f"{value!r}: want HOST:PORT or a PORT alone, e.g. 127.0.0.1:9464 (0.0.0.0:9464 for every interface)"
        )
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise argparse.ArgumentTypeError(f"{value!r}: the port must be a number from 1 to 65535")
    return host, int(port)


class _IntermixedParser(_Parser):
    """A subcommand whose options may come between its positional arguments."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command not in (None, "collect") and hasattr(args, "metrics"):
            raise UsageError(f"twoway {args.command}: --metrics is for the live dashboard and collect only")
        handler = {
            None: _dashboard,
            "snapshot": _snapshot,
            "report": _publish,
            "collect": _collect,
            "check-config": _check_config,
            "alerts": _alerts,
            "done": _done,
            "forget": _forget,
            "migrate": _migrate,
            "import": _import,
            "init": _init,
        }[args.command]
        return handler(args)
    except TwowayError as e:
        print(f"twoway: {e}" if not str(e).startswith(("twoway", "/", ".")) else str(e), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return EXIT_OK


# -- wiring ---------------------------------------------------------------------------


def _is_demo(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "demo", False))


def _load(args: argparse.Namespace) -> Config:
    from twoway.config import find_config, load_config

    if _is_demo(args):
        from twoway.wiring import demo_config

        return demo_config()
    return load_config(find_config(getattr(args, "config", None)))


def _poll(
    config: Config,
    store: Store,
    sources: Sequence[Source],
    demo: bool,
    *,
    deadline: float | None = None,
    progress: Progress | None = None,
    series: ProcessSeries | None = None,
    elsewhere: dict[str, str] | None = None,
) -> dict[str, str | None]:
    """One cycle over `sources`; `elsewhere` hears of those another process polls."""
    import asyncio

    import httpx

    from twoway import clock
    from twoway.scheduler import poll_once

    async def cycle() -> dict[str, str | None]:
        async with httpx.AsyncClient() as client:
            make = wiring.collector_factory(config, demo, client, {}, series=series)
            results = await poll_once(
                store, sources, make, clock.now, deadline=deadline, progress=progress, elsewhere=elsewhere
            )
            await _alert(config, store, client, series)  # its deliveries finish here
            return results

    return asyncio.run(cycle())


async def _alert(config: Config, store: Store, client: httpx.AsyncClient, series: ProcessSeries | None) -> None:
    """Alerts after a poll (SPEC §9): a delivery that failed, or an evaluation that could not
    run, is one line on stderr and never the poll's exit code; what was sent is counted for `--metrics`."""
    from twoway.alerts.command import tell
    from twoway.alerts.evaluate import after_poll

    try:
        evaluation = await after_poll(store, config, client=client)
    except Exception as e:  # the poll's results are stored whatever becomes of its alerts
        print(f"twoway: alerts not evaluated: {' '.join(str(e).split()) or type(e).__name__}", file=sys.stderr)
        return
    if evaluation is not None:
        if series is not None:
            series.delivered(evaluation.sent)
        tell(evaluation, sys.stdout, sys.stderr, quiet=True)


def _backfills(config: Config, store: Store) -> Tracker:
    """The progress of the sources whose first backfill this cycle is: live on a terminal,
    then one summary line each; later cycles are quiet (cron mails nothing when all is well)."""
    from twoway import progress
    from twoway.scheduler import backfilling

    return progress.Tracker(backfilling(config, store), progress.terminal())


def _tell(results: dict[str, str | None], tracker: Tracker) -> dict[str, str]:
    """Each backfill's summary line on stdout, each failure's line on stderr; returns the failures."""
    for line in tracker.lines():
        print(line, flush=True)
    failed = {sid: err for sid, err in results.items() if err}
    for sid, err in failed.items():
        print(f"twoway: {sid}: {err}", file=sys.stderr, flush=True)
    return failed


@contextmanager
def _serving_metrics(args: argparse.Namespace, config: Config, demo: bool) -> Iterator[ProcessSeries | None]:
    """`--metrics HOST:PORT`: `/metrics` and `/healthz` served while the command polls."""
    if not hasattr(args, "metrics"):
        yield None
        return
    from twoway.alerts.model import channel_name
    from twoway.scheduler import polled_sources
    from twoway.tui.prometheus import ProcessSeries

    host, port = args.metrics
    channels = [(r.name, channel_name(c)) for r in config.alerts.rules for c in r.notify if not isinstance(c, str)]
    series = ProcessSeries([s.id for s in polled_sources(config)], list(dict.fromkeys(channels)))
    server = wiring.serve_metrics(config, demo, host, port, series)
    try:
        yield series
    finally:
        server.stop()


# -- commands -------------------------------------------------------------------------


def _dashboard(args: argparse.Namespace) -> int:
    """`twoway` alone: the live dashboard, collecting in the background while open."""
    config, demo = _load(args), _is_demo(args)
    with _serving_metrics(args, config, demo) as series:
        app = wiring.build_app(config, demo=demo, series=series)  # the demo's fill runs while Textual loads
        from twoway.tui.app import run_dashboard

        return run_dashboard(app)


def _waiting_listed(value: str) -> int | None:
    """`--waiting`: a count, or `all` (`None`: no limit)."""
    if value.strip().casefold() == "all":
        return None
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a number nor 'all'") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return count


def _report(
    args: argparse.Namespace, *, config: Config | None = None, default_period: bool = False, weekly: bool = False
) -> Report:
    """The Report for `--window`, `--period` (else the last complete month where `default_period`), `--goal`."""
    from twoway import clock
    from twoway.config import parse_window
    from twoway.metrics import build_report

    config = config or _load(args)
    demo = _is_demo(args)
    now = clock.now()
    window = None
    if args.window and args.period:
        raise UsageError("--window and --period: give one or the other")
    if args.window:
        try:
            window = parse_window(args.window)
        except ValueError as e:
            raise UsageError(f"--window: {e}") from None
    period = _period(args.period, now, config.organization.timezone, default=default_period and not window)
    known = [g.name for g in config.goals]
    for name in args.goal:  # matched case-insensitively, like filters
        if name.casefold() not in {k.casefold() for k in known}:
            raise UsageError(f"--goal: no goal named {name!r} (goals: {', '.join(known)})")
    if demo:
        store = wiring.open_demo_store(config)
    else:
        store = _fresh_store(config, poll=not args.no_poll)
    try:
        listed = {"waiting_listed": args.waiting} if getattr(args, "waiting", False) is not False else {}
        return build_report(
            store, config, now, window=window, period=period, goal_names=args.goal, demo=demo, weekly=weekly, **listed
        )
    finally:
        store.close()


def _period(given: str | None, now: datetime, zone: str, *, default: bool) -> Period | None:
    """`--period` read in the organization's timezone; one that has not begun is a usage error (SPEC §10)."""
    if given is None and not default:
        return None
    from zoneinfo import ZoneInfo

    from twoway.periods import last_complete_month, parse_period

    if given is None:
        return last_complete_month(now, zone)
    try:
        period = parse_period(given)
    except ValueError as e:
        raise UsageError(f"--period: {e}") from None
    start, _ = period.bounds(zone)
    if start >= now:
        local = start.astimezone(ZoneInfo(zone))
        raise UsageError(f"--period: {period.label} has not begun: it starts {local:%Y-%m-%d %H:%M} {zone}")
    return period


def _fresh_store(config: Config, *, poll: bool) -> Store:
    """The store opened read-only, after polling the sources that are due when allowed to."""
    from twoway.errors import StoreError
    from twoway.scheduler import due_sources, polled_sources
    from twoway.store import Store, store_location, store_policy

    path, policy = store_location(config), store_policy(config)
    if not poll:
        return Store.open_readonly(path, policy)
    try:
        store = Store.open_readonly(path, policy)
        due = due_sources(config, store)
    except StoreError:  # no store yet, or one to migrate: the poll below creates it
        due = polled_sources(config)
    else:
        if not due:
            return store
        store.close()
    writer = Store.open(path, policy)
    try:
        _poll(config, writer, due, demo=False, deadline=config.dashboard.timeout)
    finally:
        writer.close()
    return Store.open_readonly(path, policy)


def _snapshot(args: argparse.Namespace) -> int:
    import gc

    from twoway.tui.snapshot import render

    # a one-shot process that makes many small objects and no cycles worth collecting
    gc.disable()
    report = _report(args)
    listed = {} if args.waiting is False else {"waiting": args.waiting}
    render(report, args.format, sys.stdout, header=not args.no_header, ascii=args.ascii, **listed)
    sys.stdout.flush()
    if report.demo and args.format in ("csv", "prometheus"):  # neither has a place of its own to say so
        print("twoway: DEMO: built-in demo organization, not real data", file=sys.stderr)
    if not args.check:
        return EXIT_OK
    if any(g.status == "missed" for g in report.goals):
        return EXIT_FAILED
    if any(g.status == "no-data" for g in report.goals) or any(s.status == "error" for s in report.sources):
        return EXIT_UNKNOWN
    return EXIT_OK


def _publish(args: argparse.Namespace) -> int:
    """`twoway report`: the period's report as one HTML file or Markdown, to `-o FILE` or stdout (SPEC §10)."""
    import gc

    gc.disable()  # as for snapshot: a one-shot process of many small objects
    config = _load(args)
    if args.email and config.alerts.smtp is None:  # said before any poll
        where = config.path or "the configuration"
        raise UsageError(f"twoway report --email: {where} has no [alerts] smtp to send it through")
    report = _report(args, config=config, default_period=True, weekly=True)
    if args.format == "markdown":
        from twoway.publish.markdown import render_markdown

        text = render_markdown(report)
    else:
        from twoway.publish.html import render_html

        text = render_html(report)
    data = text.encode("utf-8")
    if args.output is not None:
        try:
            with open(args.output, "wb") as out:
                out.write(data)
        except OSError as e:
            raise UsageError(f"twoway report: -o {args.output}: cannot write it ({e.strerror or e})") from None
    if args.email:
        _email_report(config, report, data, args.format, args.email)
    elif args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK


def _email_report(config: Config, report: Report, data: bytes, fmt: str, to: list[str]) -> None:
    """The report as an attachment with its headline numbers in the body; a failed send exits 1 in one line."""
    import asyncio

    from twoway.alerts.channels import send_mail
    from twoway.alerts.mail import Attachment
    from twoway.publish import letter

    assert config.alerts.smtp is not None  # checked before the report was built
    extension, mime = ("md", "text/markdown") if fmt == "markdown" else ("html", "text/html")
    name = letter.attachment_name(report, extension)
    outcome = asyncio.run(
        send_mail(
            config.alerts.smtp,
            to,
            letter.subject(report),
            letter.body(report, name),
            date=report.generated_at,
            attachments=[Attachment(name, data, mime)],
            timeout=config.dashboard.timeout,
        )
    )
    if not outcome.ok:
        raise TwowayError(f"twoway report --email: {outcome.detail}")


def _collect(args: argparse.Namespace) -> int:
    from twoway import clock
    from twoway.scheduler import polled_sources
    from twoway.store import Store, store_location, store_policy

    config = _load(args)
    demo = _is_demo(args)
    store = wiring.open_demo_store(config) if demo else Store.open(store_location(config), store_policy(config))
    try:
        _prune(config, store, clock.now())
        with _serving_metrics(args, config, demo) as series:
            if args.once:
                elsewhere: dict[str, str] = {}
                with _backfills(config, store) as tracker:
                    sources = polled_sources(config)
                    results = _poll(config, store, sources, demo, progress=tracker, series=series, elsewhere=elsewhere)
                for sid, line in elsewhere.items():  # not a failure: its poll lands from there (SPEC §11)
                    print(f"{sid}: {line}", flush=True)
                return EXIT_FAILED if _tell(results, tracker) else EXIT_OK
            return _collect_forever(config, store, demo, clock.now, series)
    finally:
        store.close()


def _collect_forever(
    config: Config, store: Store, demo: bool, now: Callable[[], datetime], series: ProcessSeries | None
) -> int:
    """Poll each source when due until SIGINT/SIGTERM, then finish the current write and exit 0."""
    import asyncio
    import signal

    stop = asyncio.Event()

    async def run() -> None:
        import httpx

        from twoway.scheduler import due_sources, poll_once

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        client = httpx.AsyncClient()
        factory = wiring.collector_factory(config, demo, client, {}, series=series)
        pruned = now()
        alerting: asyncio.Task[None] | None = None
        while not stop.is_set():
            if (now() - pruned).total_seconds() >= 86400:
                pruned = now()
                _prune(config, store, pruned)
            due = due_sources(config, store)
            if due:
                with _backfills(config, store) as tracker:
                    results = await poll_once(store, due, factory, now, progress=tracker)
                _tell(results, tracker)
                if alerting is None or alerting.done():  # deliveries go on beside the next polls
                    alerting = asyncio.create_task(_alert(config, store, client, series))
            shortest = min(s.interval for s in config.sources)
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(shortest, 60))
            except asyncio.TimeoutError:
                pass
        if alerting is not None:
            await alerting  # bounded by the timeout
        await client.aclose()

    asyncio.run(run())
    return EXIT_OK


def _prune(config: Config, store: Store, now: datetime) -> None:
    """Counter history, community text and alerts resolved longer than `retain` ago go; everything else stays."""
    store.prune(now - timedelta(seconds=config.dashboard.retain))
    store.ledger.prune(now - timedelta(seconds=config.dashboard.retain))


def _alerts(args: argparse.Namespace) -> int:
    """`twoway alerts`: what fires now; `--once` evaluates and sends; `--test` tries every channel (SPEC §9)."""
    from twoway import clock
    from twoway.alerts import command
    from twoway.alerts.channels import deliver
    from twoway.store import Store, store_location, store_policy

    config = _load(args)
    now = clock.now()
    if args.test:
        return command.trial(config, now, deliver, sys.stdout)
    if _is_demo(args):
        store = wiring.open_demo_store(config)
    else:
        path, policy = store_location(config), store_policy(config)
        store = Store.open(path, policy) if args.once else Store.open_readonly(path, policy)
    try:
        if args.once:
            return command.once(store, config, now, args.format, deliver, sys.stdout, sys.stderr)
        return command.show(store, config, now, args.format, sys.stdout)
    finally:
        store.close()


def _check_config(args: argparse.Namespace) -> int:
    from twoway.config import check_config, find_config

    if _is_demo(args):
        from twoway.wiring import demo_config_path

        path = demo_config_path()
    else:
        path = find_config(getattr(args, "config", None))
    code, lines = check_config(path)
    for line in lines:
        print(line, file=sys.stdout if code == 0 else sys.stderr)
    return code


def _done(args: argparse.Namespace) -> int:
    """`twoway done URL`: a waiting message needs no reply (a "thanks!"); `--undo` takes it back (SPEC §9)."""
    from zoneinfo import ZoneInfo

    from twoway import clock
    from twoway.store import Store, store_location, store_policy
    from twoway.text import neutralize

    if _is_demo(args):
        raise UsageError("twoway done: not with --demo (the demo store is rebuilt on every run)")
    config = _load(args)
    now = clock.now()
    store = Store.open(store_location(config), store_policy(config))
    try:
        marks = store.unmark_done(args.url) if args.undo else store.mark_done(args.url, now)
    finally:
        store.close()
    if not marks:
        what = "community message" if args.undo else "waiting community message"
        raise TwowayError(f"twoway done: {neutralize(args.url)}: no {what} in the store has this link")
    zone = config.organization.timezone
    written = marks[0].written_at.astimezone(ZoneInfo(zone))
    message = f"the message of {written:%Y-%m-%d %H:%M} {zone} on {', '.join(m.source_id for m in marks)}"
    marked = min((m.marked_at for m in marks if m.marked_at is not None), default=None)
    if args.undo:
        print(f"no longer marked done: {message}" if marked else f"not marked done: {message}, nothing to undo")
    elif marked is not None and marked < now.replace(microsecond=0):
        print(f"already marked done on {marked.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}: {message}")
    else:
        print(f"no reply needed: {message} leaves the waiting list")
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    """`twoway migrate`: the store created or brought to this twoway's schema, for IT to run
    alone before dashboards whose role only reads (SPEC §11)."""
    from twoway.store import SCHEMA_VERSION, Store, store_location, store_policy

    if _is_demo(args):
        raise UsageError("twoway migrate: not with --demo (the demo store is rebuilt on every run)")
    config = _load(args)
    where = store_location(config)
    Store.open(where, store_policy(config)).close()
    print(f"{where}: schema {SCHEMA_VERSION}, up to date")
    return EXIT_OK


def _forget(args: argparse.Namespace) -> int:
    from twoway.store import Store, store_location, store_policy

    config = _load(args)
    store = Store.open(store_location(config), store_policy(config))
    try:
        removed = store.forget(args.source)
    finally:
        store.close()
    print(f"forgot {args.source}: {removed} posts removed")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    """`twoway import PATH --source ID`: one file into one source, all or nothing (SPEC §6)."""
    from pathlib import Path

    from twoway import clock, plugins, progress
    from twoway.model import Imported
    from twoway.store import Store, store_location, store_policy

    if _is_demo(args):
        raise UsageError("twoway import: not with --demo (the demo store is rebuilt on every run)")
    config = _load(args)
    source = next((s for s in config.sources if s.id == args.source), None)
    if source is None:
        ids = ", ".join(s.id for s in config.sources) or "none"
        raise UsageError(f"twoway import: --source: no source named {args.source!r} (sources: {ids})")
    installed = plugins.installed_importers()
    name = args.format or source.platform
    importer = plugins.load_importer(name)
    if importer is None:
        listed = ", ".join(installed) or "none"
        if args.format:
            raise UsageError(f"twoway import: --format: no importer named {name!r} (installed: {listed})")
        raise UsageError(
            f"twoway import: source {source.id!r} is a {source.platform} source: name the file's format"
            f" with --format (installed: {listed})"
        )
    path = Path(args.path)
    now = clock.now()
    try:
        # counters are as of the export, not of this import: the same file imported
        # again observes nothing new, and an older export never overrides a newer one
        exported = datetime.fromtimestamp(path.stat().st_mtime, tz=now.tzinfo)
        now = min(now, exported)
    except OSError:
        pass  # the importer says what is wrong with the file
    db, policy = store_location(config), store_policy(config)
    # a large archive takes a while: shown live on a terminal, gone before the one line below
    with progress.Tracker([source.id], progress.terminal(), reading=f"reading {path.name}") as tracker:
        tracker.started(source.id)
        batch = importer().read(path, source.id, source.platform, now)
        batch = batch._replace(imported=Imported(path.name, name, now, clock.now()))
        if args.dry_run:
            known = _known_posts(db, policy, source.id, batch)
            new = sum(1 for p in batch.posts if p.id not in known)
        else:
            tracker.storing(source.id, len(batch.posts))
            store = Store.open(db, policy)
            try:
                store.write(batch)
            finally:
                store.close()
        tracker.finished(source.id, None)
    if args.dry_run:
        print(f"would store {len(batch.posts)} posts ({new} new), counters for {len(batch.counters)}")
    else:
        print(f"imported {len(batch.posts)} posts from {args.path} into {source.id}")
    return EXIT_OK


def _known_posts(db: Path | PgTarget, policy: StorePolicy, source_id: str, batch: Batch) -> set[str]:
    """Which of the batch's posts the store already has; none without a store yet."""
    from twoway.errors import StoreError
    from twoway.store import Store

    try:
        store = Store.open_readonly(db, policy)
    except StoreError:
        return set()
    try:
        return store.known_posts(source_id, [p.id for p in batch.posts])
    finally:
        store.close()


def _init(args: argparse.Namespace) -> int:
    """`twoway init ADDRESS ...`: probe each address, write a commented configuration (SPEC §12)."""
    from twoway.init_flow import Options, RichAsker, run

    if _is_demo(args):
        raise UsageError("twoway init: not with --demo (the demo organization has its own configuration)")
    options = Options(
        addresses=list(args.addresses),
        name=args.name,
        config=getattr(args, "config", None),
        add=args.add,
        force=args.force,
        yes=args.yes,
        bluesky_service=args.bluesky_service,
    )
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    return run(options, asker=RichAsker() if terminal else None, out=sys.stdout, err=sys.stderr)
