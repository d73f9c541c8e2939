"""twoway against a real WordPress (tests/real/wordpress.py): the WordPress collector on its
REST API, the RSS collector on its Atom and RSS 2.0 feeds, through `twoway collect --once`
and `twoway snapshot --format json`. The site is seeded from BLOG below, and every
expected metric is worked out here from BLOG by SPEC §2–§3, for both windows."""

from __future__ import annotations

import json
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


def seed(now: datetime) -> dict[str, Any]:
    """BLOG as seed.php reads it, dated back from `now`: comments flattened, parents first."""

    def flat(comments: tuple[Comment, ...], posted: datetime, parent: str | None) -> Iterator[dict[str, Any]]:
        for c in comments:
            yield {"key": c.key, "author": c.author, "date": _when(posted + c.after), "parent": parent,
                   "status": c.status, "text": f"Comment {c.key}"}
            yield from flat(c.replies, posted, c.key)

    posts = [
        {"title": p.title, "content": f"<p>{p.title}, at the library.</p>", "author": "library",
         "date": _when(now - p.age), "tags": list(p.tags), "comments": list(flat(p.comments, now - p.age, None))}
        for p in BLOG
    ]
    return {"people": {k: asdict(p) for k, p in PEOPLE.items()}, "posts": posts}


@dataclass(frozen=True)
class Blog:
    """BLOG on the running site."""

    site: Site
    seeded: datetime
    """Every post and comment is dated before it, so WordPress publishes them all."""
    comment_ids: dict[str, int]

    @property
    def collected(self) -> datetime:
        """`TWOWAY_NOW` of the first collect, shortly after seeding."""
        return self.seeded + timedelta(minutes=1)


@pytest.fixture(scope="session")
def blog() -> Iterator[Blog]:
    with wordpress_site() as site:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        yield Blog(site, now, json.loads(site.php("seed", stdin=json.dumps(seed(now)))))


# -- the expected metrics, from BLOG --------------------------------------------------------

UNMEASURED = ("mentions", "reposts", "quotes", "likes", "amplification_rate", "applause_rate")
"""Neither the REST API nor a feed has mentions, reposts, quotes or likes."""
UNTHREADED = ("responses", "answered", "unanswered", "response_rate", "median_response_seconds", "p90_response_seconds")
"""What a comment feed without `thr:in-reply-to` (RSS 2.0) cannot tell: who answered whom."""


def unmeasured(threaded: bool) -> tuple[str, ...]:
    return UNMEASURED + (() if threaded else UNTHREADED)


