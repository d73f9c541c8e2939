"""Count the HTTP requests of a steady-state `twoway collect --once` cycle, per collector,
against a naive collector that re-reads every thread every cycle (SPEC §6).

    cd /work/main && /work/venv/bin/python bench/poll_requests.py

For each collector (mastodon, bluesky with and without an app password, wordpress,
rss, facebook, instagram, threads, x, linkedin, pinterest, youtube, reddit, discourse
with and without an API key) it reuses the collector tests' fake platform, `tests/fakes/<platform>.py`:
a local HTTP server on 127.0.0.1 playing the platform, with the same world of posts,
replies and staff, the same source and goals. Then, with `TWOWAY_NOW` fixed (and the
fake platform's own clock where it has one) and the HTTP layer's sleep made a no-op:

1. `collect --once` at the scenario's NOW: the backfill. The number of threads the
   collector watches is read from its cursor (ThreadWatch's state) afterwards.
2. The server's request log is cleared, nothing in the world changes, and
   `collect --once` runs again one hour later: the steady-state cycle. Every request
   is classified by its path as a listing page (a list the collector pages back to the
   horizon every cycle: the organization's recent posts, its own replies, and mentions
   where they are listed back to the horizon), a fixed call (profile, followers, staff
   lookup, notifications or mentions since the newest seen, session or token, counters
   asked in batches), or a thread read (a request for one conversation, which only a
   changed or due thread justifies).

"Naive" is the same collector in a fresh store with `[dashboard] thread_refresh =
"1s"`: at the second cycle (again one hour after the backfill) every thread is due,
so the collector re-reads every thread, as one that refetches everything would.
The steady-state run uses the default `thread_refresh` (6h), so no thread is due.

The budget (SPEC §6) is worked out from the scenario, not from what the code did:
the listing pages needed to cover the posts younger than the horizon (twice the
longest goal window) at the fake server's page size and by the way its lists end
(an older item, no `next`, an empty page), plus the platform's fixed calls (listed
per platform below; batched counters counted per batch of the posts inside the
horizon), plus one request per changed or due thread, which in steady state is zero.
"Budget met" means no thread read, no more listing pages and no more fixed calls
than that. Each `collect --once` is a process of its own in real use, so Bluesky's
login session is dropped before each cycle.

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

import twoway.plugin.http  # noqa: E402
from tests.collecting import collect_once, write_config  # noqa: E402
from tests.fakes import bluesky as bsky  # noqa: E402
from tests.fakes import discourse as dsc  # noqa: E402
from tests.fakes import facebook as fbt  # noqa: E402
from tests.fakes import instagram as igt  # noqa: E402
from tests.fakes import linkedin as li  # noqa: E402
from tests.fakes import mastodon as masto  # noqa: E402
from tests.fakes import pinterest as pin  # noqa: E402
from tests.fakes import reddit as rd  # noqa: E402
from tests.fakes import rss  # noqa: E402
from tests.fakes import threads as tht  # noqa: E402
from tests.fakes import wordpress as wp  # noqa: E402
from tests.fakes import x as xt  # noqa: E402
from tests.fakes import youtube as yt  # noqa: E402
from tests.replay import ReplayServer, Request, replay_server  # noqa: E402
from twoway.collectors import discourse, linkedin, youtube  # noqa: E402
from twoway.collectors.bluesky import BlueskyCollector  # noqa: E402
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


def _pages(recent: int, page: int, total: int | None = None) -> int:
    """Pages of a newest-first listing paged until it shows something older than the
    horizon (or comes back empty): the recent items, then one more. With `total`, the
    items the list holds, the server also says when no page follows (no `next`, no
    bookmark), so the listing never takes more pages than that, and one at least."""
    pages = recent // page + 1
    return pages if total is None else min(pages, max(1, math.ceil(total / page)))


def _cursor_pages(items: int, page: int) -> int:
    """Pages of a list that never says it is over (the Threads API: cursors, no `next`),
    already cut at the horizon by the server: one page when it fits, else every page
    and the empty one after them, which is how the list is known to end."""
    return 1 if items <= page else math.ceil(items / page) + 1


def _fixed(calls: int) -> Callable[[Any, datetime], int]:
    """A platform whose fixed calls do not depend on its world."""
    return lambda world, since: calls


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
    fixed_budget: Callable[[Any, datetime], int]
    """(world, horizon start) → fixed calls needed."""
    fixed_calls: str
    thread_reads: str
    """What counts as a thread read on this platform."""
    clock: Callable[[Any, datetime], None] | None = None
    """Sets the fake platform's own clock to the cycle's time, as the test's `collect` does."""


