"""The metrics of SPEC §3, per goal and window, read from the store.

Broadcasts and mentions (few) are fetched with their text and filtered here, since
whole-word keyword matching is not portable SQL; the many community messages are
counted in SQL over the threads that matched, and only what cannot be summed
(distinct voices, response times) comes back row by row.

A part a source cannot measure stays `None` for that source and is left out of
the goal's sum and of its ratio's denominator; a sum of parts counts what is
measured, so `community_messages = replies + mentions` and
`two_way = community_messages + responses` always hold.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from twoway.config import Config, Goal, Target, format_duration
from twoway.matching import link_matches, matched_keywords
from twoway.model import Part
from twoway.report import (
    METRICS,
    GoalReport,
    GoalStatus,
    Metrics,
    Report,
    SourceReport,
    SourceStatus,
    TargetResult,
    Waiting,
)
from twoway.store import SourceState, Store

__all__ = ["MEASURED_BY", "build_report", "goal_report", "measures_metric"]

WAITING_LISTED = 100
_CHUNK = 500

MEASURED_BY: dict[str, tuple[frozenset[Part], ...]] = {
    "replies": (frozenset({"replies"}),),
    "mentions": (frozenset({"mentions"}),),
    "community_messages": (frozenset({"replies", "mentions"}),),
    "responses": (frozenset({"responses"}),),
    "answered": (frozenset({"responses"}), frozenset({"replies", "mentions"})),
    "two_way": (frozenset({"replies", "mentions", "responses"}),),
    "reposts": (frozenset({"reposts"}),),
    "quotes": (frozenset({"quotes"}),),
    "likes": (frozenset({"likes"}),),
    "conversation_rate": (frozenset({"replies"}),),
    "amplification_rate": (frozenset({"reposts", "quotes"}),),
    "applause_rate": (frozenset({"likes"}),),
    "two_way_per_broadcast": (frozenset({"replies", "mentions", "responses"}),),
}
"""Each metric needs, from every group, at least one part the source measures."""
for _m in ("response_rate", "median_response_seconds", "p90_response_seconds", "unanswered"):
    MEASURED_BY[_m] = MEASURED_BY["answered"]
MEASURED_BY["voices"] = MEASURED_BY["community_messages"]


def measures_metric(metric: str, measures: frozenset[Part]) -> bool:
    return all(group & measures for group in MEASURED_BY.get(metric, ()))


@dataclass
class _Tally:
    """What one source contributes to one goal in one window."""

    measures: frozenset[Part]
    broadcast: int = 0
    replies: int = 0
    mentions: int = 0
    responses: int = 0
    answered: int = 0
    reposts: int = 0
    quotes: int = 0
    likes: int = 0
    voices: set[str] = field(default_factory=set)
    durations: list[float] = field(default_factory=list)


def _ratio(numerator: int | None, denominator: int) -> float | None:
    return None if numerator is None or denominator == 0 else numerator / denominator


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    n, mid = len(values), len(values) // 2
    return float(values[mid]) if n % 2 else (values[mid - 1] + values[mid]) / 2


def _p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the smallest value with at least 90% of values at or below it."""
    return float(values[math.ceil(0.9 * len(values)) - 1]) if values else None


def _combine(tallies: Iterable[_Tally]) -> Metrics:
    """Sum each part over the sources that measure it; ratios over those sources' broadcasts."""
    tallies = list(tallies)

    def total(metric: str, value: str | None = None) -> int | None:
        measuring = [t for t in tallies if measures_metric(metric, t.measures)]
        if not measuring:
            return None
        return sum(getattr(t, value or metric) for t in measuring)

    def broadcasts(metric: str) -> int:
        return sum(t.broadcast for t in tallies if measures_metric(metric, t.measures))

    replies = total("replies")
    mentions = total("mentions")
    responses = total("responses")
    community = None if replies is None and mentions is None else (replies or 0) + (mentions or 0)
    two_way = None if community is None and responses is None else (community or 0) + (responses or 0)
    answering = [t for t in tallies if measures_metric("answered", t.measures)]
    answered = total("answered")
    answerable = (
        sum(
            (t.replies if "replies" in t.measures else 0) + (t.mentions if "mentions" in t.measures else 0)
            for t in answering
        )
        if answering
        else None
    )
    reposts, quotes, likes = total("reposts"), total("quotes"), total("likes")
    amplified = None if reposts is None and quotes is None else (reposts or 0) + (quotes or 0)
    durations = sorted(d for t in answering for d in t.durations)
    voicing = [t for t in tallies if measures_metric("voices", t.measures)]
    return {
        "broadcast": sum(t.broadcast for t in tallies),
        "replies": replies,
        "mentions": mentions,
        "community_messages": community,
        "responses": responses,
        "answered": answered,
        "two_way": two_way,
        "reposts": reposts,
        "quotes": quotes,
        "likes": likes,
        "conversation_rate": _ratio(replies, broadcasts("conversation_rate")),
        "amplification_rate": _ratio(amplified, broadcasts("amplification_rate")),
        "applause_rate": _ratio(likes, broadcasts("applause_rate")),
        "two_way_per_broadcast": _ratio(two_way, broadcasts("two_way_per_broadcast")),
        "response_rate": _ratio(answered, answerable or 0),
        "median_response_seconds": _median(durations),
        "p90_response_seconds": _p90(durations),
        "unanswered": None if answerable is None or answered is None else answerable - answered,
        "voices": len(set().union(*(t.voices for t in voicing))) if voicing else None,
    }


