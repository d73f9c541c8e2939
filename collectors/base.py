"""The plugin protocol every collector follows, built-in or third-party, and the
polling shape they share (SPEC §6).

A collector is built for one source with a `Context` and asked, once per cycle, for
everything new since its stored cursor. It knows nothing of goals, windows or views
(SPEC §1): it only turns one platform's answers into `twoway.model` records.

The shape: the first poll backfills `horizon` (twice the longest window); every
later cycle re-reads the organization's posts younger than `horizon` to see their
counters, and fetches a thread only when a counter of an organization post in it
changed, a notification points into it, or it was last read longer ago than
`thread_refresh` (`ThreadWatch`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collectors.http import Http
    from twoway.config import Source
    from twoway.model import Batch

__all__ = ["Collector", "Context", "CursorState", "ThreadWatch"]


@dataclass(frozen=True)
class Context:
    """What a collector is given: its source, the polite HTTP layer, and the polling shape."""

    source: Source
    http: Http
    horizon: int
    """Seconds of history: what the first poll backfills and later polls re-read."""
    thread_refresh: int
    """Re-read a recent thread at least this often (seconds)."""
    also: tuple[str, ...] = ()
    """Staff handles on this source's platform, as written after `platform:` in `also`."""

    def option(self, key: str, default: Any = None) -> Any:
        return self.source.options.get(key, default)

    def secret(self, key: str) -> str | None:
        """A credential's value, read now (only when polling)."""
        credential = self.source.options.get(key)
        return credential.resolve() if credential is not None else None  # type: ignore[attr-defined]


class Collector(Protocol):
    def __init__(self, context: Context) -> None: ...

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        """One cycle: the records seen since `cursor` and the new cursor, in one `Batch`.

        Raises:
            collectors.http.FetchError: the platform failed; its one line becomes the
                source's error and the stored data stays as it was.
        """
        ...


@dataclass
class CursorState:
    """A collector's cursor: JSON the store keeps as an opaque string."""

    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> CursorState:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()  # an unreadable cursor costs one backfill, never a crash
        return cls(data if isinstance(data, dict) else {})

    def dump(self) -> str:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"))

    def since(self, now: datetime, horizon: int) -> datetime:
        """How far back this cycle reads the organization's own posts."""
        return now - timedelta(seconds=horizon)

    def threads(self) -> ThreadWatch:
        return ThreadWatch(self.data.setdefault("threads", {}))


class ThreadWatch:
    """Which threads to fetch this cycle: the ones whose signature moved, or that are due.

    Kept in the cursor as root id → [signature, last read (epoch seconds)].
    """

    def __init__(self, state: dict[str, list[Any]]) -> None:
        self.state = state

    def due(self, root: str, signature: str, now: datetime, refresh: int, *, pointed: bool = False) -> bool:
        """Whether thread `root` needs a read now.

        `signature` is whatever the platform's counters say about the thread (reply
        counts of the organization's posts in it); `pointed` is a notification about it.
        """
        seen = self.state.get(root)
        if seen is None or pointed or seen[0] != signature:
            return True
        return now.timestamp() - float(seen[1]) >= refresh

    def read(self, root: str, signature: str, now: datetime) -> None:
        self.state[root] = [signature, int(now.timestamp())]

    def forget_older(self, keep: set[str]) -> None:
        """Drop threads no longer re-read (older than the horizon)."""
        for root in list(self.state):
            if root not in keep:
                del self.state[root]
