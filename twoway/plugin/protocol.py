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
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from twoway.config import Source
    from twoway.model import Batch
    from twoway.plugin.http import Http

__all__ = ["Collector", "Context", "CursorState", "DailyQuota", "ThreadWatch", "explain"]


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
        from twoway.config import Credential

        credential = self.source.options.get(key)
        return credential.resolve() if isinstance(credential, Credential) else None


class Collector(Protocol):
    context: Context
    """What it was made with; the live app reads `context.http.budgets` to show what is left."""

    def __init__(self, context: Context) -> None: ...

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        """One cycle: the records seen since `cursor` and the new cursor, in one `Batch`.

        Raises:
            twoway.plugin.http.FetchError: the platform failed; its one line becomes the
                source's error and the stored data stays as it was, except the error's
                `cursor`, when set (what a daily allowance spent).
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


class DailyQuota:
    """A daily allowance the platform does not announce in headers: X's paid request
    budget, YouTube's quota units. Spending is counted here, kept in the cursor so a
    restart or a cron run remembers it, and shown like any rate-limit budget.

    A call that would overrun it raises `FetchError` before anything is sent; the
    budget comes back at the next midnight in `tz` (YouTube resets at midnight Pacific).
    """

    KEY = "daily quota"
    """Its name among the HTTP layer's budgets (which are otherwise keyed by host)."""

    def __init__(
        self,
        state: CursorState,
        http: Http,
        limit: int,
        now: datetime,
        *,
        unit: str = "requests",
        tz: tzinfo = timezone.utc,
    ) -> None:
        self.state, self.http, self.limit, self.unit = state, http, limit, unit
        local = now.astimezone(tz)
        self.day = local.date().isoformat()
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.resets_in = (midnight - local).total_seconds()
        day, used = state.data.get("quota") or [None, 0]
        self.used = int(used) if day == self.day else 0
        self._show()

    def spend(self, units: int = 1) -> None:
        from twoway.plugin.http import FetchError

        if self.used + units > self.limit:
            hours = self.resets_in / 3600
            raise FetchError(
                f"daily budget of {self.limit} {self.unit} used up ({self.used} spent); it comes back in {hours:.1f} h"
            )
        self.used += units
        self.state.data["quota"] = [self.day, self.used]
        self._show()

    def carried(self, cursor: str | None) -> str:
        """`cursor` as the poll found it, with what this cycle spent: a failed poll keeps
        nothing it learned, but what it paid for stays paid."""
        state = CursorState.load(cursor)
        state.data["quota"] = [self.day, self.used]
        return state.dump()

    def _show(self) -> None:
        from twoway.plugin.http import Budget

        reset_at = self.http.clock() + self.resets_in
        self.http.budgets[self.KEY] = Budget(self.limit - self.used, self.limit, reset_at)


def explain(error: Exception, advice: dict[int | str, str]) -> Exception:
    """A platform's refusal as advice the staff can act on, or the error unchanged.

    `advice` maps an HTTP status, or a platform error code as a string (Graph's
    `error.code`, X's `title`), to the sentence to show, e.g. {401: "token expired:
    renew it at https://..."}. The URL stays at the front of the line.
    """
    from twoway.plugin.http import FetchError

    if not isinstance(error, FetchError):
        return error
    codes = _error_codes(error.data)
    sentence = next((advice[c] for c in codes if c in advice), None) or advice.get(error.status or 0)
    if sentence is None:
        return error
    where, _, what = str(error).partition(": ")
    explained = FetchError(f"{where}: {sentence} ({what or where})", status=error.status, data=error.data)
    explained.cursor = error.cursor
    return explained


def _error_codes(data: Any) -> list[str]:
    """The codes a JSON error body names, most specific first.

    Graph: {"error": {"code", "error_subcode", "type"}}; Google: {"error": {"status",
    "errors": [{"reason"}], "details": [{"reason"}]}}; X: {"reason", "title", "errors":
    [...]}; LinkedIn: {"serviceErrorCode"}; Discourse: {"error_type"}; OAuth: {"error":
    "invalid_grant"}.
    """
    if not isinstance(data, dict):
        return []
    codes: list[Any] = []
    for layer in (data.get("error"), data):
        if isinstance(layer, str):
            codes.append(layer)
        if not isinstance(layer, dict):
            continue
        for key in ("errors", "details"):  # Google puts reasons in both, e.g. keyInvalid / API_KEY_INVALID
            items = layer.get(key)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    codes += [item.get("reason"), item.get("code"), item.get("title")]
        names = ("error_subcode", "reason", "code", "type", "serviceErrorCode", "title", "error_type", "status")
        codes += [layer.get(k) for k in names]
    return [str(c) for c in codes if c is not None and c != "" and not isinstance(c, dict)]