# -- Mastodon ----------------------------------------------------------------------------


def _masto_build(server: ReplayServer) -> Any:
    return masto.World(masto.FakeMastodon(server))


def _masto_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, masto.source(server.url), masto.GOALS, masto.MASTODON.organization, dashboard)


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
        sources = bsky.source(server.url, password="TEST_BSKY_APP_PASSWORD" if password else None)
        return write_config(tmp, sources, bsky.GOALS, bsky.ALSO, dashboard)

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
    return wp.served(server)


def _wp_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, wp.source(server.url), wp.GOALS, wp.WORDPRESS.organization, dashboard)


def _wp_classify(r: Request) -> str:
    if r.path == "/wp-json/wp/v2/comments":
        # the "recent comments" query carries `after`; a full thread read does not
        return LISTING if r.arg("after") is not None else THREAD
    if r.path == "/wp-json/wp/v2/posts":
        return LISTING
    return FIXED  # users


def _wp_listing(site: Any, since: datetime) -> int:
    from twoway.collectors.wordpress import IDS_PER_QUERY, PER_PAGE

    recent = sum(1 for p in site.posts.values() if _parse(p["date_gmt"] + "+00:00") >= since)
    # posts are filtered by `after` on the server, so no extra page; then one recent-comments
    # query per IDS_PER_QUERY recent posts
    return max(1, math.ceil(recent / PER_PAGE)) + math.ceil(recent / IDS_PER_QUERY)


# -- RSS ---------------------------------------------------------------------------------


def _rss_build(server: ReplayServer) -> Any:
    return rss.served(server)


def _rss_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, rss.source(server.url), rss.GOALS, rss.RSS.organization, dashboard)


def _rss_classify(r: Request) -> str:
    return THREAD if r.path.startswith("/comments/") else LISTING  # the feed and its pages


def _rss_listing(blog: Any, since: datetime) -> int:
    return _pages(sum(1 for e in blog.entries if e.at >= since), rss.PAGE, len(blog.entries))


# -- Facebook ----------------------------------------------------------------------------

GRAPH_PAGE = 3
"""Items a page of the fake Graph's post lists: `graph_page(request, ..., 3, ...)` in
`FakeFacebook.handle` and `FakeInstagram.handle` (`tests/` names no constant for it)."""


def _fb_build(server: ReplayServer) -> Any:
    fb = fbt.FakeFacebook(server)
    fbt.build(fb)
    return fb


def _fb_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, fbt.source(server.url), fbt.GOALS, fbt.FACEBOOK.organization, dashboard)


def _fb_classify(r: Request) -> str:
    if r.path.endswith("/comments"):
        return THREAD  # /{post-id}/comments?filter=stream
    if r.path.endswith(("/published_posts", "/tagged")):
        return LISTING  # the Page's posts, and the posts tagging it (its mentions), back to the horizon
    return FIXED  # the Page


def _fb_listing(fb: Any, since: datetime) -> int:
    live = [p for p in fb.posts.values() if not p.deleted]
    mine = sum(1 for p in live if p.author == fbt.PAGE and p.created >= since)
    theirs = [p for p in live if p.author != fbt.PAGE]
    # published_posts is cut at `since` by the server; /tagged is not, and ends where no `next` follows
    tagging = sum(1 for p in theirs if p.created >= since)
    return _pages(mine, GRAPH_PAGE, mine) + _pages(tagging, GRAPH_PAGE, len(theirs))


# -- Instagram ---------------------------------------------------------------------------


def _ig_build(server: ReplayServer) -> Any:
    ig = igt.FakeInstagram(server)
    igt.build(ig)
    return ig


