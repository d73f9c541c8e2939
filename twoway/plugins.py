"""Collectors found through the `twoway.collectors` entry points, ours included."""

from __future__ import annotations

from importlib.metadata import entry_points

from twoway.errors import TwowayError

__all__ = ["GROUP", "installed", "load"]

GROUP = "twoway.collectors"


def installed() -> list[str]:
    """Platform names with a collector, without importing any of them."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def load(platform: str) -> type:
    """The collector class for `platform`; a failed import becomes one clear line."""
    for ep in entry_points(group=GROUP, name=platform):
        try:
            return ep.load()  # type: ignore[no-any-return]
        except Exception as e:  # a broken plugin must not take twoway down
            raise TwowayError(f"collector {platform!r} ({ep.value}) failed to load: {e}") from None
    raise TwowayError(
        f"no collector installed for platform {platform!r} (installed: {', '.join(installed()) or 'none'})"
    )
