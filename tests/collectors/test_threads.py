"""The Threads collector against a replay server playing the Threads API in its documented
shapes (there are no recorded Threads answers in shared/realdata): the profile's threads,
replies and mentions, cursor paging without `next`, `/conversation` at every depth,
media and user insights, Graph errors. Polled through `twoway collect --once`.

Every expected metric is worked out by hand from the scenario in the comments next to
it (SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from twoway.plugin.protocol import explain
from twoway.plugin.http import FetchError
from twoway.collectors.threads import ADVICE, _Authors, _metric_values, parse_counters, parse_post
from tests.collecting import collect, collect_once, fake_sleep, goals, measured, run_cli, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from tests.collectors.test_facebook import graph_error

UTC = timezone.utc
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "THAA-threads-token-s3cret"
ORG, ORG_NAME = "2001", "riversidelibrary"
TEENS = "2002"
"""The library's second profile: the healthy source next to a refused one."""


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def th_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


# -- parsing the documented shapes ---------------------------------------------------------


def test_a_reply_names_its_parent_and_thread_and_the_profile_by_ownership() -> None:
    authors = _Authors(ORG, ORG_NAME)
    reply = {"id": "18050", "text": "Yes! #SummerReading https://library.example.org/summer.", "username": "alice",
             "timestamp": "2026-06-10T12:00:00+0000", "permalink": "https://www.threads.net/@alice/post/Cabc",
             "is_reply_owned_by_me": False, "replied_to": {"id": "18040"}, "root_post": {"id": "18001"}}
    post = parse_post(reply, authors)
    assert (post.id, post.author_id, post.parent_id, post.root_id) == ("18050", "@alice", "18040", "18001")
    assert post.created_at == datetime(2026, 6, 10, 12, tzinfo=UTC)
    assert (post.hashtags, post.links) == (("SummerReading",), ("https://library.example.org/summer",))
    assert parse_post({**reply, "is_reply_owned_by_me": True}, authors).author_id == ORG
    private = {k: v for k, v in reply.items() if k not in ("username", "permalink")}  # a private profile's reply
    assert parse_post(private, authors).author_id == "unknown"
    top = parse_post({"id": "18001", "timestamp": "2026-06-10T11:00:00+0000", "username": ORG_NAME}, authors)
    assert (top.author_id, top.parent_id, top.root_id) == (ORG, None, "18001")


def test_insights_values_and_counters() -> None:
    media = {"data": [
        {"name": "likes", "period": "lifetime", "values": [{"value": 5}], "title": "likes", "id": "1/insights/likes/lifetime"},
        {"name": "replies", "period": "lifetime", "values": [{"value": 7}], "title": "replies", "id": "1/insights/replies/lifetime"},
        {"name": "reposts", "period": "lifetime", "values": [{"value": 2}], "title": "reposts", "id": "1/insights/reposts/lifetime"},
        {"name": "quotes", "period": "lifetime", "values": [{"value": 0}], "title": "quotes", "id": "1/insights/quotes/lifetime"},
    ]}
    counters = parse_counters("1", _metric_values(media), NOW)
    assert (counters.replies, counters.reposts, counters.quotes, counters.likes) == (7, 2, 0, 5)
    user = {"data": [{"name": "followers_count", "period": "day", "title": "followers_count",
                      "total_value": {"value": 321}, "id": f"{ORG}/insights/followers_count/day"}]}
    assert _metric_values(user) == {"followers_count": 321}
    assert parse_counters("1", None, NOW)[2:] == (None, None, None, None)


def test_an_expired_token_becomes_advice() -> None:
    body = {"error": {"message": "Error validating access token: Session has expired", "type": "OAuthException",
                      "code": 190, "error_subcode": 463, "fbtrace_id": "A"}}
    error = FetchError("https://graph.threads.net/v1.0/2001: HTTP 400: Error validating access token", status=400, data=body)
    assert "Threads token expired or revoked: refresh it before its 60 days are over" in str(explain(error, ADVICE))


# -- a replay server playing the Threads API ----------------------------------------------


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
class FakeThreads:
    """Posts of the profile and of others, in the Threads API's shapes, computed from one world."""

    server: ReplayServer
    posts: dict[str, Th] = field(default_factory=dict)
    refused: dict[str, Reply] = field(default_factory=dict)
    seq: int = 0

    def __post_init__(self) -> None:
        self.server.route("GET", "/v1.0/*", self.handle)

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
            "id": p.id, "text": p.text, "timestamp": th_time(p.created), "media_type": p.media_type,
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
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return graph_error(190, "Error validating access token: Session has expired on Friday, 26-Jun-26.", 400, 463)
        if "access_token" in request.query:
            return graph_error(100, "the token went into the query")
        if request.path in self.refused:
            return self.refused[request.path]
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


