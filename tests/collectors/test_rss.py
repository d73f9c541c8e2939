"""The RSS/Atom collector: real feed fixtures, and a blog served by a replay server.

A feed has no mentions, reposts, quotes, likes, self-threads or followers; the scenario
covers what a blog does have: paged entries over 60 days, threaded comment feeds,
staff answers with known delays, an edited and a deleted entry, ETag/304 answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from twoway.collectors.rss import comment_feed, comment_posts, feed_authors, feed_posts, parse_feed, plain_text, vanished
from tests.collecting import collect_once, fake_sleep, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, replay_server

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "rss"


def _realdata(name: str) -> bytes:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"shared realdata absent: {path}")
    return path.read_bytes()


# -- real feed fixtures (feedparser's test suite, BSD-2-Clause) ---------------------------


def test_rss2_item_with_comment_feed() -> None:
    parsed = parse_feed(_realdata("rss2_with_wfw_commentRss.xml"), "http://feeds.delicious.com/v2/rss/wearehugh")
    [item] = feed_posts(parsed, "feed:x", "http://feeds.delicious.com/v2/rss/wearehugh")
    post = item.post
    assert post.id == "http://delicious.com/url/174603f9d836a1aafac49e28ace1c19e#wearehugh"
    assert post.author_id == "feed:x" and post.parent_id is None
    assert post.created_at == datetime(2009, 12, 25, 3, 30, 22, tzinfo=timezone.utc)
    assert post.text == "rsync and vfat | Geek at Play"
    assert post.hashtags == ("rsync", "vfat", "windows", "linux", "mount")
    assert post.links == ("http://www.kylev.com/2005/03/29/rsync-and-vfat/",)
    assert item.comments == "http://feeds.delicious.com/v2/rss/url/174603f9d836a1aafac49e28ace1c19e"
    assert item.replies is None  # no slash:comments in this feed
    assert feed_authors(parsed) == {"wearehugh"}


def test_atom_comment_with_thread_in_reply_to() -> None:
    parsed = parse_feed(_realdata("atom_threading_entry.xml"), "http://salmon-test.blogspot.com/feeds/comments")
    root = "tag:blogger.com,1999:blog-893591374313312737.post-3861663258538857954"
    [(comment, updated)] = comment_posts(parsed, root, org_names=set())
    assert comment.id == "tag:blogger.com,1999:blog-893591374313312737.post-4788628857625737701"
    # a community commenter is told apart by name and profile uri
    assert comment.author_id == "name:john <http://www.blogger.com/profile/12344017489797258795>"
    assert (comment.parent_id, comment.root_id) == (root, root)  # thr:in-reply-to ref
    assert comment.created_at == updated == datetime(2009, 12, 9, 0, 59, 2, tzinfo=timezone.utc)  # -08:00 to UTC
    assert comment.text == "bloffo bliff by te..."
    assert comment.links == ("http://example.org/profile/te...",)
    assert comment.url.endswith("#c4788628857625737701")
    # the blog's own author name makes the same comment the organization's
    [(by_org, _)] = comment_posts(parsed, root, org_names={"john"})
    assert by_org.author_id == "name:john"
    assert feed_authors(parsed) == {"John"}


def test_relative_comment_feed_resolves_against_the_feed_url() -> None:
    parsed = parse_feed(_realdata("rss_item_wfw_commentRSS_relative.xml"), "http://127.0.0.1:8097/blog/feed/")
    assert comment_feed(parsed.entries[0], "http://127.0.0.1:8097/blog/feed/") == "http://127.0.0.1:8097/relative/uri"
    assert comment_feed({"wfw_commentrss": "c/1/feed/"}, "http://h.example/blog/feed/") == (
        "http://h.example/blog/feed/c/1/feed/"
    )
    assert feed_posts(parsed, "feed:x", "http://127.0.0.1:8097/blog/feed/") == []  # undated: cannot be placed


def test_atom_entry_with_replies_link_and_count() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
    <title>T</title><id>urn:feed</id><updated>2026-06-02T10:00:00Z</updated><author><name>Riverside Library</name></author>
    <entry><id>urn:e1</id><title type="html">Fish &amp;amp; chips</title>
    <published>2026-06-01T10:00:00+02:00</published><updated>2026-06-02T10:00:00Z</updated>
    <link rel="alternate" href="/e1"/><link rel="replies" type="text/html" href="/e1#comments" thr:count="5"/>
    <link rel="replies" type="application/atom+xml" href="/e1/comments/feed/atom/" thr:count="5"/>
    <category term="Summer Reading"/><content type="html">&lt;p&gt;See &lt;a href="/events"&gt;events&lt;/a&gt;&lt;/p&gt;</content>
    </entry></feed>"""
    parsed = parse_feed(body, "https://b.example/feed/atom/", "application/atom+xml")
    [item] = feed_posts(parsed, "feed:x", "https://b.example/feed/atom/")
    assert item.post.id == "urn:e1" and item.post.text == "Fish & chips\n\nSee events"
    assert item.post.created_at == datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)  # published, in UTC
    assert item.updated == datetime(2026, 6, 2, 10, 0, tzinfo=timezone.utc)
    assert item.post.hashtags == ("SummerReading",)
    assert item.post.links == ("https://b.example/events", "https://b.example/e1")
    assert (item.replies, item.comments) == (5, "https://b.example/e1/comments/feed/atom/")
    assert feed_authors(parsed) == {"Riverside Library"}


