"""The command line's assembly: the collectors that fill a store, the built-in demo,
the live app on its store, and the `--metrics` server reading that store.

The one place besides `twoway.cli` that imports `twoway.collectors` and `twoway.tui`
(SPEC §1, checked by import-linter): the rest of the core knows collectors only by
the protocol in `twoway.plugin`, and views get their collectors from here.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING

from twoway.errors import TwowayError

if TYPE_CHECKING:
    import subprocess

    import httpx

    from twoway.config import Config, Source
    from twoway.plugin import Collector
    from twoway.report import Report
    from twoway.scheduler import CollectorFor
    from twoway.store import Store
    from twoway.tui.app import TwowayApp
    from twoway.tui.metrics_server import MetricsServer
    from twoway.tui.prometheus import ProcessSeries

__all__ = [
    "DemoStart",
    "build_app",
    "collector_factory",
    "demo_config",
    "demo_config_path",
    "open_demo_store",
    "serve_metrics",
]


def collector_factory(
    config: Config,
    demo: bool,
    client: httpx.AsyncClient,
    made: dict[str, Collector],
    *,
    series: ProcessSeries | None = None,
) -> CollectorFor:
    """Each source's collector around the shared client, made once and kept in `made` for the process.

    With `series` (`--metrics`), their requests are counted and their polls timed there.
    """
    from twoway.plugin import Context, Http

    if series is not None:
        series.watch(made)

    windows = [g.window or config.dashboard.window for g in config.goals] or [config.dashboard.window]
    horizon = 2 * max(windows)

    def make(source: Source) -> Collector:
        if source.id in made:
            return made[source.id]
        collector: type[Collector] | None
        if demo:
            from twoway.collectors.demo import DemoCollector

            collector = DemoCollector
        else:
            from twoway import plugins

            collector = plugins.load(source.platform)
            if collector is None:
                raise TwowayError(f"no collector installed for platform {source.platform!r}")
        http = Http(client, timeout=config.dashboard.timeout, max_bytes=config.dashboard.max_response_bytes)
        prefix = f"{source.platform}:"
        also = tuple(entry[len(prefix) :] for entry in config.organization.also if entry.startswith(prefix))
        made[source.id] = collector(Context(source, http, horizon, config.dashboard.thread_refresh, also))
        if series is not None:
            made[source.id] = series.timed(made[source.id])
        return made[source.id]

    return make


# -- the demo: its config and a fresh temporary store, never the user's ---------------


@lru_cache(maxsize=1)
def _demo_workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="twoway-demo-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def demo_config_path() -> Path:
    from twoway.collectors.demo import DEMO_CONFIG

    path = _demo_workdir() / "demo-config.toml"
    path.write_text(DEMO_CONFIG, encoding="utf-8")
    return path


def demo_config() -> Config:
    from twoway.config import load_config

    config = load_config(demo_config_path())
    return config._replace(dashboard=config.dashboard._replace(database=_demo_workdir() / "demo.db"))


def open_demo_store(config: Config) -> Store:
    """The demo's store, prepared the first time (`_prepare_demo_store`)."""
    from twoway import clock
    from twoway.store import Store, store_location, store_policy

    store = Store.open(store_location(config), store_policy(config))
    _prepare_demo_store(store, config, clock.now())
    return store


def _prepare_demo_store(store: Store, config: Config, now: datetime) -> None:
    """The generated history, written once, and its alert rule evaluated then, as a collector
    would have after its polls: the demo opens with what fires."""
    if _fill_demo_store(store, now) and config.alerts.rules:
        _evaluate_demo(store, config, now)


def _fill_demo_store(store: Store, now: datetime) -> bool:
    """Write the demo history once; a store that already has it is left alone (`False`)."""
    from twoway.collectors.demo import demo_history, history_start

    if store.source_states():
        return False
    for batch in demo_history(now):
        store.write(batch, covers_from=history_start(now))
    store.analyze()
    return True


def _evaluate_demo(store: Store, config: Config, now: datetime) -> None:
    """What fires, settled in the ledger as an evaluation settles it, without claiming any
    delivery: the demo sends nothing (its rule notifies the app only)."""
    from twoway.alerts.evaluate import alerts_report, firing

    store.ledger.settle(firing(config, alerts_report(store, config, now)), {}, now)


_DEMO_CHILD = "import sys; from twoway.wiring import _demo_child; _demo_child(sys.stdin.buffer, sys.stdout.buffer)"


