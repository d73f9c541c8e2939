"""A blog, played as a WordPress-like RSS 2.0 feed paged by atom:link rel=next, with a comment feed
per entry and ETags."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape

from tests.fakes import ALL, Platform, also, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request

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


def scenario(blog: Blog) -> None:
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



def served(server: ReplayServer) -> Blog:
    blog = Blog(server)
    scenario(blog)
    return blog


def source(url: str, sid: str = "blog") -> str:
    return source_toml(sid, "rss", url=f"{url}/feed/")


GOALS = goals_toml(ALL, goal_toml("Summer", hashtags=["SummerReading"], keywords=["summer reading"]))

RSS = Platform("rss", "blog", NOW, {}, served, source, GOALS, also(f"rss:{STAFF}"))