SOURCE = """thread_refresh = "1h"

[[sources]]
id = "library-threads"
platform = "threads"
user_id = "{org}"
api = "{url}"
token = {{ env = "TEST_THREADS_TOKEN" }}
"""
GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]
"""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: object) -> Iterator[tuple[FakeThreads, dict[str, str], Path]]:  # noqa: F811
    monkeypatch.setenv("TEST_THREADS_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        th = FakeThreads(server)
        ids = build(th)
        config = write_config(tmp_path, SOURCE.format(org=ORG, url=server.url), GOALS,
                              organization='also = ["threads:@jane.staff"]')
        yield th, ids, config


def thread_reads(server: ReplayServer, edge: str = "conversation") -> list[str]:
    return [r.path.split("/")[2] for r in server.requests("/v1.0/") if r.path.endswith(f"/{edge}") and not r.arg("after")]


def test_scenario_metrics(world: tuple[FakeThreads, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    th, ids, config = world
    server = th.server
    collect(config, monkeypatch, NOW)
    # 9 listed posts younger than 60 days (t1 t2 t3 t4, four routine ones, the repost), three a page, then an
    # empty page: the Threads API gives cursors but no `next`
    listing = [r for r in server.requests() if r.path == f"/v1.0/{ORG}/threads"]
    assert [r.arg("after") for r in listing] == [None, "3", "6", "9"]
    threads = sorted(ids[k] for k in ("t1", "t2", "t3", "t4", "n0", "n1", "n2", "n3"))
    assert sorted(thread_reads(server)) == threads and sorted(thread_reads(server, "insights")) == threads
    assert all("access_token" not in r.query for r in server.requests())

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in 30 days: t1 t2 t3 and four routine posts (s1 is t1's self-thread, the repost is neither)
    assert m["broadcast"] == 7
    # replies: r1 r2 r3 r4 p1 under t1 (h1 hidden; o1 s1 the library's, j1 the staff's), r5 m2 under t2, r6 under t3
    assert m["replies"] == 8
    # mentions: mm1 (bob's own post) and mm3 (in alice's thread); m2 counts once, as a reply
    assert m["mentions"] == 2 and m["community_messages"] == 10
    # responses: o1 → r1 after 3 h, j1 (staff) → r3 after 30 min, o2 → m2 after 1 day, o3 → mm1 after 2 h
    assert (m["responses"], m["answered"], m["unanswered"]) == (4, 4, 6)
    assert m["two_way"] == 14
    assert m["median_response_seconds"] == (7200 + 10800) / 2 and m["p90_response_seconds"] == 86400
    # insights: likes 5 + 3 + 1, reposts 2 + 0 + 1, quotes 1 + 0 + 0
    assert (m["likes"], m["reposts"], m["quotes"]) == (9, 3, 1)
    assert m["voices"] == 5  # alice, bob, carol, dave, the private profile of p1
    assert report["All"]["unavailable"] == {}
    b = report["All"]["baseline"]
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"]) == (1, 1, 1, 7200)  # t4 r0 o0

    s = report["Summer reading"]["metrics"]
    # t1 with its five replies; mm1 has the hashtag; o1 j1 o3 answer after 3 h, 30 min, 2 h
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 5, 1, 3)
    assert s["median_response_seconds"] == 7200
    assert (s["likes"], s["reposts"], s["quotes"]) == (5, 2, 1)

    (source,) = snapshot_json(config)["sources"]
    assert (source["status"], source["followers"]) == ("ok", 321)


def test_steady_state_first_replies_refresh_and_deletions(
    world: tuple[FakeThreads, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    th, ids, config = world
    server = th.server
    collect(config, monkeypatch, NOW)
    before = measured(config)

    # nothing changed: the profile, its followers, the three lists; no conversation, no insights
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    assert sorted(r.path for r in server.requests()) == sorted(
        [f"/v1.0/{ORG}", f"/v1.0/{ORG}/threads_insights"] + [f"/v1.0/{ORG}/threads"] * 4  # 9 posts: 3 pages + empty
        + [f"/v1.0/{ORG}/replies"] * 3  # o0 o1 s1 o2 o3: 2 pages + empty
        + [f"/v1.0/{ORG}/mentions"]  # m2 mm1 mm3: one page
    )
    assert measured(config) == before

    # the first reply to a routine post flips its has_replies: that thread alone is read, counters and all
    th.post("dave", NOW + timedelta(minutes=7), "What about Sunday?", ids["n0"])
    # a reply to the library's answer o2 flips o2's has_replies (in /replies): t2 is read
    th.post("carol", NOW + timedelta(minutes=8), "Thanks!", ids["o2"])
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=10))
    assert sorted(thread_reads(server)) == sorted([ids["n0"], ids["t2"]])
    assert sorted(thread_reads(server, "insights")) == sorted([ids["n0"], ids["t2"]])
    assert goals(config)["All"]["metrics"]["replies"] == 8 + 2

    # alice answers dave deep in t1, which had replies: no flag moves, found when thread_refresh (1 h) is due
    th.post("alice", NOW + timedelta(minutes=12), "Me too", ids["r4"])
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=20))
    assert thread_reads(server) == []
    assert goals(config)["All"]["metrics"]["replies"] == 10
    # by then t1's likes moved (no flag either), r5 and the whole of t3 are deleted
    th.posts[ids["t1"]].likes = 12
    th.posts[ids["r5"]].deleted = True
    th.posts[ids["t3"]].deleted = True
    collect(config, monkeypatch, NOW + timedelta(hours=2))
    m = goals(config)["All"]["metrics"]
    # broadcasts 7 - t3; replies 10 + alice's - r5 - r6 (t3 takes it along); likes 12 + 3; reposts 2 + 0
    assert (m["broadcast"], m["replies"], m["likes"], m["reposts"]) == (6, 10 + 1 - 1 - 1, 15, 2)


def test_without_insights_or_mentions_permissions_those_parts_are_unavailable(
    world: tuple[FakeThreads, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    th, ids, config = world
    refusal = graph_error(10, "(#10) Application does not have permission for this action", 403)
    th.refused[f"/v1.0/{ORG}/threads_insights"] = refusal
    th.refused[f"/v1.0/{ORG}/mentions"] = refusal
    collect(config, monkeypatch, NOW)
    assert thread_reads(th.server, "insights") == []
    report = goals(config)["All"]
    m = report["metrics"]
    # replies and responses are still read; o3 answers mm1, which is unseen: 3 responses remain
    assert (m["replies"], m["mentions"], m["responses"]) == (8, None, 3)
    assert (m["likes"], m["reposts"], m["quotes"]) == (None, None, None)
    assert set(report["unavailable"]) == {"mentions", "likes", "reposts", "quotes", "amplification_rate", "applause_rate"}
    assert snapshot_json(config)["sources"][0]["followers"] is None


# -- credentials -----------------------------------------------------------------------------

TWO_SOURCES = """
[[sources]]
id = "library-threads"
platform = "threads"
user_id = "{org}"
api = "{url}"
token = {{ env = "TEST_THREADS_TOKEN" }}