def _ig_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, igt.source(server.url), igt.GOALS, igt.INSTAGRAM.organization, dashboard)


def _ig_classify(r: Request) -> str:
    if r.path.endswith(("/comments", "/replies")):
        return THREAD  # a post's comments, and a comment's replies beyond the nested page
    if r.path.endswith("/media"):
        return LISTING
    return FIXED  # the account


def _ig_listing(ig: Any, since: datetime) -> int:
    live = [m for m in ig.media.values() if not m.deleted]
    return _pages(sum(1 for m in live if m.created >= since), GRAPH_PAGE, len(live))


# -- Threads -----------------------------------------------------------------------------

THREADS_PAGE = 3
"""Items a page of the fake Threads API: `size = 3` in `FakeThreads.page`."""


def _th_build(server: ReplayServer) -> Any:
    th = tht.FakeThreads(server)
    tht.build(th)
    return th


def _th_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, tht.source(server.url), tht.GOALS, tht.THREADS.organization, dashboard)


def _th_classify(r: Request) -> str:
    if r.path.endswith(("/conversation", "/insights")):
        return THREAD  # a thread's replies and its counters (Threads lists no counter with a post)
    if r.path.endswith(("/threads", "/replies", "/mentions")):
        return LISTING  # the profile's posts, its own replies, the posts mentioning it
    return FIXED  # the profile, threads_insights (followers)


def _th_listing(th: Any, since: datetime) -> int:
    recent = [p for p in th.live() if p.created >= since]  # the server cuts every list at `since`
    mine = [p for p in recent if p.author == tht.ORG_NAME]
    posts = sum(1 for p in mine if p.parent is None)
    replies = len(mine) - posts
    mentions = sum(1 for p in recent if p.mentions_org and p.author != tht.ORG_NAME)
    return sum(_cursor_pages(n, THREADS_PAGE) for n in (posts, replies, mentions))


# -- X -----------------------------------------------------------------------------------


def _x_build(server: ReplayServer) -> Any:
    return xt.World(xt.FakeX(server))


def _x_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, xt.source(server.url), xt.GOALS, xt.X.organization, dashboard)


def _x_clock(world: Any, moment: datetime) -> None:
    world.fake.now = moment  # posts after it are not there yet; recent search reaches 7 days before it


def _x_classify(r: Request) -> str:
    if r.path == "/2/tweets/search/recent":
        return THREAD  # conversation_id:<id>
    if r.path == f"/2/users/{xt.LIB}/tweets":
        return LISTING
    # mentions since the newest seen; /users/by (staff), /users/:id and /tweets?ids= (conversation
    # starts) are asked once and kept in the cursor, so a quiet cycle should not make them
    return FIXED


def _x_listing(world: Any, since: datetime) -> int:
    mine = sum(1 for t in world.fake.live() if t["author"] == xt.LIB and t["created"] >= since)
    return _pages(mine, world.fake.page, mine)  # cut at `start_time` by the server; `next_token` while more


# -- LinkedIn ----------------------------------------------------------------------------


def _li_build(server: ReplayServer) -> Any:
    return li.World(li.FakeLinkedIn(server))


def _li_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, li.source(server.url), li.GOALS, li.LINKEDIN.organization, dashboard)


def _li_classify(r: Request) -> str:
    if r.path.startswith("/rest/socialActions/"):
        return THREAD  # a post's comments, and a comment's replies
    if r.path == "/rest/posts":
        return LISTING
    return FIXED  # socialMetadata, organizationalEntityShareStatistics, networkSizes


def _li_posts(world: Any, since: datetime) -> list[dict[str, Any]]:
    cutoff = since.timestamp() * 1000
    return [p for p in world.fake.posts.values() if p["author"] == li.LIB and p["createdAt"] >= cutoff]


def _li_listing(world: Any, since: datetime) -> int:
    mine = sum(1 for p in world.fake.posts.values() if p["author"] == li.LIB)
    return _pages(len(_li_posts(world, since)), world.fake.page, mine)  # drafts are listed too


