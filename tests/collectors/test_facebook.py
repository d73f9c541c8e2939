"""The Facebook Pages collector: real recorded Graph answers parsed, then a replay server
playing the Graph API (cursor paging with a token-bearing `next`, stream comments with
`parent`, usage headers, OAuth errors) polled through `twoway collect --once`.

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
from twoway.collectors.facebook import ADVICE, FacebookCollector, parse_comment, parse_counters, parse_post
from twoway.collectors.graph import UNKNOWN_AUTHOR, _following, base_url, graph_time
from twoway.plugin.http import Budget, FetchError, Http
from tests.collecting import collect, collect_once, fake_sleep, goals, measured, run_cli, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.config import Credential, Source
from twoway.model import Batch

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "facebook"
UTC = timezone.utc


def realdata(name: str) -> Any:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"recorded Facebook payload {path} is absent (shared/realdata not checked out)")
    return json.loads(path.read_text(encoding="utf-8"))


# -- real recorded answers ----------------------------------------------------------------


def test_graph_times_and_versions() -> None:
    assert graph_time("2021-07-09T19:09:52+0000") == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert graph_time("2021-07-09T21:09:52+0200") == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert graph_time("2021-07-09T19:09:52Z") == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    with pytest.raises(FetchError, match="unreadable time"):
        graph_time("yesterday")
    assert base_url(None, "https://graph.facebook.com") == "https://graph.facebook.com/v21.0"
    assert base_url("https://proxy.example/", "https://graph.facebook.com", "22.0") == "https://proxy.example/v22.0"
    assert base_url("https://graph.facebook.com/v19.0", "x", "v23.0") == "https://graph.facebook.com/v19.0"
    with pytest.raises(FetchError, match="not a Graph API version"):
        base_url(None, "https://graph.facebook.com", "latest")


def test_paging_by_cursor_or_by_time_never_by_the_token_bearing_url() -> None:
    by_time = {"previous": "https://graph.facebook.com/v21.0/1/published_posts?since=1&access_token=T",
               "next": "https://graph.facebook.com/v21.0/1/published_posts?limit=100&until=1719000000"
                       "&__paging_token=enc_AdB&access_token=EAAB-secret"}
    assert _following(by_time, False) == {"until": "1719000000", "__paging_token": "enc_AdB"}
    assert _following({"cursors": {"before": "b", "after": "a"}}, False) is None  # Facebook: no `next`, no more
    assert _following({"cursors": {"before": "b", "after": "a"}}, True) == {"after": "a"}  # Threads never says `next`


def test_page_feed_posts_and_their_counters() -> None:
    feed = realdata("page_feed_page1.json")
    posts = [parse_post(item, "19292868552") for item in feed["data"]]
    assert len(posts) == 5
    first = posts[0]
    assert (first.id, first.author_id, first.parent_id, first.root_id) == (
        "19292868552_10158349356748553", "19292868552", None, "19292868552_10158349356748553",
    )
    assert first.created_at == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert first.url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert first.text.startswith("Singaporean logistics company Ninja Van Singapore")
    # the link written in the message; the photo attachment's target is a link too
    assert first.links[0] == "https://fb.me/Ninja-Van-Success-Story"
    assert not any(p.is_repost or p.mentions_source for p in posts)
    counters = [parse_counters(item, datetime(2021, 7, 15, tzinfo=UTC)) for item in feed["data"]]
    assert [(c.replies, c.reposts, c.likes, c.quotes) for c in counters] == [
        (13, 10, 125, None), (17, 6, 131, None), (15, 15, 143, None), (23, 16, 178, None), (49, 15, 179, None),
    ]
    # the next page is asked for by its cursor: the `next` URL carries the token and is never requested
    assert "access_token" in feed["paging"]["next"]
    assert _following(feed["paging"], False) == {"after": "after"}


def test_posts_with_embedded_comments_from_named_people() -> None:
    posts = realdata("posts_with_counts_and_from.json")
    item = posts["19292868552_10158347294088553"]
    post = parse_post(item, "19292868552")
    assert post.links == (
        "https://fb.me/Facebook-Peering-automation",
        item["attachments"]["data"][0]["unshimmed_url"],  # the real target, not Facebook's l.php shim
    )
    assert post.links[1].startswith("https://engineering.fb.com/2021/05/20/")
    assert parse_counters(item, datetime(2021, 7, 15, tzinfo=UTC))[2:] == (None, 5, None, 82)  # no summary: not counted
    comments = [parse_comment(c, post.id, "19292868552") for c in item["comments"]["data"]]
    assert len(comments) == 7
    first = comments[0]
    assert (first.id, first.author_id, first.parent_id, first.root_id) == (
        "19292868552_10158347294088553_10158348537573553", "100070073499229", post.id, post.id,
    )
    assert first.text == "Inbox me for help regarding your account, quick recovery is assured"
    assert {c.author_id for c in comments} >= {"100018676760657", "100052906572726"}


def test_stream_comments_without_ids_or_authors() -> None:
    """Graph withheld `id` and `from` here (Page Public Content Access): ids and parents come from the permalink."""
    post = "19292868552_10158407654328553"
    page1, page2 = realdata("post_comments_page1.json"), realdata("post_comments_page2.json")
    comments = [parse_comment(c, post, "19292868552") for c in page1["data"] + page2["data"]]
    assert len(comments) == 15
    assert {c.author_id for c in comments} == {UNKNOWN_AUTHOR}
    by_id = {c.id: c for c in comments}
    assert len(by_id) == 15
    top = by_id["10158407654328553_10158407903973553"]
    assert (top.parent_id, top.root_id) == (post, post)
    assert top.text.startswith("Can someone from Instagram please assist me")
    # the help-center answer replies to that comment
    answer = by_id["10158407654328553_10158409983033553"]
    assert (answer.parent_id, answer.root_id) == (top.id, post)
    assert answer.links == ("http://bit.ly/2NsSg8i",)
    replies = [c for c in comments if c.parent_id != post]
    assert len(replies) == 5 and all(c.parent_id in by_id for c in replies)
    assert _following(page1["paging"], False) == {"after": "after"}
    assert _following(page2["paging"], False) is None  # only `previous`: the last page


def test_single_comment_with_its_author() -> None:
    comment = parse_comment(realdata("comment_with_from.json"), "2121008874780932_2954961744718970", "2121008874780932")
    assert (comment.id, comment.author_id) == ("2954961744718970_2966313500250461", "2711636948859886")
    assert comment.parent_id == "2121008874780932_2954961744718970"  # no `parent`: a comment on the post
    assert comment.created_at == datetime(2021, 7, 23, 8, 35, 18, tzinfo=UTC)
    assert comment.text == "My Nice Car "


def test_missing_permission_error_becomes_advice() -> None:
    body = realdata("error_oauthexception_100.json")
    error = FetchError("https://graph.facebook.com/v21.0/1/published_posts: HTTP 400: (#100) Object does not exist", status=400, data=body)
    line = str(explain(error, ADVICE))
    assert line.startswith("https://graph.facebook.com/v21.0/1/published_posts: check page_id")
    assert "pages_read_engagement" in line and "(HTTP 400: (#100) Object does not exist" in line


def test_poll_over_recorded_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector on the recorded page, feed and comments; `tagged` refused, so mentions are not measured."""
    page, feed = realdata("page_fields.json"), realdata("page_feed_page1.json")
    first = feed["data"][0]["id"]
    pages = [realdata("post_comments_page1.json"), realdata("post_comments_page2.json")]
    refused = {"error": {"message": "(#10) This endpoint requires the 'pages_read_user_content' permission",
                         "type": "OAuthException", "code": 10, "fbtrace_id": "A1"}}
    monkeypatch.setenv("TEST_FB_TOKEN", TOKEN)
    with replay_server() as server:
        server.route("GET", "/v21.0/20531316728", lambda r: json_reply(page))
        server.route("GET", "/v21.0/20531316728/published_posts",
                     lambda r: json_reply({"data": []}) if r.arg("after") else json_reply(feed))
        server.route("GET", "/v21.0/20531316728/tagged", lambda r: json_reply(refused, 403))
        server.route("GET", f"/v21.0/{first}/comments", lambda r: json_reply(pages[1 if r.arg("after") else 0]))
        server.route("GET", "/v21.0/*", lambda r: json_reply({"data": []}))
        batch = poll(context_for(server, "20531316728"), datetime(2021, 7, 15, tzinfo=UTC))
        assert all("access_token" not in r.query for r in server.requests())
        assert [r.arg("after") for r in server.requests(f"/v21.0/{first}/comments")] == [None, "after"]
        assert server.requests(f"/v21.0/{first}/comments")[0].arg("filter") == "stream"
    assert batch.followers == 214507731  # no followers_count: fan_count
    assert batch.accounts[0] == ("20531316728", "facebookapp", "source")
    assert batch.measures == frozenset({"replies", "responses", "reposts", "likes"})
    assert len([p for p in batch.posts if p.parent_id is None]) == 5
    assert len([p for p in batch.posts if p.root_id == first and p.id != first]) == 15
    assert len(batch.counters) == 5 and batch.deleted == ()


