"""The Discourse collector: recorded real answers (the discourse_api gem's fixtures) parsed,
then a fake forum in Discourse's JSON shapes (topic lists by latest activity with
`more_topics_url`, topic views with a post stream read in chunks, `user_actions`,
`Api-Key`/`Api-Username`, 429 with `Retry-After`) polled through `twoway collect --once`.
Every expected metric is worked out by hand from the scenario in the comments next to it
(SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from twoway.plugin.protocol import Context, CursorState
from twoway.collectors.discourse import DiscourseCollector, _Cycle, _likes, parse_post
from twoway.plugin.http import Http
from tests.collecting import FakeSleep, collect, collect_once, fake_sleep, goals, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.cli import main
from twoway.config import Source

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "discourse"
UTC = timezone.utc
KEY = "disc-admin-key-0123456789"


# -- recorded real answers ---------------------------------------------------------------


def recorded(name: str) -> Any:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"real Discourse data not found at {REALDATA}")
    return json.loads(path.read_text(encoding="utf-8"))


def test_real_topic_view_posts_and_parents() -> None:
    topic = recorded("topic.json")
    posts = {p["post_number"]: (p, parse_post(p, "https://meta.example", topic)) for p in topic["post_stream"]["posts"]}
    _, first = posts[1]
    assert (first.id, first.author_id, first.parent_id, first.root_id) == ("57/1", "samsaffron", None, "57/1")
    assert first.text.startswith("THIS SITE IS A SANDBOX -- it is reset every day\nWelcome!\nTry is a sandbox")
    assert first.created_at == datetime(2013, 2, 4, 20, 26, 26, 278000, tzinfo=UTC)  # -05:00 in the answer
    assert first.url == "https://meta.example/t/this-site-is-a-sandbox-it-is-reset-every-day/57/1"
    # post 2 is a moderator action ("now pinned"), which the collector skips; 3 answers the topic, 14 post 1
    assert posts[2][0]["post_type"] == 2
    assert posts[3][1].parent_id == "57/1" and posts[3][1].author_id == "stienman"
    assert posts[14][1].parent_id == "57/1" and posts[14][1].text == "What? So I have to post this every day?"
    assert [_likes(p) for p, _ in posts.values()] == [0, 0, 5, 5]  # actions_summary id 2 is the like
    assert topic["post_stream"]["stream"] == [83, 84, 86, 226]


def test_real_posts_read_by_id_and_across_the_site() -> None:
    (extra,) = recorded("topic_posts.json")["post_stream"]["posts"]
    post = parse_post(extra, "https://meta.example")
    assert (post.id, post.author_id, post.parent_id, post.text) == ("57/2", "some-username", "57/1", "Some text.")
    assert _likes(extra) == 3
    latest = [parse_post(p, "https://forum.example") for p in recorded("posts_latest.json")["latest_posts"]]
    assert [p.id for p in latest] == ["11/2", "11/1", "7/1", "2/1"]
    assert latest[0].parent_id == "11/1" and latest[1].parent_id is None
    assert latest[0].url == "https://forum.example/t/this-is-an-uncategorized-title/11/2"
    assert latest[2].text.startswith("The first paragraph of this pinned topic will be visible")
    assert all(p.created_at.tzinfo is UTC and "<" not in p.text for p in latest)


def _cycle(server: ReplayServer, now: datetime, usernames: list[str]) -> _Cycle:
    source = Source("forum", "discourse", 300, {"url": server.url, "usernames": usernames})
    context = Context(source, Http(httpx.AsyncClient()), 60 * 86400, 6 * 3600)
    return _Cycle(DiscourseCollector(context), CursorState(), now, None)


async def test_real_topic_lists_give_topics_and_counters() -> None:
    created_by, latest = recorded("topics_created_by.json"), recorded("latest_topics.json")
    with replay_server() as server:
        server.route("GET", "/topics/created-by/test_user.json", lambda r: json_reply(created_by))
        cycle = _cycle(server, datetime(2013, 7, 25, tzinfo=UTC), ["test_user"])
        try:
            (topic,) = await cycle.topics()
        finally:
            await cycle.context.http.client.aclose()
    (counters,) = cycle.counters([topic])
    # posts_count 1: no replies; this old forum sends no op_like_count, and the topic's like_count
    # counts every post's likes, so the broadcast's likes are unknown until its topic is read
    assert (counters.post_id, counters.replies, counters.likes) == ("1/1", 0, None)
    assert latest["topic_list"]["more_topics_url"] == "/latest.json?page=1"
    assert {t["like_count"] for t in latest["topic_list"]["topics"]} == {14, 0, 10}


async def test_real_replies_of_a_user_in_other_topics() -> None:
    replies = recorded("user_actions_replies.json")
    with replay_server() as server:
        server.route("GET", "/user_actions.json", lambda r: json_reply(replies if not r.arg("offset") else {"user_actions": []}))
        cycle = _cycle(server, datetime(2016, 7, 1, tzinfo=UTC), ["testuser"])
        try:
            await cycle.answers(set())
        finally:
            await cycle.context.http.client.aclose()
        assert [(r.arg("filter"), r.arg("offset")) for r in server.requests()] == [("5", None), ("5", "1")]
    (post,) = cycle.posts.values()
    assert (post.id, post.author_id, post.parent_id, post.root_id) == ("39/3", "testuser", "39/2", "39/1")
    assert post.text == "Test Reply #1" and post.created_at == datetime(2016, 6, 29, 20, 27, 55, 767000, tzinfo=UTC)


# -- a fake forum -----------------------------------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeDiscourse:
    """Discourse's topic lists, topic views and user actions, computed from a small world of posts."""

    def __init__(self, server: ReplayServer, chunk: int = 5, page: int = 2) -> None:
        self.server, self.chunk, self.page = server, chunk, page
        self.topics: dict[int, dict[str, Any]] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        self.ids = itertools.count(1000)
        self.limited = 0
        """Requests still to be answered 429."""
        self.admin = True
        """Whether the key's user (riverside) is an admin, who may read everyone's mentions."""
        server.route("GET", "/topics/created-by/*", self.created_by)
        server.route("GET", "/t/*", self.topic_view)
        server.route("GET", "/user_actions.json", self.user_actions)
        server.route("GET", "/posts/*", self.post_by_id)

    # -- the world
    def topic(self, tid: int, author: str, when: datetime, title: str, text: str = "", *, likes: int = 0,
              tags: tuple[str, ...] = (), mentions: tuple[str, ...] = ()) -> None:
        self.topics[tid] = {"id": tid, "title": title, "slug": title.lower().replace(" ", "-"), "tags": list(tags),
                            "deleted": False}
        self.post(tid, author, when, text or f"<p>{title}</p>", likes=likes, mentions=mentions)

    def post(self, tid: int, author: str, when: datetime, cooked: str, reply_to: int | None = None, *,
             likes: int = 0, kind: int = 1, mentions: tuple[str, ...] = (), withdrawn: bool = False) -> int:
        pid = next(self.ids)
        number = 1 + sum(1 for p in self.posts.values() if p["topic_id"] == tid)
        self.posts[pid] = {
            "id": pid, "username": author, "name": author.title(), "created_at": iso(when), "post_number": number,
            "post_type": kind, "reply_to_post_number": reply_to, "topic_id": tid, "topic_slug": self.topics[tid]["slug"],
            "cooked": "<p>(post withdrawn by author, will be automatically deleted in 24 hours unless flagged)</p>"
            if withdrawn else cooked, "actions_summary": [{"id": 2, "count": likes}] if likes else [],
            "user_deleted": withdrawn, "deleted_at": None, "hidden": False, "_mentions": mentions, "_removed": False,
        }
        return number

    def number(self, tid: int, n: int) -> dict[str, Any]:
        return next(p for p in self.posts.values() if p["topic_id"] == tid and p["post_number"] == n)

    def live(self, tid: int) -> list[dict[str, Any]]:
        return sorted((p for p in self.posts.values() if p["topic_id"] == tid and not p["_removed"]),
                      key=lambda p: p["post_number"])

    # -- shapes
    def _refused(self, request: Request) -> Reply | None:
        if self.limited:
            self.limited -= 1
            body = {"errors": ["You’ve performed this action too many times. Please wait 7 seconds before trying again."],
                    "error_type": "rate_limit", "extras": {"wait_seconds": 7, "time_left": "7 seconds"}}
            return json_reply(body, 429, {"Retry-After": "7"})
        key = request.headers.get("api-key")
        if key is not None and (key != KEY or request.headers.get("api-username") != "riverside"):
            body = {"errors": ["You are not permitted to view the requested resource. The API username or key is invalid."],
                    "error_type": "invalid_access"}
            return json_reply(body, 403)
        return None

    def _public(self, post: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in post.items() if not k.startswith("_")}

    def _summary(self, tid: int) -> dict[str, Any]:
        posts = [p for p in self.live(tid) if p["post_type"] == 1]
        first = posts[0]
        likes = [sum(a["count"] for a in p["actions_summary"]) for p in posts]
        last = max(p["created_at"] for p in posts)
        return {**{k: v for k, v in self.topics[tid].items() if k != "deleted"}, "fancy_title": self.topics[tid]["title"],
                "posts_count": len(posts), "reply_count": len(posts) - 1, "highest_post_number": posts[-1]["post_number"],
                "created_at": first["created_at"], "last_posted_at": last, "bumped_at": last, "like_count": sum(likes),
                "op_like_count": likes[0], "views": 50, "archetype": "regular", "pinned": False, "visible": True,
                "posters": [{"description": "Original Poster", "user_id": 1}], "_author": first["username"]}

    def created_by(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        user = request.path.split("/")[-1].removesuffix(".json")
        mine = [self._summary(t) for t, topic in self.topics.items()
                if not topic["deleted"] and self._summary(t)["_author"].lower() == user.lower()]
        if not mine and user.lower() not in ("riverside", "maria"):
            return json_reply({"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}, 404)
        mine.sort(key=lambda t: t["bumped_at"], reverse=True)
        page = int(request.arg("page") or 0)
        items = [{k: v for k, v in t.items() if k != "_author"} for t in mine[page * self.page:(page + 1) * self.page]]
        listing: dict[str, Any] = {"can_create_topic": True, "per_page": self.page, "topics": items}
        if len(mine) > (page + 1) * self.page:
            listing["more_topics_url"] = f"/topics/created-by/{user}?page={page + 1}"
        return json_reply({"users": [{"id": 1, "username": user}], "topic_list": listing})

    def topic_view(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        parts = request.path.split("/")
        tid = int(parts[2].removesuffix(".json"))
        if tid not in self.topics or self.topics[tid]["deleted"]:
            return json_reply({"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}, 404)
        posts = self.live(tid)
        if len(parts) > 3:  # /t/{id}/posts.json?post_ids[]=...
            wanted = [int(i) for i in request.query.get("post_ids[]", [])]
            assert 0 < len(wanted) <= 20
            return json_reply({"post_stream": {"posts": [self._public(self.posts[i]) for i in wanted]}, "id": tid})
        summary = self._summary(tid)
        return json_reply({
            **{k: v for k, v in summary.items() if k != "_author"},
            "post_stream": {"posts": [self._public(p) for p in posts[: self.chunk]], "stream": [p["id"] for p in posts]},
            "chunk_size": self.chunk,
        })

    def user_actions(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        user, kind = (request.arg("username") or "").lower(), int(request.arg("filter") or 0)
        if kind == 7 and (request.headers.get("api-key") != KEY or (not self.admin and user != "riverside")):
            return json_reply({"errors": ["You are not permitted to view the requested resource."], "error_type": "invalid_access"}, 403)
        posts = [p for p in self.posts.values() if not p["_removed"] and p["post_type"] == 1]
        if kind == 5:
            chosen = [p for p in posts if p["username"].lower() == user and p["post_number"] > 1]
        else:
            chosen = [p for p in posts if user in {m.lower() for m in p["_mentions"]}]
        chosen.sort(key=lambda p: p["created_at"], reverse=True)
        offset = int(request.arg("offset") or 0)
        actions = [{
            "action_type": kind, "created_at": p["created_at"], "excerpt": p["cooked"].removeprefix("<p>").removesuffix("</p>"),
            "slug": self.topics[p["topic_id"]]["slug"], "topic_id": p["topic_id"], "target_username": user,
            "post_number": p["post_number"], "post_id": p["id"], "reply_to_post_number": p["reply_to_post_number"],
            "username": p["username"], "acting_username": p["username"], "title": self.topics[p["topic_id"]]["title"],
            "deleted": False, "hidden": False, "post_type": 1,
        } for p in chosen[offset: offset + self.page]]
        return json_reply({"user_actions": actions})

    def post_by_id(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        pid = int(request.path.split("/")[-1].removesuffix(".json"))
        return json_reply(self._public(self.posts[pid]))


class World:
    """Sixty days of a library's forum: two of its users post topics, jane (staff) answers too."""

    def __init__(self, fake: FakeDiscourse) -> None:
        f = self.fake = fake
        f.topic(40, "riverside", ago(70), "Old news")
        f.post(40, "riverside", ago(69), "<p>Still old</p>")
        # T3, in the baseline window: bob answered after 1 h
        f.topic(30, "riverside", ago(45), "Spring sale", likes=5)
        f.post(30, "bob", ago(45, hours=-1), "<p>Any comics?</p>")
        f.post(30, "riverside", ago(45, hours=-2), "<p>Plenty!</p>", reply_to=2)
        # T1: a self-thread post, replies at several depths, answers by the library and jane, a small
        # action, a withdrawn post; its posts 6.. come from a second request (5 posts a chunk)
        t1 = ago(20)
        f.topic(10, "riverside", t1, "Summer reading kickoff",
                '<p>Log your books at <a href="https://library.example.org/summer">our page</a>.</p>',
                likes=7, tags=("summer-reading",))
        f.post(10, "riverside", t1 + timedelta(minutes=5), "<p>Pick up a reading log at the desk.</p>")
        f.post(10, "alice", t1 + timedelta(hours=1), "<p>Can adults join?</p>", likes=2)
        f.post(10, "riverside", t1 + timedelta(hours=4), "<p>Yes, everyone can!</p>", reply_to=3)
        f.post(10, "bob", t1 + timedelta(days=1), "<p>Great news</p>", reply_to=4)
        f.post(10, "carol", t1 + timedelta(days=1, hours=1), "<p>Is there a prize?</p>", reply_to=5)
        f.post(10, "jane", t1 + timedelta(days=1, hours=1, minutes=30), "<p>A tote bag!</p>", reply_to=6)
        f.post(10, "riverside", t1 + timedelta(days=1, hours=2), "<p>pinned globally</p>", kind=3)
        f.post(10, "dave", t1 + timedelta(days=2), "<p>Where are the logs?</p>", reply_to=2)
        f.post(10, "eve", t1 + timedelta(days=2, hours=1), "<p>spam</p>", withdrawn=True)
        # T2 by maria: carol names @riverside in it (a reply, counted once), answered a day later
        t2 = ago(10)
        f.topic(20, "maria", t2, "The library is closed on Tuesday", likes=3)
        f.post(20, "alice", t2 + timedelta(hours=1), "<p>Noted</p>")
        f.post(20, "carol", t2 + timedelta(hours=2), '<p>All day, <a class="mention" href="/u/riverside">@riverside</a>?</p>',
               reply_to=1, mentions=("riverside",))
        f.post(20, "riverside", t2 + timedelta(days=1, hours=2), "<p>Yes, all day.</p>", reply_to=3)
        # mentions in community topics: bob's answered after 2 h, carol's (naming maria) not; jane's is
        # staff; dave's is older than the horizon
        f.topic(50, "zed", ago(9), "Kits for kids")
        f.post(50, "bob", ago(8), '<p><a class="mention" href="/u/riverside">@riverside</a> do you have summer reading kits?</p>',
               reply_to=1, mentions=("riverside",))
        f.post(50, "riverside", ago(8, hours=-2), "<p>We do!</p>", reply_to=2)
        f.topic(70, "carol", ago(6), "Who runs the book club?", '<p><a class="mention" href="/u/maria">@maria</a> will know</p>',
                mentions=("maria",))
        f.topic(80, "jane", ago(5), "Staff note", "<p>ping @riverside</p>", mentions=("riverside",))
        f.topic(90, "dave", ago(90), "Hello", "<p>hi @riverside</p>", mentions=("riverside",))
        # T6: a broadcast nobody answered
        f.topic(60, "riverside", ago(3), "Book sale")


SOURCE = """
[[sources]]
id = "{sid}"
platform = "discourse"
url = "{url}"
usernames = ["riverside", "Maria"]
{extra}
"""
WITH_KEY = 'api_key = { env = "TEST_DISCOURSE_KEY" }\napi_username = "riverside"'
GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
keywords = ["summer reading"]

[[goals]]
name = "Tagged"
hashtags = ["summer-reading"]
"""


def _config(tmp_path: Path, server: ReplayServer, sources: dict[str, str]) -> Path:
    text = "".join(SOURCE.format(sid=sid, url=server.url, extra=extra) for sid, extra in sources.items())
    return write_config(tmp_path, text, GOALS, organization='also = ["discourse:jane"]', dashboard='thread_refresh = "1h"')


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: FakeSleep) -> Any:  # noqa: F811
    monkeypatch.setenv("TEST_DISCOURSE_KEY", KEY)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        yield World(FakeDiscourse(server)), _config(tmp_path, server, {"forum": WITH_KEY})


def metrics(config: Path) -> dict[str, Any]:
    return {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}


def _paths(server: ReplayServer, prefix: str = "") -> list[str]:
    return sorted(r.path + (f"?filter={r.arg('filter')}&username={r.arg('username')}" if r.arg("filter") else "")
                  for r in server.requests(prefix))


def test_scenario_metrics(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    f, server = w.fake, w.fake.server
    collect(config, monkeypatch, NOW)
    # riverside's topics by latest activity, two a page: [T6, T1], [T3, T4], T4 older than the horizon
    assert [r.arg("page") for r in server.requests("/topics/created-by/riverside.json")] == [None, "1"]
    assert len(server.requests("/topics/created-by/Maria.json")) == 1
    # every topic inside the horizon read once; T1's posts 6-10 in one more request
    assert _paths(server, "/t/") == ["/t/10.json", "/t/10/posts.json", "/t/20.json", "/t/30.json", "/t/60.json"]
    (more,) = server.requests("/t/10/posts.json")
    assert more.query["post_ids[]"] == [str(f.number(10, n)["id"]) for n in range(6, 11)]
    # the two mentions outside the organization's topics are read for their text; jane's is staff
    assert _paths(server, "/posts/") == sorted(f"/posts/{f.number(t, n)['id']}.json" for t, n in ((50, 2), (70, 1)))
    assert all(r.headers["api-key"] == KEY and r.headers["api-username"] == "riverside" for r in server.requests())

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in the last 30 days: T1, T2, T6 (T3 in the baseline, T4 older still)
    assert m["broadcast"] == 3
    # T1: alice 3, bob 5, carol 6, dave 9 (2 is the self-thread, 4 and jane's 7 the organization's, 8 a
    # small action, eve's 10 withdrawn); T2: alice 2, carol 3
    assert m["replies"] == 6
    # bob in topic 50 and carol in topic 70; carol's T2/3 is a reply; jane is staff; dave's is too old
    assert m["mentions"] == 2 and m["community_messages"] == 8
    # T1/4→3 after 3 h, jane's T1/7→6 after 30 min, T2/4→3 after 1 day, 50/3→bob's 50/2 after 2 h
    assert (m["responses"], m["answered"], m["unanswered"], m["two_way"]) == (4, 4, 4, 12)
    assert m["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2
    assert m["p90_response_seconds"] == 86400
    # the first posts' likes: 7 + 3 + 0 (alice's 2 likes on T1/3 are hers, not the broadcast's)
    assert (m["likes"], m["reposts"], m["quotes"]) == (10, None, None)
    assert m["voices"] == 4  # alice, bob, carol, dave
    assert m["conversation_rate"] == 2.0
    # Discourse has neither reposts nor quotes, so no amplification either
    assert report["All"]["unavailable"] == {"reposts": ["forum"], "quotes": ["forum"], "amplification_rate": ["forum"]}
    b = report["All"]["baseline"]
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"], b["likes"]) == (1, 1, 1, 3600, 5)

    s = report["Summer reading"]["metrics"]
    # T1 (its title), its four replies, and bob's mention asking for summer reading kits
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 4, 1, 3)
    assert s["median_response_seconds"] == 2 * 3600  # 30 min, 2 h, 3 h
    assert report["Tagged"]["metrics"]["broadcast"] == 1  # T1's tag
    (source,) = snapshot_json(config)["sources"]
    assert (source["status"], source["followers"]) == ("ok", None)


def test_steady_state_and_changes(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    f, server = w.fake, w.fake.server
    collect(config, monkeypatch, NOW)
    before = metrics(config)

    # nothing changed: the topic lists, one page of mentions each (down to the newest seen, jane's),
    # the organization's replies elsewhere; no topic and no post read
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    assert _paths(server) == sorted(
        ["/topics/created-by/riverside.json"] * 2 + ["/topics/created-by/Maria.json"]
        + ["/user_actions.json?filter=7&username=riverside", "/user_actions.json?filter=7&username=Maria"]
        + ["/user_actions.json?filter=5&username=riverside"] * 3 + ["/user_actions.json?filter=5&username=Maria"]
    )
    assert metrics(config) == before

    # a reply in T2 moves its posts_count: T2 alone is read, in one request (4 + 1 posts fit a chunk)
    f.post(20, "frank", NOW + timedelta(minutes=8), "<p>Thanks!</p>", reply_to=4)
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=10))
    assert _paths(server, "/t/") == ["/t/20.json"]
    assert goals(config)["All"]["metrics"]["replies"] == 6 + 1

    # a new post at the end of T1: only that post is fetched beyond the first chunk
    n = f.post(10, "grace", NOW + timedelta(minutes=12), "<p>Me too</p>")
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=15))
    assert _paths(server, "/t/") == ["/t/10.json", "/t/10/posts.json"]
    assert server.requests("/t/10/posts.json")[0].query["post_ids[]"] == [str(f.number(10, n)["id"])]
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["unanswered"], m["voices"]) == (8, 4 + 2, 4 + 2)

    # the newest mention is now in T2: read once (its posts_count moved too), then a quiet cycle
    # reads neither the topic nor the post again
    f.post(20, "hank", NOW + timedelta(minutes=16), "<p>@riverside same question</p>", reply_to=2, mentions=("riverside",))
    collect(config, monkeypatch, NOW + timedelta(minutes=17))
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=18))
    assert server.requests("/t/") == [] and server.requests("/posts/") == []
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["mentions"], m["unanswered"]) == (9, 2, 7)  # hank's is a reply in T2, counted once

    # deletions: T6 leaves riverside's list; a moderator removes alice's T2/2, which moves T2's
    # posts_count, so T2 is read and the post is found gone from its stream
    f.topics[60]["deleted"] = True
    f.number(20, 2)["_removed"] = True
    collect(config, monkeypatch, NOW + timedelta(minutes=25))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["replies"], m["voices"]) == (2, 8, 7)  # hank joined; alice still speaks in T1


def test_without_an_api_key_mentions_are_unavailable(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    monkeypatch.delenv("TEST_DISCOURSE_KEY")
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["--config", str(config), "check-config"]) == 0  # optional: a warning, not an error
    collect(config, monkeypatch, NOW)
    server = w.fake.server
    assert server.requests("/user_actions.json") == [] and server.requests("/posts/") == []
    assert all("api-key" not in r.headers for r in server.requests())
    report = goals(config)["All"]
    assert report["metrics"]["mentions"] is None
    assert report["unavailable"] == {
        "mentions": ["forum"], "reposts": ["forum"], "quotes": ["forum"], "amplification_rate": ["forum"]
    }
    # the topics are read all the same: carol's T2/3 is still a reply, and answered
    assert (report["metrics"]["replies"], report["metrics"]["responses"]) == (6, 3)


def test_check_config_warns_about_a_missing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DISCOURSE_KEY", raising=False)
    config = write_config(tmp_path, SOURCE.format(sid="forum", url="https://forum.example", extra=WITH_KEY))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--config", str(config), "check-config"]) == 0
    assert "sources[0].api_key: TEST_DISCOURSE_KEY is not set: no mentions and only public categories" in out.getvalue()


def test_a_rejected_key_is_one_line_and_the_other_source_is_collected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: FakeSleep  # noqa: F811
) -> None:
    monkeypatch.setenv("TEST_DISCOURSE_KEY", KEY)
    monkeypatch.setenv("TEST_DISCOURSE_OLD", "disc-revoked-key-99999")
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        World(FakeDiscourse(server))
        old = WITH_KEY.replace("TEST_DISCOURSE_KEY", "TEST_DISCOURSE_OLD")
        config = _config(tmp_path, server, {"forum": WITH_KEY, "old-forum": old})
        code, err = collect_once(config)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("twoway: old-forum: ")
    assert "the forum refused the API key: check api_key and api_username on the forum's /admin/api/keys page" in line
    assert KEY not in err and "disc-revoked-key-99999" not in err
    sources = {s["id"]: s["status"] for s in snapshot_json(config)["sources"]}
    assert sources == {"forum": "ok", "old-forum": "error"}
    assert goals(config)["All"]["by_source"]["forum"]["broadcast"] == 3


def test_a_rate_limited_request_waits_for_retry_after(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep  # noqa: F811
) -> None:
    w, config = world
    w.fake.limited = 1
    collect(config, monkeypatch, NOW)
    assert fake_sleep.pauses[0] == pytest.approx(7.0, abs=0.1)  # Retry-After, before the HTTP layer's retry
    assert goals(config)["All"]["metrics"]["broadcast"] == 3


def test_an_unknown_user_and_a_broken_answer_fail_in_one_line(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    collect(config, monkeypatch, NOW)
    before = metrics(config)
    w.fake.server.route("GET", "/t/*", lambda r: Reply(200, b"<!DOCTYPE html><html>Maintenance</html>", {"Content-Type": "text/html"}))
    w.fake.post(20, "frank", NOW + timedelta(minutes=1), "<p>Hello</p>")
    monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=5)).isoformat())
    code, err = collect_once(config)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "HTML page" in err
    assert metrics(config) == before
    config.write_text(config.read_text(encoding="utf-8").replace('"Maria"', '"nobody"'), encoding="utf-8")
    code, err = collect_once(config)
    assert code == 1 and "forum: user 'nobody' not found on http://127.0.0.1" in err


def test_a_key_that_may_not_read_a_users_mentions_says_so(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    w.fake.admin = False  # a Single User key of riverside: maria's mentions are hers and the admins'
    code, err = collect_once(config)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "user_actions.json: the API key cannot read this user's mentions: act as an admin (api_username)" in err