def _li_fixed(world: Any, since: datetime) -> int:
    """socialMetadata per batch of broadcasts, share statistics per batch of each URN kind, followers."""
    broadcasts = [p["id"] for p in _li_posts(world, since)
                  if p["lifecycleState"] == "PUBLISHED" and "reshareContext" not in p]
    batches = math.ceil(len(broadcasts) / linkedin.IDS_PER_CALL)
    for kind in ("share", "ugcPost"):
        batches += math.ceil(sum(1 for u in broadcasts if u.startswith(f"urn:li:{kind}:")) / linkedin.IDS_PER_CALL)
    return batches + 1


# -- Pinterest ---------------------------------------------------------------------------
# Pinterest has no comments, hence no thread at all. The analogue is a pin's analytics
# (`/v5/pins/{id}/analytics`, its saves): the one per-pin read that `ThreadWatch` gates,
# asked only when the pin's lifetime metrics moved, it is new, or `thread_refresh` is due.
# It is counted in the thread column, so a quiet cycle must make none of it either.


def _pin_build(server: ReplayServer) -> Any:
    return pin.World(pin.FakePinterest(server))


def _pin_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, pin.source(server.url), pin.GOALS, dashboard=dashboard)


def _pin_classify(r: Request) -> str:
    if r.path.startswith("/v5/pins/"):
        return THREAD  # a pin's analytics: see above
    if r.path == "/v5/pins":
        return LISTING
    return FIXED  # user_account


def _pin_listing(world: Any, since: datetime) -> int:
    mine = [p for p in world.fake.pins.values() if p["_owner"] == pin.ACCOUNT]
    recent = sum(1 for p in mine if _parse(p["created_at"] + "+00:00") >= since)
    return _pages(recent, world.fake.page, len(mine))


# -- YouTube -----------------------------------------------------------------------------


def _yt_build(server: ReplayServer) -> Any:
    return yt.World(yt.FakeYouTube(server))


def _yt_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, yt.source(server.url), yt.GOALS, yt.YOUTUBE.organization, dashboard)


def _yt_classify(r: Request) -> str:
    if r.path.endswith(("/commentThreads", "/comments")):
        return THREAD
    if r.path.endswith("/playlistItems"):
        return LISTING  # the uploads playlist
    return FIXED  # channels (and the staff @handle once), videos


def _yt_recent(world: Any, since: datetime) -> int:
    return sum(1 for v in world.fake.videos.values() if v["at"] >= since)


def _yt_listing(world: Any, since: datetime) -> int:
    return _pages(_yt_recent(world, since), yt.FakeYouTube.PAGE["playlistItems"], len(world.fake.videos))


def _yt_fixed(world: Any, since: datetime) -> int:
    """The channel, and one `videos` call per batch of the videos inside the horizon."""
    return 1 + math.ceil(_yt_recent(world, since) / youtube.IDS_PER_CALL)


# -- Reddit ------------------------------------------------------------------------------


def _rd_build(server: ReplayServer) -> Any:
    return rd.World(rd.FakeReddit(server))


def _rd_config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
    return write_config(tmp, rd.source(server.url), rd.GOALS, rd.REDDIT.organization, dashboard)


def _rd_classify(r: Request) -> str:
    if r.path.startswith("/comments/") or r.path == "/api/morechildren":
        return THREAD
    if r.path.startswith("/user/") and r.path.endswith(("/submitted", "/comments")):
        return LISTING
    return FIXED  # access_token, about, message/mentions


def _rd_listing(world: Any, since: datetime) -> int:
    f = world.fake
    cutoff = since.timestamp()
    submitted = list(f.submissions.values())
    comments = [c for c in f.live() if c["author"] == rd.USER]
    lists = (submitted, comments)
    return sum(_pages(sum(1 for i in items if i["created_utc"] >= cutoff), f.page, len(items)) for items in lists)


# -- Discourse ---------------------------------------------------------------------------

DISCOURSE_USERS = list(dsc.USERNAMES)


def _dsc_build(server: ReplayServer) -> Any:
    return dsc.World(dsc.FakeDiscourse(server))


