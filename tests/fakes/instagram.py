"""An Instagram professional account, played as the Instagram Graph API answers: media with
counters, comments with nested `replies`, cursor paging, OAuth errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import ALL, SUMMER_TAG, UTC, Ago, Platform, also, env, filled, goals_toml, source_toml
from tests.fakes.graph import GraphFake, graph_error, graph_gate, graph_page, graph_time
from tests.replay import Reply, Request, json_reply

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "IGQ-page-token-s3cret"
USER, USERNAME = "17841400000000001", "riversidelibrary"
TEENS = "17841400000000002"
"""The library's teen account: the healthy source next to a refused one."""
STAFF = ("17841400000009001", "jane.staff")
ALICE, BOB, CAROL, DAVE, EVE = (("1784150000000000" + str(i), name) for i, name in enumerate(("alice", "bob", "carol", "dave", "eve")))

ago = Ago(NOW)

INVALIDATED = graph_error(190, "Error validating access token: The session has been invalidated.", 400, 460)


@dataclass
class IgMedia:
    id: str
    created: datetime
    caption: str
    likes: int | None
    deleted: bool = False


@dataclass
class IgComment:
    id: str
    media: str
    author: tuple[str, str]
    created: datetime
    text: str
    parent: str | None = None
    hidden: bool = False
    deleted: bool = False
    from_field: bool = True
    """Meta sends `from` on most comments; some carry only `username`."""


@dataclass
class FakeInstagram(GraphFake):
    """The account's media and their comments, in the Instagram Graph API's shapes."""

    media: dict[str, IgMedia] = field(default_factory=dict)
    comments: dict[str, IgComment] = field(default_factory=dict)

    def post(self, created: datetime, caption: str, likes: int | None = 0) -> str:
        self.seq += 1
        mid = f"179000000000{self.seq:05d}"
        self.media[mid] = IgMedia(mid, created, caption, likes)
        return mid

    def comment(self, media: str, author: tuple[str, str], created: datetime, text: str, parent: str | None = None,
                **extra: Any) -> str:
        self.seq += 1
        cid = f"180000000000{self.seq:05d}"
        self.comments[cid] = IgComment(cid, media, author, created, text, parent, **extra)
        return cid

    def live(self, media: str) -> list[IgComment]:
        return sorted((c for c in self.comments.values() if c.media == media and not c.deleted), key=lambda c: c.created)

    def render_media(self, m: IgMedia) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": m.id, "caption": m.caption, "timestamp": graph_time(m.created), "comments_count": len(self.live(m.id)),
            "permalink": f"https://www.instagram.com/p/C{m.id[-5:]}/", "media_product_type": "FEED", "media_type": "IMAGE",
        }
        if m.likes is not None:  # the owner hid the like count: Graph leaves `like_count` out
            item["like_count"] = m.likes
        return item

    def render_comment(self, c: IgComment, request: Request) -> dict[str, Any]:
        item: dict[str, Any] = {"id": c.id, "text": c.text, "timestamp": graph_time(c.created), "username": c.author[1],
                                "hidden": c.hidden}
        if c.from_field:
            item["from"] = {"id": c.author[0], "username": c.author[1]}
        if c.parent:
            item["parent_id"] = c.parent
        else:
            replies = [self.render_comment(r, request) for r in self.live(c.media) if r.parent == c.id]
            nested: dict[str, Any] = {"data": replies[:2]}  # the nested edge's first page holds two here
            if len(replies) > 2:
                nested["paging"] = {"cursors": {"after": "2"}, "next": f"https://graph.facebook.com/v21.0/{c.id}/replies?after=2"}
            item["replies"] = nested
        return item

    def handle(self, request: Request) -> Reply:
        refused = graph_gate(request, TOKEN, self.refused, INVALIDATED)
        if refused is not None:
            return refused
        parts = request.path.split("/")[2:]
        if parts == [USER]:
            return json_reply({"id": USER, "username": USERNAME, "followers_count": 654}, headers=self.usage)
        if parts == [TEENS]:
            return json_reply({"id": TEENS, "username": "riversideteens", "followers_count": 5})
        if parts == [TEENS, "media"]:
            return graph_page(request, [], 3, self.usage)
        if parts == [USER, "media"]:
            assert "comments_count" in (request.arg("fields") or "") and "like_count" in (request.arg("fields") or "")
            live = sorted((m for m in self.media.values() if not m.deleted), key=lambda m: m.created, reverse=True)
            return graph_page(request, [self.render_media(m) for m in live], 3, self.usage)
        if len(parts) == 2 and parts[1] == "comments" and parts[0] in self.media:
            assert "replies{" in (request.arg("fields") or "")
            top = [self.render_comment(c, request) for c in self.live(parts[0]) if c.parent is None]
            return graph_page(request, top, 4, self.usage)
        if len(parts) == 2 and parts[1] == "replies" and parts[0] in self.comments:
            c = self.comments[parts[0]]
            replies = [self.render_comment(r, request) for r in self.live(c.media) if r.parent == c.id]
            return graph_page(request, replies, 2, self.usage)
        return graph_error(100, "Unsupported get request.", 400, 33)


