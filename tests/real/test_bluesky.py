"""twoway against Bluesky's own servers (tests/real/bluesky.py): the Bluesky collector reads
the AppView, logs in on the PDS with an app password and lists its notifications, through
`twoway collect --once` and `twoway snapshot --format json`. Every expected metric is worked
out here from what the seeding made, by SPEC §2–§3, for the window and its baseline."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.collecting import collect_once, snapshot_json, write_config
from tests.fakes import also, env, goal_toml, source_toml
from tests.real.bluesky import (
    LIBRARY,
    STAFF,
    WINDOW,
    Library,
    Made,
    bluesky_library,
    bluesky_network,
)

pytestmark = pytest.mark.real_server
__all__ = ["bluesky_library", "bluesky_network"]

ORGANIZATION = {LIBRARY, STAFF}
METRICS = (
    "broadcast", "replies", "mentions", "community_messages", "responses", "answered", "unanswered", "two_way",
    "reposts", "quotes", "likes", "conversation_rate", "amplification_rate", "applause_rate",
    "two_way_per_broadcast", "response_rate", "median_response_seconds", "p90_response_seconds", "voices",
)
GOALS = {"Everything": None, "Summer reading": "SummerReading"}
"""The config's goals: name → hashtag."""


# -- SPEC §3 over what the seeding made ----------------------------------------------------


def expected(library: Library, start: datetime, end: datetime, gone: frozenset[str], tag: str | None) -> dict[str, Any]:
    """Every SPEC §3 metric of the window [start, end), from the seeded records less those in `gone`
    (deleted), for a goal on hashtag `tag` (None: every post)."""

    def matches(post: Made) -> bool:
        return tag is None or f"#{tag.lower()}" in post.text.lower().split()

    def alive(post: Made) -> bool:
        return post.uri not in gone and (post.parent is None or alive(post.parent))

    made = library.seeder
    posts = [p for p in made.posts if alive(p)]
    broadcasts = [
        p for p in posts if p.author == LIBRARY and p.parent is None and start <= p.created < end and matches(p)
    ]
    threads = {b.uri for b in broadcasts}
    org_threads = {p.uri for p in posts if p.author in ORGANIZATION and p.parent is None}
    community = [p for p in posts if p.author not in ORGANIZATION]
    replies = [p for p in community if p.parent and p.root.uri in threads]
    mentions = [
        p for p in community
        if p.mentions and not (p.parent and p.root.uri in org_threads) and start <= p.created < end and matches(p)
    ]
    messages = replies + mentions
    responses = [p for p in posts if p.author in ORGANIZATION and any(p.parent is m for m in messages)]
    first = {
        m.uri: min(r.created for r in responses if r.parent is m) - m.created
        for m in messages
        if any(r.parent is m for r in responses)
    }
    seconds = sorted(t.total_seconds() for t in first.values())
    reposts = sum(1 for who, p in made.reposts if p in broadcasts and who not in ORGANIZATION)
    quotes = sum(1 for q, p in made.quotes if p in broadcasts and alive(q))
    likes = sum(1 for _, p in made.likes if p in broadcasts)

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    n, c = len(broadcasts), len(messages)
    return {
        "broadcast": n,
        "replies": len(replies),
        "mentions": len(mentions),
        "community_messages": c,
        "responses": len(responses),
        "answered": len(first),
        "unanswered": c - len(first),
        "two_way": c + len(responses),
        "reposts": reposts,
        "quotes": quotes,
        "likes": likes,
        "conversation_rate": ratio(len(replies), n),
        "amplification_rate": ratio(reposts + quotes, n),
        "applause_rate": ratio(likes, n),
        "two_way_per_broadcast": ratio(c + len(responses), n),
        "response_rate": ratio(len(first), c),
        "median_response_seconds": statistics.median(seconds) if seconds else None,
        "p90_response_seconds": seconds[math.ceil(0.9 * len(seconds)) - 1] if seconds else None,
        "voices": len({m.author for m in messages}),
    }


