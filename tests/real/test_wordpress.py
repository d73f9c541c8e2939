"""twoway against a real WordPress (tests/real/wordpress.py): the WordPress collector on its
REST API, the RSS collector on its Atom and RSS 2.0 feeds, through `twoway collect --once`
and `twoway snapshot --format json`. The site is seeded from BLOG below, and every
expected metric is worked out here from BLOG by SPEC §2–§3, for both windows."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import collect, snapshot_json, write_config
from tests.fakes import also, goal_toml, source_toml
from tests.real.wordpress import Site, wordpress_site

pytestmark = pytest.mark.real_server

NOW = datetime.now(timezone.utc).replace(microsecond=0)
"""The seeding time: every post and comment is dated before it, so WordPress publishes them all."""
COLLECTED = NOW + timedelta(minutes=1)
"""`TWOWAY_NOW` of the first collect, shortly after seeding."""
WINDOW = timedelta(days=30)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    role: str | None = None
    """A WordPress role for a registered user; None for a guest."""
    staff: bool = False


PEOPLE = {
    "library": Person("Riverside Library", "web@library.example", "author", staff=True),  # writes the posts
    "jane": Person("Jane Staff", "jane@library.example", "editor", staff=True),  # `also`, no posts
    "sam": Person("Sam Reader", "sam@example.org", "subscriber"),
    "ann": Person("Ann", "ann@example.org"),
    "bob": Person("Bob", "bob@example.net"),
    "spammer": Person("Cheap Pills", "pills@spam.example"),
}
STAFF = "Jane Staff"


@dataclass(frozen=True)
class Comment:
    key: str
    author: str
    after: timedelta
    """After the post."""
    replies: tuple[Comment, ...] = ()
    status: str = "1"
    """WordPress's `comment_approved`: "1" approved, "0" held for moderation, "spam"; or "trash"."""


@dataclass(frozen=True)
class Post:
    title: str
    age: timedelta
    tags: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()


BLOG = (
    Post("Summer reading starts", timedelta(days=5), ("Summer Reading",), (
        Comment("ann-1", "ann", 1 * HOUR, (
            Comment("jane-1", "jane", 3 * HOUR),  # the first response: 2 h
            Comment("library-1", "library", 5 * HOUR, (  # a second response to the same message
                Comment("ann-2", "ann", 6 * HOUR),  # a community reply under a response: unanswered
            )),
        )),
        Comment("sam-1", "sam", 2 * HOUR, (Comment("library-2", "library", 2.5 * HOUR),)),  # 30 min
        Comment("bob-held", "bob", 8 * HOUR, status="0"),
        Comment("spam", "spammer", 9 * HOUR, status="spam"),
        Comment("bob-trashed", "bob", 10 * HOUR, status="trash"),
        Comment("update", "library", 12 * HOUR),  # the post continued: neither reply nor response
    )),
    Post("Story time on Saturdays", timedelta(days=10), (), (
        Comment("bob-1", "bob", 1 * HOUR),
        Comment("ann-3", "ann", 2 * HOUR, (Comment("jane-2", "jane", 26 * HOUR),)),  # 24 h
    )),
    Post("Spring book sale", timedelta(days=40), ("Book Sale",), (  # the baseline
        Comment("sam-2", "sam", 1 * HOUR, (Comment("jane-3", "jane", HOUR + timedelta(minutes=10)),)),
        Comment("bob-2", "bob", 2 * HOUR),
        Comment("ann-held", "ann", 3 * HOUR, status="0"),
    )),
    Post("Closed for inventory", timedelta(days=50)),
)
GOALS = goal_toml("All") + goal_toml("Summer reading", hashtags=["SummerReading"])


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def seed() -> dict[str, Any]:
    """BLOG as seed.php reads it: comments flattened, parents first."""

    def flat(comments: tuple[Comment, ...], posted: datetime, parent: str | None) -> Iterator[dict[str, Any]]:
        for c in comments:
            yield {"key": c.key, "author": c.author, "date": _when(posted + c.after), "parent": parent,
                   "status": c.status, "text": f"Comment {c.key}"}
            yield from flat(c.replies, posted, c.key)

    posts = [
        {"title": p.title, "content": f"<p>{p.title}, at the library.</p>", "author": "library",
         "date": _when(NOW - p.age), "tags": list(p.tags), "comments": list(flat(p.comments, NOW - p.age, None))}
        for p in BLOG
    ]
    return {"title": "Riverside Library", "people": {k: asdict(p) for k, p in PEOPLE.items()}, "posts": posts}


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    with wordpress_site(seed()) as running:
        yield running


# -- the expected metrics, from BLOG --------------------------------------------------------


