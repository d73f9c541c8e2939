"""Count the HTTP requests of a steady-state `twoway collect --once` cycle, per collector,
against a naive collector that re-reads every thread every cycle (SPEC §6).

    cd /work/main && /work/venv/bin/python bench/poll_requests.py

For each collector (mastodon, bluesky with and without an app password, wordpress,
rss) it reuses the replay scenario of `tests/test_<platform>.py`: a local HTTP server
on 127.0.0.1 playing the platform, with the same world of posts, replies and staff.
Then, with `TWOWAY_NOW` fixed and the HTTP layer's sleep made a no-op:

1. `collect --once` at the scenario's NOW: the backfill. The number of threads the
   collector watches is read from its cursor (ThreadWatch's state) afterwards.
2. The server's request log is cleared, nothing in the world changes, and
   `collect --once` runs again one hour later: the steady-state cycle. Every request
   is classified by its path as a listing page (the organization's recent posts), a
   fixed call (profile, staff lookup, notifications, session), or a thread read.

"Naive" is the same collector in a fresh store with `[dashboard] thread_refresh =
"1s"`: at the second cycle (again one hour after the backfill) every thread is due,
so the collector re-reads every thread, as one that refetches everything would.
The steady-state run uses the default `thread_refresh` (6h), so no thread is due.

The budget (SPEC §6) is worked out from the scenario, not from what the code did:
the listing pages needed to cover the posts younger than the horizon (twice the
longest goal window) at the server's page size, plus the platform's fixed calls
(listed per platform below), plus one request per changed or due thread, which in
steady state is zero. "Budget met" means no thread read, no more listing pages and
no more fixed calls than that. Each `collect --once` is a process of its own in real
use, so Bluesky's login session is dropped before each cycle.

It prints one table and exits 0: it is a measurement.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import collectors.http  # noqa: E402
from collectors.bluesky import BlueskyCollector  # noqa: E402
from tests import test_bluesky as bsky  # noqa: E402
from tests import test_mastodon as masto  # noqa: E402
from tests import test_rss as rss  # noqa: E402
from tests import test_wordpress as wp  # noqa: E402
from tests.collecting import collect_once, write_config  # noqa: E402
from tests.replay import ReplayServer, Request, replay_server  # noqa: E402
from twoway.config import load_config  # noqa: E402

UTC = timezone.utc
SECOND_CYCLE = timedelta(hours=1)
"""How long after the backfill the measured cycle runs."""
NAIVE_REFRESH = "1s"

LISTING, FIXED, THREAD = "listing", "fixed", "thread"


async def _no_wait(seconds: float) -> None:
    """The HTTP layer's pauses (backoff, rate limits) return at once."""


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pages(recent: int, page: int) -> int:
    """Pages of a newest-first listing paged by cursor until it shows something older
    than the horizon (or runs out): the recent items, then one more."""
    return recent // page + 1


@dataclass
class Scenario:
    name: str
    now: datetime
    env: dict[str, str]
    build: Callable[[ReplayServer], Any]
    """Routes the server and fills its world; returns the world."""
    config: Callable[[Path, ReplayServer, str], Path]
    """(directory, server, `[dashboard]` lines) → config path."""
    classify: Callable[[Request], str]
    listing_budget: Callable[[Any, datetime], int]
    """(world, horizon start) → listing pages needed."""
    fixed_budget: int
    fixed_calls: str


# -- Mastodon ----------------------------------------------------------------------------


def _masto_build(server: ReplayServer) -> Any:
    return masto.World(masto.FakeMastodon(server))


def _masto_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(
        tmp, masto.SOURCES.format(url=server.url), masto.GOALS, 'also = ["mastodon:@jane@glammr.us"]', dashboard
    )


def _masto_classify(r: Request) -> str:
    if r.path.startswith("/api/v1/statuses/"):
        return THREAD  # /statuses/{id}/context
    if r.path.startswith("/api/v1/accounts/") and r.path.endswith("/statuses"):
        return LISTING
    return FIXED  # accounts/lookup, notifications