# -- a replay server playing the Graph API ------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "EAAB-page-token-s3cret"
PAGE = "1000"
STAFF, ALICE, BOB, CAROL, DAVE, EVE, PARTNER = "9001", "2001", "2002", "2003", "2004", "2005", "5005"
BRANCH = "1001"
"""A second Page of the organization, with no posts: the healthy source next to a refused one."""


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def fb_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_page(request: Request, items: list[dict[str, Any]], size: int, headers: dict[str, str], *,
               next_link: bool = True) -> Reply:
    """Graph's cursor paging: `after` is an opaque cursor (here the next index), `next` while more follow,
    and the `next` URL repeats the caller's token, as Graph does."""
    start = int(request.arg("after") or 0)
    chunk = items[start : start + min(int(request.arg("limit") or 25), size)]
    paging: dict[str, Any] = {}
    if chunk:
        paging["cursors"] = {"before": str(start), "after": str(start + len(chunk))}
        if next_link and start + len(chunk) < len(items):
            token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
            paging["next"] = f"https://graph.facebook.com{request.path}?access_token={token}&after={start + len(chunk)}"
    return json_reply({"data": chunk, "paging": paging}, headers=headers)


def graph_error(code: int, message: str, status: int = 400, subcode: int | None = None) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return json_reply({"error": error}, status)


