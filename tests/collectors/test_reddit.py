"""The Reddit collector: recorded real answers (PRAW's cassettes) replayed, then a fake Reddit
in the API's shapes (OAuth refresh-token grant, Listings paged with `after`, comment trees
with "load more" and "continue this thread" stubs, the inbox) polled through
`twoway collect --once`. Every expected metric is worked out by hand from the scenario in
the comments next to it (SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from twoway.plugin.protocol import Context
from twoway.plugin.http import FetchError, Http
from twoway.collectors.reddit import RedditCollector, comment_post, submission_post
from tests.collecting import FakeSleep, collect, collect_once, fake_sleep, goals, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.cli import main
from twoway.config import Credential, Source

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "reddit"
UTC = timezone.utc
SECRETS = {"TEST_REDDIT_ID": "app-id-1234", "TEST_REDDIT_SECRET": "app-secret-5678", "TEST_REDDIT_REFRESH": "refresh-good-9012"}


# -- recorded real answers ---------------------------------------------------------------


def cassette(name: str) -> list[dict[str, Any]]:
    """(method, uri, status, headers, body) of each interaction of a recorded Betamax cassette."""
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"real Reddit data not found at {REALDATA}")
    out = []
    for item in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
        request, response = item["request"], item["response"]
        headers = {k.lower(): v[0] if isinstance(v, list) else v for k, v in response["headers"].items()}
        out.append({
            "method": request["method"], "uri": request["uri"], "status": response["status"]["code"],
            "headers": headers, "body": json.loads(response["body"]["string"]),
            "form": parse_qs(request.get("body") or ""),
        })
    return out


def test_real_submissions_listing_parses_to_posts() -> None:
    (_, listing) = cassette("user_submissions_new.json")
    assert urlsplit(listing["uri"]).path == "/user/spez/submitted"
    items = [c["data"] for c in listing["body"]["data"]["children"]]
    posts = [submission_post(i) for i in items]
    assert len(posts) == 100 and listing["body"]["data"]["after"] == "t3_21oo"
    first = posts[0]
    assert (first.id, first.author_id, first.root_id, first.parent_id) == ("t3_434h6c", "spez", "t3_434h6c", None)
    assert first.created_at == datetime(2016, 1, 28, 18, 5, 43, tzinfo=UTC)  # created_utc 1454004343
    assert first.url == "https://www.reddit.com/r/announcements/comments/434h6c/reddit_in_2016/"
    assert first.text.startswith("Reddit in 2016\nHi All,\nNow that 2015 is in the books")
    assert "<" not in first.text and "&amp;" not in first.text
    # a self post's links are the ones written in it; a link post leads with its target
    assert "https://www.reddit.com/r/announcements/comments/2x0g9v/from_1_to_9000_communities_now_taking_steps_to/" in first.links
    til = next(p for p in posts if p.id == "t3_3dk1jh")
    assert til.links == ("https://en.wikipedia.org/wiki/Orville_Redenbacher?repost=true",)
    assert all(p.created_at.tzinfo is UTC and p.author_id == "spez" for p in posts)


def test_real_comment_tree_shows_the_submitter_answering() -> None:
    token, tree = cassette("submission_comments_op_reply.json")
    assert token["body"]["token_type"] == "bearer" and token["body"]["expires_in"] == 3600
    submission = submission_post(tree["body"][0]["data"]["children"][0]["data"])
    (question,) = tree["body"][1]["data"]["children"]
    (answer,) = question["data"]["replies"]["data"]["children"]
    asked, answered = comment_post(question["data"]), comment_post(answer["data"])
    assert (submission.id, submission.author_id) == ("t3_2gmzqe", "bboe")
    assert (asked.author_id, asked.parent_id, asked.root_id) == ("paneer_burrito", "t3_2gmzqe", "t3_2gmzqe")
    assert (answered.author_id, answered.parent_id, answered.root_id) == ("bboe", "t1_cklfmye", "t3_2gmzqe")
    assert answered.created_at - asked.created_at == timedelta(seconds=1411010034 - 1411005112)
    assert answered.text.startswith("Yes it does. That fix is also in the master branch, we just haven't made")


def test_real_parent_lookup_matches_the_tree() -> None:
    _, info, context = cassette("comment_parent_lookup.json")
    looked_up = comment_post(info["body"]["data"]["children"][0]["data"])
    (parent,) = context["body"][1]["data"]["children"]
    assert looked_up.parent_id == comment_post(parent["data"]).id == "t1_cklfmye"
    assert looked_up.root_id == "t3_2gmzqe"


def _context(server: ReplayServer, username: str, *, horizon_days: int = 60, sleep: Any = None) -> Context:
    options = {
        "username": username, "api": server.url,
        "client_id": Credential(env="TEST_REDDIT_ID"), "client_secret": Credential(env="TEST_REDDIT_SECRET"),
        "refresh_token": Credential(env="TEST_REDDIT_REFRESH"),
    }
    http = Http(httpx.AsyncClient(), sleep=sleep) if sleep else Http(httpx.AsyncClient())
    return Context(Source("reddit", "reddit", 300, options), http, horizon_days * 86400, 6 * 3600)


def _empty_listing(request: Request) -> Reply:
    return json_reply({"kind": "Listing", "data": {"after": None, "children": []}})


async def test_real_mentions_through_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    token, mentions = cassette("inbox_mentions.json")
    assert token["form"] == {"grant_type": ["refresh_token"], "refresh_token": ["<REFRESH_TOKEN>"]}
    with replay_server() as server:
        server.route("POST", "/api/v1/access_token", lambda r: json_reply(token["body"]))
        server.route("GET", "/user/someone/about", lambda r: json_reply({"kind": "t2", "data": {"name": "someone"}}))
        server.route("GET", "/user/someone/submitted", _empty_listing)
        server.route("GET", "/user/someone/comments", _empty_listing)
        rate = {k: v for k, v in mentions["headers"].items() if k.startswith("x-ratelimit")}
        server.route(
            "GET", "/message/mentions",
            lambda r: _empty_listing(r) if r.arg("after") else json_reply(mentions["body"], headers=rate),
        )
        context = _context(server, "someone")
        try:
            batch = await RedditCollector(context).poll(None, datetime(2019, 4, 10, tzinfo=UTC))
        finally:
            await context.http.client.aclose()
        assert [r.arg("after") for r in server.requests("/message/mentions")] == [None, "t1_ekfncs9"]
        assert all(r.headers["authorization"] == "Bearer <ACCESS_TOKEN>" for r in server.requests("/user/"))
        budget = context.http.budgets[urlsplit(server.url).netloc]
    assert len(batch.posts) == 16 and all(p.mentions_source for p in batch.posts)
    first = batch.posts[0]
    assert (first.id, first.author_id, first.parent_id, first.root_id) == ("t1_ekftbox", "2botter2loop", "t3_bb24k7", "t3_bb24k7")
    # the recording replaced the account's name by a `<USERNAME>` placeholder, which reads as a tag in body_html
    assert first.text.startswith("Hello /u/,\nYour submission was removed from /r/BetterEverLoop for the following")
    assert "https://redd.it/bb1sep" in first.links
    # x-ratelimit-remaining: 9324.0 (a float), reset: 53 seconds from now
    assert (budget.remaining, budget.limit) == (9324, None)
    assert batch.measures == frozenset({"replies", "responses", "likes", "mentions"})
    assert json.loads(batch.cursor or "{}")["mentioned"] == 1554774308.0  # the newest mention's created_utc


# -- a fake Reddit ---------------------------------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
USER = "RiversideLib"


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


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


SOURCES = """
[[sources]]
id = "{sid}"
platform = "reddit"
username = "{user}"
api = "{url}"
client_id = {{ env = "TEST_REDDIT_ID" }}
client_secret = {{ env = "TEST_REDDIT_SECRET" }}
refresh_token = {{ env = "{refresh}" }}
"""
GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
keywords = ["summer reading"]
"""


