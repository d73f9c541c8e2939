"""The view-model: what metrics computes and every view renders.

Frozen and free of store handles, so the snapshot formats and the live app render
the same numbers. `Report.to_json()` is the JSON schema of SPEC §4.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal, NamedTuple, Union

__all__ = [
    "BroadcastRow",
    "Coverage",
    "PARTS",
    "Part",
    "COUNTS",
    "DURATIONS",
    "METRICS",
    "PeriodReport",
    "RATIOS",
    "GoalReport",
    "ImportNote",
    "GoalStatus",
    "Metrics",
    "Report",
    "SourceReport",
    "SourceStatus",
    "TargetResult",
    "Waiting",
    "Week",
    "YearBefore",
    "human_duration",
    "iso",
]

COUNTS = (
    "broadcast",
    "replies",
    "mentions",
    "community_messages",
    "responses",
    "answered",
    "two_way",
    "reposts",
    "quotes",
    "likes",
)
RATIOS = (
    "conversation_rate",
    "amplification_rate",
    "applause_rate",
    "two_way_per_broadcast",
    "response_rate",
)
DURATIONS = ("median_response_seconds", "p90_response_seconds")
METRICS = COUNTS + RATIOS + DURATIONS + ("unanswered", "voices")
"""Every metric of SPEC §3, in the order views list them."""

Part = Literal["replies", "mentions", "responses", "reposts", "quotes", "likes"]
PARTS: tuple[Part, ...] = ("replies", "mentions", "responses", "reposts", "quotes", "likes")
"""What a source can measure; broadcasts are always measured."""

Number = Union[int, float, None]
Metrics = dict[str, Number]
GoalStatus = Literal["met", "missed", "no-data", "no-targets"]
SourceStatus = Literal["ok", "stale", "error"]


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a `Z`, to the second."""
    if moment is None:
        return None
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat()[:19] + "Z"


def human_duration(seconds: float) -> str:
    """How every view says a duration, two units at most: `45s`, `12m`, `3h 20m`, `2d 4h`."""
    total = int(round(abs(seconds)))
    if total < 60:
        return f"{total}s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


class TargetResult(NamedTuple):
    metric: str
    op: str
    value: float
    actual: Number
    met: bool | None


class Waiting(NamedTuple):
    """A community message nobody has answered yet: the staff's to-do list."""

    source: str
    url: str
    at: datetime
    waiting_seconds: float
    text: str = ""
    """The message's own text, only with `store_community_text` (network text: neutralise before showing)."""
    broadcast_at: datetime | None = None
    """When the broadcast it answers was made; `None` for a mention outside the organization's threads."""
    broadcast: str = ""
    """That broadcast's text, as the organization wrote it. Neither is in the JSON of schema 1."""


class BroadcastRow(NamedTuple):
    """One of a goal's broadcasts in the window, for the live app's goal screen."""

    source: str
    at: datetime
    url: str
    excerpt: str
    """The broadcast's text as the organization wrote it (network text: neutralise before showing)."""
    replies: int
    responses: int
    reposts: int
    likes: int


class Week(NamedTuple):
    """One ISO week of a goal's window, cut to the window's edges: the report's charts."""

    start: datetime
    end: datetime
    broadcast: int | None
    two_way: int | None
    median_response_seconds: float | None
    p90_response_seconds: float | None


class YearBefore(NamedTuple):
    """A calendar period's metrics the year before, and the change since, where the store covers it."""

    title: str
    start: datetime
    end: datetime
    metrics: Metrics
    deltas: Metrics

    def to_json(self) -> dict[str, object]:
        return {
            "start": iso(self.start), "end": iso(self.end), "metrics": dict(self.metrics), "deltas": dict(self.deltas),
        }


class PeriodReport(NamedTuple):
    """The calendar period every goal of a report covers (SPEC §10)."""

    label: str
    """As `--period` takes it: `2026-11`, `2026-Q4`, `2026`."""
    title: str
    """For people: `November 2026`."""
    start: datetime
    end: datetime
    """The period's end, or now while it has not ended."""
    ended: bool
    baseline: str
    """The title of the period before it, which the baseline covers."""
    year_before: str
    """The title of the same period a year before: `November 2025`."""

    @property
    def name(self) -> str:
        """`November 2026`, or `November 2026 so far` until it ends: what views call it."""
        return self.title if self.ended else f"{self.title} so far"

    def to_json(self) -> dict[str, object]:
        return {"label": self.label, "start": iso(self.start), "end": iso(self.end)}


class Coverage(NamedTuple):
    """Whether a goal's sources have data from a window's start on (SPEC §3)."""

    covered_from: datetime | None
    """From when every source of the goal has data; `None` while one has none yet."""
    sources: tuple[str, ...] = ()
    """The goal's sources whose data begins after the window's start: their parts are null."""

    @property
    def covered(self) -> bool:
        return not self.sources

    def to_json(self) -> dict[str, object]:
        return {"covered_from": iso(self.covered_from), "sources": list(self.sources)}


class ImportNote(NamedTuple):
    """A file imported into a source: numbers that came from an export, not from polling."""

    source: str
    file: str
    format: str
    exported_at: datetime
    imported_at: datetime
    posts: int

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "file": self.file,
            "format": self.format,
            "exported_at": iso(self.exported_at),
            "imported_at": iso(self.imported_at),
            "posts": self.posts,
        }


