"""The Instagram collector: real recorded Graph answers parsed, then a replay server
playing the Instagram Graph API (media with counters, comments with nested `replies`,
cursor paging, OAuth errors) polled through `twoway collect --once`.

Every expected metric is worked out by hand from the scenario in the comments next to
it (SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from twoway.plugin.protocol import Context, explain
from twoway.collectors.graph import UNKNOWN_AUTHOR, _following
from twoway.plugin.http import Budget, FetchError, Http
from twoway.collectors.instagram import ADVICE, Authors, InstagramCollector, parse_comment, parse_counters, parse_media
from tests.collecting import collect, collect_once, fake_sleep, goals, measured, run_cli, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from tests.collectors.test_facebook import graph_error, graph_page
from twoway.config import Credential, Source
from twoway.model import Batch

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "instagram"
UTC = timezone.utc


def realdata(name: str) -> Any:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"recorded Instagram payload {path} is absent (shared/realdata not checked out)")
    return json.loads(path.read_text(encoding="utf-8"))


# -- real recorded answers ----------------------------------------------------------------


def test_user_media_page_and_its_counters() -> None:
    page = realdata("ig_user_media_page1.json")
    posts = [parse_media(m, "17841406338772941") for m in page["data"]]
    assert [(p.id, p.author_id, p.parent_id, p.root_id) for p in posts] == [
        ("17895731045244887", "17841406338772941", None, "17895731045244887"),
        ("17896622936197745", "17841406338772941", None, "17896622936197745"),
    ]
    assert posts[0].created_at == datetime(2021, 8, 13, 8, 25, 28, tzinfo=UTC)
    assert posts[0].url == "https://www.instagram.com/p/CSgf9BChwVq/"
    assert posts[0].text == ""  # no caption requested in that recording
    counters = [parse_counters(m, datetime(2021, 8, 14, tzinfo=UTC)) for m in page["data"]]
    assert [(c.replies, c.likes, c.reposts, c.quotes) for c in counters] == [(0, 0, None, None), (6, 2, None, None)]
    assert _following(page["paging"], False) == {"after": "after"}


def test_comments_page_without_authors() -> None:
    page = realdata("ig_media_comments_page1.json")
    who = Authors("17841406338772941", "ikroskun")
    comments = [parse_comment(c, "17846368219941692", "https://www.instagram.com/p/x/", who) for c in page["data"]]
    assert [(c.id, c.author_id, c.parent_id) for c in comments] == [
        ("17858154961981086", UNKNOWN_AUTHOR, "17846368219941692"),
        ("17874875428706419", UNKNOWN_AUTHOR, "17846368219941692"),
    ]
    assert comments[0].text == "Beautiful!" and comments[0].created_at == datetime(2020, 6, 1, 10, 56, 52, tzinfo=UTC)
    assert _following(page["paging"], False) == {"after": "after"}


def test_a_comment_by_the_account_itself_with_a_reply() -> None:
    """The recorded comment's `user.id` is the account's own IG user id (compare ig_mentioned_comment.json)."""
    item = realdata("ig_comment_with_replies.json")
    account = realdata("ig_mentioned_comment.json")["id"]
    who = Authors(account, "ikroskun")
    comment = parse_comment(item, "17846368219941692", "", who)
    assert (comment.author_id, comment.parent_id, comment.root_id) == (account, "17846368219941692", "17846368219941692")
    assert comment.mentions_source and comment.text == "@ikroskun  Hey, guys"
    (reply,) = [parse_comment(r, "17846368219941692", "", who, parent=item["id"]) for r in item["replies"]["data"]]
    assert (reply.id, reply.parent_id, reply.author_id) == ("17845747489952795", item["id"], UNKNOWN_AUTHOR)
    # seen by another account, the same comment is a community member's, by username
    other = parse_comment(item, "17846368219941692", "", Authors("1", "riversidelibrary"))
    assert other.author_id == "@ikroskun" and not other.mentions_source


def test_webhook_lookup_shapes_parse_like_any_comment_and_media() -> None:
    """`mentioned_comment` / `mentioned_media` need an id from the `mentions` webhook; twoway does not poll them,
    but their objects are the ordinary shapes, which is what a webhook-fed source would parse."""
    who = Authors("17841400000000001", "ikroskun")
    mentioned = realdata("ig_mentioned_comment.json")["mentioned_comment"]
    comment = parse_comment(mentioned, "m", "", who)
    assert (comment.author_id, comment.mentions_source) == ("17841400000000001", True)  # by username: the account's own
    media = parse_media(realdata("ig_mentioned_media.json")["mentioned_media"], "someone")
    assert media.text == "@ikroskun hey" and media.created_at == datetime(2021, 8, 19, 9, 0, 22, tzinfo=UTC)


def test_permission_error_becomes_advice() -> None:
    body = {"error": {"message": "(#10) Application does not have permission for this action", "type": "OAuthException",
                      "code": 10, "fbtrace_id": "A"}}
    line = str(explain(FetchError("https://graph.facebook.com/v21.0/1/media: HTTP 403", status=403, data=body), ADVICE))
    assert "instagram_basic / instagram_manage_comments" in line


def test_poll_over_recorded_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    user, media = realdata("ig_user_fields.json"), realdata("ig_user_media_page1.json")
    comments = realdata("ig_media_comments_page1.json")
    monkeypatch.setenv("TEST_IG_TOKEN", TOKEN)
    with replay_server() as server:
        uid = user["id"]
        server.route("GET", f"/v21.0/{uid}", lambda r: json_reply(user))
        server.route("GET", f"/v21.0/{uid}/media", lambda r: json_reply({"data": []}) if r.arg("after") else json_reply(media))
        server.route("GET", "/v21.0/17896622936197745/comments",
                     lambda r: json_reply({"data": []}) if r.arg("after") else json_reply(comments))
        server.route("GET", "/v21.0/*", lambda r: json_reply({"data": []}))
        batch = poll(context_for(server, uid), datetime(2021, 8, 20, tzinfo=UTC))
        assert [r.arg("after") for r in server.requests(f"/v21.0/{uid}/media")] == [None, "after"]
        assert all("access_token" not in r.query for r in server.requests())
    assert batch.followers == 64363 and batch.accounts == (("17841407673135339", "facebookfordevelopers", "source"),)
    assert batch.measures == frozenset({"replies", "responses", "likes"})
    assert sorted(p.id for p in batch.posts if p.root_id == "17896622936197745") == [
        "17858154961981086", "17874875428706419", "17896622936197745",
    ]


# -- a replay server playing the Instagram Graph API --------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "IGQ-page-token-s3cret"
USER, USERNAME = "17841400000000001", "riversidelibrary"
TEENS = "17841400000000002"
"""The library's teen account: the healthy source next to a refused one."""
STAFF = ("17841400000009001", "jane.staff")
ALICE, BOB, CAROL, DAVE, EVE = (("1784150000000000" + str(i), name) for i, name in enumerate(("alice", "bob", "carol", "dave", "eve")))


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def ig_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


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
class FakeInstagram:
    server: ReplayServer
    media: dict[str, IgMedia] = field(default_factory=dict)
    comments: dict[str, IgComment] = field(default_factory=dict)
    usage: dict[str, str] = field(default_factory=dict)
    refused: dict[str, Reply] = field(default_factory=dict)
    seq: int = 0

    def __post_init__(self) -> None:
        self.server.route("GET", "/v21.0/*", self.handle)

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
            "id": m.id, "caption": m.caption, "timestamp": ig_time(m.created), "comments_count": len(self.live(m.id)),
            "permalink": f"https://www.instagram.com/p/C{m.id[-5:]}/", "media_product_type": "FEED", "media_type": "IMAGE",
        }
        if m.likes is not None:  # the owner hid the like count: Graph leaves `like_count` out
            item["like_count"] = m.likes
        return item

    def render_comment(self, c: IgComment, request: Request) -> dict[str, Any]:
        item: dict[str, Any] = {"id": c.id, "text": c.text, "timestamp": ig_time(c.created), "username": c.author[1],
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
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return graph_error(190, "Error validating access token: The session has been invalidated.", 400, 460)
        if request.path in self.refused:
            return self.refused[request.path]
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


SOURCE = """thread_refresh = "1h"

[[sources]]
id = "library-instagram"
platform = "instagram"
user_id = "{user}"
api = "{url}"
token = {{ env = "TEST_IG_TOKEN" }}
"""
GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]
"""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: object) -> Iterator[tuple[FakeInstagram, dict[str, str], Path]]:  # noqa: F811
    monkeypatch.setenv("TEST_IG_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        ig = FakeInstagram(server)
        ids = build(ig)
        config = write_config(tmp_path, SOURCE.format(user=USER, url=server.url), GOALS,
                              organization=f'also = ["instagram:@{STAFF[1]}"]')
        yield ig, ids, config


def comment_reads(server: ReplayServer) -> list[str]:
    return [r.path.split("/")[2] for r in server.requests("/v21.0/") if r.path.endswith("/comments")]


def test_scenario_metrics(world: tuple[FakeInstagram, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ig, ids, config = world
    server = ig.server
    collect(config, monkeypatch, NOW)
    # 8 posts younger than 60 days (m1 m2 m3 m4, four routine ones), three a page; m0 stops the paging
    assert [r.arg("after") for r in server.requests(f"/v21.0/{USER}/media")] == [None, "3", "6"]
    assert sorted(comment_reads(server)) == sorted(ids[k] for k in ("m1", "m2", "m3", "m4", "n0", "n1", "n2", "n3"))
    # c1 has three replies, more than the nested page's two: its replies are read on their own, two a page
    assert [r.path for r in server.requests("/v21.0/") if r.path.endswith("/replies")] == [f"/v21.0/{ids['c1']}/replies"] * 2

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in 30 days: m1 m2 m3 and four routine posts (m4 is 45 days old)
    assert m["broadcast"] == 7
    # replies: c1 c2 c3 c4 under m1 (h1 hidden, o1 the account's, j1 the staff's), c5 c6 under m2, c7 under m3
    assert m["replies"] == 7
    assert m["mentions"] is None and m["community_messages"] == 7  # Instagram: mentions not measured
    # responses: o1 → c1 after 3 h, j1 (staff, matched by username) → c4 after 30 min, o2 → c6 after 1 day
    assert (m["responses"], m["answered"], m["unanswered"]) == (3, 3, 4)
    assert m["two_way"] == 10
    assert m["median_response_seconds"] == 10800 and m["p90_response_seconds"] == 86400
    # likes 50 + (m2 hidden: not observed) + 4 + 0 × 4; Instagram has no reposts or quotes in its API
    assert (m["likes"], m["reposts"], m["quotes"]) == (54, None, None)
    assert m["voices"] == 4  # alice, bob, carol (c3 came without `from`: by username, like c6), dave
    # neither reposts nor quotes: the amplification rate has no numerator either
    assert report["All"]["unavailable"] == {
        "mentions": ["library-instagram"], "reposts": ["library-instagram"], "quotes": ["library-instagram"],
        "amplification_rate": ["library-instagram"],
    }
    assert m["amplification_rate"] is None and m["applause_rate"] == pytest.approx(54 / 7)
    b = report["All"]["baseline"]
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"]) == (1, 1, 1, 7200)  # m4, c0, o0

    s = report["Summer reading"]["metrics"]
    # m1 and its four community comments, answered after 3 h and 30 min
    assert (s["broadcast"], s["replies"], s["responses"], s["likes"]) == (1, 4, 2, 50)
    assert s["median_response_seconds"] == (1800 + 10800) / 2

    (source,) = snapshot_json(config)["sources"]
    assert (source["status"], source["followers"]) == ("ok", 654)


def test_steady_state_changed_counters_and_deletions(
    world: tuple[FakeInstagram, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ig, ids, config = world
    server = ig.server
    collect(config, monkeypatch, NOW)
    before = measured(config)

    # nothing changed: the account and three media pages, no comments
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    assert sorted(r.path for r in server.requests()) == sorted([f"/v21.0/{USER}"] + [f"/v21.0/{USER}/media"] * 3)
    assert measured(config) == before

    # eve replies under dave's comment: m1's comments_count moves, m1 alone is read
    ig.comment(ids["m1"], EVE, NOW + timedelta(minutes=8), "@dave thanks", ids["c4"])
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=10))
    assert comment_reads(server) == [ids["m1"]]
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["voices"]) == (7 + 1, 4 + 1)

    # m3 is deleted (taking c7), c5 is deleted (m2's count moves); thread_refresh (1 h) is due for the rest
    ig.media[ids["m3"]].deleted = True
    ig.comments[ids["c5"]].deleted = True
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(hours=2))
    assert len(comment_reads(server)) == 8 - 1
    m = goals(config)["All"]["metrics"]
    # broadcasts 7 - m3; replies 8 - c7 - c5; likes 54 - 4
    assert (m["broadcast"], m["replies"], m["likes"]) == (6, 6, 50)


def test_usage_header_becomes_the_budget(world: tuple[FakeInstagram, dict[str, str], Path]) -> None:
    ig, _, _ = world
    ig.usage = {"X-Business-Use-Case-Usage": json.dumps(
        {USER: [{"type": "instagram", "call_count": 12, "total_cputime": 3, "total_time": 5, "estimated_time_to_regain_access": 0}]}
    )}
    context = context_for(ig.server, USER)
    poll(context, NOW)
    assert context.http.budgets[ig.server.url.removeprefix("http://")] == Budget(100 - 12, 100, None)


# -- credentials -----------------------------------------------------------------------------

TWO_SOURCES = """
[[sources]]
id = "library-instagram"
platform = "instagram"
user_id = "{user}"
api = "{url}"
token = {{ env = "TEST_IG_TOKEN" }}

