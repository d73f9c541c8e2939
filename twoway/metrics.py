"""The metrics of SPEC §3, per goal and window, read from the store.

The store hands over each broadcast once, with its self-thread's text and its
thread's rollups (replies, responses, answered, the members who took part, the
response waits), and each mention; goal filters and sums run here over those few
rows, shared by every goal. Messages are never visited one by one, except the
oldest 100 waiting.

A part a source cannot measure stays `None` for that source and is left out of
the goal's sum and of its ratio's denominator; a sum of parts counts what is
measured, so `community_messages = replies + mentions` and
`two_way = community_messages + responses` always hold.
"""

from __future__ import annotations

import heapq
import math
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from itertools import accumulate, chain
from typing import Any, NamedTuple

from twoway.config import Config, Goal, Target, format_duration
from twoway.matching import has_prefix, keywords_pattern
from twoway.periods import Period, iso_weeks
from twoway.platforms import IMPORTERS
from twoway.report import (
    METRICS,
    BroadcastRow,
    Coverage,
    GoalReport,
    GoalStatus,
    ImportNote,
    Metrics,
    Part,
    PeriodReport,
    Report,
    SourceReport,
    SourceStatus,
    TargetResult,
    Waiting,
    Week,
    YearBefore,
)
from twoway.store import MATCH_SEPARATOR, RECORD_SEPARATOR, ImportRecord, Page, SourceState, Store, unpack

__all__ = ["MEASURED_BY", "build_report", "goal_report", "measures_metric", "source_report"]

WAITING_LISTED = 100
"""The oldest waiting messages a goal lists by default (SPEC §3); `waiting_listed=None` lists all."""
BUSIEST = 5
"""The broadcasts a report lists for each goal: those that drew the most two-way."""

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


class _Tally:
    """What one source contributes to one goal in one window."""

    __slots__ = (
        "measures", "platform", "broadcast", "replies", "mentions", "responses", "answered",
        "reposts", "quotes", "likes", "voices", "waits",
    )

    def __init__(self, measures: frozenset[Part], platform: str) -> None:
        self.measures = measures
        self.platform = platform
        """Members are hashed with their platform: sources on different platforms never share one."""
        self.broadcast = self.replies = self.mentions = self.responses = self.answered = 0
        self.reposts = self.quotes = self.likes = 0
        self.voices: set[int] = set()
        self.waits: list[int] = []
        """Sorted, once the tally is complete."""


def _ratio(numerator: int | None, denominator: int) -> float | None:
    return None if numerator is None or denominator == 0 else numerator / denominator


def _rank(lists: Sequence[Sequence[int]], k: int) -> int:
    """The k-th smallest value (1-based) across sorted lists, without merging them."""
    if len(lists) == 1:
        return lists[0][k - 1]
    low, high = min(v[0] for v in lists if v), max(v[-1] for v in lists if v)
    while low < high:  # the smallest value with at least k values at or below it
        mid = (low + high) // 2
        if sum(bisect_right(v, mid) for v in lists) >= k:
            high = mid
        else:
            low = mid + 1
    return low