@dataclass
class FbPost:
    id: str
    author: str | None
    created: datetime
    message: str
    reactions: int = 0
    shares: int = 0
    parent_id: str | None = None
    tags_page: bool = False
    deleted: bool = False


@dataclass
class FbComment:
    id: str
    post: str
    author: str | None
    created: datetime
    message: str
    parent: str | None = None
    hidden: bool = False
    deleted: bool = False


@dataclass
class FakeFacebook:
    """The Page's posts, posts tagging it and their comments, in Graph's shapes."""

    server: ReplayServer
    posts: dict[str, FbPost] = field(default_factory=dict)
    comments: dict[str, FbComment] = field(default_factory=dict)
    usage: dict[str, str] = field(default_factory=lambda: {"X-App-Usage": '{"call_count":3,"total_cputime":1,"total_time":2}'})
    refused: dict[str, Reply] = field(default_factory=dict)
    seq: int = 0

    def __post_init__(self) -> None:
        self.server.route("GET", "/v21.0/*", self.handle)

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
        self.comments[cid] = FbComment(cid, post, author, created, message, parent, **extra)
        return cid

    def total(self, pid: str) -> int:
        return sum(1 for c in self.comments.values() if c.post == pid and not c.deleted)

    def render_post(self, p: FbPost) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": p.id, "created_time": fb_time(p.created),
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
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return graph_error(190, "Error validating access token: Session has expired on Friday, 26-Jun-26.", 400, 463)
        if "access_token" in request.query:
            return graph_error(100, "the token went into the query")
        if request.path in self.refused:
            return self.refused[request.path]
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
            "id": c.id, "created_time": fb_time(c.created), "message": c.message, "is_hidden": c.hidden,
            "permalink_url": link + (f"&reply_comment_id={c.id.split('_')[1]}" if c.parent else ""),
        }
        if c.author is not None:
            item["from"] = {"id": c.author, "name": "Someone"}
        if c.parent:
            item["parent"] = {"id": c.parent, "created_time": fb_time(self.comments[c.parent].created)}
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