[[sources]]
id = "teens-instagram"
platform = "instagram"
user_id = "{teens}"
api = "{url}"
token = {{ env = "TEST_IG_TEENS_TOKEN" }}
"""


def test_a_missing_token_fails_check_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_IG_TOKEN", raising=False)
    monkeypatch.setenv("TEST_IG_TEENS_TOKEN", TOKEN)
    config = write_config(tmp_path, TWO_SOURCES.format(user=USER, teens=TEENS, url="https://graph.facebook.com"))
    code, _, err = run_cli("--config", str(config), "check-config")
    assert code == 2
    assert "sources[0].token: TEST_IG_TOKEN is not set: source 'library-instagram'" in err


@pytest.mark.parametrize(
    ("refusal", "advice"),
    [
        (None, "Instagram token expired or revoked: renew it at https://developers.facebook.com/tools/explorer"),
        (graph_error(10, "(#10) Application does not have permission for this action", 403),
         "needs the instagram_basic / instagram_manage_comments permission"),
    ],
    ids=["expired-190", "permission-10"],
)
def test_a_refused_token_is_one_line_of_advice_and_the_other_source_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object, refusal: Reply | None, advice: str,  # noqa: F811
) -> None:
    bad = "IGQ-wrong-token-value"
    monkeypatch.setenv("TEST_IG_TOKEN", bad if refusal is None else TOKEN)
    monkeypatch.setenv("TEST_IG_TEENS_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        ig = FakeInstagram(server)
        build(ig)
        if refusal is not None:  # the library's media listing is refused for want of a permission
            ig.refused[f"/v21.0/{USER}/media"] = refusal
        config = write_config(tmp_path, TWO_SOURCES.format(user=USER, teens=TEENS, url=server.url), GOALS)
        code, err = collect_once(config)
        snapshot = snapshot_json(config)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("twoway: library-instagram: ") and advice in lines[0]
    assert bad not in err and TOKEN not in err and bad not in json.dumps(snapshot)
    by_id = {s["id"]: s for s in snapshot["sources"]}
    assert by_id["library-instagram"]["status"] == "error"
    assert (by_id["teens-instagram"]["status"], by_id["teens-instagram"]["followers"]) == ("ok", 5)


# -- helpers -----------------------------------------------------------------------------------


def context_for(server: ReplayServer, user: str) -> Context:
    source = Source("src", "instagram", 300, {"user_id": user, "api": server.url, "token": Credential(env="TEST_IG_TOKEN")})
    return Context(source, Http(httpx.AsyncClient()), 60 * 86400, 6 * 3600)


def poll(context: Context, now: datetime) -> Batch:
    async def run() -> Batch:
        try:
            return await InstagramCollector(context).poll(None, now)
        finally:
            await context.http.client.aclose()

    return asyncio.run(run())