def _dsc_config(key: bool) -> Callable[[Path, ReplayServer, str], Path]:
    def config(tmp: Path, server: ReplayServer, dashboard: str) -> Path:
        sources = dsc.source(server.url, key="TEST_DISCOURSE_KEY" if key else None)
        return write_config(tmp, sources, dsc.GOALS, dsc.DISCOURSE.organization, dashboard)

    return config


def _dsc_classify(r: Request) -> str:
    if r.path.startswith(("/t/", "/posts/")):
        return THREAD  # a topic and its further posts; a mentioning post read for its text
    if r.path.startswith("/topics/created-by/"):
        return LISTING
    if r.path == "/user_actions.json":
        # filter=5: the users' replies elsewhere, back to the horizon; filter=7: mentions since the newest seen
        return LISTING if r.arg("filter") == str(discourse.REPLY) else FIXED
    return FIXED


def _opener(posts: list[dict[str, Any]]) -> dict[str, Any]:
    """A topic's first post: its author is the topic's."""
    return min(posts, key=lambda p: p["post_number"])


def _dsc_listing(key: bool) -> Callable[[Any, datetime], int]:
    def listing(world: Any, since: datetime) -> int:
        f = world.fake
        posts = [p for p in f.posts.values() if not p["_removed"] and p["post_type"] == discourse.REGULAR]
        topics: dict[int, list[dict[str, Any]]] = {}
        for p in posts:
            if not f.topics[p["topic_id"]]["deleted"]:
                topics.setdefault(p["topic_id"], []).append(p)
        pages = 0
        for user in DISCOURSE_USERS:
            # created-by lists topics by their latest post, paged until one bumped before the horizon
            theirs = [ps for ps in topics.values() if _opener(ps)["username"].lower() == user.lower()]
            bumped = sum(1 for ps in theirs if max(_parse(p["created_at"]) for p in ps) >= since)
            pages += _pages(bumped, f.page, len(theirs))
            if key:  # the user's replies, by offset until an older one or an empty page
                mine = [p for p in posts if p["username"].lower() == user.lower() and p["post_number"] > 1]
                pages += _pages(sum(1 for p in mine if _parse(p["created_at"]) >= since), f.page)
        return pages

    return listing