SOURCE = """thread_refresh = "1h"

[[sources]]
id = "library-facebook"
platform = "facebook"
page_id = "{page}"
api = "{url}"
token = {{ env = "TEST_FB_TOKEN" }}
"""
GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]
"""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: object) -> Iterator[tuple[World, Path]]:  # noqa: F811
    monkeypatch.setenv("TEST_FB_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        fb = FakeFacebook(server)
        w = World(fb, build(fb))
        config = write_config(tmp_path, SOURCE.format(page=PAGE, url=server.url), GOALS,
                              organization=f'also = ["facebook:{STAFF}"]')
        yield w, config


def comment_reads(server: ReplayServer) -> list[str]:
    return [r.path.split("/")[2] for r in server.requests("/v21.0/") if r.path.endswith("/comments")]


def test_scenario_metrics(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    server, ids = w.fb.server, w.ids
    collect(config, monkeypatch, NOW)
    # 12 Page posts younger than 60 days (b1 b2 b3 s1 s2, six routine ones, b4 in the baseline), three a page
    listing = server.requests(f"/v21.0/{PAGE}/published_posts")
    assert [r.arg("after") for r in listing] == [None, "3", "6", "9"]
    # every conversation is read: each Page post but the two shares (10), and the two tagging posts;
    # b1's six comments take two pages of four
    reads = comment_reads(server)
    assert len(set(reads)) == 12 and not {ids["s1"], ids["s2"], ids["b0"]} & set(reads)
    assert len(reads) == 13 and reads.count(ids["b1"]) == 2
    assert all("access_token" not in r.query for r in server.requests())

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in 30 days: b1 b2 b3 and six routine posts (the shares are reposts; b4 is 45 days old)
    assert m["broadcast"] == 9
    # replies: r1 r2 r4 under b1 (h1 is hidden, a1 is the Page's, j1 the staff's), r5 m2 under b2, r6 under b3
    assert m["replies"] == 6
    # mentions: t1 (a person's post, author withheld) and t2 (a partner Page's)
    assert m["mentions"] == 2 and m["community_messages"] == 8
    # responses: a1 → r1 after 3 h, j1 (staff) → r4 after 30 min, a3 → m2 after 1 day, a2 → t1 after 2 h
    assert (m["responses"], m["answered"], m["unanswered"]) == (4, 4, 4)
    assert m["two_way"] == 12
    assert m["median_response_seconds"] == (7200 + 10800) / 2  # 30 min, 2 h, 3 h, 1 day
    assert m["p90_response_seconds"] == 86400  # nearest rank: the 4th of 4
    # reactions 5 + 3 + 1; shares (3 - the Page's own s2) + 0 (no `shares` field) + 1; Facebook has no quotes
    assert (m["likes"], m["reposts"], m["quotes"]) == (9, 3, None)
    # alice, bob, dave, carol, the unknown author of t1, the partner Page
    assert m["voices"] == 6
    assert m["conversation_rate"] == pytest.approx(6 / 9)
    assert report["All"]["unavailable"] == {"quotes": ["library-facebook"]}
    b = report["All"]["baseline"]
    # b4 (45 days), r0 answered by a0 after 2 h
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"]) == (1, 1, 1, 7200)

    s = report["Summer reading"]["metrics"]
    # b1 with its replies r1 r2 r4; t1 carries the hashtag; a1 j1 a2 answer after 3 h, 30 min, 2 h
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 3, 1, 3)
    assert s["median_response_seconds"] == 7200
    assert (s["likes"], s["reposts"]) == (5, 3 - 1)

    (source,) = snapshot_json(config)["sources"]
    assert (source["status"], source["followers"]) == ("ok", 321)


def test_steady_state_changed_counters_and_deletions(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    fb, server, ids = w.fb, w.fb.server, w.ids
    collect(config, monkeypatch, NOW)
    before = measured(config)

    # nothing changed: the Page, four listing pages and the tagged list; no conversation
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    paths = sorted(r.path for r in server.requests())
    assert paths == sorted([f"/v21.0/{PAGE}"] + [f"/v21.0/{PAGE}/published_posts"] * 4 + [f"/v21.0/{PAGE}/tagged"])
    assert measured(config) == before

    # a reply under alice's comment on b2 moves b2's stream count: b2 alone is read
    fb.comment(ids["b2"], DAVE, NOW + timedelta(minutes=8), "Me too", ids["r5"])
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=10))
    assert comment_reads(server) == [ids["b2"]]
    assert goals(config)["All"]["metrics"]["replies"] == 6 + 1

    # the Page answers on the partner's post t2: its count moves, the mention is answered (after 6 days and 15 min)
    fb.comment(ids["t2"], PAGE, NOW + timedelta(minutes=15), "Come again!")
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=20))
    assert comment_reads(server) == [ids["t2"]]
    assert goals(config)["All"]["metrics"]["answered"] == 4 + 1

    # b3 is deleted (taking r6), r5 is deleted (b2's count moves); thread_refresh (1 h) is due for the rest
    fb.posts[ids["b3"]].deleted = True
    fb.comments[ids["r5"]].deleted = True
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(hours=2))
    assert len(set(comment_reads(server))) == 12 - 1  # every conversation but b3's
    m = goals(config)["All"]["metrics"]
    # broadcasts 9 - b3; replies 7 - r6 - r5 (dave's reply under r5 is still a reply in b2's thread)
    assert (m["broadcast"], m["replies"], m["likes"], m["reposts"]) == (8, 5, 8, 2)


def test_comments_of_a_tagging_post_may_be_refused(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    refusal = graph_error(10, "(#10) Requires pages_read_user_content permission", 403)
    w.fb.refused[f"/v21.0/{w.ids['t1']}/comments"] = refusal
    collect(config, monkeypatch, NOW)
    m = goals(config)["All"]["metrics"]
    # t1 still counts as a mention, but the Page's answer a2 under it is out of sight: 3 of the 4 responses
    assert (m["mentions"], m["responses"], m["answered"]) == (2, 3, 3)
    w.fb.server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    assert comment_reads(w.fb.server) == []  # a refused conversation is not asked again every cycle


def test_usage_headers_become_the_budget_and_a_spent_one_waits(world: tuple[World, Path], fake_sleep: Any) -> None:  # noqa: F811
    w, _ = world
    fb = w.fb
    fb.usage = {"X-Business-Use-Case-Usage": json.dumps(
        {PAGE: [{"type": "pages", "call_count": 28, "total_cputime": 9, "total_time": 41, "estimated_time_to_regain_access": 0}]}
    )}
    context = context_for(fb.server, PAGE)
    poll(context, NOW)
    netloc = fb.server.url.removeprefix("http://")
    assert context.http.budgets[netloc] == Budget(100 - 41, 100, None)

    fb.usage = {"X-App-Usage": '{"call_count":100,"total_cputime":12,"total_time":20}',
                "X-Business-Use-Case-Usage": json.dumps({PAGE: [{"type": "pages", "call_count": 100,
                                                                  "estimated_time_to_regain_access": 5}]})}
    fake_sleep.pauses.clear()
    context = context_for(fb.server, PAGE)
    poll(context, NOW)
    assert context.http.budgets[netloc].remaining == 0
    # the first answer spent the budget: the next request waits the 5 minutes Meta estimates
    assert fake_sleep.pauses and 299 <= fake_sleep.pauses[0] <= 300


# -- credentials -----------------------------------------------------------------------------

TWO_SOURCES = """
[[sources]]
id = "library-facebook"
platform = "facebook"
page_id = "{page}"
api = "{url}"
token = {{ env = "TEST_FB_TOKEN" }}