def expected(now: datetime, ago: int, tag: str | None, *, threaded: bool = True, gone: frozenset[str] = frozenset()) -> dict[str, Any]:
    """SPEC §3 for the posts made in the window `ago` windows back (0: the current one,
    1: the baseline), tagged `tag` if given. Only approved comments count; `gone` were
    trashed after seeding. Without threading (RSS 2.0) no response can be seen."""
    start, end = now - (ago + 1) * WINDOW, now - ago * WINDOW
    posts = [p for p in BLOG if start <= now - p.age < end and (tag is None or tag in p.tags)]
    messages, responses, delays, voices = 0, 0, [], set()

    def shown(comments: tuple[Comment, ...]) -> list[Comment]:
        return [c for c in comments if c.status == "1" and c.key not in gone]

    def walk(comments: tuple[Comment, ...]) -> None:
        nonlocal messages, responses
        for c in shown(comments):
            if not PEOPLE[c.author].staff:  # a community message; staff replies under it are responses
                messages += 1
                voices.add(c.author)
                answers = [r.after for r in shown(c.replies) if PEOPLE[r.author].staff]
                responses += len(answers)
                if answers:
                    delays.append((min(answers) - c.after).total_seconds())
            walk(c.replies)

    for post in posts:
        walk(post.comments)
    if not threaded:
        responses = 0  # and every metric of UNTHREADED unmeasured
    broadcast, answered, ranked = len(posts), len(delays), sorted(delays)

    def ratio(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    values = {
        "broadcast": broadcast,
        "replies": messages,
        "community_messages": messages,
        "responses": responses,
        "answered": answered,
        "unanswered": messages - answered,
        "two_way": messages + responses,
        "conversation_rate": ratio(messages, broadcast),
        "two_way_per_broadcast": ratio(messages + responses, broadcast),
        "response_rate": ratio(answered, messages),
        "median_response_seconds": statistics.median(ranked) if ranked else None,
        "p90_response_seconds": ranked[math.ceil(0.9 * len(ranked)) - 1] if ranked else None,
        "voices": len(voices),
    }
    return {**values, **dict.fromkeys(unmeasured(threaded))}


def check(config: Path, now: datetime, **options: Any) -> None:
    """Both goals, both windows: every metric as worked out from BLOG, the deltas between
    them (the first poll's backfill, twice the window, covers the baseline), and what the
    source cannot measure."""
    report = {g["name"]: g for g in snapshot_json(config)["goals"]}
    for name, tag in (("All", None), ("Summer reading", "Summer Reading")):
        goal, metrics, baseline = report[name], expected(now, 0, tag, **options), expected(now, 1, tag, **options)
        assert {k: goal["metrics"][k] for k in metrics} == metrics, name
        assert {k: goal["baseline"][k] for k in baseline} == baseline, name
        deltas = {k: None if v is None or baseline[k] is None else v - baseline[k] for k, v in metrics.items()}
        assert {k: goal["deltas"][k] for k in deltas} == pytest.approx(deltas), name
        assert goal["unavailable"] == {k: ["blog"] for k in unmeasured(options.get("threaded", True))}, name


def configure(tmp_path: Path, platform: str, url: str, staff: str) -> Path:
    return write_config(tmp_path, source_toml("blog", platform, url=url), GOALS, also(staff))


# -- the tests --------------------------------------------------------------------------------


def test_wordpress_rest_api(blog: Blog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = configure(tmp_path, "wordpress", blog.site.url, f"wordpress:{STAFF}")
    collect(config, monkeypatch, blog.collected)
    check(config, blog.collected)
    (source,) = snapshot_json(config)["sources"]
    assert source["status"] == "ok"


def test_rss_collector_on_the_atom_feed(blog: Blog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WordPress's Atom comment feeds are threaded (`thr:in-reply-to`): responses are seen."""
    config = configure(tmp_path, "rss", f"{blog.site.url}/feed/atom/", f"rss:{STAFF}")
    collect(config, monkeypatch, blog.collected)
    check(config, blog.collected)


def test_rss_collector_on_the_rss2_feed(blog: Blog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RSS 2.0 comment feeds are not threaded: replies and voices, no responses."""
    config = configure(tmp_path, "rss", f"{blog.site.url}/feed/", f"rss:{STAFF}")
    collect(config, monkeypatch, blog.collected)
    check(config, blog.collected, threaded=False)




@pytest.mark.parametrize(
    ("platform", "path"),
    [
        ("wordpress", ""),
        # WordPress gives a comment feed the validators of the site's newest comment: only a
        # whole read (collectors/rss.py) sees an older comment trashed
        ("rss", "/feed/atom/"),
    ],
)
def test_a_trashed_response_reopens_its_message(
    blog: Blog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, path: str
) -> None:
    """Jane's answer to Ann on the story-time post is trashed after the first poll; the
    next poll past `thread_refresh` (6 h) reads the thread again and finds it gone."""
    config = configure(tmp_path, platform, blog.site.url + path, f"{platform}:{STAFF}")
    collect(config, monkeypatch, blog.collected)
    answer = str(blog.comment_ids["jane-2"])
    blog.site.php("trash", answer)
    try:
        later = blog.collected + 7 * HOUR
        collect(config, monkeypatch, later)
        check(config, later, gone=frozenset({"jane-2"}))
    finally:
        blog.site.php("untrash", answer)
