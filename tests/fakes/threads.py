"""A Threads profile, played as the Threads API documents its answers (there are no recorded ones):
the profile's threads, replies and mentions, cursor paging without `next`, `/conversation` at
every depth, media and user insights, Graph errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tests.fakes import ALL, SUMMER_TAG, UTC, Ago, Platform, also, env, filled, goals_toml, source_toml
from tests.fakes.graph import GraphFake, graph_error, graph_gate, graph_time
from tests.replay import ReplayServer, Reply, Request, json_reply

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "THAA-threads-token-s3cret"
ORG, ORG_NAME = "2001", "riversidelibrary"
TEENS = "2002"
"""The library's second profile: the healthy source next to a refused one."""
ago = Ago(NOW)


@dataclass
class Th:
    id: str
    author: str | None
    """A username; None for a private profile (the API withholds it)."""
    created: datetime
    text: str
    parent: str | None = None
    likes: int = 0
    reposts: int = 0
    quotes: int = 0
    mentions_org: bool = False
    hidden: bool = False
    deleted: bool = False
    media_type: str = "TEXT_POST"


@dataclass
class FakeThreads(GraphFake):
    """Posts of the profile and of others, in the Threads API's shapes, computed from one world."""

    posts: dict[str, Th] = field(default_factory=dict)
    base: ClassVar[str] = "/v1.0/"

    def post(self, author: str | None, created: datetime, text: str, parent: str | None = None, **extra: Any) -> str:
        self.seq += 1
        pid = f"1800{self.seq:04d}"
        self.posts[pid] = Th(pid, author, created, text, parent, **extra)
        return pid

    def live(self) -> list[Th]:
        return [p for p in self.posts.values() if not p.deleted]

    def root(self, p: Th) -> Th:
        while p.parent:
            p = self.posts[p.parent]
        return p

    def render(self, p: Th) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": p.id, "text": p.text, "timestamp": graph_time(p.created), "media_type": p.media_type,
            "is_quote_post": False, "has_replies": any(c.parent == p.id for c in self.live()),
            "hide_status": "HIDDEN" if p.hidden else "NOT_HUSHED", "is_reply_owned_by_me": p.author == ORG_NAME,
        }
        if p.author is not None:  # username and permalink only for public profiles and our own
            item["username"] = p.author
            item["permalink"] = f"https://www.threads.net/@{p.author}/post/C{p.id}"
        if p.parent:
            item["replied_to"] = {"id": p.parent}
            item["root_post"] = {"id": self.root(p).id}
        return item

    def page(self, request: Request, chosen: list[Th]) -> Reply:
        """Newest first unless `reverse=false`; `since` honoured; cursors only when there is more than one page,
        and never a `next` link, as the Threads API documents."""
        since = int(request.arg("since") or 0)
        chosen = [p for p in chosen if p.created.timestamp() >= since]
        chosen.sort(key=lambda p: p.created, reverse=request.arg("reverse") != "false")
        start, size = int(request.arg("after") or 0), 3
        body: dict[str, Any] = {"data": [self.render(p) for p in chosen[start : start + size]]}
        if len(chosen) > size and start < len(chosen):
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + size)}}
        return json_reply(body)

    def handle(self, request: Request) -> Reply:
        refused = graph_gate(request, TOKEN, self.refused)
        if refused is not None:
            return refused
        parts = request.path.split("/")[2:]
        if parts == [ORG]:
            return json_reply({"id": ORG, "username": ORG_NAME})
        if parts == [TEENS]:
            return json_reply({"id": TEENS, "username": "riversideteens"})
        if parts[1:] == ["threads_insights"]:
            assert request.arg("metric") == "followers_count"
            value = 321 if parts[0] == ORG else 5
            return json_reply({"data": [{"name": "followers_count", "period": "day", "title": "followers_count",
                                         "description": "", "total_value": {"value": value}, "id": f"{parts[0]}/x"}]})
        if parts[0] == TEENS:
            return json_reply({"data": []})
        mine = [p for p in self.live() if p.author == ORG_NAME]
        if parts == [ORG, "threads"]:
            return self.page(request, [p for p in mine if p.parent is None])
        if parts == [ORG, "replies"]:
            return self.page(request, [p for p in mine if p.parent is not None])
        if parts == [ORG, "mentions"]:
            return self.page(request, [p for p in self.live() if p.mentions_org and p.author != ORG_NAME])
        if len(parts) == 2 and parts[0] in self.posts and parts[1] in ("conversation", "insights"):
            p = self.posts[parts[0]]
            if p.deleted:
                return graph_error(100, "Object does not exist", 400, 33)
            if parts[1] == "conversation":
                return self.page(request, [c for c in self.live() if c.parent and self.root(c).id == p.id])
            assert request.arg("metric") == "likes,replies,reposts,quotes"
            total = sum(1 for c in self.live() if c.parent and self.root(c).id == p.id)
            values = {"likes": p.likes, "replies": total, "reposts": p.reposts, "quotes": p.quotes}
            return json_reply({"data": [{"name": k, "period": "lifetime", "values": [{"value": v}], "title": k,
                                         "description": "", "id": f"{p.id}/insights/{k}/lifetime"} for k, v in values.items()]})
        return graph_error(100, "Unsupported get request.", 400, 33)


