"""Wiring shared by the command line and the live app: the store a configuration names,
the collectors that fill it, and which sources are due.

The one place that puts collectors, the store and the configuration together.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from twoway.errors import TwowayError

if TYPE_CHECKING:
    from twoway.config import Config, Source
    from twoway.store import Store, StorePolicy

__all__ = ["collector_factory", "due_sources", "open_demo_store", "policy", "polled_sources", "store_path"]


def store_path(config: Config) -> Path:
    from twoway.store import default_path

    return config.dashboard.database or default_path()


def policy(config: Config) -> StorePolicy:
    from twoway.store import StorePolicy

    return StorePolicy(
        also=config.organization.also,
        keywords=config.keywords,
        keep_community_text=config.dashboard.store_community_text,
        hours=config.organization.hours,
    )


def open_demo_store(config: Config) -> Store:
    from twoway import clock
    from twoway.demo import fill_demo_store
    from twoway.store import Store

    store = Store.open(store_path(config), policy(config))
    fill_demo_store(store, clock.now())
    return store


def collector_factory(config: Config, demo: bool, client: object, made: dict[str, object]) -> Any:
    """Each source's collector around the shared client, made once and kept in `made` for the process."""
    from collectors.base import Context
    from collectors.http import Http

    windows = [g.window or config.dashboard.window for g in config.goals] or [config.dashboard.window]
    horizon = 2 * max(windows)

    def make(source: Source) -> object:
        if source.id in made:
            return made[source.id]
        collector: Any
        if demo:
            from collectors.demo import DemoCollector

            collector = DemoCollector
        else:
            from twoway import plugins

            collector = plugins.load(source.platform)
            if collector is None:
                raise TwowayError(f"no collector installed for platform {source.platform!r}")
        http = Http(client, timeout=config.dashboard.timeout, max_bytes=config.dashboard.max_response_bytes)  # type: ignore[arg-type]
        prefix = f"{source.platform}:"
        also = tuple(entry[len(prefix) :] for entry in config.organization.also if entry.startswith(prefix))
        made[source.id] = collector(Context(source, http, horizon, config.dashboard.thread_refresh, also))
        return made[source.id]

    return make


def polled_sources(config: Config) -> list[Source]:
    """The sources a collector polls: all but those only `twoway import` fills."""
    from twoway.platforms import PLATFORMS

    return [s for s in config.sources if not (s.platform in PLATFORMS and PLATFORMS[s.platform].importer)]


def due_sources(config: Config, store: Store) -> list[Source]:
    """Polled sources whose data is older than their interval."""
    from twoway import clock

    now = clock.now()
    states = store.source_states()
    due = []
    for source in polled_sources(config):
        state = states.get(source.id)
        if state is None or state.last_success is None:
            due.append(source)
        elif (now - state.last_success).total_seconds() >= source.interval:
            due.append(source)
    return due