SCENARIOS = [
    Scenario(
        "mastodon", masto.NOW, {"TEST_MASTODON_TOKEN": masto.TOKEN}, _masto_build, _masto_config,
        _masto_classify, _masto_listing, _fixed(3), "account lookup, staff lookup, notifications",
        "statuses/{id}/context",
    ),
    Scenario(
        "bluesky", bsky.NOW, {}, _bsky_build, _bsky_config(False),
        _bsky_classify, _bsky_listing, _fixed(2), "getProfile, getProfiles (staff)", "getPostThread",
    ),
    Scenario(
        "bluesky (app password)", bsky.NOW, {"TEST_BSKY_APP_PASSWORD": bsky.PASSWORD}, _bsky_build, _bsky_config(True),
        _bsky_classify, _bsky_listing, _fixed(4), "getProfile, getProfiles (staff), createSession, listNotifications",
        "getPostThread",
    ),
    Scenario(
        "wordpress", wp.NOW, {}, _wp_build, _wp_config,
        _wp_classify, _wp_listing, _fixed(1), "users", "comments without `after` (full reads, batched)",
    ),
    Scenario(
        "rss", rss.NOW, {}, _rss_build, _rss_config,
        _rss_classify, _rss_listing, _fixed(0), "none", "comment feeds",
    ),
    Scenario(
        "facebook", fbt.NOW, {"TEST_FB_TOKEN": fbt.TOKEN}, _fb_build, _fb_config,
        _fb_classify, _fb_listing, _fixed(1), "the Page", "/{post-id}/comments",
    ),
    Scenario(
        "instagram", igt.NOW, {"TEST_IG_TOKEN": igt.TOKEN}, _ig_build, _ig_config,
        _ig_classify, _ig_listing, _fixed(1), "the account", "/{media-id}/comments, /{comment-id}/replies",
    ),
    Scenario(
        "threads", tht.NOW, {"TEST_THREADS_TOKEN": tht.TOKEN}, _th_build, _th_config,
        _th_classify, _th_listing, _fixed(2), "the profile, threads_insights (followers)",
        "/{id}/conversation and /{id}/insights (the thread's counters)",
    ),
    Scenario(
        "x", xt.NOW, {"TEST_X_TOKEN": xt.TOKEN}, _x_build, _x_config,
        _x_classify, _x_listing, _fixed(1),
        "mentions since the newest seen (the staff and conversation-start lookups are made once, kept in the cursor)",
        "search/recent?query=conversation_id:{id}", _x_clock,
    ),
    Scenario(
        "linkedin", li.NOW, {"TEST_LINKEDIN_TOKEN": li.TOKEN}, _li_build, _li_config,
        _li_classify, _li_listing, _li_fixed,
        "socialMetadata (per 50 broadcasts), share statistics (per 50 shares, per 50 ugcPosts), networkSizes",
        "socialActions/{urn}/comments (a post's, then a comment's)",
    ),
    Scenario(
        "pinterest", pin.NOW, {"TEST_PINTEREST_TOKEN": pin.TOKEN}, _pin_build, _pin_config,
        _pin_classify, _pin_listing, _fixed(1), "user_account",
        "pins/{id}/analytics (no threads on Pinterest: the per-pin read ThreadWatch gates)",
    ),
    Scenario(
        "youtube", yt.NOW, {"TEST_YT_KEY": yt.KEY}, _yt_build, _yt_config,
        _yt_classify, _yt_listing, _yt_fixed,
        "channels, videos (per 50 videos in the horizon); the staff @handle once, kept in the cursor",
        "commentThreads, comments (replies by parent)",
    ),
    Scenario(
        "reddit", rd.NOW, dict(rd.SECRETS), _rd_build, _rd_config,
        _rd_classify, _rd_listing, _fixed(3),
        "access_token (each process), about, message/mentions since the newest seen",
        "comments/{id} (and /_/{comment}), api/morechildren",
    ),
    Scenario(
        "discourse (API key)", dsc.NOW, {"TEST_DISCOURSE_KEY": dsc.KEY}, _dsc_build, _dsc_config(True),
        _dsc_classify, _dsc_listing(True), _fixed(len(DISCOURSE_USERS)),
        "user_actions filter=7 (mentions since the newest seen), one per username",
        "t/{id}.json, t/{id}/posts.json, posts/{id}.json",
    ),
    Scenario(
        "discourse (no key)", dsc.NOW, {}, _dsc_build, _dsc_config(False),
        _dsc_classify, _dsc_listing(False), _fixed(0), "none", "t/{id}.json, t/{id}/posts.json",
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


def _collect(scenario: Scenario, world: Any, config: Path, now: datetime) -> None:
    os.environ["TWOWAY_NOW"] = now.isoformat()
    if scenario.clock is not None:
        scenario.clock(world, now)
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
        _collect(scenario, world, config, scenario.now)
        threads = _watched_threads(config)
        server.reset_log()
        later = scenario.now + SECOND_CYCLE
        _collect(scenario, world, config, later)
        counts = Counter(scenario.classify(r) for r in server.requests())
        loaded = load_config(config)
        horizon = 2 * max([g.window or loaded.dashboard.window for g in loaded.goals] or [loaded.dashboard.window])
    return Cycle(counts, threads, later - timedelta(seconds=horizon), world)


def main() -> int:
    twoway.plugin.http.wait = _no_wait
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
        fixed = scenario.fixed_budget(steady.world, steady.horizon_start)
        c = steady.counts
        met = c[THREAD] == 0 and c[LISTING] <= pages and c[FIXED] <= fixed
        rows.append([
            scenario.name,
            str(steady.threads),
            f"{steady.total} ({c[LISTING]} + {c[FIXED]} + {c[THREAD]})",
            str(c[THREAD]),
            f"{naive.total} ({naive.counts[THREAD]})",
            f"{pages + fixed} ({pages} + {fixed} + 0)",
            "yes" if met else "no",
        ])
        notes.append(f"{scenario.name}: fixed calls = {scenario.fixed_calls}; thread reads = {scenario.thread_reads}")
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
