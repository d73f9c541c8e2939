"""The built-in demo organization: a public library with 90 days of invented activity.

Nothing here is collected from anywhere. The data is generated deterministically
(fixed seed, anchored to "now", so `TWOWAY_NOW` makes it reproducible) and written
through the same `Batch` → `Store.write` path real collectors use, so the demo
exercises every metric: self-threads, staff answering for the library, a blog that
cannot measure likes, a mention that is also a reply, messages still waiting.
Every view labels it DEMO.
"""

from __future__ import annotations

import os
import random
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from twoway.model import PARTS, Account, Batch, Counters, Part, Post

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["DEMO_CONFIG", "DemoCollector", "demo_history", "history_start"]

DEMO_CONFIG = """\
# The built-in demo organization (twoway --demo). Invented data, not collected.
[organization]
name = "Riverside Public Library (DEMO)"
also = ["mastodon:@maria@social.riverside.example"]
timezone = "America/Chicago"

[dashboard]
refresh = "5m"
window = "30d"

[[sources]]
id = "library-mastodon"
platform = "mastodon"
instance = "https://social.riverside.example"
account = "library"

[[sources]]
id = "library-bluesky"
platform = "bluesky"
handle = "library.riverside.example"

[[sources]]
id = "library-blog"
platform = "wordpress"
url = "https://blog.riverside.example"

[[goals]]
name = "Summer reading"
description = "Families talk with us about the books they read this summer, and every reply gets one back."
hashtags = ["SummerReading"]
keywords = ["summer reading"]
targets = { conversation_rate = ">= 1.0", response_rate = ">= 0.9" }

[[goals]]
name = "Answer every question"
description = "Nobody who asks the library something online waits long for an answer."
targets = { response_rate = ">= 0.7", median_response_seconds = "<= 6h" }

[[goals]]
name = "Events"
description = "Our event posts start conversations that bring people to the library."
sources = ["library-mastodon", "library-bluesky"]
links = ["riverside.example/events"]
targets = { two_way_per_broadcast = ">= 1.0" }

[[goals]]
name = "Makerspace"
hashtags = ["Makerspace"]

# A DEMO alert: each question waiting over a day is counted in the header, marked on its
# goal's panel and listed under `a`. It notifies this app only: the demo sends nothing.
[[alerts.rules]]
name = "Questions waiting (DEMO)"
when = "waiting > 1d"
goals = ["Answer every question"]
notify = ["app"]
"""

DAY = 86400
HISTORY_DAYS = 90

_PLATFORMS = {"library-mastodon": "mastodon", "library-bluesky": "bluesky", "library-blog": "wordpress"}
_URLS = {
    "library-mastodon": "https://social.riverside.example/@{author}/{id}",
    "library-bluesky": "https://bsky.app/profile/{author}.riverside.example/post/{id}",
    "library-blog": "https://blog.riverside.example/?p={root}#comment-{id}",
}
_MEASURES: dict[str, frozenset[Part]] = {
    "library-mastodon": frozenset(PARTS),
    "library-bluesky": frozenset(PARTS),
    "library-blog": frozenset({"replies", "responses"}),
}
_FOLLOWERS = {"library-mastodon": 1840, "library-bluesky": 2310, "library-blog": None}
_LIBRARY = "library"
_STAFF = "maria"

Topic = tuple[str, str, tuple[str, ...], tuple[str, ...]]
"""(kind, text, hashtags, links) of a demo broadcast."""

_TOPICS: tuple[Topic, ...] = (
    ("summer", "Summer reading starts now: log your books and win a tote! #SummerReading", ("SummerReading",), ()),
    ("summer", "Our summer reading picks for teens are on the shelf.", (), ()),
    ("events", "Storytime this Saturday at 10 in the children's room.", ("Storytime",),
     ("https://www.riverside.example/events/storytime",)),
    ("events", "Author talk next week: register on our events page.", (),
     ("https://riverside.example/events/author-talk",)),
    ("maker", "The 3D printer is back in the Makerspace. Book a slot! #Makerspace", ("Makerspace",), ()),
    ("general", "New this week: the large-print collection has moved to the first floor.", (), ()),
    ("general", "We're closed Monday for the holiday. Renew online anytime.", (), ()),
)
_QUESTIONS = (
    "Is the teen program open to 12-year-olds?",
    "Can I renew a book twice?",
    "Love this! Thank you.",
    "Do you still have the museum passes?",
    "What time does it start?",
    "Is there parking nearby?",
)
_ANSWERS = ("Yes! See you there.", "Good question: yes, twice online.", "Thanks for asking!", "It starts at 10.")