def build(th: FakeThreads) -> dict[str, str]:
    """The scenario: 60 days of a library's Threads profile, its staff member and its community."""
    me = ORG_NAME
    ids: dict[str, str] = {}
    ids["t0"] = th.post(me, ago(70), "Hello Threads")  # beyond the 60-day horizon
    t = ago(45)  # the baseline window
    ids["t4"] = th.post(me, t, "Spring sale")
    ids["r0"] = th.post("alice", t + timedelta(hours=1), "When?", ids["t4"])
    ids["o0"] = th.post(me, t + timedelta(hours=3), "Saturday", ids["r0"])
    for i, days in enumerate((2, 12, 22, 27)):  # routine posts
        ids[f"n{i}"] = th.post(me, ago(days), f"Opening hours update {i}")
    t = ago(20)
    ids["t1"] = th.post(me, t, "Summer reading starts today! #SummerReading https://library.example.org/summer",
                        likes=5, reposts=2, quotes=1)
    ids["s1"] = th.post(me, t + timedelta(minutes=5), "Pick up a reading log.", ids["t1"])  # a self-thread
    ids["r1"] = th.post("alice", t + timedelta(hours=1), "Can adults join?", ids["t1"])
    ids["o1"] = th.post(me, t + timedelta(hours=4), "Yes, everyone can!", ids["r1"])
    ids["r2"] = th.post("bob", t + timedelta(days=1), "Great news", ids["o1"])
    ids["r3"] = th.post("carol", t + timedelta(days=1, hours=1), "Is there a prize?", ids["r2"])
    ids["j1"] = th.post("jane.staff", t + timedelta(days=1, hours=1, minutes=30), "A tote bag!", ids["r3"])
    ids["r4"] = th.post("dave", t + timedelta(days=2), "Where are the logs?", ids["s1"])
    ids["h1"] = th.post("eve", t + timedelta(days=3), "Cheap followers", ids["t1"], hidden=True)
    ids["p1"] = th.post(None, t + timedelta(days=3, hours=1), "Nice", ids["t1"])  # a private profile
    t = ago(10)
    ids["t2"] = th.post(me, t, "The library is closed on Tuesday", likes=3)
    ids["r5"] = th.post("alice", t + timedelta(hours=1), "Noted", ids["t2"])
    ids["m2"] = th.post("carol", t + timedelta(hours=2), "@riversidelibrary all day?", ids["t2"], mentions_org=True)
    ids["o2"] = th.post(me, t + timedelta(days=1, hours=2), "Yes, all day.", ids["m2"])
    # mentions outside the library's threads: bob's own post, answered after 2 h; carol in alice's thread
    ids["mm1"] = th.post("bob", ago(8), "@riversidelibrary do you have #SummerReading kits?", mentions_org=True)
    ids["o3"] = th.post(me, ago(8, hours=-2), "We do!", ids["mm1"])
    ids["x1"] = th.post("alice", ago(6, hours=1), "Anyone know the opening hours?")
    ids["mm3"] = th.post("carol", ago(6), "@riversidelibrary will know", ids["x1"], mentions_org=True)
    t = ago(5)
    ids["t3"] = th.post(me, t, "Book club tonight", likes=1, reposts=1)
    ids["r6"] = th.post("bob", t + timedelta(hours=3), "See you there", ids["t3"])
    ids["rp"] = th.post(me, ago(4), "", media_type="REPOST_FACADE")  # the library reposts someone's post
    return ids



def source(url: str, sid: str = "library-threads", token: str = "TEST_THREADS_TOKEN", user: str = ORG) -> str:
    return source_toml(sid, "threads", user_id=user, api=url, token=env(token))


def thread_reads(server: ReplayServer, edge: str = "conversation") -> list[str]:
    """The threads whose `edge` (their conversation, or their insights) was read, first pages only."""
    return [r.path.split("/")[2] for r in server.requests("/v1.0/") if r.path.endswith(f"/{edge}") and not r.arg("after")]


GOALS = goals_toml(ALL, SUMMER_TAG)

THREADS = Platform(
    "threads", "library-threads", NOW, {"TEST_THREADS_TOKEN": TOKEN}, lambda server: filled(FakeThreads(server), build),
    source, GOALS, also("threads:@jane.staff"),
)
