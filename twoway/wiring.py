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
from typing import TYPE_CHECKING

from twoway.errors import TwowayError

if TYPE_CHECKING:
    import httpx

    from twoway.config import Config, Source
    from twoway.plugin import Collector
    from twoway.scheduler import CollectorFor
    from twoway.store import Store
    from twoway.tui.app import TwowayApp
    from twoway.tui.metrics_server import MetricsServer
    from twoway.tui.prometheus import ProcessSeries

__all__ = [
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
    """The demo's store, filled with its generated history the first time."""
    from twoway import clock
    from twoway.store import Store, store_location, store_policy

    store = Store.open(store_location(config), store_policy(config))
    _fill_demo_store(store, clock.now())
    return store


def _fill_demo_store(store: Store, now: datetime) -> None:
    """Write the demo history once; a store that already has it is left alone."""
    from twoway.collectors.demo import demo_history, history_start

    if store.source_states():
        return
    for batch in demo_history(now):
        store.write(batch, covers_from=history_start(now))
    store.analyze()


# -- the live app ------------------------------------------------------------------------


def build_app(config: Config, *, demo: bool, series: ProcessSeries | None = None) -> TwowayApp:
    """The app on its store (the demo's filled temporary store, or the configured one) and its collectors."""
    from functools import partial

    from twoway.store import Store, store_location, store_policy
    from twoway.tui.app import TwowayApp

    store = open_demo_store(config) if demo else Store.open(store_location(config), store_policy(config))
    return TwowayApp(config, store, partial(collector_factory, config, demo, series=series), demo=demo, series=series)


# -- --metrics -------------------------------------------------------------------------


def serve_metrics(config: Config, demo: bool, host: str, port: int, series: ProcessSeries) -> MetricsServer:
    """`/metrics` (the store's series, read at each scrape, and this process's) and `/healthz`, started.

    Each scrape reads the store on a read-only connection of its own, like the live app's
    report worker, so it never sees a poll's write half done.
    """
    from prometheus_client.registry import CollectorRegistry

    from twoway import clock
    from twoway.metrics import build_report, source_report
    from twoway.report import Report, SourceReport
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