def _median(lists: Sequence[Sequence[int]]) -> float | None:
    n = sum(map(len, lists))
    if not n:
        return None
    if n % 2:
        return float(_rank(lists, n // 2 + 1))
    return (_rank(lists, n // 2) + _rank(lists, n // 2 + 1)) / 2


def _p90(lists: Sequence[Sequence[int]]) -> float | None:
    """Nearest rank: the smallest value with at least 90% of values at or below it."""
    n = sum(map(len, lists))
    return float(_rank(lists, math.ceil(0.9 * n))) if n else None


def _combine(tallies: Iterable[_Tally]) -> Metrics:
    """Sum each part over the sources that measure it; ratios over those sources' broadcasts."""
    tallies = list(tallies)

    def total(metric: str) -> int | None:
        measuring = [t for t in tallies if measures_metric(metric, t.measures)]
        if not measuring:
            return None
        counts: list[int] = [getattr(t, metric) for t in measuring]
        return sum(counts)

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
    durations = [t.waits for t in answering]
    voicing = [t for t in tallies if measures_metric("voices", t.measures)]
    return {
        "broadcast": sum(t.broadcast for t in tallies) if tallies else None,
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
        "voices": _distinct(voicing) if voicing else None,
    }


def _distinct(tallies: Sequence[_Tally]) -> int:
    """Distinct members across tallies: unions are needed only within a platform."""
    by_platform: dict[str, list[set[int]]] = {}
    for t in tallies:
        by_platform.setdefault(t.platform, []).append(t.voices)
    return sum(len(sets[0]) if len(sets) == 1 else len(set().union(*sets)) for sets in by_platform.values())


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


class _Filter:
    """A goal's filters, compiled once.

    `needles` are strings every unit matching by keyword or link contains (a link
    prefix, a keyword's first word): a pool finds the units holding one with
    `str.find` over all its text at once, and `__call__` decides exactly for those few.
    """

    def __init__(self, goal: Goal) -> None:
        self.active = goal.filtered
        self.hashtags = tuple(goal.hashtags)
        self.pattern = keywords_pattern(goal.keywords)
        self.links = tuple(link.rstrip("/").lower() for link in goal.links)
        firsts = [k.split()[0] for k in goal.keywords if k.split()]
        self.needles = tuple(dict.fromkeys(n.lower() for n in (*self.links, *firsts)))

    def __call__(self, match: str) -> bool:
        """Whether a unit's match (see `Page`) satisfies the goal's filters."""
        if not self.active:
            return True
        hashtags, links, rest = match.split(MATCH_SEPARATOR, 2)
        if not set(hashtags.split()).isdisjoint(self.hashtags):
            return True
        # after the links come the kept keywords and the text: a keyword can only match there
        if self.pattern is not None and self.pattern.search(rest):
            return True
        return any(has_prefix(link, prefix) for link in links.split("\n") for prefix in self.links)


def _columns(blobs: Iterable[bytes]) -> array[int]:
    return unpack(b"".join(blobs))


class _Pool:
    """One source's broadcasts, or its mentions, for a snapshot, in columns, oldest first.

    Built from day pages; every goal selects its units from it once, then sums
    columns over each window's slice.
    """

    def __init__(
        self, pages: list[Page], windows: Sequence[_Waits], excluded: Callable[[list[str]], set[str]] | None = None
    ) -> None:
        self.ats = _columns(p.ats for p in pages)
        n = len(self.ats)
        self.text = RECORD_SEPARATOR.join(p.matches for p in pages)
        self.starts = [0, *accumulate(map((1).__add__, _columns(p.lengths for p in pages)))]
        self._ids_text = RECORD_SEPARATOR.join(p.ids for p in pages)
        self._ids: list[str] | None = None
        self._urls_text = RECORD_SEPARATOR.join(p.urls for p in pages)
        self._urls: list[str] | None = None
        self.tag_indexes = [p.tag_index for p in pages]
        self.page_ends = list(accumulate(len(p.ats) // 8 for p in pages))
        self.page_starts = [0, *self.page_ends[:-1]]
        self.page_lasts = [p.last_unanswered for p in pages]
        counts = [_columns(p.counts[k * len(p.ats) : (k + 1) * len(p.ats)] for p in pages) for k in range(7)]
        self.reposts, self.quotes, self.likes, self.replies, self.responses, self.answered, self.last = counts
        self.voices, self.voice_ends = self._flat(pages, "voices", "voice_counts")
        self.waits, self.wait_ends = self._flat(pages, "waits", "wait_counts")
        self.unanswered, self.unanswered_ends = self._flat(pages, "unanswered", "unanswered_counts")
        self.excluded: set[int] = set()
        if excluded is not None and n:
            owned = excluded(self.ids)
            self.excluded = {i for i, post_id in enumerate(self.ids) if post_id in owned}
        self.windows = windows
        """The windows goals will ask `waiting` about."""
        self._waiting: dict[_Waits, dict[int, int]] = {}

    @staticmethod
    def _flat(pages: list[Page], values: str, sizes: str) -> tuple[array[int], list[int]]:
        """A flat column and, per unit, where its values end."""
        return _columns(getattr(p, values) for p in pages), [0, *accumulate(_columns(getattr(p, sizes) for p in pages))]

    @property
    def ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self._ids_text.split(RECORD_SEPARATOR) if self._ids_text else []
        return self._ids

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        return bisect_left(self.ats, start), bisect_left(self.ats, end)

    def tagged(self, tag: str, lo: int) -> list[int]:
        """Positions from `lo` on of the units carrying `tag`, from each page's index."""
        needle = f"{RECORD_SEPARATOR}{tag}{MATCH_SEPARATOR}"
        found: list[int] = []
        first = max(bisect_right(self.page_starts, lo) - 1, 0)
        for base, index in zip(self.page_starts[first:], self.tag_indexes[first:]):
            at = index.find(needle)
            if at != -1:
                listed = index[at + len(needle) : index.find(RECORD_SEPARATOR, at + 1)]
                found.extend(map(base.__add__, map(int, listed.split(","))))
        return found

    def url(self, i: int) -> str:
        if self._urls is None:
            self._urls = self._urls_text.split(RECORD_SEPARATOR)
        return self._urls[i]

    def match(self, i: int) -> str:
        return self.text[self.starts[i] : self.starts[i + 1] - 1]

    def select(self, matches: _Filter, since: int, waiting_since: int) -> list[int] | None:
        """Positions of the units a goal's filter matches, ascending; `None` when it has none.

        Only units made `since` are looked at, and older ones still waiting on a message
        written `waiting_since`: all a goal's windows and its waiting list can ask about.
        """
        if not matches.active:
            return None
        text, starts = self.text, self.starts
        lo = bisect_left(self.ats, since)
        chosen = {i for tag in matches.hashtags for i in self.tagged(tag, lo) if i >= lo}
        candidates = set()
        for needle in matches.needles:
            at = text.find(needle, starts[lo])
            while at != -1:
                i = bisect_right(starts, at) - 1
                candidates.add(i)
                at = text.find(needle, starts[i + 1])
        candidates.update(self._still_waiting(waiting_since, lo))
        chosen.update(i for i in candidates - chosen if matches(self.match(i)))
        return sorted(chosen - self.excluded)

    def waiting(self, window: _Waits) -> dict[int, int]:
        """Position → how many of that unit's messages written in the window are unanswered."""
        if window not in self._waiting:
            self._count_waiting(sorted({window, *self.windows}, key=lambda w: w.start))
        return self._waiting[window]

    def _last_waiting(self, i: int, before: int | None) -> int:
        """Where unit i's unanswered times written before `before` end (all of them without a bound)."""
        lo, hi = self.unanswered_ends[i], self.unanswered_ends[i + 1]
        return hi if before is None else bisect_left(self.unanswered, before, lo, hi)

    def oldest_waiting(self, counts: dict[int, int], before: int | None, limit: int) -> list[tuple[int, str]]:
        """(time, unit id) of the oldest messages waiting in the units of `counts` (position → how many).

        A unit's waiting messages are its last `counts[i]` unanswered times written
        `before`, and none is older than the unit itself: walking units oldest first,
        the walk stops once a unit is younger than every message kept.
        """
        times, ats = self.unanswered, self.ats
        kept: list[tuple[int, int]] = []  # a max-heap of (-time, position)
        for i in sorted(counts):
            if len(kept) == limit and ats[i] >= -kept[0][0]:
                break
            hi = self._last_waiting(i, before)
            for at in times[hi - counts[i] : hi]:
                if len(kept) < limit:
                    heapq.heappush(kept, (-at, i))
                elif at < -kept[0][0]:
                    heapq.heapreplace(kept, (-at, i))
                else:
                    break
        return [(-negative, self.ids[i]) for negative, i in kept]

    def _count_waiting(self, windows: list[_Waits]) -> None:
        """Waiting counts for every window at once (ascending starts): one pass over the units."""
        ends, times = self.unanswered_ends, self.unanswered
        counts: list[dict[int, int]] = [{} for _ in windows]
        for i in self._still_waiting(windows[0].start, len(self.ats)):
            last, lo, hi = self.last[i], ends[i], ends[i + 1]
            for k, (start, before) in enumerate(windows):
                if last < start:
                    break
                upto = hi if before is None else bisect_left(times, before, lo, hi)
                count = upto - bisect_left(times, start, lo, hi)
                if count:
                    counts[k][i] = count
        self._waiting.update(zip(windows, counts))

    def _still_waiting(self, since: int, before: int) -> Iterator[int]:
        """Positions below `before` of the units with a message written `since` still unanswered.

        Whole pages without one are skipped.
        """
        last = self.last
        for page_last, lo, hi in zip(self.page_lasts, self.page_starts, self.page_ends):
            if page_last >= since and lo < before:
                yield from (i for i in range(lo, min(hi, before)) if last[i] >= since and i not in self.excluded)


class _Reader:
    """One snapshot's reads: each source's broadcasts and mentions, read once and shared by every goal."""

    def __init__(
        self, store: Store, config: Config, now: datetime, spans: Sequence[_Span], coverage: dict[str, datetime]
    ) -> None:
        self.windows = sorted({s.waits for s in spans}, key=lambda w: w.start)
        self.store = store
        self.now = now
        self.since = _dt(min(s.earliest for s in spans))
        self.until = _dt(max(s.end for s in spans))
        self.waiting_since = _dt(min(s.start for s in spans))
        self.sources = config.sources
        self.states = store.source_states()
        self.imports = store.imports()
        self.coverage = coverage
        self.order = [s.id for s in config.sources]
        self._pools: dict[tuple[str, str], _Pool] = {}

    def broadcasts(self, sid: str) -> _Pool:
        """Every window and baseline asked about, plus older days still waiting on a reply in a window."""
        if (sid, "broadcast") not in self._pools:
            older = self.store.pages_waiting(sid, "broadcast", self.waiting_since, self.since)
            pages = older + self.store.pages(sid, "broadcast", self.since, self.until)
            self._pools[(sid, "broadcast")] = _Pool(pages, self.windows)
        return self._pools[(sid, "broadcast")]

    def mentions(self, sid: str) -> _Pool:
        """The source's mentions, less those another source counts (SPEC §2)."""
        if (sid, "mention") not in self._pools:
            earlier = self.order[: self.order.index(sid)] if sid in self.order else self.order
            pages = self.store.pages(sid, "mention", self.since, self.until)

            def excluded(ids: list[str]) -> set[str]:
                return self.store.counted_elsewhere(sid, ids, earlier)

            self._pools[(sid, "mention")] = _Pool(pages, self.windows, excluded)
        return self._pools[(sid, "mention")]


class _GoalScope:
    """What one goal counts: its sources' units that match its filters."""

    def __init__(
        self, goal: Goal, reader: _Reader, measures: dict[str, frozenset[Part]], since: int, waiting_since: int
    ) -> None:
        self.goal = goal
        self.since = since
        self.waiting_since = waiting_since
        self.matches = _Filter(goal)
        self.reader = reader
        self.measures = measures
        self.platforms = {s.id: s.platform for s in reader.sources}
        self._selected: dict[int, list[int] | None] = {}

    def _selection(self, pool: _Pool) -> list[int] | None:
        """Each pool is filtered once per goal, whatever the number of windows."""
        if id(pool) not in self._selected:
            selected = pool.select(self.matches, self.since, self.waiting_since)
            if selected is None and pool.excluded:
                selected = [i for i in range(len(pool.ats)) if i not in pool.excluded]
            self._selected[id(pool)] = selected
        return self._selected[id(pool)]

    def _slice(self, pool: _Pool, start: int, end: int) -> tuple[int, int] | list[int]:
        """The goal's units made in [start, end): a range of positions, or a list of them."""
        lo, hi = pool.bounds(start, end)
        selected = self._selection(pool)
        if selected is None:
            return lo, hi
        return selected[bisect_left(selected, lo) : bisect_left(selected, hi)]

    def daily(self, start: int, end: int, timezone_name: str) -> tuple[tuple[int, int], ...]:
        """(broadcasts, two-way) per day of [start, end) in the organization's timezone."""
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(timezone_name)
        first = datetime.fromtimestamp(start, zone).date()
        days = [[0, 0] for _ in range((datetime.fromtimestamp(end, zone).date() - first).days + 1)]

        def day(at: int) -> list[int]:
            return days[(datetime.fromtimestamp(at, zone).date() - first).days]

        for sid in self.goal.sources:
            broadcasts, mentions = self.reader.broadcasts(sid), self.reader.mentions(sid)
            for i in _each(self._slice(broadcasts, start, end)):
                counts = day(broadcasts.ats[i])
                counts[0] += 1
                counts[1] += broadcasts.replies[i] + broadcasts.responses[i]
            for i in _each(self._slice(mentions, start, end)):
                day(mentions.ats[i])[1] += 1 + mentions.responses[i]
        return tuple((b, t) for b, t in days)

    def broadcast_rows(
        self, start: int, end: int, limit: int = 200, *, busiest: bool = False
    ) -> tuple[BroadcastRow, ...]:
        """The goal's broadcasts made in [start, end), newest first, or those that drew the most two-way."""
        found = [
            (pool.ats[i], sid, i)
            for sid in self.goal.sources
            for pool in [self.reader.broadcasts(sid)]
            for i in _each(self._slice(pool, start, end))
        ]
        if busiest:  # two-way in a thread: its community replies and the responses
            pools = {sid: self.reader.broadcasts(sid) for sid in self.goal.sources}
            found = heapq.nlargest(
                limit, found, key=lambda f: (pools[f[1]].replies[f[2]] + pools[f[1]].responses[f[2]], f[0])
            )
        else:
            found.sort(reverse=True)
        rows = []
        texts: dict[str, dict[str, str]] = {}
        for at, sid, i in found[:limit]:
            pool = self.reader.broadcasts(sid)
            if sid not in texts:
                ids = [pool.ids[j] for _, s, j in found[:limit] if s == sid]
                texts[sid] = self.reader.store.texts(sid, ids)
            rows.append(
                BroadcastRow(
                    sid, _dt(at), pool.url(i), texts[sid].get(pool.ids[i], ""), pool.replies[i],
                    pool.responses[i], pool.reposts[i], pool.likes[i],
                )
            )
        return tuple(rows)

    def tally(self, sid: str, start: int, end: int) -> _Tally:
        tally = _Tally(self.measures[sid], self.platforms[sid])
        broadcasts, mentions = self.reader.broadcasts(sid), self.reader.mentions(sid)
        for pool in (broadcasts, mentions):
            part = self._slice(pool, start, end)
            count = _sum(pool, part, tally)
            if pool is broadcasts:
                tally.broadcast = count
            else:
                tally.mentions = count
        tally.waits.sort()
        return tally

    def waiting(
        self, window: _Waits, now: datetime, clock: Callable[[int, int], int], limit: int, *, answering: bool = False
    ) -> tuple[int, tuple[Waiting, ...]]:
        """Unanswered community messages written in the window, whatever the broadcast's age: how many,
        and the `limit` oldest; with `answering`, each with what it answers (for the goal screen).

        A message marked "no reply needed" (SPEC §9) is left out of the pages' unanswered times
        and the store's lists when it is marked, so it costs nothing here; it still counts in
        `unanswered`, which comes from the answered counts."""
        start, end = window.start, int(now.timestamp())
        store = self.reader.store
        total = 0
        items: list[tuple[int, str, str, str]] = []  # (time, source, post id, url)
        unresolved: list[tuple[int, str, str]] = []  # (time, source, thread): a reply to look up
        for sid in self.goal.sources:
            if not measures_metric("unanswered", self.measures[sid]):
                continue
            broadcasts = self.reader.broadcasts(sid)
            counts = self._waiting_counts(broadcasts, window)
            total += sum(counts.values())
            if counts and self._selection(broadcasts) is None:
                before = now if window.before is None else _dt(window.before)
                oldest = store.oldest_waiting(sid, _dt(start), before, limit)
                items += [(at, sid, post_id, url) for at, post_id, url in oldest]
            elif counts:
                oldest_ids = broadcasts.oldest_waiting(counts, window.before, limit)
                unresolved += [(at, sid, thread) for at, thread in oldest_ids]
            mentions = self.reader.mentions(sid)
            waiting = sorted(self._waiting_counts(mentions, window))  # positions: oldest first
            total += len(waiting)
            items += [(mentions.ats[i], sid, mentions.ids[i], mentions.url(i)) for i in waiting[:limit]]
        if unresolved:  # only replies that can make the list are looked up
            unresolved.sort()
            cut = sorted(item[0] for item in items)[limit - 1] if limit and len(items) >= limit else None
            wanted: dict[str, list[tuple[str, int]]] = {}
            for at, sid, thread in unresolved[:limit]:
                if cut is None or at <= cut:
                    wanted.setdefault(sid, []).append((thread, at))
            for sid, pairs in wanted.items():
                items += [(at, sid, post_id, url) for at, post_id, url in store.waiting_replies(sid, pairs)]
        items.sort()
        listed = [Waiting(sid, url, _dt(created), float(clock(created, end))) for created, sid, _, url in items[:limit]]
        if answering:
            listed = self._answering(listed, [post_id for _, _, post_id, _ in items[:limit]])
        return total, tuple(listed)

    def _answering(self, listed: list[Waiting], post_ids: list[str]) -> list[Waiting]:
        """Each waiting message with its own text (where kept) and the broadcast it answers."""
        found: dict[str, dict[str, tuple[str, int | None, str]]] = {}
        for sid in {item.source for item in listed}:
            found[sid] = self.reader.store.answering(sid, [p for p, w in zip(post_ids, listed) if w.source == sid])
        answered = []
        for item, post_id in zip(listed, post_ids):
            text, at, broadcast = found[item.source].get(post_id, ("", None, ""))
            when = _dt(at) if at is not None else None
            answered.append(item._replace(text=text, broadcast_at=when, broadcast=broadcast))
        return answered

    def _waiting_counts(self, pool: _Pool, window: _Waits) -> dict[int, int]:
        """Position → unanswered messages written in the window, for the units this goal counts."""
        counts = pool.waiting(window)
        selected = self._selection(pool)
        return counts if selected is None else {i: counts[i] for i in selected if i in counts}


def _each(part: tuple[int, int] | list[int]) -> Iterable[int]:
    return range(*part) if isinstance(part, tuple) else part


def _sum(pool: _Pool, part: tuple[int, int] | list[int], tally: _Tally) -> int:
    """Add a pool's units at `part` to the tally; returns how many there were.

    A range sums whole column slices at C speed; a selection goes unit by unit.
    """
    if isinstance(part, tuple):
        lo, hi = part
        tally.reposts += sum(pool.reposts[lo:hi])
        tally.quotes += sum(pool.quotes[lo:hi])
        tally.likes += sum(pool.likes[lo:hi])
        tally.replies += sum(pool.replies[lo:hi])
        tally.responses += sum(pool.responses[lo:hi])
        tally.answered += sum(pool.answered[lo:hi])
        tally.voices.update(pool.voices[pool.voice_ends[lo] : pool.voice_ends[hi]])
        tally.waits.extend(pool.waits[pool.wait_ends[lo] : pool.wait_ends[hi]])
        return hi - lo
    for column, name in (
        (pool.reposts, "reposts"), (pool.quotes, "quotes"), (pool.likes, "likes"), (pool.replies, "replies"),
        (pool.responses, "responses"), (pool.answered, "answered"),
    ):
        setattr(tally, name, getattr(tally, name) + sum(map(column.__getitem__, part)))
    if part:
        voices, ends = pool.voices, pool.voice_ends
        tally.voices.update(*[voices[ends[i] : ends[i + 1]] for i in part])
        waits, ends = pool.waits, pool.wait_ends
        tally.waits.extend(chain.from_iterable([waits[ends[i] : ends[i + 1]] for i in part]))
    return len(part)


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


class _Waits(NamedTuple):
    """A window as the waiting list sees it: messages written from `start` on, and before `before`
    when the window has a fixed end in the past (`None`: up to now)."""

    start: int
    before: int | None


class _Span(NamedTuple):
    """A goal's window [start, end), its baseline [baseline_start, start), in epoch seconds."""

    label: str
    baseline_start: int
    start: int
    end: int
    ended: bool = False
    """A fixed end in the past (a calendar period over); else the window reaches up to now."""
    period: Period | None = None
    """The calendar period the window is, if it is one."""
    year_before: tuple[int, int] | None = None
    """The same calendar period a year before, when every source of the goal covers it."""

    @property
    def earliest(self) -> int:
        return min(self.baseline_start, self.year_before[0] if self.year_before else self.baseline_start)

    @property
    def waits(self) -> _Waits:
        return _Waits(self.start, self.end if self.ended else None)


def _rolling(length: int, now: datetime) -> _Span:
    """A window that ends now and reaches back `length`; its baseline the same length before (SPEC §3)."""
    end = int(now.timestamp())
    return _Span(format_duration(length), end - 2 * length, end - length, end)


def _calendar(period: Period, zone: str, now: datetime, goal: Goal, coverage: dict[str, datetime]) -> _Span:
    """A calendar period up to now at most; its baseline the period before, whatever its length (SPEC §10)."""
    start, end = period.bounds(zone)
    base_start, _ = period.previous().bounds(zone)
    year_start, year_end = period.year_before().bounds(zone)
    covered = not _coverage(goal, coverage, int(year_start.timestamp())).sources
    return _Span(
        period.label,
        int(base_start.timestamp()),
        int(start.timestamp()),
        int(min(end, now).timestamp()),
        ended=end <= now,
        period=period,
        year_before=(int(year_start.timestamp()), int(year_end.timestamp())) if covered else None,
    )


def goal_report(
    store: Store,
    config: Config,
    goal: Goal,
    now: datetime,
    span: _Span,
    reader: _Reader,
    *,
    daily: bool = False,
    weekly: bool = False,
    waiting_listed: int | None = WAITING_LISTED,
) -> GoalReport:
    """Every metric of one goal for its window and the baseline window before it.

    `waiting_listed`: how many of the oldest waiting messages to list, `None` for all.
    """
    states = reader.states
    measures = {sid: states[sid].measures or frozenset() if sid in states else frozenset() for sid in goal.sources}
    start, end, base_start = span.start, span.end, span.baseline_start
    scope = _GoalScope(goal, reader, measures, since=span.earliest, waiting_since=start)
    coverage = {
        "metrics": _coverage(goal, reader.coverage, start),
        "baseline": _coverage(goal, reader.coverage, base_start),
    }
    current = {sid: scope.tally(sid, start, end) for sid in goal.sources}
    covering_now = [sid for sid in goal.sources if sid not in coverage["metrics"].sources]
    metrics = _combine(current[sid] for sid in covering_now)
    covering = [sid for sid in goal.sources if sid not in coverage["baseline"].sources]
    baseline = _combine(scope.tally(sid, base_start, start) for sid in covering)
    results = tuple(
        TargetResult(t.metric, t.op, t.value, metrics[t.metric], _check(t, metrics[t.metric])) for t in goal.targets
    )
    unavailable = {m: tuple(sid for sid in goal.sources if not measures_metric(m, measures[sid])) for m in METRICS}
    listed = sys.maxsize if waiting_listed is None else waiting_listed
    waiting_total, waiting = scope.waiting(span.waits, now, store.policy.wait, listed, answering=daily)
    imported = tuple(
        _note(sid, record)
        for sid in goal.sources
        for record in reader.imports.get(sid, ())
        if record.first_at and record.last_at and record.first_at < _dt(end) and record.last_at >= _dt(base_start)
    )
    zone = config.organization.timezone
    return GoalReport(
        name=goal.name,
        status=_status(results),
        window=span.label,
        start=_dt(start),
        end=_dt(end) if span.ended else now.astimezone(timezone.utc),
        metrics=metrics,
        baseline=baseline,
        deltas={m: None if coverage["baseline"].sources else _delta(metrics[m], baseline[m]) for m in METRICS},
        unavailable={m: ids for m, ids in unavailable.items() if ids},
        targets=results,
        by_source={sid: _combine([t] if sid in covering_now else []) for sid, t in current.items()},
        waiting_total=waiting_total,
        waiting=waiting,
        daily=scope.daily(start, end, zone) if daily else (),
        broadcasts=scope.broadcast_rows(start, end) if daily else (),
        imported=imported,
        coverage=coverage,
        timezone=zone,
        **_polling(config, goal, reader, now),
        description=goal.description,
        weekly=_weekly(scope, covering_now, _dt(start), _dt(end), zone) if weekly else (),
        busiest=scope.broadcast_rows(start, end, BUSIEST, busiest=True) if weekly else (),
        year_before=_year_before(scope, span, metrics) if span.year_before else None,
        period=_period_report(span.period, zone, now) if span.period else None,
    )


def _weekly(scope: _GoalScope, sources: Sequence[str], start: datetime, end: datetime, zone: str) -> tuple[Week, ...]:
    """Per ISO week of the window, cut to its edges, over the sources that cover it."""
    weeks = []
    for week_start, week_end in iso_weeks(start, end, zone):
        lo, hi = int(week_start.timestamp()), int(week_end.timestamp())
        m = _combine(scope.tally(sid, lo, hi) for sid in sources)
        weeks.append(
            Week(
                week_start, week_end, _count(m["broadcast"]), _count(m["two_way"]),
                m["median_response_seconds"], m["p90_response_seconds"],
            )
        )
    return tuple(weeks)


def _count(value: int | float | None) -> int | None:
    return None if value is None else int(value)


def _year_before(scope: _GoalScope, span: _Span, metrics: Metrics) -> YearBefore:
    """The same calendar period a year before (every source covers it, or it is not asked for)."""
    assert span.year_before is not None and span.period is not None
    lo, hi = span.year_before
    before = _combine(scope.tally(sid, lo, hi) for sid in scope.goal.sources)
    title = span.period.year_before().title
    return YearBefore(title, _dt(lo), _dt(hi), before, {m: _delta(metrics[m], before[m]) for m in METRICS})


def _polling(config: Config, goal: Goal, reader: _Reader, now: datetime) -> dict[str, Any]:
    """Which of the goal's sources never polled, which fail, and since when what waits is known."""
    health = [
        source_report(config, reader.states.get(sid), sid, now, reader.imports.get(sid, ())) for sid in goal.sources
    ]
    failing = [s for s in health if s.status == "error" and s.last_success is not None]
    return {
        "not_polled": tuple(s.id for s in health if s.last_success is None),
        "failing": tuple(s.id for s in failing),
        "as_of": min((s.last_success for s in failing if s.last_success is not None), default=None),
    }


def _coverage(goal: Goal, coverage: dict[str, datetime], start: int) -> Coverage:
    """Which of the goal's sources have no data from `start` on: a window they do not cover (SPEC §3)."""
    since = [coverage.get(sid) for sid in goal.sources]
    uncovered = tuple(sid for sid, at in zip(goal.sources, since) if at is None or at.timestamp() > start)
    known = [at for at in since if at is not None]
    return Coverage(max(known) if known and len(known) == len(since) else None, uncovered)


def _note(source_id: str, record: ImportRecord) -> ImportNote:
    return ImportNote(source_id, record.file, record.format, record.exported_at, record.imported_at, record.posts)


def source_report(
    config: Config, state: SourceState | None, source_id: str, now: datetime, imports: Sequence[ImportRecord] = ()
) -> SourceReport:
    """A source's health: error when its last poll failed or a credential is missing.

    A source only `twoway import` fills is as fresh as its last import: never polled, never stale.
    """
    source = config.source(source_id)
    status: SourceStatus
    error = None
    if source.platform in IMPORTERS:
        last = max((i.imported_at for i in imports), default=None)
        state = state._replace(last_success=last) if state else None
    if source.missing:
        status, error = "error", source.missing_message()
    elif state and state.last_error_at and (state.last_success is None or state.last_error_at >= state.last_success):
        status, error = "error", state.last_error
    elif state is None or state.last_success is None:
        status = "stale"
    elif source.platform not in IMPORTERS and now - state.last_success > timedelta(seconds=2 * source.interval):
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
        imports=tuple(_note(source_id, record) for record in imports),
        down_since=(state.down_since or state.last_error_at) if state and status == "error" else None,
    )


def build_report(
    store: Store,
    config: Config,
    now: datetime,
    *,
    window: int | None = None,
    period: Period | None = None,
    goal_names: Sequence[str] = (),
    demo: bool = False,
    daily: bool = False,
    weekly: bool = False,
    waiting_listed: int | None = WAITING_LISTED,
) -> Report:
    """The whole dashboard, once: every goal (or those named, case-insensitively) and every source.

    `window` overrides every goal's window, `period` gives them all one calendar period
    (which must have begun). `daily` adds each goal's per-day series, for the live app's
    chart, its broadcasts and what each waiting message answers; `weekly` its per-week
    series and busiest broadcasts, for the report. `waiting_listed` as for `goal_report`.
    """
    wanted = {name.casefold() for name in goal_names}
    goals = [g for g in config.goals if not wanted or g.name.casefold() in wanted]
    zone = config.organization.timezone
    coverage = store.coverage()
    spans = [
        _calendar(period, zone, now, g, coverage)
        if period
        else _rolling(window or g.window or config.dashboard.window, now)
        for g in goals
    ]
    reader = _Reader(store, config, now, spans or [_rolling(config.dashboard.window, now)], coverage)
    return Report(
        organization=config.organization.name,
        generated_at=now,
        demo=demo,
        window=format_duration(window) if window else None,
        clock="opening-hours" if config.organization.hours else "always",
        goals=tuple(
            goal_report(store, config, g, now, span, reader, daily=daily, weekly=weekly, waiting_listed=waiting_listed)
            for g, span in zip(goals, spans)
        ),
        sources=tuple(
            source_report(config, reader.states.get(s.id), s.id, now, reader.imports.get(s.id, ()))
            for s in config.sources
        ),
        timezone=zone,
        period=_period_report(period, zone, now) if period else None,
    )


def _period_report(period: Period, zone: str, now: datetime) -> PeriodReport:
    start, end = period.bounds(zone)
    return PeriodReport(
        period.label, period.title, start, min(end, now), end <= now, period.previous().title,
        period.year_before().title,
    )