def _delta(now: int | float | None, before: int | float | None) -> int | float | None:
    if now is None or before is None:
        return None
    diff = now - before
    return round(diff, 6) if isinstance(diff, float) else diff


def _check(target: Target, actual: int | float | None) -> bool | None:
    if actual is None:
        return None
    return {
        ">=": actual >= target.value,
        "<=": actual <= target.value,
        ">": actual > target.value,
        "<": actual < target.value,
        "==": actual == target.value,
    }[target.op]


def _status(results: Sequence[TargetResult]) -> GoalStatus:
    if not results:
        return "no-targets"
    if any(r.met is False for r in results):
        return "missed"
    if any(r.met is None for r in results):
        return "no-data"
    return "met"


class _GoalQuery:
    """One goal's reads against the store, for any window."""

    def __init__(self, store: Store, config: Config, goal: Goal, states: dict[str, SourceState]) -> None:
        self.store = store
        self.conn = store.conn
        self.config = config
        self.goal = goal
        self.measures = {
            sid: (states[sid].measures or frozenset()) if sid in states else frozenset() for sid in goal.sources
        }
        self.order = {s.id: i for i, s in enumerate(config.sources)}
        hours = config.organization.hours
        self.elapsed = hours.open_seconds if hours else _wall_seconds

    # -- filters -------------------------------------------------------------------

    def _matches(self, text: str, hashtags: Iterable[str], links: Iterable[str], keywords: Iterable[str]) -> bool:
        goal = self.goal
        if not goal.filtered:
            return True
        if goal.hashtags and set(goal.hashtags) & set(hashtags):
            return True
        if goal.keywords and (set(goal.keywords) & set(keywords) or matched_keywords(text, goal.keywords)):
            return True
        return any(link_matches(link, prefix) for link in links for prefix in goal.links)

    def _matching_threads(self, source_id: str, rows: Iterable[tuple]) -> set[str]:
        """Threads whose broadcast, with its self-thread, matches the goal's filters.

        `rows` are (thread, text, hashtags, links) of every broadcast and chain post.
        """
        text: dict[str, list[str]] = defaultdict(list)
        tags: dict[str, set[str]] = defaultdict(set)
        links: dict[str, set[str]] = defaultdict(set)
        for thread, body, hashtags, linked in rows:
            text[thread].append(body or "")
            tags[thread].update(hashtags.split())
            links[thread].update(linked.split("\n") if linked else ())
        return {t for t in text if self._matches("\n".join(text[t]), tags[t], links[t], ())}

    def _chain_rows(self, source_id: str, threads: Sequence[str]) -> list[tuple]:
        rows: list[tuple] = []
        for chunk in _chunks(threads):
            marks = ",".join("?" * len(chunk))
            rows += self.conn.execute(
                "SELECT thread, text, hashtags, links FROM posts WHERE source_id = ?"
                f" AND role IN ('broadcast', 'chain') AND thread IN ({marks})",
                (source_id, *chunk),
            ).fetchall()
        return rows

    # -- a window ------------------------------------------------------------------

    def tallies(self, start: int, end: int) -> dict[str, _Tally]:
        tallies = {}
        for sid in self.goal.sources:
            tally = _Tally(self.measures[sid])
            threads = self._broadcasts(sid, start, end, tally)
            self._replies(sid, start, end, threads, tally)
            for row in self._mentions(sid, start, end):
                tally.mentions += 1
                tally.responses += row.responses
                tally.voices.add(row.author)
                if row.answered_at is not None:
                    tally.answered += 1
                    tally.durations.append(self._elapsed(row.created_at, row.answered_at))
            tallies[sid] = tally
        return tallies

    def _elapsed(self, start: int, end: int) -> float:
        return float(self.elapsed(_dt(start), _dt(end)))

    def _broadcasts(self, sid: str, start: int, end: int, tally: _Tally) -> list[str] | None:
        """Count the broadcasts and their counters; returns matched threads (`None`: all)."""
        rows = self.conn.execute(
            "SELECT thread, role, text, hashtags, links, reposts, quotes, likes,"
            " own_reposts, own_quotes, own_likes FROM posts"
            " WHERE source_id = ? AND role IN ('broadcast', 'chain') AND thread_at >= ? AND thread_at < ?",
            (sid, start, end),
        ).fetchall()
        matched = self._matching_threads(sid, [(r[0], r[2], r[3], r[4]) for r in rows])
        for thread, role, _, _, _, reposts, quotes, likes, own_r, own_q, own_l in rows:
            if role != "broadcast" or thread not in matched:
                continue
            tally.broadcast += 1
            tally.reposts += max((reposts or 0) - own_r, 0)
            tally.quotes += max((quotes or 0) - own_q, 0)
            tally.likes += max((likes or 0) - own_l, 0)
        return None if not self.goal.filtered else sorted(matched)

    def _reply_scope(self, sid: str, start: int, end: int, threads: Sequence[str] | None) -> Iterable[tuple[str, tuple]]:
        base = "FROM posts WHERE source_id = ? AND role = 'reply' AND thread_at >= ? AND thread_at < ?"
        if threads is None:
            yield base, (sid, start, end)
            return
        for chunk in _chunks(threads):
            yield f"{base} AND thread IN ({','.join('?' * len(chunk))})", (sid, start, end, *chunk)

    def _replies(self, sid: str, start: int, end: int, threads: Sequence[str] | None, tally: _Tally) -> None:
        for scope, params in self._reply_scope(sid, start, end, threads):
            count, responses, answered = self.conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(responses), 0),"
                f" COALESCE(SUM(CASE WHEN answered_at IS NULL THEN 0 ELSE 1 END), 0) {scope}",
                params,
            ).fetchone()
            tally.replies += count
            tally.responses += responses
            tally.answered += answered
            tally.voices.update(r[0] for r in self.conn.execute(f"SELECT DISTINCT author_hash {scope}", params))
            rows = self.conn.execute(
                f"SELECT created_at, answered_at {scope.replace('WHERE', 'WHERE answered_at IS NOT NULL AND')}",
                params,
            )
            tally.durations.extend(self._elapsed(created, answered_at) for created, answered_at in rows)

    def _mentions(self, sid: str, start: int, end: int, *, unanswered: bool = False) -> list[_Message]:
        """Mentions made in the window that match the goal and count for this source."""
        rows = self.conn.execute(
            "SELECT post_id, platform, url, created_at, answered_at, responses, author_hash,"
            " text, hashtags, links, keywords FROM posts"
            " WHERE source_id = ? AND role = 'mention' AND created_at >= ? AND created_at < ?"
            + (" AND answered_at IS NULL" if unanswered else ""),
            (sid, start, end),
        ).fetchall()
        rows = [
            r for r in rows if self._matches(r[7] or "", r[8].split(), r[9].split("\n") if r[9] else (), r[10].split("\n"))
        ]
        owned = self._owned_elsewhere(sid, rows)
        return [
            _Message(sid, r[0], r[2], r[3], r[4], r[5], r[6]) for r in rows if (r[1], r[0]) not in owned
        ]

    def _owned_elsewhere(self, sid: str, rows: Sequence[tuple]) -> set[tuple[str, str]]:
        """Mentions another source counts: as a reply in its thread, or as an earlier-named source's mention."""
        owned: set[tuple[str, str]] = set()
        by_platform: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            by_platform[r[1]].append(r[0])
        for platform, ids in by_platform.items():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                for other, post_id, role in self.conn.execute(
                    f"SELECT source_id, post_id, role FROM posts WHERE platform = ? AND post_id IN ({marks})"
                    " AND source_id <> ? AND role IN ('reply', 'mention')",
                    (platform, *chunk, sid),
                ):
                    earlier = self.order.get(other, len(self.order)) < self.order.get(sid, len(self.order))
                    if role == "reply" or earlier:
                        owned.add((platform, post_id))
        return owned

    # -- waiting -------------------------------------------------------------------

    def waiting(self, start: int, end: int, now: datetime) -> tuple[int, tuple[Waiting, ...]]:
        """Unanswered community messages written in the window, whatever the broadcast's age."""
        items: list[_Message] = []
        for sid in self.goal.sources:
            if not measures_metric("unanswered", self.measures[sid]):
                continue
            rows = self.conn.execute(
                "SELECT post_id, thread, url, created_at, author_hash FROM posts"
                " WHERE source_id = ? AND role = 'reply' AND answered_at IS NULL"
                " AND created_at >= ? AND created_at < ?",
                (sid, start, end),
            ).fetchall()
            if self.goal.filtered:
                threads = sorted({r[1] for r in rows})
                matched = self._matching_threads(sid, self._chain_rows(sid, threads))
                rows = [r for r in rows if r[1] in matched]
            items += [_Message(sid, r[0], r[2], r[3], None, 0, r[4]) for r in rows]
            items += self._mentions(sid, start, end, unanswered=True)
        items.sort(key=lambda m: (m.created_at, m.source, m.post_id))
        listed = tuple(
            Waiting(m.source, m.url, _dt(m.created_at), self.elapsed(_dt(m.created_at), now))
            for m in items[:WAITING_LISTED]
        )
        return len(items), listed