def build(ig: FakeInstagram) -> dict[str, str]:
    """The scenario: 60 days of a library's Instagram account, a staff member and the community."""
    me = (USER, USERNAME)
    ids: dict[str, str] = {}
    ids["m0"] = ig.post(ago(70), "Hello Instagram")  # beyond the 60-day horizon
    t = ago(45)  # the baseline window
    ids["m4"] = ig.post(t, "Spring sale", likes=7)
    ids["c0"] = ig.comment(ids["m4"], ALICE, t + timedelta(hours=1), "When?")
    ids["o0"] = ig.comment(ids["m4"], me, t + timedelta(hours=3), "@alice Saturday", ids["c0"])
    for i, days in enumerate((2, 12, 22, 27)):  # routine posts
        ids[f"n{i}"] = ig.post(ago(days), f"Opening hours update {i}")
    t = ago(20)
    ids["m1"] = ig.post(t, "Summer reading starts today! #SummerReading", likes=50)
    ids["c1"] = ig.comment(ids["m1"], ALICE, t + timedelta(hours=1), "Can adults join?")
    ids["o1"] = ig.comment(ids["m1"], me, t + timedelta(hours=4), "@alice yes, everyone!", ids["c1"])
    ids["c2"] = ig.comment(ids["m1"], BOB, t + timedelta(days=1), "@alice great news", ids["c1"])
    ids["c3"] = ig.comment(ids["m1"], CAROL, t + timedelta(days=1, hours=1), "And teens?", ids["c1"], from_field=False)
    ids["c4"] = ig.comment(ids["m1"], DAVE, t + timedelta(days=2), "Where are the logs?")
    ids["j1"] = ig.comment(ids["m1"], STAFF, t + timedelta(days=2, minutes=30), "@dave at the desk", ids["c4"])
    ids["h1"] = ig.comment(ids["m1"], EVE, t + timedelta(days=3), "Cheap followers here", hidden=True)
    t = ago(10)
    ids["m2"] = ig.post(t, "The library is closed on Tuesday", likes=None)  # like count hidden by the account
    ids["c5"] = ig.comment(ids["m2"], ALICE, t + timedelta(hours=1), "Noted")
    ids["c6"] = ig.comment(ids["m2"], CAROL, t + timedelta(hours=2), "@riversidelibrary all day?")
    ids["o2"] = ig.comment(ids["m2"], me, t + timedelta(days=1, hours=2), "@carol yes, all day", ids["c6"])
    t = ago(5)
    ids["m3"] = ig.post(t, "Book club tonight", likes=4)
    ids["c7"] = ig.comment(ids["m3"], BOB, t + timedelta(hours=3), "See you there")
    return ids



def source(url: str, sid: str = "library-instagram", token: str = "TEST_IG_TOKEN", user: str = USER) -> str:
    return source_toml(sid, "instagram", user_id=user, api=url, token=env(token))


GOALS = goals_toml(ALL, SUMMER_TAG)

INSTAGRAM = Platform(
    "instagram", "library-instagram", NOW, {"TEST_IG_TOKEN": TOKEN}, lambda server: filled(FakeInstagram(server), build),
    source, GOALS,
    also(f"instagram:@{STAFF[1]}"),
)
