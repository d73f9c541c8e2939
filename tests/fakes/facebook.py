"""A Facebook Page, played as the Graph API answers: cursor paging with a token-bearing `next`,
stream comments with `parent`, usage headers, OAuth errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import ALL, SUMMER_TAG, UTC, Ago, Platform, also, env, goals_toml, source_toml
from tests.fakes.graph import GraphFake, graph_error, graph_gate, graph_page, graph_time
from tests.replay import ReplayServer, Reply, Request, json_reply

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "EAAB-page-token-s3cret"
PAGE = "1000"
STAFF, ALICE, BOB, CAROL, DAVE, EVE, PARTNER = "9001", "2001", "2002", "2003", "2004", "2005", "5005"
BRANCH = "1001"
"""A second Page of the organization, with no posts: the healthy source next to a refused one."""

ago = Ago(NOW)


@dataclass
class FbItem:
    """What a post and a comment have alike."""

    id: str
    author: str | None
    created: datetime
    message: str


@dataclass
class FbPost(FbItem):
    reactions: int = 0
    shares: int = 0
    parent_id: str | None = None
    tags_page: bool = False
    deleted: bool = False


@dataclass(kw_only=True)
class FbComment(FbItem):
    post: str
    parent: str | None = None
    hidden: bool = False
    deleted: bool = False


@dataclass
class FakeFacebook(GraphFake):
    """The Page's posts, posts tagging it and their comments, in Graph's shapes."""

    usage: dict[str, str] = field(default_factory=lambda: {"X-App-Usage": '{"call_count":3,"total_cputime":1,"total_time":2}'})
    posts: dict[str, FbPost] = field(default_factory=dict)
    comments: dict[str, FbComment] = field(default_factory=dict)

    def post(self, author: str | None, created: datetime, message: str, **extra: Any) -> str:
        self.seq += 1
        owner = author if author == PAGE else "777"
        pid = f"{owner}_{500 + self.seq}"
        self.posts[pid] = FbPost(pid, author, created, message, **extra)
        return pid

    def comment(self, post: str, author: str | None, created: datetime, message: str, parent: str | None = None,
                **extra: Any) -> str:
        self.seq += 1
        cid = f"{post.split('_')[1]}_{900 + self.seq}"
        self.comments[cid] = FbComment(cid, author, created, message, post=post, parent=parent, **extra)
        return cid

    def total(self, pid: str) -> int:
        return sum(1 for c in self.comments.values() if c.post == pid and not c.deleted)

    def render_post(self, p: FbPost) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": p.id, "created_time": graph_time(p.created),
            "permalink_url": f"https://www.facebook.com/{p.id.split('_')[0]}/posts/{p.id.split('_')[1]}/",
            "comments": {"data": [], "summary": {"order": "ranked", "total_count": self.total(p.id), "can_comment": True}},
            "reactions": {"data": [], "summary": {"total_count": p.reactions, "viewer_reaction": "NONE"}},
        }
        if p.message:
            item["message"] = p.message
        if p.shares:
            item["shares"] = {"count": p.shares}  # Graph leaves `shares` out of a post nobody shared
        if p.parent_id:
            item["parent_id"] = p.parent_id
        if p.tags_page:
            item["message_tags"] = [{"id": PAGE, "name": "Riverside Library", "type": "page", "offset": 0, "length": 17}]
        if p.author not in (None, PAGE):
            item["from"] = {"id": p.author, "name": "Partner"}  # only a Page's posts name their author on /tagged
        return item

    def handle(self, request: Request) -> Reply:
        refused = graph_gate(request, TOKEN, self.refused)
        if refused is not None:
            return refused
        parts = request.path.split("/")[2:]
        if parts in ([PAGE], [BRANCH]):
            return json_reply({"id": parts[0], "name": "Riverside Library", "username": f"riverside{parts[0]}",
                               "followers_count": 321, "fan_count": 300}, headers=self.usage)
        if parts in ([BRANCH, "published_posts"], [BRANCH, "tagged"]):
            return graph_page(request, [], 3, self.usage)
        if parts == [PAGE, "published_posts"]:
            assert "comments.filter(stream).limit(0).summary(true)" in (request.arg("fields") or "")
            since = int(request.arg("since") or 0)
            mine = [p for p in self.posts.values() if p.author == PAGE and not p.deleted and p.created.timestamp() >= since]
            listed = [self.render_post(p) for p in sorted(mine, key=lambda p: p.created, reverse=True)]
            return graph_page(request, listed, 3, self.usage)
        if parts == [PAGE, "tagged"]:
            theirs = [p for p in self.posts.values() if p.author != PAGE and not p.deleted]
            return graph_page(request, [self.render_post(p) for p in sorted(theirs, key=lambda p: p.created, reverse=True)], 3, self.usage)
        if len(parts) == 2 and parts[1] == "comments" and parts[0] in self.posts:
            assert request.arg("filter") == "stream" and request.arg("order") == "chronological"
            if self.posts[parts[0]].deleted:
                return graph_error(100, "Unsupported get request. Object does not exist", 400, 33)
            chosen = sorted((c for c in self.comments.values() if c.post == parts[0] and not c.deleted), key=lambda c: c.created)
            return graph_page(request, [self.render_comment(c) for c in chosen], 4, self.usage)
        return graph_error(100, "Unsupported get request.", 400, 33)

    def render_comment(self, c: FbComment) -> dict[str, Any]:
        post_object = c.post.split("_")[1]
        link = f"https://www.facebook.com/{c.post.split('_')[0]}/posts/{post_object}/?comment_id={(c.parent or c.id).split('_')[1]}"
        item: dict[str, Any] = {
            "id": c.id, "created_time": graph_time(c.created), "message": c.message, "is_hidden": c.hidden,
            "permalink_url": link + (f"&reply_comment_id={c.id.split('_')[1]}" if c.parent else ""),
        }
        if c.author is not None:
            item["from"] = {"id": c.author, "name": "Someone"}
        if c.parent:
            item["parent"] = {"id": c.parent, "created_time": graph_time(self.comments[c.parent].created)}
        return item


@dataclass
class World:
    fb: FakeFacebook
    ids: dict[str, str] = field(default_factory=dict)


def build(fb: FakeFacebook) -> dict[str, str]:
    """The scenario: 60 days of a library's Page, its staff member and its community."""
    ids: dict[str, str] = {}
    ids["b0"] = fb.post(PAGE, ago(70), "Welcome to our Page")  # beyond the 60-day horizon
    t = ago(45)  # the baseline window
    ids["b4"] = fb.post(PAGE, t, "Spring sale, #SummerReading warm-up", reactions=4)
    ids["r0"] = fb.comment(ids["b4"], ALICE, t + timedelta(hours=1), "When?")
    ids["a0"] = fb.comment(ids["b4"], PAGE, t + timedelta(hours=3), "Saturday", ids["r0"])
    for i, days in enumerate((1.5, 2.5, 12, 15, 25, 28)):  # routine posts: the listing takes four pages of three
        ids[f"n{i}"] = fb.post(PAGE, ago(days), f"Opening hours update {i}")
    t = ago(20)
    ids["b1"] = fb.post(PAGE, t, "Summer reading starts today! #SummerReading https://library.example.org/summer",
                        reactions=5, shares=3)
    ids["r1"] = fb.comment(ids["b1"], ALICE, t + timedelta(hours=1), "Can adults join?")
    ids["a1"] = fb.comment(ids["b1"], PAGE, t + timedelta(hours=4), "Yes, everyone can!", ids["r1"])
    ids["r2"] = fb.comment(ids["b1"], BOB, t + timedelta(days=1), "Great news", ids["r1"])
    ids["r4"] = fb.comment(ids["b1"], DAVE, t + timedelta(days=2), "Where are the logs?")
    ids["j1"] = fb.comment(ids["b1"], STAFF, t + timedelta(days=2, minutes=30), "At the front desk", ids["r4"])
    ids["h1"] = fb.comment(ids["b1"], EVE, t + timedelta(days=3), "Buy cheap followers", hidden=True)
    t = ago(10)
    ids["b2"] = fb.post(PAGE, t, "The library is closed on Tuesday", reactions=3)
    ids["r5"] = fb.comment(ids["b2"], ALICE, t + timedelta(hours=1), "Noted")
    ids["m2"] = fb.comment(ids["b2"], CAROL, t + timedelta(hours=2), "Riverside Library all day?")
    ids["a3"] = fb.comment(ids["b2"], PAGE, t + timedelta(days=1, hours=2), "Yes, all day.", ids["m2"])
    # posts of others that tag the Page: a person's (Graph withholds its author) and a partner Page's
    ids["t1"] = fb.post(None, ago(8), "Riverside Library do you have #SummerReading kits?", tags_page=True)
    ids["a2"] = fb.comment(ids["t1"], PAGE, ago(8, hours=-2), "We do!")
    ids["t2"] = fb.post(PARTNER, ago(6), "Thanks Riverside Library for the visit", tags_page=True)
    t = ago(5)
    ids["b3"] = fb.post(PAGE, t, "Book club tonight", reactions=1, shares=1)
    ids["r6"] = fb.comment(ids["b3"], BOB, t + timedelta(hours=3), "See you there")
    ids["s1"] = fb.post(PAGE, ago(4), "", parent_id="777_42")  # the Page shares someone's post, without words
    ids["s2"] = fb.post(PAGE, ago(3), "", parent_id=ids["b1"])  # and its own b1: one of b1's three shares
    return ids


def served(server: ReplayServer) -> World:
    fb = FakeFacebook(server)
    return World(fb, build(fb))


def source(url: str, sid: str = "library-facebook", token: str = "TEST_FB_TOKEN", page: str = PAGE) -> str:
    return source_toml(sid, "facebook", page_id=page, api=url, token=env(token))


GOALS = goals_toml(ALL, SUMMER_TAG)

FACEBOOK = Platform(
    "facebook", "library-facebook", NOW, {"TEST_FB_TOKEN": TOKEN}, served, source, GOALS, also(f"facebook:{STAFF}")
)
