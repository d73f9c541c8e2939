"""Collectors and importers found through the `twoway.collectors` and `twoway.importers`
entry points, ours included.

The one place that reads entry points; it does so only when asked, since scanning
installed distributions costs more than a snapshot's whole start-up budget.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from twoway.errors import TwowayError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from twoway.plugin import Collector, Importer

__all__ = [
    "GROUP",
    "IMPORTERS_GROUP",
    "PluginError",
    "entry_points",
    "installed",
    "installed_importers",
    "load",
    "load_importer",
]

GROUP = "twoway.collectors"
IMPORTERS_GROUP = "twoway.importers"


class PluginError(TwowayError):
    """A collector is installed but cannot be imported."""


def entry_points(group: str = GROUP) -> list[EntryPoint]:
    return list(_scan(group))


@lru_cache(maxsize=None)
def _scan(group: str) -> tuple[EntryPoint, ...]:
    """Once per process: what is installed does not change while twoway runs, and checking a
    configuration asks again for every source of a third-party platform."""
    from importlib.metadata import entry_points as scan

    try:
        return tuple(scan(group=group))
    except Exception:  # a broken distribution elsewhere must not take twoway down
        return ()


def installed() -> list[str]:
    """Platform names with a collector, without importing any of them."""
    return sorted({ep.name for ep in entry_points()})


def load(platform: str) -> type[Collector] | None:
    """The collector class for `platform`, `None` when none is installed."""
    for ep in entry_points():
        if ep.name == platform:
            try:
                collector: type[Collector] = ep.load()
                return collector
            except Exception as e:
                raise PluginError(f"the collector for platform {platform!r} ({ep.value}) failed to load: {e}") from None
    return None


def installed_importers() -> list[str]:
    """Importer format names, without importing any of them."""
    return sorted({ep.name for ep in entry_points(IMPORTERS_GROUP)})


def load_importer(name: str) -> type[Importer] | None:
    """The importer class for format `name`, `None` when none is installed."""
    for ep in entry_points(IMPORTERS_GROUP):
        if ep.name == name:
            try:
                importer: type[Importer] = ep.load()
                return importer
            except Exception as e:
                raise PluginError(f"the importer for format {name!r} ({ep.value}) failed to load: {e}") from None
    return None