class GoalReport(NamedTuple):
    name: str
    status: GoalStatus
    window: str
    start: datetime
    end: datetime
    metrics: Metrics
    baseline: Metrics
    deltas: Metrics
    unavailable: dict[str, tuple[str, ...]]
    targets: tuple[TargetResult, ...]
    by_source: dict[str, Metrics]
    waiting_total: int
    waiting: tuple[Waiting, ...]
    daily: tuple[tuple[int, int], ...] = ()
    """Per day of the window (the organization's days), oldest first: (broadcasts, two-way),
    engagement counted on the day of its broadcast. Only when asked for (the live app's
    chart); not part of the JSON schema 1."""
    broadcasts: tuple[BroadcastRow, ...] = ()
    """The window's broadcasts, newest first, at most 200: with `daily`, for the goal screen."""
    imported: tuple[ImportNote, ...] = ()
    """The imports whose posts reach this window or its baseline: these numbers are an export's."""
    coverage: dict[str, Coverage] = {}
    """`metrics` (the window) and `baseline` → whether the sources' data reaches back to its start."""
    timezone: str = "UTC"
    """The organization's IANA timezone: the one views show dates in."""
    not_polled: tuple[str, ...] = ()
    """The goal's sources that never polled successfully: what waits there is unknown, so the
    waiting count is too (`waiting_total` is null in the JSON; `waiting_total` here counts the rest)."""
    failing: tuple[str, ...] = ()
    """The goal's sources whose last poll failed: the waiting count is as of `as_of`."""
    as_of: datetime | None = None
    """The oldest last success among `failing`: when the waiting count was last known whole."""
    description: str | None = None
    """The purpose behind the goal, in the organization's words (config; neutralise before showing)."""
    weekly: tuple[Week, ...] = ()
    """Per ISO week of the window, oldest first: only when asked for (the report's charts)."""
    busiest: tuple[BroadcastRow, ...] = ()
    """The five broadcasts of the window that drew the most two-way: with `weekly`."""
    year_before: YearBefore | None = None
    """With a calendar period, the same period a year before, where every source covers it."""
    period: PeriodReport | None = None
    """The calendar period the window is (`--period`), or `None` for a rolling window."""

    @property
    def waiting_known(self) -> int | None:
        """The waiting count, `None` while a source of the goal has never polled (SPEC §4)."""
        return None if self.not_polled else self.waiting_total

    def unmeasured(self) -> dict[str, list[str]]:
        """Source id → the parts it cannot measure (a platform limit, not a zero)."""
        missing: dict[str, list[str]] = {}
        for part in PARTS:
            for source in self.unavailable.get(part, ()):
                missing.setdefault(source, []).append(part)
        return missing

    @property
    def longest_wait(self) -> float | None:
        return max((w.waiting_seconds for w in self.waiting), default=None)

    def to_json(self, *, period: bool = False) -> dict[str, object]:
        """SPEC §4's goal object; with a calendar `period`, also the year before (`null` where not covered)."""
        doc: dict[str, object] = {
            "name": self.name,
            "status": self.status,
            "window": self.window,
            "start": iso(self.start),
            "end": iso(self.end),
            "metrics": dict(self.metrics),
            "baseline": dict(self.baseline),
            "deltas": dict(self.deltas),
            "unavailable": {m: list(ids) for m, ids in self.unavailable.items()},
            "targets": [
                {"metric": t.metric, "op": t.op, "value": t.value, "actual": t.actual, "met": t.met}
                for t in self.targets
            ],
            "by_source": {sid: dict(m) for sid, m in self.by_source.items()},
            "waiting_total": self.waiting_known,
            "waiting": [
                {"source": w.source, "url": w.url, "at": iso(w.at), "waiting_seconds": w.waiting_seconds}
                for w in self.waiting
            ],
            "imported": [i.to_json() for i in self.imported],
            "coverage": {w: self.coverage.get(w, Coverage(None)).to_json() for w in ("metrics", "baseline")},
        }
        if period:
            doc["year_before"] = self.year_before.to_json() if self.year_before else None
        return doc


class SourceReport(NamedTuple):
    id: str
    platform: str
    status: SourceStatus
    last_success: datetime | None
    """The last successful poll; for a source filled only by `twoway import`, the last import."""
    error: str | None
    followers: int | None
    imports: tuple[ImportNote, ...] = ()
    """Every file imported into the source, the newest export first."""
    down_since: datetime | None = None
    """While in error, since when: its first failed poll after its last success (not in the JSON of schema 1)."""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "platform": self.platform,
            "status": self.status,
            "last_success": iso(self.last_success),
            "error": self.error,
            "followers": self.followers,
            "imports": [i.to_json() for i in self.imports],
        }


class Report(NamedTuple):
    organization: str
    generated_at: datetime
    demo: bool
    window: str | None
    """The `--window` override, or `None` when goals keep their own."""
    clock: Literal["always", "opening-hours"]
    goals: tuple[GoalReport, ...]
    sources: tuple[SourceReport, ...]
    timezone: str = "UTC"
    """The organization's IANA timezone: the one text and Markdown show times in."""
    period: PeriodReport | None = None
    """The calendar period every goal covers (`--period`), or `None` for rolling windows."""

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "schema_version": 1,
            "generated_at": iso(self.generated_at),
            "demo": self.demo,
            "window": self.window,
            "clock": self.clock,
        }
        if self.period is not None:
            doc["period"] = self.period.to_json()
        doc["goals"] = [g.to_json(period=self.period is not None) for g in self.goals]
        doc["sources"] = [s.to_json() for s in self.sources]
        return doc