def _config(tmp_path: Path, server: ReplayServer, **sources: str) -> Path:
    text = "".join(SOURCES.format(sid=sid, user=USER, url=server.url, refresh=env) for sid, env in sources.items())
    config = write_config(tmp_path, text, GOALS, organization='also = ["reddit:u/Jane_Staff"]', dashboard='thread_refresh = "1h"')
    return config


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: FakeSleep) -> Any:  # noqa: F811
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        w = World(FakeReddit(server))
        yield w, _config(tmp_path, server, reddit="TEST_REDDIT_REFRESH")


def test_scenario_metrics(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    server = w.fake.server
    collect(config, monkeypatch, NOW)
    # six submissions two a page: the third page reaches S0, past the 60-day horizon; the account's
    # comments likewise; mentions: [m2, m1], then [c9, m0], m0 older than the horizon
    assert len(server.requests("/user/RiversideLib/submitted")) == 3
    assert len(server.requests("/user/RiversideLib/comments")) == 3
    assert len(server.requests("/message/mentions")) == 2
    assert len(server.requests("/api/v1/access_token")) == 1
    # one read per broadcast thread (not the crosspost X1), plus S1's "continue this thread" (below c3)
    threads = sorted(r.path for r in server.requests("/comments/"))
    assert threads == ["/comments/s1", "/comments/s1/_/c3", "/comments/s2", "/comments/s3", "/comments/s4"]
    assert [r.arg("children") for r in server.requests("/api/morechildren")] == ["c7"]

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in the last 30 days: S1, S2, S4 (X1 is a crosspost, S3 in the baseline)
    assert m["broadcast"] == 3
    # S1: c1 c2 c3 c4 c6 c7 (c5 deleted; a1 and jane's j1 are the organization); S2: c8 c9
    assert m["replies"] == 8
    # m1 and m2; c9 names the library inside S2's thread, so it is a reply; m0 is too old
    assert m["mentions"] == 2 and m["community_messages"] == 10
    # a1→c1 after 3 h, j1→c3 after 30 min, a3→c9 after 1 day, a2→m1 after 2 h
    assert (m["responses"], m["answered"], m["unanswered"], m["two_way"]) == (4, 4, 6, 14)
    assert m["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2
    assert m["p90_response_seconds"] == 86400  # nearest rank: the 4th of 4
    # scores 12, 3, 1, each less the library's own upvote; crossposts of S1: 2, one the library's X1
    assert (m["likes"], m["reposts"], m["quotes"]) == (11 + 2 + 0, 1, None)
    assert m["voices"] == 6  # alice, bob, carol, dave, eve, frank
    assert m["conversation_rate"] == pytest.approx(8 / 3)
    assert report["All"]["unavailable"] == {"quotes": ["reddit"]}
    b = report["All"]["baseline"]
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"], b["likes"]) == (1, 1, 1, 3600, 4)

    s = report["Summer reading"]["metrics"]
    # S1 (its title), its six replies, and bob's mention m1 asking about summer reading kits
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 6, 1, 3)
    assert s["median_response_seconds"] == 2 * 3600  # 30 min, 2 h, 3 h
    assert (s["likes"], s["reposts"]) == (11, 1)

    (source,) = snapshot_json(config)["sources"]
    assert (source["status"], source["followers"]) == ("ok", 321)


def test_steady_state_and_changes(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    f, server = w.fake, w.fake.server
    collect(config, monkeypatch, NOW)
    before = {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}

    # nothing changed: the token, the profile, the two listings' pages, one page of mentions; no thread
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    paths = sorted(r.path for r in server.requests())
    assert paths == sorted(
        ["/api/v1/access_token", "/user/RiversideLib/about", "/message/mentions"]
        + ["/user/RiversideLib/submitted"] * 3 + ["/user/RiversideLib/comments"] * 3
    )
    assert {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()} == before

    # a new comment under the library's answer a1 moves S1's num_comments: only S1 is read
    f.comment("g1", "s1", "a1", "grace", NOW + timedelta(minutes=8), "Thanks!")
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=10))
    assert sorted(r.path for r in server.requests("/comments/")) == ["/comments/s1", "/comments/s1/_/c3"]
    assert len(server.requests("/api/morechildren")) == 1
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["unanswered"]) == (8 + 1, 6 + 1)

    # the newest mention is now inside S2: read once, then a quiet cycle reads no thread again
    f.comment("h1", "s2", "c9", "hank", NOW + timedelta(minutes=11), f"u/{USER} same question")
    f.mentions.append("h1")
    collect(config, monkeypatch, NOW + timedelta(minutes=12))
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=14))
    assert server.requests("/comments/") == [] and len(server.requests("/message/mentions")) == 1
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["mentions"], m["unanswered"]) == (10, 2, 8)  # hank's is a reply in S2, counted once

    # deletions: S4 leaves the listing; alice deletes c8, which moves no counter, so S2 is re-read
    # only once thread_refresh (1 h) is due
    del f.submissions["s4"]
    f.remove("c8")
    collect(config, monkeypatch, NOW + timedelta(minutes=20))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["replies"]) == (2, 10)
    collect(config, monkeypatch, NOW + timedelta(hours=2))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["replies"], m["voices"]) == (2, 9, 8)  # grace and hank joined; alice still speaks in S1