[[sources]]
id = "teens-threads"
platform = "threads"
user_id = "{teens}"
api = "{url}"
token = {{ env = "TEST_THREADS_TEENS_TOKEN" }}
"""


def test_a_missing_token_fails_check_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_THREADS_TOKEN", raising=False)
    monkeypatch.setenv("TEST_THREADS_TEENS_TOKEN", TOKEN)
    config = write_config(tmp_path, TWO_SOURCES.format(org=ORG, teens=TEENS, url="https://graph.threads.net"))
    code, _, err = run_cli("--config", str(config), "check-config")
    assert code == 2
    assert "sources[0].token: TEST_THREADS_TOKEN is not set: source 'library-threads'" in err


@pytest.mark.parametrize(
    ("refusal", "advice"),
    [
        (None, "Threads token expired or revoked: refresh it before its 60 days are over"),
        (graph_error(10, "(#10) Application does not have permission for this action", 403),
         "needs the threads_basic / threads_read_replies / threads_manage_insights permission"),
    ],
    ids=["expired-190", "permission-10"],
)
def test_a_refused_token_is_one_line_of_advice_and_the_other_source_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object, refusal: Reply | None, advice: str,  # noqa: F811
) -> None:
    bad = "THAA-wrong-token-value"
    monkeypatch.setenv("TEST_THREADS_TOKEN", bad if refusal is None else TOKEN)
    monkeypatch.setenv("TEST_THREADS_TEENS_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        th = FakeThreads(server)
        build(th)
        if refusal is not None:  # the library's conversations are refused: threads_read_replies is missing
            for pid in th.posts:
                th.refused[f"/v1.0/{pid}/conversation"] = refusal
        config = write_config(tmp_path, TWO_SOURCES.format(org=ORG, teens=TEENS, url=server.url), GOALS)
        code, err = collect_once(config)
        snapshot = snapshot_json(config)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("twoway: library-threads: ") and advice in lines[0]
    assert bad not in err and TOKEN not in err and bad not in json.dumps(snapshot)
    by_id = {s["id"]: s for s in snapshot["sources"]}
    assert by_id["library-threads"]["status"] == "error"
    assert (by_id["teens-threads"]["status"], by_id["teens-threads"]["followers"]) == ("ok", 5)