def test_plain_text_and_links() -> None:
    text, links = plain_text(
        '<p>Hello <b>world</b> &amp; all</p><p><a href="https://a.example/x">a</a>'
        '<a href="javascript:alert(1)">b</a></p>'
    )
    assert text == "Hello world & all\nab"
    assert links == ("https://a.example/x",)


def test_html_instead_of_a_feed_is_a_clear_error() -> None:
    from twoway.plugin.http import FetchError

    with pytest.raises(FetchError, match="answered an HTML page, not an RSS or Atom feed"):
        parse_feed(b"<!DOCTYPE html><html><body>Maintenance</body></html>", "http://h.example/feed/")


def test_vanished_only_judges_what_the_feed_still_covers() -> None:
    present = {"new": [300.0, 300.0], "old": [100.0, 100.0]}
    known = {"gone": [200.0, 200.0], "fell-off": [50.0, 50.0], "old": [100.0, 100.0]}
    assert vanished(known, present) == ["gone"]
    # ordered by update time: an early post updated late keeps "fell-off" from being judged
    assert vanished({"fell-off": [150.0, 150.0]}, {"new": [300.0, 300.0], "early": [10.0, 400.0]}) == []
    assert vanished(known, {}) == []


# -- the blog scenario ------------------------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)
SITE = "https://blog.riverside.example"
AUTHOR = "Maria Lopez"  # writes the entries: an organization name
STAFF = "Sam Staff"  # in [organization] also
PAGE = 3


def ago(days: float, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days) + timedelta(hours=hours)


@dataclass
class Comment:
    cid: int
    author: str
    at: datetime
    text: str
    parent: int | None = None


@dataclass
class Entry:
    n: int
    title: str
    at: datetime
    categories: tuple[str, ...] = ()
    comments: list[Comment] = field(default_factory=list)
    counted: bool = True
    """Whether the feed gives slash:comments for it."""


def _guid(n: int, cid: int | None = None) -> str:
    return f"{SITE}/?p={n}" + (f"#comment-{cid}" if cid else "")