def test_without_the_privatemessages_scope_mentions_are_unavailable(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, config = world
    w.fake.refresh_tokens[SECRETS["TEST_REDDIT_REFRESH"]] = "read history"
    collect(config, monkeypatch, NOW)
    assert w.fake.server.requests("/message/mentions") == []
    report = goals(config)["All"]
    assert report["metrics"]["mentions"] is None
    assert report["unavailable"] == {"mentions": ["reddit"], "quotes": ["reddit"]}
    # still seen: c9 as a reply in S2, and a2 (found in the account's comments) answers nothing known
    assert (report["metrics"]["replies"], report["metrics"]["responses"]) == (8, 3)


def test_a_missing_credential_fails_check_config(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, config = world
    monkeypatch.delenv("TEST_REDDIT_SECRET")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--config", str(config), "check-config"]) == 2
    (line,) = [line for line in err.getvalue().splitlines() if "client_secret" in line]
    assert "sources[0].client_secret: TEST_REDDIT_SECRET is not set" in line and "'reddit'" in line  # the key and the source


def test_a_revoked_refresh_token_is_one_line_and_the_other_source_is_collected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: FakeSleep  # noqa: F811
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEST_REDDIT_REVOKED", "refresh-revoked-3456")
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        World(FakeReddit(server))
        config = _config(tmp_path, server, reddit="TEST_REDDIT_REFRESH", old="TEST_REDDIT_REVOKED")
        code, err = collect_once(config)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("twoway: old: ")
    assert "refresh token revoked or expired: run the OAuth flow again at https://www.reddit.com/prefs/apps" in line
    assert not any(secret in err for secret in [*SECRETS.values(), "refresh-revoked-3456"])
    sources = {s["id"]: s for s in snapshot_json(config)["sources"]}
    assert (sources["reddit"]["status"], sources["old"]["status"]) == ("ok", "error")
    assert goals(config)["All"]["by_source"]["reddit"]["broadcast"] == 3


async def test_refused_client_secret_and_missing_scope_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with replay_server() as server:
        fake = FakeReddit(server)
        monkeypatch.setenv("TEST_REDDIT_SECRET", "wrong-secret-0000")
        context = _context(server, USER)
        try:
            with pytest.raises(FetchError, match="client_id or client_secret refused: check them at https://www.reddit.com/prefs/apps") as refused:
                await RedditCollector(context).poll(None, NOW)
            assert "wrong-secret-0000" not in str(refused.value)
            monkeypatch.setenv("TEST_REDDIT_SECRET", SECRETS["TEST_REDDIT_SECRET"])
            fake.refresh_tokens[SECRETS["TEST_REDDIT_REFRESH"]] = "identity read"
            with pytest.raises(FetchError, match="lacks the OAuth scope history"):
                await RedditCollector(context).poll(None, NOW)
            # a scope Reddit granted but then refuses (an app restricted later): 403 on the endpoint
            fake.refresh_tokens[SECRETS["TEST_REDDIT_REFRESH"]] = "read history privatemessages"
            server.route("GET", "/message/mentions", lambda r: json_reply({"message": "Forbidden", "error": 403}, 403))
            with pytest.raises(FetchError, match=r"/message/mentions: Reddit refused: the refresh token needs the OAuth scopes"):
                await RedditCollector(context).poll(None, NOW)
        finally:
            await context.http.client.aclose()


async def test_an_access_token_refused_mid_poll_is_renewed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with replay_server() as server:
        fake = FakeReddit(server)
        fake.submit("s4", ago(3), "Book sale")
        context = _context(server, USER)
        collector = RedditCollector(context)
        try:
            await collector.poll(None, NOW)
            assert len(server.requests("/api/v1/access_token")) == 1
            await collector.poll(None, NOW)  # the same process keeps its access token
            assert len(server.requests("/api/v1/access_token")) == 1
            fake.issued.clear()  # Reddit revokes it early
            batch = await collector.poll(None, NOW)
            assert len(server.requests("/api/v1/access_token")) == 2
            assert [p.id for p in batch.posts] == ["t3_s4"]
            fake.refresh_tokens.clear()  # and now the refresh token too
            fake.issued.clear()
            with pytest.raises(FetchError, match="refresh token revoked or expired"):
                await collector.poll(None, NOW)
        finally:
            await context.http.client.aclose()


async def test_the_rate_limit_budget_is_shown_and_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    sleep = FakeSleep()
    with replay_server() as server:
        fake = FakeReddit(server)
        fake.submit("s4", ago(3), "Book sale")
        context = _context(server, USER, sleep=sleep)
        try:
            await RedditCollector(context).poll(None, NOW)
            budget = context.http.budgets[urlsplit(server.url).netloc]
            assert (budget.remaining, budget.limit) == (598, None)  # "598.0": Reddit's remaining is a float
            assert sleep.pauses == []
            fake.spent = 1
            await RedditCollector(context).poll(None, NOW)
        finally:
            await context.http.client.aclose()
    # the first answer said 0 left for 42 s: the next request waited for the reset, once
    assert len(sleep.pauses) == 1 and 40 < sleep.pauses[0] <= 42


def test_a_broken_answer_fails_the_source_and_keeps_the_data(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    collect(config, monkeypatch, NOW)
    before = {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}
    w.fake.server.route("GET", "/user/*", lambda r: Reply(200, b"<!DOCTYPE html><html>Our CDN is down</html>", {"Content-Type": "text/html"}))
    monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=5)).isoformat())
    code, err = collect_once(config)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "HTML page" in err
    assert {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()} == before
    assert snapshot_json(config)["sources"][0]["status"] == "error"