class DemoStart:
    """The live demo's history written, and its first report read, by a child process while the app starts.

    Writing the history takes about as long as Textual's own start-up (150 ms:
    `Store.write` derives every thread) and the report some 40 ms more; in the app's
    process both came before the first full paint, in a child they run on another core
    meanwhile. The child writes through the same `_prepare_demo_store` and reads the
    report the app's first read would (`daily`, each goal's own window), at the
    parent's now. The app takes that report once (`first`) and reads the store itself
    after (`wait` first).
    """

    def __init__(self, config: Config) -> None:
        import pickle
        import subprocess
        import sys
        import threading

        from twoway import clock

        self._lock = threading.Lock()
        self._report: Report | None = None
        self._error: str | None = None
        pipe = subprocess.PIPE
        self._child: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-c", _DEMO_CHILD], stdin=pipe, stdout=pipe, stderr=pipe
        )
        with self._child.stdin as given:  # type: ignore[union-attr]  # a PIPE: never None
            given.write(pickle.dumps((config, clock.now())))
        self._child.stdin = None  # closed: `communicate` reads the child's two outputs only

    def done(self) -> bool:
        """Whether the child has finished, so `wait` returns at once."""
        child = self._child
        return child is None or child.poll() is not None

    def wait(self) -> None:
        """Until the history is written; a child that failed raises its last line as a `TwowayError`, every time."""
        import pickle

        with self._lock:
            child, self._child = self._child, None
            if child is not None:
                out, err = child.communicate()
                said = err.decode(errors="replace").strip().splitlines()
                if child.returncode:
                    self._error = said[-1] if said else f"exit status {child.returncode}"
                else:
                    self._report = pickle.loads(out)
        if self._error is not None:
            raise TwowayError(f"the demo store was not filled: {self._error}")

    def first(self) -> Report | None:
        """The child's report, once (after `wait`): later reads see polls the child never saw."""
        with self._lock:
            report, self._report = self._report, None
        return report


def _demo_child(given: IO[bytes], out: IO[bytes]) -> None:
    """The child of `DemoStart`: write the demo history into the config's store, then its first report to `out`."""
    import pickle

    from twoway.metrics import build_report
    from twoway.store import Store, store_location, store_policy

    config, now = pickle.load(given)
    store = Store.open(store_location(config), store_policy(config))
    try:
        _prepare_demo_store(store, config, now)
    finally:
        store.close()
    reader = Store.open_readonly(store_location(config), store_policy(config))
    try:
        report = build_report(reader, config, now, demo=True, daily=True)
    finally:
        reader.close()
    pickle.dump(report, out, protocol=pickle.HIGHEST_PROTOCOL)


# -- the live app ------------------------------------------------------------------------


def build_app(config: Config, *, demo: bool, series: ProcessSeries | None = None) -> TwowayApp:
    """The app on its store (the demo's temporary store, filled beside the start-up, or the configured one)
    and its collectors. The demo's fill starts before Textual is imported, so both run at once."""
    from functools import partial

    from twoway.store import Store, store_location, store_policy

    start = DemoStart(config) if demo else None
    store = Store.open(store_location(config), store_policy(config))
    from twoway.tui.app import TwowayApp

    factory = partial(collector_factory, config, demo, series=series)
    return TwowayApp(config, store, factory, demo=demo, series=series, start=start)


# -- --metrics -------------------------------------------------------------------------


def serve_metrics(config: Config, demo: bool, host: str, port: int, series: ProcessSeries) -> MetricsServer:
    """`/metrics` (the store's series, read at each scrape, and this process's) and `/healthz`, started.

    Each scrape reads the store on a read-only connection of its own, like the live app's
    report worker, so it never sees a poll's write half done.
    """
    from prometheus_client.registry import CollectorRegistry

    from twoway import clock
    from twoway.metrics import build_report, source_report
    from twoway.report import SourceReport
    from twoway.scheduler import polled_sources
    from twoway.store import Store, store_location, store_policy
    from twoway.tui.metrics_server import MetricsServer, health
    from twoway.tui.prometheus import ReportCollector

    def read_report() -> Report:
        store = Store.open_readonly(store_location(config), store_policy(config))
        try:
            return build_report(store, config, clock.now(), demo=demo)
        finally:
            store.close()

    def polled() -> list[SourceReport]:
        store = Store.open_readonly(store_location(config), store_policy(config))
        try:
            states = store.source_states()
        finally:
            store.close()
        now = clock.now()
        return [source_report(config, states.get(s.id), s.id, now) for s in polled_sources(config)]

    registry = CollectorRegistry()
    registry.register(ReportCollector(read_report))
    registry.register(series)
    return MetricsServer(host, port, registry, lambda: health(polled())).start()
