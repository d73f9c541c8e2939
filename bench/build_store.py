"""Build a large, deterministic twoway store for benchmarking `twoway snapshot`.

    python bench/build_store.py DEST_DIR [--scale 1.0] [--seed 1] [--hours]

Writes DEST_DIR/config.toml (an organization with 3 sources and 10 goals) and
DEST_DIR/bench.db, built through the real `Store.write(Batch)` path, one batch per
source per week of data, then `Store.analyze()`.

At scale 1.0: 20,000 broadcasts over 365 days (about 10% with a self-thread
continuation), about 1,000,000 community messages and organization responses
(about 760k community replies, 5% mentions, about 200k responses), community
authors from a pool of 20,000, and several counter observations per broadcast.
Everything is anchored to NOW below; pass it as TWOWAY_NOW when reading the store
(bench/snapshot_time.py does).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from twoway.config import load_config
from twoway.model import PARTS, Account, Batch, Counters, Post
from twoway.store import Store, StorePolicy

NOW = datetime(2026, 6, 30, 12, 0, 0, tzinfo=timezone.utc)
NOW_ISO = "2026-06-30T12:00:00Z"
DAYS = 365
WEEK = timedelta(days=7)

BROADCASTS = 20_000
MESSAGES_AND_RESPONSES = 1_000_000
AUTHOR_POOL = 20_000

SOURCES = {
    # id: (platform, share of broadcasts, url prefix, measures, has mentions)
    "lib-mastodon": ("mastodon", 0.50, "https://m.example/@lib/", frozenset(PARTS), True),
    "lib-bluesky": ("bluesky", 0.35, "https://bsky.app/profile/lib.example/post/", frozenset(PARTS), True),
    "lib-blog": ("wordpress", 0.15, "https://blog.example/?p=", frozenset({"replies", "responses"}), False),
}
ORG = {"lib-mastodon": ("lib-id", "@lib"), "lib-bluesky": ("did:plc:lib", "lib.example"), "lib-blog": ("1", "lib")}
STAFF = {  # an `also` account per source: its origin string must equal the config entry
    "lib-mastodon": ("jane-id", "@jane", "mastodon:@jane@m.example"),
    "lib-bluesky": ("did:plc:jane", "jane.example", "bluesky:jane.example"),
    "lib-blog": ("2", "jane", "wordpress:jane"),
}
FOLLOWERS = {"lib-mastodon": 4200, "lib-bluesky": 6100, "lib-blog": None}

# Hashtags and the share of broadcasts that carry each (independently).
TAGS = {
    "SummerReading": 0.22,
    "Makerspace": 0.15,
    "Storytime": 0.20,
    "LocalHistory": 0.10,
    "TeenZone": 0.14,
    "BookClub": 0.12,
}
EVENTS_LINK_SHARE = 0.20
KEYWORD_SHARE = 0.10  # broadcasts mentioning "large print" / "accessibility"

CONFIG = """\
# twoway benchmark store (bench/build_store.py). Invented data.
[organization]
name = "Benchmark Library"
also = ["mastodon:@jane@m.example", "bluesky:jane.example", "wordpress:jane"]
{hours}
[dashboard]
database = "{database}"
window = "30d"

[[sources]]
id = "lib-mastodon"
platform = "mastodon"
instance = "https://m.example"
account = "lib"

[[sources]]
id = "lib-bluesky"
platform = "bluesky"
handle = "lib.example"

[[sources]]
id = "lib-blog"
platform = "wordpress"
url = "https://blog.example"

[[goals]]
name = "Everything"
targets = {{ response_rate = ">= 0.5", median_response_seconds = "<= 4h", two_way_per_broadcast = ">= 10" }}

[[goals]]
name = "Answer every question"
window = "7d"
targets = {{ response_rate = ">= 0.9", p90_response_seconds = "<= 1d" }}

[[goals]]
name = "Summer reading"
sources = ["lib-mastodon", "lib-bluesky"]
hashtags = ["SummerReading"]
targets = {{ conversation_rate = ">= 20", response_rate = ">= 0.3" }}