def _masto_listing(world: Any, since: datetime) -> int:
    mine = [s for s in world.fake.live() if s["author"] == masto.LIBRARY and _parse(s["created_at"]) >= since]
    return _pages(len(mine), world.fake.page)


# -- Bluesky -----------------------------------------------------------------------------


def _bsky_build(server: ReplayServer) -> Any:
    world, _ = bsky.library_world()
    world.serve(server)
    return world


def _bsky_config(password: bool) -> Callable[[Path, ReplayServer, str], Path]:
    def config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
        line = 'app_password = { env = "TEST_BSKY_APP_PASSWORD" }' if password else ""
        sources = bsky.SOURCE.replace('thread_refresh = "1h"', "").format(url=server.url, password=line)
        return write_config(tmp, sources, bsky.GOALS, 'also = ["bluesky:jane.bsky.social"]', dashboard)

    return config


def _bsky_classify(r: Request) -> str:
    if r.path == "/xrpc/app.bsky.feed.getPostThread":
        return THREAD
    if r.path == "/xrpc/app.bsky.feed.getAuthorFeed":
        return LISTING
    return FIXED  # getProfile, getProfiles, createSession, listNotifications


def _bsky_listing(world: Any, since: datetime) -> int:
    feed = world.feed(bsky.ORG)
    recent = [i for i in feed if _parse(i.get("reason", {}).get("indexedAt") or i["post"]["indexedAt"]) >= since]
    return _pages(len(recent), world.page)


# -- WordPress ---------------------------------------------------------------------------


def _wp_build(server: ReplayServer) -> Any:
    site = wp.Site()
    wp._serve(server, site)
    wp.build(site)
    return site


def _wp_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    sources = wp.SOURCES.replace('thread_refresh = "1h"', "").format(url=server.url)
    return write_config(tmp, sources, wp.GOALS, 'also = ["wordpress:jane"]', dashboard)


def _wp_classify(r: Request) -> str:
    if r.path == "/wp-json/wp/v2/comments":
        # the "recent comments" query carries `after`; a full thread read does not
        return LISTING if r.arg("after") is not None else THREAD
    if r.path == "/wp-json/wp/v2/posts":
        return LISTING
    return FIXED  # users


def _wp_listing(site: Any, since: datetime) -> int:
    from collectors.wordpress import IDS_PER_QUERY, PER_PAGE

    recent = sum(1 for p in site.posts.values() if _parse(p["date_gmt"] + "+00:00") >= since)
    # posts are filtered by `after` on the server, so no extra page; then one recent-comments
    # query per IDS_PER_QUERY recent posts
    return max(1, math.ceil(recent / PER_PAGE)) + math.ceil(recent / IDS_PER_QUERY)


# -- RSS ---------------------------------------------------------------------------------


def _rss_build(server: ReplayServer) -> Any:
    blog = rss.Blog(server)
    rss._scenario(blog)
    return blog


def _rss_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    sources = rss.SOURCES.replace('thread_refresh = "1h"', "").format(url=server.url)
    return write_config(tmp, sources, rss.GOALS, f'also = ["rss:{rss.STAFF}"]', dashboard)


def _rss_classify(r: Request) -> str:
    return THREAD if r.path.startswith("/comments/") else LISTING  # the feed and its pages


def _rss_listing(blog: Any, since: datetime) -> int:
    recent = sum(1 for e in blog.entries if e.at >= since)
    return min(_pages(recent, rss.PAGE), math.ceil(len(blog.entries) / rss.PAGE))


