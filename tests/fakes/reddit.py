"""Reddit, played in the API's shapes: the OAuth refresh-token grant, Listings paged with
`after`, comment trees with "load more" and "continue this thread" stubs, the inbox."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from tests.fakes import ALL, SUMMER_WORDS, UTC, Ago, Platform, also, env, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

SECRETS = {"TEST_REDDIT_ID": "app-id-1234", "TEST_REDDIT_SECRET": "app-secret-5678", "TEST_REDDIT_REFRESH": "refresh-good-9012"}
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
USER = "RiversideLib"
ago = Ago(NOW)


class FakeReddit:
    """Reddit's OAuth, Listing and comment-tree shapes, computed from a small world of posts.

    `num_comments` counts every comment ever made under a submission, as Reddit's does
    (deleting one does not lower it). Comments marked `more` are left out of the tree
    behind a "load more comments" stub; comments deeper than `depth_cap` behind a
    "continue this thread" stub.
    """

    def __init__(self, server: ReplayServer, page: int = 2, depth_cap: int = 4) -> None:
        self.server, self.page, self.depth_cap = server, page, depth_cap
        self.submissions: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.mentions: list[str] = []
        self.refresh_tokens = {SECRETS["TEST_REDDIT_REFRESH"]: "read history privatemessages identity"}
        self.issued: set[str] = set()
        self.spent = 0
        """Answers still to say the rate limit is used up."""
        server.route("POST", "/api/v1/access_token", self.token)
        server.route("GET", "/user/*", self.user)
        server.route("GET", "/comments/*", self.thread)
        server.route("GET", "/api/morechildren", self.more)
        server.route("GET", "/message/mentions", self.inbox)

    # -- the world
    def submit(self, sid: str, when: datetime, title: str, *, text: str = "", score: int = 1, crossposts: int = 0,
               crosspost_of: str | None = None, author: str = USER) -> None:
        self.submissions[sid] = {
            "id": sid, "name": f"t3_{sid}", "author": author, "title": title, "selftext": text,
            "selftext_html": f'<!-- SC_OFF --><div class="md"><p>{text}</p></div><!-- SC_ON -->' if text else None,
            "is_self": True, "url": f"https://www.reddit.com/r/riverside/comments/{sid}/x/", "created_utc": when.timestamp(),
            "permalink": f"/r/riverside/comments/{sid}/x/", "score": score, "ups": score, "likes": author == USER or None,
            "num_crossposts": crossposts, "subreddit": "riverside", "removed_by_category": None,
            **({"crosspost_parent": f"t3_{crosspost_of}"} if crosspost_of else {}),
        }

    def comment(self, cid: str, link: str, parent: str | None, author: str, when: datetime, body: str, *,
                more: bool = False, gone: bool = False) -> None:
        self.comments[cid] = {
            "id": cid, "name": f"t1_{cid}", "author": "[deleted]" if gone else author,
            "author_fullname": f"t2_{author.lower()}", "link_id": f"t3_{link}",
            "parent_id": f"t1_{parent}" if parent else f"t3_{link}", "created_utc": when.timestamp(),
            "body": "[deleted]" if gone else body,
            "body_html": None if gone else f'<div class="md"><p>{body}</p></div>',
            "permalink": f"/r/riverside/comments/{link}/x/{cid}/", "score": 1, "_more": more, "_removed": False,
        }

    def remove(self, cid: str) -> None:
        """A comment deleted by its author with no replies: Reddit drops it from the tree."""
        self.comments[cid]["_removed"] = True

    def num_comments(self, sid: str) -> int:
        return sum(1 for c in self.comments.values() if c["link_id"] == f"t3_{sid}")

    @property
    def rate(self) -> dict[str, str]:
        """Reddit's rate-limit headers: 600 requests per 10 minutes, remaining as a float."""
        left = "0.0" if self.spent else "598.0"
        self.spent = max(0, self.spent - 1)
        return {"x-ratelimit-remaining": left, "x-ratelimit-used": "2", "x-ratelimit-reset": "42" if left == "0.0" else "300"}

    def live(self) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if not c["_removed"]]

    # -- shapes
    def _authorized(self, request: Request) -> Reply | None:
        assert request.headers["user-agent"].startswith("python:twoway:")
        assert request.headers["user-agent"].endswith(f"(by /u/{USER})")
        assert request.arg("raw_json") == "1"
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.issued:
            return json_reply({"message": "Unauthorized", "error": 401}, 401)
        return None

    def _listing(self, items: list[dict[str, Any]], kind: str, request: Request) -> Reply:
        items = sorted(items, key=lambda i: i["created_utc"], reverse=True)
        after = request.arg("after")
        if after:
            items = items[[i["name"] for i in items].index(after) + 1:]
        page = items[: min(int(request.arg("limit") or 25), self.page)]
        data = {"after": page[-1]["name"] if len(items) > len(page) else None, "before": None, "dist": len(page),
                "children": [{"kind": kind, "data": self._public(i)} for i in page]}
        return json_reply({"kind": "Listing", "data": data}, headers=self.rate)

    def _public(self, item: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in item.items() if not k.startswith("_")}
        if item["name"].startswith("t3_"):
            out["num_comments"] = self.num_comments(item["id"])
        return out

    def token(self, request: Request) -> Reply:
        assert request.headers["user-agent"].endswith(f"(by /u/{USER})")
        client = base64.b64encode(f"{SECRETS['TEST_REDDIT_ID']}:{SECRETS['TEST_REDDIT_SECRET']}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {client}":
            return json_reply({"message": "Unauthorized", "error": 401}, 401)
        form = parse_qs(request.body.decode())
        assert form["grant_type"] == ["refresh_token"]
        scope = self.refresh_tokens.get(form["refresh_token"][0])
        if scope is None:
            return json_reply({"error": "invalid_grant"})  # Reddit answers a revoked grant with a 200
        access = f"access-{len(self.issued)}"
        self.issued.add(access)
        return json_reply({"access_token": access, "token_type": "bearer", "expires_in": 86400, "scope": scope})

    def user(self, request: Request) -> Reply:
        refused = self._authorized(request)
        if refused:
            return refused
        parts = request.path.split("/")
        assert parts[2] == USER
        if parts[3] == "about":
            return json_reply({"kind": "t2", "data": {"name": USER, "subreddit": {"subscribers": 321}}}, headers=self.rate)
        assert request.arg("sort") == "new"
        if parts[3] == "submitted":
            return self._listing(list(self.submissions.values()), "t3", request)
        mine = [c for c in self.live() if c["author"] == USER]
        return self._listing(mine, "t1", request)

    def _tree(self, parent: str, depth: int) -> list[dict[str, Any]]:
        children = sorted((c for c in self.live() if c["parent_id"] == parent), key=lambda c: c["created_utc"])
        if children and depth >= self.depth_cap:
            return [{"kind": "more", "data": {"count": 0, "name": "t1__", "id": "_", "parent_id": parent,
                                              "depth": depth, "children": []}}]
        nodes, hidden = [], [c["id"] for c in children if c["_more"]]
        for c in children:
            if c["_more"]:
                continue
            below = self._tree(c["name"], depth + 1)
            replies = {"kind": "Listing", "data": {"children": below, "after": None}} if below else ""
            nodes.append({"kind": "t1", "data": {**self._public(c), "depth": depth, "replies": replies}})
        if hidden:
            nodes.append({"kind": "more", "data": {"count": len(hidden), "name": f"t1_{hidden[0]}", "id": hidden[0],
                                                   "parent_id": parent, "depth": depth, "children": hidden}})
        return nodes

    def thread(self, request: Request) -> Reply:
        refused = self._authorized(request)
        if refused:
            return refused
        assert (request.arg("sort"), request.arg("limit"), request.arg("depth")) == ("old", "500", "10")
        parts = request.path.split("/")
        sid = parts[2]
        if sid not in self.submissions:
            return json_reply({"message": "Not Found", "error": 404}, 404)
        top = {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": self._public(self.submissions[sid])}]}}
        if len(parts) > 4:  # /comments/{id}/_/{comment}: that comment and the replies below it
            c = self.comments[parts[4]]
            below = self._tree(c["name"], 1)
            node = {"kind": "t1", "data": {**self._public(c), "replies": {"kind": "Listing", "data": {"children": below}} if below else ""}}
            return json_reply([top, {"kind": "Listing", "data": {"children": [node]}}], headers=self.rate)
        return json_reply([top, {"kind": "Listing", "data": {"children": self._tree(f"t3_{sid}", 0)}}], headers=self.rate)

    def more(self, request: Request) -> Reply:
        refused = self._authorized(request)
        if refused:
            return refused
        assert request.arg("api_type") == "json" and (request.arg("link_id") or "").startswith("t3_")
        things = [{"kind": "t1", "data": {**self._public(self.comments[cid]), "replies": ""}}
                  for cid in (request.arg("children") or "").split(",")]
        return json_reply({"json": {"errors": [], "data": {"things": things}}}, headers=self.rate)

    def inbox(self, request: Request) -> Reply:
        refused = self._authorized(request)
        if refused:
            return refused
        items = []
        for cid in self.mentions:
            c = self.comments[cid]
            link = c["link_id"].removeprefix("t3_")
            items.append({
                **{k: c[k] for k in ("id", "name", "author", "parent_id", "created_utc", "body", "body_html")},
                "type": "username_mention", "was_comment": True, "subject": "username mention", "new": True,
                "context": f"/r/elsewhere/comments/{link}/x/{cid}/?context=3", "dest": USER,
            })
        return self._listing(items, "t1", request)


class World:
    """Sixty days of a library's Reddit account, one staff member and its community."""

    def __init__(self, fake: FakeReddit) -> None:
        f = self.fake = fake
        f.submit("s0", ago(70), "Welcome to our subreddit", score=9)
        f.comment("a_old", "s0", None, USER, ago(65), "Thanks for joining")
        # S3, in the baseline window: bob answered after 1 h
        f.submit("s3", ago(45), "Spring sale", score=5)
        f.comment("c10", "s3", None, "bob", ago(45, hours=-1), "Any comics?")
        f.comment("a4", "s3", "c10", USER, ago(45, hours=-2), "Plenty!")
        # S1: replies at several depths, the library and jane (staff) answering, one deleted comment
        # with a reply under it, one comment behind "load more", one behind "continue this thread"
        s1 = ago(20)
        f.submit("s1", s1, "Summer reading starts today!", text='Log your books at <a href="https://library.example.org/summer">our page</a>',
                 score=12, crossposts=2)
        f.comment("c1", "s1", None, "alice", s1 + timedelta(hours=1), "Can adults join?")
        f.comment("a1", "s1", "c1", USER, s1 + timedelta(hours=4), "Yes, everyone can!")
        f.comment("c2", "s1", "a1", "bob", s1 + timedelta(days=1), "Great news")
        f.comment("c3", "s1", "c2", "carol", s1 + timedelta(days=1, hours=1), "Is there a prize?")
        f.comment("j1", "s1", "c3", "Jane_Staff", s1 + timedelta(days=1, hours=1, minutes=30), "A tote bag!")
        f.comment("c4", "s1", None, "dave", s1 + timedelta(days=2), "Where are the logs?")
        f.comment("c5", "s1", None, "eve", s1 + timedelta(days=2, hours=1), "oops", gone=True)
        f.comment("c6", "s1", "c5", "eve", s1 + timedelta(days=2, hours=2), "Reposting: where do I sign up?")
        f.comment("c7", "s1", None, "frank", s1 + timedelta(days=3), "Me too", more=True)
        # S2: carol names the library in its own thread (a reply, counted once); answered a day later
        s2 = ago(10)
        f.submit("s2", s2, "The library is closed on Tuesday", score=3)
        f.comment("c8", "s2", None, "alice", s2 + timedelta(hours=1), "Noted")
        f.comment("c9", "s2", None, "carol", s2 + timedelta(hours=2), f"All day, u/{USER}?")
        f.comment("a3", "s2", "c9", USER, s2 + timedelta(days=1, hours=2), "Yes, all day.")
        # mentions elsewhere: bob's answered after 2 h, carol's not; one older than the horizon
        f.comment("m1", "o1", None, "bob", ago(8), f"Hey u/{USER} do you have summer reading kits?")
        f.comment("a2", "o1", "m1", USER, ago(8, hours=-2), "We do!")
        f.comment("m2", "o2", "zz", "carol", ago(6), f"u/{USER} will know")
        f.comment("m0", "o3", None, "dave", ago(90), f"u/{USER} hello")
        f.mentions = ["m0", "m1", "m2", "c9"]
        # X1: the library crossposts its own S1 (a repost); S4: a broadcast nobody answered
        f.submit("x1", ago(5), "Summer reading starts today!", score=4, crosspost_of="s1")
        f.submit("s4", ago(3), "Book sale", score=1)



def source(url: str, sid: str = "reddit", refresh: str = "TEST_REDDIT_REFRESH") -> str:
    return source_toml(
        sid, "reddit", username=USER, api=url, client_id=env("TEST_REDDIT_ID"), client_secret=env("TEST_REDDIT_SECRET"),
        refresh_token=env(refresh),
    )


GOALS = goals_toml(ALL, SUMMER_WORDS, goal_toml("Read along", hashtags=["ReadAlong"]))
"""Read along: a hashtag filter, which `#ReadAlong` written in a title, a text or a comment meets (SPEC §3)."""

REDDIT = Platform(
    "reddit", "reddit", NOW, SECRETS, lambda server: World(FakeReddit(server)), source, GOALS, also("reddit:u/Jane_Staff")
)