@dataclass
class _Source:
    """Posts and counters generated for one demo source."""

    posts: list[Post] = field(default_factory=list)
    counters: list[Counters] = field(default_factory=list)


class _Generator:
    def __init__(self, now: datetime, seed: int) -> None:
        self.now = now
        self.rng = random.Random(seed)
        self.sources = {sid: _Source() for sid in _PLATFORMS}
        self.serial = 0

    def _id(self) -> str:
        self.serial += 1
        return f"d{self.serial:06d}"

    def _post(self, sid: str, author: str, at: datetime, text: str, **kw: object) -> Post:
        pid = self._id()
        url = _URLS[sid].format(author=author, id=pid, root=kw.get("root_id") or pid)
        post = Post(id=pid, author_id=author, created_at=at, url=url, text=text, **kw)  # type: ignore[arg-type]
        self.sources[sid].posts.append(post)
        return post

    def _community(self) -> str:
        return f"patron{self.rng.randrange(140):03d}"

    def broadcast(self, sid: str, at: datetime, topic: Topic) -> None:
        _, text, hashtags, links = topic
        rng = self.rng
        top = self._post(sid, _LIBRARY, at, text, hashtags=hashtags, links=links)
        thread = [top]
        if sid != "library-blog" and rng.random() < 0.2:  # a self-thread: the hashtag may come later
            thread.append(self._post(sid, _LIBRARY, at + timedelta(minutes=2), "More details in the next post.",
                                     parent_id=top.id, root_id=top.id))
        engagement = {"summer": 1.6, "events": 1.1, "maker": 0.8, "general": 0.6}[topic[0]]
        for _ in range(int(rng.expovariate(1 / engagement))):
            self.reply(sid, top.id, rng.choice(thread).id, at)
        likes = None if sid == "library-blog" else int(rng.expovariate(1 / (12 * engagement)))
        self.sources[sid].counters.append(
            Counters(top.id, self.now, replies=None, reposts=None if likes is None else likes // 4,
                     quotes=None if likes is None else likes // 15, likes=likes)
        )

    def reply(self, sid: str, root: str, parent: str, after: datetime) -> None:
        rng = self.rng
        at = after + timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
        if at >= self.now:
            return
        message = self._post(sid, self._community(), at, rng.choice(_QUESTIONS), parent_id=parent, root_id=root)
        age = (self.now - at).total_seconds()
        if rng.random() < 0.75:
            delay = timedelta(minutes=rng.randrange(10, 20 * 60))
            if at + delay < self.now:
                staff = _STAFF if sid == "library-mastodon" and rng.random() < 0.3 else _LIBRARY
                self._post(sid, staff, at + delay, rng.choice(_ANSWERS), parent_id=message.id, root_id=root)
                if rng.random() < 0.1:  # two staff answer the same message
                    self._post(sid, _STAFF if staff == _LIBRARY and sid == "library-mastodon" else _LIBRARY,
                               at + delay * 2, "Adding to that: yes.", parent_id=message.id, root_id=root)
        elif age < 2 * DAY and rng.random() < 0.5 and sid != "library-blog":
            # a follow-up in the same conversation, also still waiting
            self._post(sid, self._community(), at + timedelta(minutes=30), "Same question here!",
                       parent_id=message.id, root_id=root)

    def mention(self, sid: str, at: datetime) -> None:
        rng = self.rng
        topic = rng.choice(_TOPICS)
        post = self._post(sid, self._community(), at, f"Thanks @library! {topic[1][:40]}",
                          hashtags=topic[2], links=topic[3], mentions_source=True)
        if rng.random() < 0.6 and at + timedelta(hours=3) < self.now:
            self._post(sid, _LIBRARY, at + timedelta(hours=rng.randrange(1, 12)), "Glad you enjoyed it!",
                       parent_id=post.id, root_id=post.id)

    def history(self, days: int) -> None:
        rng = self.rng
        start = self.now - timedelta(days=days)
        for day in range(days):
            morning = start + timedelta(days=day, hours=9)
            per_day = {"library-mastodon": 2, "library-bluesky": 1, "library-blog": 0.3}
            for sid, rate in per_day.items():
                count = int(rate) + (rng.random() < rate % 1)
                for n in range(count):
                    at = morning + timedelta(hours=3 * n, minutes=rng.randrange(60))
                    if at < self.now:
                        self.broadcast(sid, at, rng.choice(_TOPICS))
            for sid in ("library-mastodon", "library-bluesky"):
                if rng.random() < 0.4:
                    at = morning + timedelta(hours=rng.randrange(12))
                    if at < self.now:
                        self.mention(sid, at)
        self._special_cases()

    def _special_cases(self) -> None:
        """The cases the demo must always show, whatever the dice said."""
        sid = "library-mastodon"
        at = self.now - timedelta(days=3)
        top = self._post(sid, _LIBRARY, at, "Join us for the summer reading kickoff party!",
                         links=("https://riverside.example/events/kickoff",))
        # a self-thread whose second post carries the hashtag
        self._post(sid, _LIBRARY, at + timedelta(minutes=1), "Games, snacks and prizes. #SummerReading",
                   parent_id=top.id, root_id=top.id, hashtags=("SummerReading",))
        # a mention that is also a reply: counted once, as a reply; still waiting
        self._post(sid, self._community(), at + timedelta(hours=30), "@library can my grandson come too?",
                   parent_id=top.id, root_id=top.id, mentions_source=True)
        self.sources[sid].counters.append(Counters(top.id, self.now, replies=1, reposts=6, quotes=1, likes=21))

    def batches(self) -> list[Batch]:
        batches = []
        for sid, data in self.sources.items():
            accounts = [Account(_LIBRARY, "@library", "source")]
            if sid == "library-mastodon":
                accounts.append(Account(_STAFF, "@maria", "mastodon:@maria@social.riverside.example"))
            batches.append(
                Batch(
                    source_id=sid,
                    platform=_PLATFORMS[sid],
                    polled_at=self.now,
                    posts=tuple(data.posts),
                    counters=tuple(data.counters),
                    accounts=tuple(accounts),
                    followers=_FOLLOWERS[sid],
                    measures=_MEASURES[sid],
                )
            )
        return batches


def history_start(now: datetime, days: int = HISTORY_DAYS) -> datetime:
    """Where the demo's history begins: every demo source covers from here (SPEC §3)."""
    return now - timedelta(days=days)


def demo_history(now: datetime, days: int = HISTORY_DAYS) -> list[Batch]:
    """The demo library's history up to `now`: one batch per source, the same for the same `now`."""
    generator = _Generator(now, seed=2024)
    generator.history(days)
    return generator.batches()


def _failures() -> dict[str, str]:
    """The fault hook: `TWOWAY_DEMO_FAIL="library-blog=HTTP 503,library-bluesky"` makes those
    demo sources fail (with that message) until it is unset, to show and test what an
    outage looks like."""
    failures = {}
    for entry in os.environ.get("TWOWAY_DEMO_FAIL", "").split(","):
        source, _, message = entry.partition("=")
        if source.strip():
            failures[source.strip()] = message.strip()
    return failures


class DemoCollector:
    """Simulates new activity on a demo source: `twoway collect --demo` and the live demo."""

    KEYS = None
    """Demo sources reuse their platform's keys; the demo collector adds none."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.source_id = context.source.id

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        failure = _failures().get(self.source_id)
        if failure is not None:
            from twoway.plugin.http import FetchError

            raise FetchError(failure or "simulated outage")
        rounds = int(cursor or "0") + 1
        generator = _Generator(now, seed=rounds * 7919 + zlib.crc32(self.source_id.encode()))
        generator.serial = rounds * 100_000
        if self.source_id != "library-blog":
            generator.mention(self.source_id, now - timedelta(minutes=1))
        data = generator.sources[self.source_id]
        return Batch(
            source_id=self.source_id,
            platform=_PLATFORMS[self.source_id],
            polled_at=now,
            posts=tuple(data.posts),
            counters=tuple(data.counters),
            measures=_MEASURES[self.source_id],
            cursor=str(rounds),
        )