class Blog:
    """A WordPress-like blog: an RSS 2.0 feed paged by atom:link rel=next, per-entry RSS comment feeds, ETags."""

    def __init__(self, server: ReplayServer) -> None:
        self.server = server
        self.entries: list[Entry] = []
        self.broken: Reply | None = None
        self.threaded = True
        self.statuses: list[tuple[str, int]] = []
        server.route("GET", "/feed/", self.feed)
        server.route("GET", "/feed", self.feed)  # the config drops a URL's trailing slash
        server.route("GET", "/comments/*", self.comments)

    def entry(self, n: int) -> Entry:
        return next(e for e in self.entries if e.n == n)

    def _answer(self, request: Request, body: str) -> Reply:
        data = body.encode()
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        status = 304 if request.headers.get("if-none-match") == etag else 200
        self.statuses.append((request.path, status))
        headers = {"ETag": etag, "Content-Type": "application/rss+xml; charset=UTF-8"}
        return Reply(status, b"" if status == 304 else data, headers)

    def feed(self, request: Request) -> Reply:
        if self.broken is not None:
            return self.broken
        page = int(request.arg("paged", "1") or 1)
        shown = sorted(self.entries, key=lambda e: e.at, reverse=True)
        items = shown[(page - 1) * PAGE : page * PAGE]
        more = len(shown) > page * PAGE
        nxt = f'<atom:link rel="next" href="{self.server.url}/feed/?paged={page + 1}"/>' if more else ""
        body = "".join(self._item(e) for e in items)
        return self._answer(
            request,
            _rss(
                f"<title>Riverside Library Blog</title><link>{SITE}</link>"
                "<managingEditor>blog@riverside.example (Riverside Library)</managingEditor>"
                f"{nxt}{body}"
            ),
        )

    def _item(self, e: Entry) -> str:
        cats = "".join(f"<category><![CDATA[{c}]]></category>" for c in e.categories)
        slash = f"<slash:comments>{len(e.comments)}</slash:comments>" if e.counted else ""
        html = f'<p>{escape(e.title)}: details at <a href="{SITE}/events/{e.n}">our events page</a>.</p>'
        return (
            f"<item><title>{escape(e.title)}</title><link>{SITE}/{e.n}/</link>"
            f'<guid isPermaLink="false">{_guid(e.n)}</guid><pubDate>{format_datetime(e.at, usegmt=True)}</pubDate>'
            f"<dc:creator><![CDATA[{AUTHOR}]]></dc:creator>{cats}"
            f"<description>{escape(html)}</description><content:encoded><![CDATA[{html}]]></content:encoded>"
            f"<comments>{SITE}/{e.n}/#comments</comments><wfw:commentRss>/comments/{e.n}/feed/</wfw:commentRss>"
            f"{slash}</item>"
        )

    def comments(self, request: Request) -> Reply:
        """Atom comment feeds with thr:in-reply-to on every comment (WordPress /feed/atom/, Blogger);
        with `threaded` off, WordPress's RSS 2.0 comment feeds, which do not say what a comment answers."""
        n = int(request.path.split("/")[2])
        e = self.entry(n)
        shown = sorted(e.comments, key=lambda c: c.at, reverse=True)
        if not self.threaded:
            items = "".join(
                f"<item><title>Comment on {escape(e.title)} by {escape(c.author)}</title>"
                f'<link>{SITE}/{n}/#comment-{c.cid}</link><guid isPermaLink="false">{_guid(n, c.cid)}</guid>'
                f"<pubDate>{format_datetime(c.at, usegmt=True)}</pubDate>"
                f"<dc:creator><![CDATA[{c.author}]]></dc:creator><description>{escape(c.text)}</description></item>"
                for c in shown
            )
            return self._answer(request, _rss(f"<title>Comments on: {escape(e.title)}</title>{items}"))
        entries = "".join(
            f"<entry><id>{_guid(n, c.cid)}</id><title>By: {escape(c.author)}</title>"
            f'<link rel="alternate" href="{SITE}/{n}/#comment-{c.cid}"/>'
            f"<author><name>{escape(c.author)}</name></author>"
            f"<published>{c.at.isoformat()}</published><updated>{c.at.isoformat()}</updated>"
            f'<content type="html">{escape("<p>" + escape(c.text) + "</p>")}</content>'
            f'<thr:in-reply-to ref="{_guid(n, c.parent) if c.parent else _guid(n)}" type="text/html"/></entry>'
            for c in shown
        )
        return self._answer(
            request,
            '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
            ' xmlns:thr="http://purl.org/syndication/thread/1.0">'
            f"<title>Comments on: {escape(e.title)}</title><id>{_guid(n)}#comments</id>"
            f"<updated>{NOW.isoformat()}</updated>{entries}</feed>",
        )


def _rss(channel: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
        f' xmlns:thr="http://purl.org/syndication/thread/1.0"><channel>{channel}</channel></rss>'
    )