[[goals]]
name = "Makerspace"
hashtags = ["#Makerspace"]
targets = {{ conversation_rate = ">= 10" }}

[[goals]]
name = "Storytime"
hashtags = ["Storytime"]

[[goals]]
name = "Local history"
hashtags = ["LocalHistory"]
window = "90d"

[[goals]]
name = "Teens and book clubs"
hashtags = ["TeenZone", "BookClub"]
targets = {{ voices = ">= 100" }}

[[goals]]
name = "Book club"
sources = ["lib-mastodon", "lib-blog"]
hashtags = ["bookclub"]

[[goals]]
name = "Events"
links = ["blog.example/events"]
targets = {{ broadcast = ">= 10", two_way_per_broadcast = ">= 5" }}

[[goals]]
name = "Accessibility"
keywords = ["large print", "accessibility"]
targets = {{ unanswered = "<= 50" }}
"""

_TEXTS = (
    "New this week at the library: come and see what's on the shelves.",
    "We're open late on Thursday. Renew online anytime, or ask us here.",
    "Our volunteers make this place work. Thank you all!",
    "Holiday hours: closed Monday, back Tuesday at 9.",
    "Staff picks for the weekend are on the display by the entrance.",
)
_KEYWORD_TEXTS = (
    "The large print collection has moved to the first floor.",
    "Accessibility update: the east entrance ramp is open again.",
)
_CHAIN = "More details in the next post."
_COMMUNITY = ("Is this open to everyone?", "Love this!", "What time does it start?", "Can I bring my kids?",
              "Do I need to register?", "Thank you so much.")
_ANSWERS = ("Yes! See you there.", "It starts at 10.", "No registration needed.", "Thanks for asking!")


class Generator:
    """Generates one source's posts week by week; later weeks receive what spills over."""

    def __init__(self, sid: str, rng: random.Random, scale: float) -> None:
        self.sid = sid
        self.platform, share, self.url, self.measures, self.has_mentions = SOURCES[sid]
        self.rng = rng
        self.org_id = ORG[sid][0]
        self.staff_id = STAFF[sid][0]
        self.broadcasts = int(round(BROADCASTS * scale * share))
        # ~76% of the million are community replies, ~4% mentions (5% of messages), ~20% responses.
        self.replies_per_broadcast = 760_000 / BROADCASTS
        self.mentions_per_day = (40_000 * scale * (share / 0.85)) / DAYS if self.has_mentions else 0.0
        self.pool = max(int(AUTHOR_POOL * scale), 100)
        self.serial = 0
        self.posts: dict[int, list[Post]] = defaultdict(list)  # week -> posts created in it
        self.counters: dict[int, list[Counters]] = defaultdict(list)
        self.stats = defaultdict(int)

    def _id(self) -> str:
        self.serial += 1
        return f"{self.sid[4]}{1_000_000_000 + self.serial}"

    def _week(self, at: datetime) -> int:
        return int((at - (NOW - timedelta(days=DAYS))) / WEEK)

    def _add(self, kind: str, **kw: object) -> Post | None:
        at: datetime = kw["created_at"]  # type: ignore[assignment]
        if at >= NOW:
            return None
        pid = self._id()
        post = Post(id=pid, url=self.url + pid, **kw)  # type: ignore[arg-type]
        self.posts[self._week(at)].append(post)
        self.stats[kind] += 1
        return post

    def _author(self) -> str:
        # Skewed: a few regulars write a lot, most write rarely.
        return f"u{int(self.pool * self.rng.random() ** 2.5):06d}"

    def _delay(self, median_minutes: float, sigma: float, cap_days: float) -> timedelta:
        minutes = min(self.rng.lognormvariate(math.log(median_minutes), sigma), cap_days * 1440)
        return timedelta(minutes=max(minutes, 1.0))

    def day(self, day: int) -> None:
        rng = self.rng
        start = NOW - timedelta(days=DAYS - day)
        per_day = self.broadcasts / DAYS
        count = int(per_day) + (rng.random() < per_day % 1)
        for _ in range(count):
            self.broadcast(start + timedelta(hours=8, minutes=rng.randrange(12 * 60)))
        if self.mentions_per_day:
            n = int(self.mentions_per_day) + (rng.random() < self.mentions_per_day % 1)
            for _ in range(n):
                self.mention(start + timedelta(minutes=rng.randrange(24 * 60)))

    def broadcast(self, at: datetime) -> None:
        rng = self.rng
        tags = tuple(t for t, p in TAGS.items() if rng.random() < p)
        links = ()
        if rng.random() < EVENTS_LINK_SHARE:
            links = ("https://www.blog.example/events/" + str(rng.randrange(500)),)
        text = rng.choice(_KEYWORD_TEXTS) if rng.random() < KEYWORD_SHARE else rng.choice(_TEXTS)
        text += "".join(f" #{t}" for t in tags)
        chained = self.platform != "wordpress" and rng.random() < 0.12
        # With a self-thread, some hashtags sit only in the continuation (SPEC: the chain matches).
        top_tags, chain_tags = (tags[: len(tags) // 2], tags[len(tags) // 2 :]) if chained else (tags, ())
        top = self._add("broadcast", author_id=self.org_id, created_at=at, text=text, hashtags=top_tags, links=links)
        if top is None:
            return
        thread = [top]
        if chained:
            chain = self._add("chain", author_id=self.org_id, created_at=at + timedelta(minutes=2), text=_CHAIN,
                              hashtags=chain_tags, parent_id=top.id, root_id=top.id)
            if chain:
                thread.append(chain)
        # Heavy-tailed engagement: most broadcasts get a few replies, some get hundreds.
        mean = self.replies_per_broadcast
        n = int(min(rng.lognormvariate(math.log(mean) - 0.5, 1.0), 40 * mean))
        messages: list[Post] = []
        for _ in range(n):
            parent = rng.choice(thread) if not messages or rng.random() < 0.8 else rng.choice(messages)
            reply = self._add("reply", author_id=self._author(), created_at=at + self._delay(180, 1.6, 30),
                              text=rng.choice(_COMMUNITY), parent_id=parent.id, root_id=top.id)
            if reply is None:
                continue
            messages.append(reply)
            self.respond(reply, top.id, 0.235)
        self.observe(top)

    def respond(self, message: Post, root: str, p: float) -> None:
        rng = self.rng
        if rng.random() >= p:
            return
        first = message.created_at + self._delay(120, 1.3, 14)
        who = self.staff_id if rng.random() < 0.3 else self.org_id
        if self._add("response", author_id=who, created_at=first, text=rng.choice(_ANSWERS),
                     parent_id=message.id, root_id=root) and rng.random() < 0.08:
            other = self.org_id if who == self.staff_id else self.staff_id
            self._add("response", author_id=other, created_at=first + self._delay(60, 1.0, 3),
                      text="Adding to that: yes.", parent_id=message.id, root_id=root)

    def mention(self, at: datetime) -> None:
        rng = self.rng
        tags = tuple(t for t, p in TAGS.items() if rng.random() < p / 2)
        links = ("https://blog.example/events/" + str(rng.randrange(500)),) if rng.random() < 0.05 else ()
        text = "Thanks @lib! " + (rng.choice(_KEYWORD_TEXTS) if rng.random() < 0.05 else rng.choice(_COMMUNITY))
        post = self._add("mention", author_id=self._author(), created_at=at, text=text, hashtags=tags, links=links,
                         mentions_source=True)
        if post is not None:
            self.respond(post, post.id, 0.55)

    def observe(self, top: Post) -> None:
        """Counter history: observations at growing ages, the latest one winning."""
        rng = self.rng
        if self.platform == "wordpress":
            return
        final_likes = int(rng.lognormvariate(math.log(15), 1.1))
        for age in (timedelta(hours=1), timedelta(days=1), timedelta(days=3), timedelta(days=7), timedelta(days=30)):
            seen = top.created_at + age + timedelta(minutes=rng.randrange(30))
            if seen >= NOW:
                break
            frac = min(1.0, math.log1p(age.total_seconds() / 3600) / math.log1p(720))
            likes = int(final_likes * frac)
            self.counters[self._week(seen)].append(
                Counters(top.id, seen, replies=None, reposts=likes // 4, quotes=likes // 15, likes=likes)
            )
            self.stats["counters"] += 1

    def batch(self, week: int) -> Batch:
        posts = self.posts.pop(week, [])
        posts.sort(key=lambda p: p.created_at)  # parents before children, as a collector pages them
        polled = min(NOW - timedelta(days=DAYS) + WEEK * (week + 1), NOW)
        staff = STAFF[self.sid]
        return Batch(
            source_id=self.sid,
            platform=self.platform,
            polled_at=polled,
            posts=tuple(posts),
            counters=tuple(self.counters.pop(week, [])),
            accounts=(Account(self.org_id, ORG[self.sid][1], "source"), Account(staff[0], staff[1], staff[2])),
            followers=FOLLOWERS[self.sid],
            measures=self.measures,
        )


def write_config(dest: Path, hours: bool) -> Path:
    path = dest / "config.toml"
    hours_line = 'hours = "Mon-Fri 09:00-17:00; Sat 10:00-14:00"\ntimezone = "America/Chicago"\n' if hours else ""
    path.write_text(CONFIG.format(database=(dest / "bench.db").resolve(), hours=hours_line), encoding="utf-8")
    os.chmod(path, 0o644)
    return path


def build(dest: Path, scale: float, seed: int, hours: bool) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    db = dest / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    config = load_config(write_config(dest, hours))
    policy = StorePolicy(
        also=config.organization.also,
        keywords=config.keywords,
        keep_community_text=config.dashboard.store_community_text,
    )
    started = time.perf_counter()
    store = Store.open(db, policy)
    rng = random.Random(seed)
    gens = {sid: Generator(sid, rng, scale) for sid in SOURCES}
    weeks = math.ceil(DAYS / 7)
    written = 0
    write_seconds = 0.0
    for week in range(weeks + 1):
        for day in range(week * 7, min(week * 7 + 7, DAYS)):
            for gen in gens.values():
                gen.day(day)
        for gen in gens.values():
            # Everything created up to the end of this week is known by now; later
            # weeks' posts (spill-over replies, responses) wait for their own batch.
            last = week if week < weeks else max(gen.posts.keys() | gen.counters.keys() | {week})
            for w in sorted(k for k in gen.posts.keys() | gen.counters.keys() if k <= last):
                batch = gen.batch(w)
                t0 = time.perf_counter()
                store.write(batch)
                write_seconds += time.perf_counter() - t0
                written += len(batch.posts)
        if week % 8 == 0:
            print(f"  week {week:2d}/{weeks}: {written:,} posts written, {time.perf_counter() - started:.0f}s",
                  file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    store.analyze()
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    analyze_seconds = time.perf_counter() - t0
    store.close()
    total = time.perf_counter() - started
    stats: dict[str, int] = defaultdict(int)
    for gen in gens.values():
        for k, v in gen.stats.items():
            stats[k] += v
    messages = stats["reply"] + stats["mention"]
    print(f"store: {db}")
    print(f"config: {dest / 'config.toml'}   (read it with TWOWAY_NOW={NOW_ISO})")
    print(f"broadcasts {stats['broadcast']:,} (+{stats['chain']:,} self-thread posts), "
          f"replies {stats['reply']:,}, mentions {stats['mention']:,}, responses {stats['response']:,}, "
          f"messages+responses {messages + stats['response']:,}, counter observations {stats['counters']:,}")
    print(f"posts written {written:,}")
    print(f"build: {total:.1f}s total ({write_seconds:.1f}s in Store.write, {analyze_seconds:.1f}s analyze+checkpoint, "
          f"rest generating)")
    size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
    print(f"db size: {size / 1e6:.1f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="volume multiplier (1.0: 20k broadcasts, ~1M messages)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hours", action="store_true",
                        help="set opening hours (response times on the opening-hours clock)")
    parser.add_argument("--profile", action="store_true",
                        help="run the build under cProfile and print the top functions")
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(build, args.dest, args.scale, args.seed, args.hours)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
    else:
        build(args.dest, args.scale, args.seed, args.hours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