@dataclass(frozen=True)
class _Message:
    source: str
    post_id: str
    url: str
    created_at: int
    answered_at: int | None
    responses: int
    author: str


def _wall_seconds(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def goal_report(
    store: Store,
    config: Config,
    goal: Goal,
    now: datetime,
    *,
    window: int | None = None,
    states: dict[str, SourceState] | None = None,
) -> GoalReport:
    """Every metric of one goal for its window and the baseline window before it."""
    states = store.source_states() if states is None else states
    length = window or goal.window or config.dashboard.window
    end = int(now.timestamp())
    start, base_start = end - length, end - 2 * length
    query = _GoalQuery(store, config, goal, states)
    current = query.tallies(start, end)
    before = query.tallies(base_start, start)
    metrics, baseline = _combine(current.values()), _combine(before.values())
    results = tuple(
        TargetResult(t.metric, t.op, t.value, metrics[t.metric], _check(t, metrics[t.metric])) for t in goal.targets
    )
    unavailable = {
        m: tuple(sid for sid in goal.sources if not measures_metric(m, query.measures[sid]))
        for m in METRICS
    }
    waiting_total, waiting = query.waiting(start, end, now)
    return GoalReport(
        name=goal.name,
        status=_status(results),
        window=format_duration(length),
        start=_dt(start),
        end=now.astimezone(timezone.utc),
        metrics=metrics,
        baseline=baseline,
        deltas={m: _delta(metrics[m], baseline[m]) for m in METRICS},
        unavailable={m: ids for m, ids in unavailable.items() if ids},
        targets=results,
        by_source={sid: _combine([t]) for sid, t in current.items()},
        waiting_total=waiting_total,
        waiting=waiting,
    )


def source_report(config: Config, state: SourceState | None, source_id: str, now: datetime) -> SourceReport:
    """A source's health: error when its last poll failed or a credential is missing."""
    source = config.source(source_id)
    status: SourceStatus
    error = None
    if source.missing:
        status, error = "error", f"{', '.join(source.missing)} not set in the environment"
    elif state and state.last_error_at and (state.last_success is None or state.last_error_at >= state.last_success):
        status, error = "error", state.last_error
    elif state is None or state.last_success is None or now - state.last_success > timedelta(
        seconds=2 * source.interval
    ):
        status = "stale"
    else:
        status = "ok"
    return SourceReport(
        id=source.id,
        platform=source.platform,
        status=status,
        last_success=state.last_success if state else None,
        error=error,
        followers=state.followers if state else None,
    )


def build_report(
    store: Store,
    config: Config,
    now: datetime,
    *,
    window: int | None = None,
    goal_names: Sequence[str] = (),
    demo: bool = False,
) -> Report:
    """The whole dashboard, once: every goal (or those named) and every source."""
    states = store.source_states()
    goals = [g for g in config.goals if not goal_names or g.name in goal_names]
    return Report(
        organization=config.organization.name,
        generated_at=now,
        demo=demo,
        window=format_duration(window) if window else None,
        clock="opening-hours" if config.organization.hours else "always",
        goals=tuple(goal_report(store, config, g, now, window=window, states=states) for g in goals),
        sources=tuple(source_report(config, states.get(s.id), s.id, now) for s in config.sources),
    )