def _scenario(blog: Blog) -> None:
    """Entries 1-4 fall in the 30-day window, 6-7 in its baseline, 8 beyond the 60-day horizon."""
    t1, t2, t3, t4, t5, t6 = ago(1), ago(3), ago(6), ago(12), ago(20), ago(40)
    blog.entries = [
        Entry(
            1,
            "Summer reading kickoff",
            t1,
            ("Summer Reading", "Events"),
            [
                Comment(11, "alice", t1 + timedelta(hours=1), "When does it start?"),
                Comment(12, AUTHOR, t1 + timedelta(hours=3), "Monday at ten!", parent=11),
                Comment(13, "bob", t1 + timedelta(hours=4), "Thanks!", parent=12),
            ],
        ),
        Entry(
            2,
            "New makerspace hours",
            t2,
            ("Makerspace",),
            [
                Comment(21, "carol", t2 + timedelta(minutes=30), "Open on Sundays?"),
                Comment(22, STAFF, t2 + timedelta(minutes=90), "Not yet.", parent=21),
                Comment(23, "dave", t2 + timedelta(hours=2), "What about evenings?", parent=21),
                Comment(24, AUTHOR, t2 + timedelta(hours=6), "Until 8 pm.", parent=23),
            ],
        ),
        Entry(3, "Storytime returns", t3, (), [Comment(31, "alice", t3 + timedelta(hours=1), "Ages?")], counted=False),
        Entry(4, "Book sale", t4, (), [Comment(41, "erin", t4 + timedelta(hours=2), "Cash only?")]),
        Entry(5, "Posted by mistake", t5, (), [Comment(51, "frank", t5 + timedelta(hours=1), "Huh?")]),
        Entry(
            6,
            "Spring cleaning",
            t6,
            (),
            [
                Comment(61, "gina", t6 + timedelta(hours=1), "Donations?"),
                Comment(62, AUTHOR, t6 + timedelta(hours=9), "Yes, at the desk.", parent=61),
            ],
        ),
        Entry(7, "Quiet week", ago(50)),
        Entry(8, "Long ago", ago(70), (), [Comment(81, "zed", ago(69), "old")]),
    ]