def expected(now: datetime, ago: int, tag: str | None, *, threaded: bool = True, gone: frozenset[str] = frozenset()) -> dict[str, Any]:
    """SPEC §3 for the posts made in the window `ago` windows back (0: the current one,
    1: the baseline), tagged `tag` if given. Only approved comments count; `gone` were
    trashed after seeding. Without threading (RSS 2.0) no response can be seen."""
    start, end = now - (ago + 1) * WINDOW, now - ago * WINDOW
    posts = [p for p in BLOG if start <= now - p.age < end and (tag is None or tag in p.tags)]
    messages, responses, delays, voices = 0, 0, [], set()

    def walk(comments: tuple[Comment, ...]) -> None:
        nonlocal messages, responses
        shown = [c for c in comments if c.status == "1" and c.key not in gone]
        for c in shown:
            if not PEOPLE[c.author].staff:
                messages += 1
                voices.add(c.author)
                answers = [r.after for r in c.replies if r.status == "1" and r.key not in gone and PEOPLE[r.author].staff]
                responses += len(answers)
                if answers:
                    delays.append((min(answers) - c.after).total_seconds())
            walk(c.replies)

    for post in posts:
        walk(post.comments)
    broadcast = len(posts)

    def ratio(numerator: int | None, denominator: int) -> float | None:
        return None if numerator is None or denominator == 0 else numerator / denominator

    answered = len(delays) if threaded else None
    seen = responses if threaded else None
    ranked = sorted(delays)
    return {
        "broadcast": broadcast,
        "replies": messages,
        "mentions": None,
        "community_messages": messages,
        "responses": seen,
        "answered": answered,
        "unanswered": None if answered is None else messages - answered,
        "two_way": messages + (seen or 0),
        "reposts": None,
        "quotes": None,
        "likes": None,
        "conversation_rate": ratio(messages, broadcast),
        "amplification_rate": None,
        "applause_rate": None,
        "two_way_per_broadcast": ratio(messages + (seen or 0), broadcast),
        "response_rate": ratio(answered, messages),
        "median_response_seconds": statistics.median(ranked) if threaded and ranked else None,
        "p90_response_seconds": ranked[math.ceil(0.9 * len(ranked)) - 1] if threaded and ranked else None,
        "voices": len(voices),
    }


def check(config: Path, now: datetime, **options: Any) -> None:
    """Both goals, both windows: every metric as worked out from BLOG."""
    report = {g["name"]: g for g in snapshot_json(config)["goals"]}
    wanted = {(name, window): expected(now, ago, tag, **options)
              for name, tag in (("All", None), ("Summer reading", "Summer Reading"))
              for ago, window in ((0, "metrics"), (1, "baseline"))}
    got = {(name, window): {k: report[name][window].get(k) for k in metrics} for (name, window), metrics in wanted.items()}
    assert got == wanted


def configure(tmp_path: Path, platform: str, url: str, staff: str) -> Path:
    return write_config(tmp_path, source_toml("blog", platform, url=url), GOALS, also(staff))


# -- the tests --------------------------------------------------------------------------------


def test_wordpress_rest_api(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = configure(tmp_path, "wordpress", site.url, f"wordpress:{STAFF}")
    collect(config, monkeypatch, COLLECTED)
    check(config, COLLECTED)
    (source,) = snapshot_json(config)["sources"]
    assert source["status"] == "ok"


def test_rss_collector_on_the_atom_feed(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WordPress's Atom comment feeds are threaded (`thr:in-reply-to`): responses are seen."""
    config = configure(tmp_path, "rss", f"{site.url}/feed/atom/", f"rss:{STAFF}")
    collect(config, monkeypatch, COLLECTED)
    check(config, COLLECTED)


def test_rss_collector_on_the_rss2_feed(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RSS 2.0 comment feeds are not threaded: replies and voices, no responses."""
    config = configure(tmp_path, "rss", f"{site.url}/feed/", f"rss:{STAFF}")
    collect(config, monkeypatch, COLLECTED)
    check(config, COLLECTED, threaded=False)


WORDPRESS_FEED_VALIDATORS = (
    "WordPress answers a post's comment feed with the ETag and Last-Modified of the newest comment on the"
    " whole site, which trashing an older one leaves as they were: the RSS collector's conditional GET at"
    " thread_refresh gets 304 Not Modified and never sees the comment go"
)


@pytest.mark.parametrize(
    ("platform", "path"),
    [
        ("wordpress", ""),
        pytest.param("rss", "/feed/atom/", marks=pytest.mark.xfail(strict=True, reason=WORDPRESS_FEED_VALIDATORS)),
    ],
)
def test_a_trashed_response_reopens_its_message(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, path: str
) -> None:
    """Jane's answer to Ann on the story-time post is trashed after the first poll; the
    next poll past `thread_refresh` (6 h) reads the thread again and finds it gone."""
    config = configure(tmp_path, platform, site.url + path, f"{platform}:{STAFF}")
    collect(config, monkeypatch, COLLECTED)
    site.php("trash", str(site.comment_ids["jane-2"]))
    try:
        later = COLLECTED + 7 * HOUR
        collect(config, monkeypatch, later)
        check(config, later, gone=frozenset({"jane-2"}))
    finally:
        site.php("untrash", str(site.comment_ids["jane-2"]))