[[sources]]
id = "branch-facebook"
platform = "facebook"
page_id = "{branch}"
api = "{url}"
token = {{ env = "TEST_FB_BRANCH_TOKEN" }}
"""


def test_a_missing_token_fails_check_config_naming_source_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_FB_TOKEN", raising=False)
    monkeypatch.setenv("TEST_FB_BRANCH_TOKEN", TOKEN)
    config = write_config(tmp_path, TWO_SOURCES.format(page=PAGE, branch=BRANCH, url="https://graph.facebook.com"))
    code, _, err = run_cli("--config", str(config), "check-config")
    assert code == 2
    assert "sources[0].token: TEST_FB_TOKEN is not set: source 'library-facebook'" in err
    assert TOKEN not in err


@pytest.mark.parametrize(
    ("refusal", "advice"),
    [
        (None, "page token expired or revoked: renew it at https://developers.facebook.com/tools/explorer"),
        (graph_error(10, "(#10) Application does not have permission for this action", 403),
         "needs the pages_read_engagement / pages_read_user_content permission"),
        (graph_error(200, "(#200) Requires pages_read_user_content permission to manage the object", 403),
         "needs the pages_read_engagement / pages_read_user_content permission"),
    ],
    ids=["expired-190", "permission-10", "permission-200"],
)
def test_a_refused_token_is_one_line_of_advice_and_the_other_source_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object, refusal: Reply | None, advice: str,  # noqa: F811
) -> None:
    bad = "EAAB-wrong-token-value" if refusal is None else TOKEN
    monkeypatch.setenv("TEST_FB_TOKEN", bad)
    monkeypatch.setenv("TEST_FB_BRANCH_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        fb = FakeFacebook(server)
        build(fb)
        if refusal is not None:  # the library's listing is refused for want of a permission; the branch's is not
            fb.refused[f"/v21.0/{PAGE}/published_posts"] = refusal
        config = write_config(tmp_path, TWO_SOURCES.format(page=PAGE, branch=BRANCH, url=server.url), GOALS)
        code, err = collect_once(config)
        snapshot = snapshot_json(config)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("twoway: library-facebook: ") and advice in lines[0]
    assert bad not in err and bad not in json.dumps(snapshot)
    by_id = {s["id"]: s for s in snapshot["sources"]}
    assert by_id["library-facebook"]["status"] == "error" and advice in by_id["library-facebook"]["error"]
    assert by_id["branch-facebook"]["status"] == "ok" and by_id["branch-facebook"]["followers"] == 321


# -- helpers -----------------------------------------------------------------------------------


def context_for(server: ReplayServer, page: str, horizon_days: int = 60) -> Context:
    source = Source("src", "facebook", 300, {"page_id": page, "api": server.url, "token": Credential(env="TEST_FB_TOKEN")})
    return Context(source, Http(httpx.AsyncClient()), horizon_days * 86400, 6 * 3600)


def poll(context: Context, now: datetime, cursor: str | None = None) -> Batch:
    async def run() -> Batch:
        try:
            return await FacebookCollector(context).poll(cursor, now)
        finally:
            await context.http.client.aclose()

    return asyncio.run(run())