SCENARIOS = [
    Scenario(
        "mastodon", masto.NOW, {"TEST_MASTODON_TOKEN": masto.TOKEN}, _masto_build, _masto_config,
        _masto_classify, _masto_listing, 3, "account lookup, staff lookup, notifications",
    ),
    Scenario(
        "bluesky", bsky.NOW, {}, _bsky_build, _bsky_config(False),
        _bsky_classify, _bsky_listing, 2, "getProfile, getProfiles (staff)",
    ),
    Scenario(
        "bluesky (app password)", bsky.NOW, {"TEST_BSKY_APP_PASSWORD": bsky.PASSWORD}, _bsky_build, _bsky_config(True),
        _bsky_classify, _bsky_listing, 4, "getProfile, getProfiles (staff), createSession, listNotifications",
    ),
    Scenario(
        "wordpress", wp.NOW, {}, _wp_build, _wp_config,
        _wp_classify, _wp_listing, 1, "users",
    ),
    Scenario(
        "rss", rss.NOW, {}, _rss_build, _rss_config,
        _rss_classify, _rss_listing, 0, "none",
    ),
]


# -- running -----------------------------------------------------------------------------


@dataclass
class Cycle:
    counts: Counter[str]
    threads: int
    """Threads in the collector's ThreadWatch after the backfill."""
    horizon_start: datetime
    """Start of the horizon at the measured cycle."""
    world: Any

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _collect(config: Path, now: datetime) -> None:
    os.environ["TWOWAY_NOW"] = now.isoformat()
    BlueskyCollector._sessions.clear()  # every `collect --once` is a process of its own
    code, err = collect_once(config)
    if code != 0:
        raise SystemExit(f"collect --once failed ({code}): {err.strip()}")


def _watched_threads(config: Path) -> int:
    with sqlite3.connect(config.parent / "store.db") as db:
        rows = db.execute("SELECT cursor FROM sources").fetchall()
    return sum(len(json.loads(cursor or "{}").get("threads", {})) for (cursor,) in rows)


def measure(scenario: Scenario, thread_refresh: str | None) -> Cycle:
    """Backfill, then count the requests of the cycle one hour later (nothing changed)."""
    os.environ.update(scenario.env)
    dashboard = f'thread_refresh = "{thread_refresh}"' if thread_refresh else ""
    with tempfile.TemporaryDirectory() as tmp, replay_server() as server:
        world = scenario.build(server)
        config = scenario.config(Path(tmp), server, dashboard)
        _collect(config, scenario.now)
        threads = _watched_threads(config)
        server.reset_log()
        later = scenario.now + SECOND_CYCLE
        _collect(config, later)
        counts = Counter(scenario.classify(r) for r in server.requests())
        loaded = load_config(config)
        horizon = 2 * max([g.window or loaded.dashboard.window for g in loaded.goals] or [loaded.dashboard.window])
    return Cycle(counts, threads, later - timedelta(seconds=horizon), world)


def main() -> int:
    collectors.http.wait = _no_wait
    header = [
        "platform", "threads in scenario", "steady-state requests (listing + fixed + thread)",
        "of which thread reads", "naive requests (of which thread reads)", "budget (pages + fixed + 0)", "budget met",
    ]
    rows = []
    notes = []
    for scenario in SCENARIOS:
        steady = measure(scenario, None)
        naive = measure(scenario, NAIVE_REFRESH)
        pages = scenario.listing_budget(steady.world, steady.horizon_start)
        budget = pages + scenario.fixed_budget
        c = steady.counts
        met = c[THREAD] == 0 and c[LISTING] <= pages and c[FIXED] <= scenario.fixed_budget
        rows.append([
            scenario.name,
            str(steady.threads),
            f"{steady.total} ({c[LISTING]} + {c[FIXED]} + {c[THREAD]})",
            str(c[THREAD]),
            f"{naive.total} ({naive.counts[THREAD]})",
            f"{budget} ({pages} + {scenario.fixed_budget} + 0)",
            "yes" if met else "no",
        ])
        notes.append(f"{scenario.name}: fixed calls = {scenario.fixed_calls}")
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