def same(got: dict[str, Any], want: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The metrics where the snapshot and the expectation differ: {name: (got, want)}."""
    differ = {}
    for name in METRICS:
        a, b = got.get(name), want[name]
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6):
            continue
        if a != b:
            differ[name] = (a, b)
    return differ


# -- three cycles --------------------------------------------------------------------------


@dataclass
class Cycle:
    now: datetime
    snapshot: dict[str, Any]
    threads_read: int
    """getPostThread requests the cycle made"""
    gone: frozenset[str]
    """the posts deleted before the cycle"""


@dataclass
class Run:
    library: Library
    cycles: list[Cycle]

    def metrics(self, cycle: int, which: str = "metrics", goal: str = "Everything") -> dict[str, Any]:
        found: dict[str, Any] = next(g for g in self.cycles[cycle].snapshot["goals"] if g["name"] == goal)[which]
        return found

    def want(self, cycle: int, baseline: bool = False, goal: str = "Everything") -> dict[str, Any]:
        end = self.cycles[cycle].now - (WINDOW if baseline else timedelta())
        return expected(self.library, end - WINDOW, end, self.cycles[cycle].gone, GOALS[goal])


@pytest.fixture(scope="module")
def run(bluesky_library: Library, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Three `collect --once` cycles, a minute apart, each followed by a snapshot: the first
    right after seeding, the second after a broadcast (b3) and a response (s2) are deleted,
    the third with nothing changed."""
    network = bluesky_library.seeder.network
    config = write_config(
        tmp_path_factory.mktemp("bluesky"),
        source_toml(
            "library-bluesky", "bluesky", handle=LIBRARY, service=network.appview, pds=network.pds,
            app_password=env("TWOWAY_TEST_BLUESKY_APP_PASSWORD"),
        ),
        goal_toml("Everything", window="30d") + goal_toml("Summer reading", hashtags=["SummerReading"], window="30d"),
        also(f"bluesky:{STAFF}"),
    )
    threads = 0
    send = httpx.AsyncClient.send

    async def counting(client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        nonlocal threads
        threads += request.url.path.endswith("/app.bsky.feed.getPostThread")
        return await send(client, request, **kwargs)

    cycles: list[Cycle] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.AsyncClient, "send", counting)
        patch.setenv("TWOWAY_TEST_BLUESKY_APP_PASSWORD", bluesky_library.app_password)
        for cycle in range(3):
            if cycle == 1:
                bluesky_library.seeder.delete(bluesky_library.named["b3"])
                bluesky_library.seeder.delete(bluesky_library.named["s2"])
                bluesky_library.seeder.indexed()
            now = datetime.now(bluesky_library.t0.tzinfo).replace(microsecond=0) + timedelta(minutes=1 + cycle)
            patch.setenv("TWOWAY_NOW", now.isoformat())
            threads = 0
            assert collect_once(config) == (0, "")
            gone = frozenset(p.uri for p in bluesky_library.seeder.posts if p.deleted)
            cycles.append(Cycle(now, snapshot_json(config), threads, gone))
    yield Run(bluesky_library, cycles)


CYCLES = pytest.mark.parametrize("cycle", [0, 1, 2], ids=["seeded", "after-deletions", "unchanged"])
EACH_GOAL = pytest.mark.parametrize("goal", list(GOALS))


@CYCLES
@EACH_GOAL
@pytest.mark.parametrize("baseline", [False, True], ids=["window", "baseline"])
def test_every_metric(run: Run, cycle: int, goal: str, baseline: bool) -> None:
    got = run.metrics(cycle, "baseline" if baseline else "metrics", goal)
    assert same(got, run.want(cycle, baseline, goal)) == {}


@CYCLES
@EACH_GOAL
def test_deltas_and_nothing_unavailable(run: Run, cycle: int, goal: str) -> None:
    # the first poll backfilled 60 days, so the baseline is covered and every delta is known
    now, then = run.want(cycle, goal=goal), run.want(cycle, baseline=True, goal=goal)
    want = {m: None if now[m] is None or then[m] is None else now[m] - then[m] for m in METRICS}
    assert same(run.metrics(cycle, "deltas", goal), want) == {}
    assert run.metrics(cycle, "unavailable", goal) == {}  # mentions too: the app password is there


@CYCLES
def test_own_repost_left_out(run: Run, cycle: int) -> None:
    # b1's repostCount on the AppView is 3: alice's, bob's and the library's own repost
    b1 = run.library.named["b1"]
    assert sum(1 for _, p in run.library.seeder.reposts if p is b1) == 3
    got, want = run.metrics(cycle), run.want(cycle)
    assert (got["reposts"], got["amplification_rate"]) == (want["reposts"], want["amplification_rate"])


def test_the_seeding_covers_the_cases(run: Run) -> None:
    """The expectations are not vacuous: each case the issue names moves a number."""
    window = run.want(0)
    assert window["broadcast"] == 3 and window["mentions"] == 2  # b1 b2 b3; m1 m2 through notifications
    assert run.want(1)["broadcast"] == 2  # b3 deleted
    assert run.want(1)["answered"] == window["answered"] - 1  # r4 reopened by s2's deletion
    assert run.want(0, baseline=True)["broadcast"] == 1
    assert run.want(0, goal="Summer reading")["broadcast"] == 1  # b1


def test_a_staff_response_counts(run: Run) -> None:
    # j1 answers r2 at depth 4 of b1's thread, j2 answers r5 under b2: both by jane.test
    got = run.metrics(0)
    staff = sum(1 for p in run.library.seeder.posts if p.author == STAFF and p.created >= run.cycles[0].now - WINDOW)
    assert staff == 2 and got["responses"] == run.want(0)["responses"]


def test_deletions_are_followed(run: Run) -> None:
    before, after = run.metrics(0), run.metrics(1)
    assert after["broadcast"] == before["broadcast"] - 1  # b3, and its thread with it
    assert after["replies"] == before["replies"] - 1  # r6 was under b3
    assert after["responses"] == before["responses"] - 1  # s2 deleted
    assert after["answered"] == before["answered"] - 1  # r4 reopens


def test_an_unchanged_cycle_reads_no_thread(run: Run) -> None:
    first, second, third = run.cycles
    assert first.threads_read == 4  # b0, b1, b2, b3: every broadcast of both windows, once
    assert second.threads_read == 1  # b1: s2 left it; b3 is gone from the feed, b0 and b2 did not move
    assert third.threads_read == 0
    assert run.metrics(2) == run.metrics(1) and run.metrics(2, "baseline") == run.metrics(1, "baseline")


def test_the_source_is_healthy(run: Run) -> None:
    (source,) = run.cycles[2].snapshot["sources"]
    assert source["status"] == "ok", source