SOURCES = """thread_refresh = "1h"

[[sources]]
id = "blog"
platform = "rss"
url = "{url}/feed/"
"""
GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer"
hashtags = ["SummerReading"]
keywords = ["summer reading"]
"""


@pytest.fixture
def blog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: Any) -> Any:  # noqa: F811
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        b = Blog(server)
        _scenario(b)
        config = write_config(tmp_path, SOURCES.format(url=server.url), GOALS, f'also = ["rss:{STAFF}"]')
        yield b, server, config


def _metrics(config: Path, name: str = "All") -> dict[str, Any]:
    return next(g for g in snapshot_json(config)["goals"] if g["name"] == name)


def test_blog_metrics_from_feed_and_comment_feeds(blog: Any) -> None:
    b, server, config = blog
    assert collect_once(config) == (0, "")
    # every page of the feed back past the 60-day horizon, then every comment feed within it
    assert [r.arg("paged", "1") for r in server.requests("/feed")] == ["1", "2", "3"]
    assert sorted(r.path for r in server.requests("/comments/")) == [
        f"/comments/{n}/feed/" for n in (1, 2, 3, 4, 5, 6, 7)
    ]

    # entry 5 is deleted (it is newer than the oldest entry the feed still shows), entry 4 edited
    b.entries.remove(b.entry(5))
    b.entry(4).title = "Book sale for summer reading"
    assert collect_once(config) == (0, "")

    goal = _metrics(config)
    m = goal["metrics"]
    # window: broadcasts 1-4 (5 deleted with its thread; 6, 7 in the baseline; 8 beyond the horizon)
    assert m["broadcast"] == 4
    # community comments: 11, 13 (a reply to the author's answer), 21, 23 (depth 2), 31, 41
    assert m["replies"] == 6
    # answers: 12 by the entry author to 11 after 2 h, 22 by staff (also) to 21 after 1 h,
    # 24 by the entry author to 23 after 4 h
    assert (m["responses"], m["answered"], m["unanswered"]) == (3, 3, 3)
    assert m["median_response_seconds"] == 2 * 3600
    assert m["p90_response_seconds"] == 4 * 3600  # nearest rank: ceil(0.9 * 3) = 3rd of 1 h, 2 h, 4 h
    assert m["voices"] == 5  # alice (twice), bob, carol, dave, erin
    assert m["mentions"] is None  # a feed cannot show mentions
    assert m["community_messages"] == 6 and m["two_way"] == 6 + 3
    assert m["conversation_rate"] == 6 / 4 and m["response_rate"] == 3 / 6
    assert m["likes"] is None and m["reposts"] is None and m["quotes"] is None
    assert goal["unavailable"]["likes"] == ["blog"] and goal["unavailable"]["mentions"] == ["blog"]
    base = goal["baseline"]
    # baseline: entries 6 and 7; gina's question answered after 9 h - 1 h = 8 h
    assert (base["broadcast"], base["replies"], base["responses"]) == (2, 1, 1)
    assert base["median_response_seconds"] == 8 * 3600

    summer = _metrics(config, "Summer")["metrics"]
    # entry 1 by its category and title, entry 4 by its edited title; their comments: 11, 13, 41
    assert (summer["broadcast"], summer["replies"], summer["responses"]) == (2, 3, 1)
    assert summer["median_response_seconds"] == 2 * 3600
    assert _source(config)["status"] == "ok" and _source(config)["followers"] is None


def test_unthreaded_comment_feeds_measure_replies_but_not_responses(blog: Any) -> None:
    b, _, config = blog
    b.threaded = False
    assert collect_once(config) == (0, "")
    goal = _metrics(config)
    # every comment now answers its entry: the seven community comments of entries 1-5 are replies,
    # and no staff comment can be seen answering one
    assert goal["metrics"]["replies"] == 7
    assert goal["metrics"]["responses"] is None and goal["metrics"]["median_response_seconds"] is None
    assert goal["unavailable"]["responses"] == ["blog"]


def _source(config: Path) -> dict[str, Any]:
    source: dict[str, Any] = snapshot_json(config)["sources"][0]
    return source


def test_steady_state_uses_304s_and_reads_only_moved_or_due_threads(blog: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    b, server, config = blog
    assert collect_once(config) == (0, "")
    before = _metrics(config)["metrics"]

    # nothing changed: the three feed pages answer 304, no comment feed is read
    server.reset_log()
    b.statuses.clear()
    assert collect_once(config) == (0, "")
    assert len(server.requests("/feed")) == len(server.requests()) == 3
    assert [status for _, status in b.statuses] == [304] * 3
    assert _metrics(config)["metrics"] == before

    # a community reply to the author's answer under entry 1 moves its slash:comments
    b.entry(1).comments.append(Comment(14, "henry", ago(1, hours=10), "See you there", parent=12))
    server.reset_log()
    assert collect_once(config) == (0, "")
    assert [r.path for r in server.requests("/comments/")] == ["/comments/1/feed/"]
    after = _metrics(config)["metrics"]
    assert after["replies"] == before["replies"] + 1 and after["unanswered"] == before["unanswered"] + 1

    # a reply deep under entry 3, whose feed item has no counter: nothing moves, nothing is read...
    b.entry(3).comments.append(Comment(32, "ivan", ago(6, hours=5), "Same question", parent=31))
    server.reset_log()
    assert collect_once(config) == (0, "")
    assert server.requests("/comments/") == []
    assert _metrics(config)["metrics"]["replies"] == after["replies"]

    # ...until thread_refresh (1 h) is due: every recent thread is re-read, unchanged ones answer 304
    monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(hours=2)).isoformat())
    server.reset_log()
    b.statuses.clear()
    assert collect_once(config) == (0, "")
    assert sorted(r.path for r in server.requests("/comments/")) == [
        f"/comments/{n}/feed/" for n in (1, 2, 3, 4, 5, 6, 7)
    ]
    assert ("/comments/3/feed/", 200) in b.statuses and ("/comments/1/feed/", 304) in b.statuses
    assert _metrics(config)["metrics"]["replies"] == after["replies"] + 1


@pytest.mark.parametrize(
    "broken",
    [
        Reply(500, b"oops"),
        Reply(200, b"<!DOCTYPE html><html><body>Site under maintenance</body></html>", {"Content-Type": "text/html"}),
    ],
    ids=["500", "html"],
)
def test_a_broken_feed_fails_the_source_and_keeps_the_data(blog: Any, broken: Reply) -> None:
    b, server, config = blog
    assert collect_once(config) == (0, "")
    before = _metrics(config)["metrics"]
    b.broken = broken
    server.reset_log()
    code, err = collect_once(config)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "blog" in err
    assert len(server.requests("/feed")) == (3 if broken.status == 500 else 1)
    assert _metrics(config)["metrics"] == before
    assert _source(config)["status"] == "error"
