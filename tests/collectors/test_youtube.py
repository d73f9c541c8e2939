"""The YouTube collector: real recorded answers parsed, then a replay server playing the
YouTube Data API v3 (`pageToken` paging, inlined replies, `commentsDisabled`, the quota),
polled through `twoway collect --once`, with every expected metric worked out here by
hand from the scenario (SPEC §2–§3)."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from twoway.plugin.protocol import Context, DailyQuota
from twoway.plugin.http import FetchError, Http
from twoway.collectors.youtube import (
    KEY_INVALID,
    YouTubeCollector,
    channel_facts,
    listed_video,
    thread_posts,
    video_counters,
    video_post,
)
from tests.collecting import collect, collect_once, fake_sleep, goals, run_cli, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.config import Credential, Source
from twoway.model import Batch

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "youtube"
UTC = timezone.utc


def _realdata(name: str) -> Any:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"recorded YouTube answer {path} is absent (shared/realdata not checked out)")
    return json.loads(path.read_text(encoding="utf-8"))


# -- real recorded answers ------------------------------------------------------------------


def test_channel_uploads_playlist_and_subscribers() -> None:
    channel = _realdata("channel_with_contentDetails.json")
    assert channel_facts(channel) == ("UU_x5XG1OV2P6uZZ5FSM9Ttw", 1927873)  # subscriberCount is a string
    (listed,) = _realdata("channels_list_statistics.json")["items"]
    assert channel_facts(listed) == (None, 1927873)  # asked without contentDetails: no uploads playlist
    hidden = copy.deepcopy(channel)
    hidden["statistics"]["hiddenSubscriberCount"] = True
    assert channel_facts(hidden) == ("UU_x5XG1OV2P6uZZ5FSM9Ttw", None)


def test_playlist_items_give_video_ids_and_times() -> None:
    items = _realdata("playlistItems_page1.json")["items"] + _realdata("playlistItems_page2.json")["items"]
    listed = [listed_video(i) for i in items]
    assert len(listed) == 13 == len({vid for vid, _ in listed})
    # recorded without contentDetails: the id from snippet.resourceId, the time from snippet.publishedAt
    assert listed[0] == ("CvTApw9X8aA", datetime(2019, 11, 21, 22, 17, 43, tzinfo=UTC))
    assert listed[10] == ("6aSG8SdvkoU", datetime(2019, 11, 23, 0, 45, 5, tzinfo=UTC))
    details = {"videoId": "CvTApw9X8aA", "videoPublishedAt": "2019-11-20T10:00:00Z"}
    with_details = {**items[0], "contentDetails": details}
    assert listed_video(with_details)[1] == datetime(2019, 11, 20, 10, tzinfo=UTC)  # went public before it was listed


def test_video_text_links_and_counters() -> None:
    video = _realdata("video_with_statistics.json")
    post = video_post(video, "UC_x5XG1OV2P6uZZ5FSM9Ttw")
    assert (post.id, post.author_id, post.root_id) == ("D-lhorsDlUQ", "UC_x5XG1OV2P6uZZ5FSM9Ttw", "D-lhorsDlUQ")
    assert post.created_at == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert post.url == "https://www.youtube.com/watch?v=D-lhorsDlUQ"
    assert post.text.startswith("What are Actions on Google (Assistant on Air)\nIn the first episode of Assistant")
    assert post.links == ("http://bit.ly/2YabdS5", "https://bit.ly/googledevs")
    assert post.hashtags == ()  # snippet.tags are hidden search keywords, not hashtags anyone sees
    counters = video_counters(video, datetime(2026, 1, 1, tzinfo=UTC))
    # commentCount "32", likeCount "190"; dislikes and views are not counters twoway keeps
    assert (counters.replies, counters.likes, counters.reposts, counters.quotes) == (32, 190, None, None)


def test_comment_threads_of_a_video() -> None:
    page = _realdata("commentThreads_by_video_page1.json")
    posts = [p for thread in page["items"] for p in thread_posts(thread, [], "F1UP7wRCPH8")]
    assert [p.id for p in posts] == [t["id"] for t in page["items"]]  # asked without replies: top-level only
    assert all(p.parent_id == p.root_id == "F1UP7wRCPH8" for p in posts)
    first, _, _, fourth, fifth = posts
    assert (first.author_id, first.text) == ("UCzj-CjKYmGlZ7vTL-vOe57A", "Google.com")
    assert first.links == ("http://google.com/",)
    assert first.created_at == datetime(2019, 11, 26, 15, 51, 44, tzinfo=UTC)
    assert first.url == "https://www.youtube.com/watch?v=F1UP7wRCPH8&lc=UgyZ1jqkHKYvi1-ruOZ4AaABAg"
    assert "\n" in fourth.text and "<br" not in fourth.text  # textDisplay's <br /> is a line break
    # a hashtag in textDisplay links to a YouTube search: a hashtag, not a link of the author's
    assert fifth.text.startswith("Lot's of good light") and fifth.hashtags == ("ChromeDevSummit",)
    assert not any("youtube.com/results" in link for link in fifth.links)


def test_a_thread_with_inlined_replies() -> None:
    thread = _realdata("commentThread_with_replies.json")
    top, reply = thread_posts(thread, thread["replies"]["comments"], "D-lhorsDlUQ")
    assert (top.id, top.parent_id) == ("UgydxWWoeA7F1OdqypJ4AaABAg", "D-lhorsDlUQ")
    assert top.author_id == "UCe9i1nJCcevTa6KJa55KYog"
    assert (reply.parent_id, reply.root_id, reply.author_id) == (top.id, "D-lhorsDlUQ", "UCsl2A_QzcSnFD2hpCyVwXxA")
    assert reply.created_at == datetime(2019, 7, 20, 20, 22, 27, tzinfo=UTC)
    assert (reply.text, reply.hashtags) == ("#", ())


def test_replies_read_by_parent_join_their_thread() -> None:
    threads = {t["id"]: t for t in _realdata("commentThreads_allThreadsRelatedToChannelId.json")["items"]}
    replies = _realdata("comments_by_parent_page1.json")["items"]  # newest first, and without a videoId
    thread = threads["Ugw5zYU6n9pmIgAZWvN4AaABAg"]
    top, second, third = thread_posts(thread, replies, thread["snippet"]["videoId"])
    assert (top.root_id, top.text) == ("JE8xdDp5B8Q", "This is so beautiful !")
    assert [second.text, third.text] == ["this is the second reply!", "this is the third reply!"]  # oldest first
    assert second.parent_id == third.parent_id == top.id
    assert second.url == f"https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc={second.id}"
    # the channel's own discussion threads (no videoId) are never asked for: the collector reads by video
    assert sum("videoId" not in t["snippet"] for t in threads.values()) == 2


def context_for(
    server: ReplayServer,
    http: Http,
    *,
    budget: int | None = None,
    token: bool = False,
    refresh_hours: int = 6,
    channel: str = "",
    also: tuple[str, ...] = (),
) -> Context:
    options: dict[str, object] = {"channel_id": channel or LIB, "api": f"{server.url}/youtube/v3"}
    options["token" if token else "api_key"] = Credential(env="TEST_YT_TOKEN" if token else "TEST_YT_KEY")
    if budget is not None:
        options["budget"] = budget
    return Context(Source("yt", "youtube", 300, options), http, 60 * 86400, refresh_hours * 3600, also)


def poll(server: ReplayServer, now: datetime, cursor: str | None = None, **kw: Any) -> tuple[Batch, Http]:
    async def run() -> tuple[Batch, Http]:
        async with httpx.AsyncClient() as client:
            http = Http(client, clock=lambda: 1000.0)
            return await YouTubeCollector(context_for(server, http, **kw)).poll(cursor, now), http

    return asyncio.run(run())


def test_real_playlist_pages_are_followed_by_page_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    channel = {**_realdata("channel_with_contentDetails.json"), "id": LIB}
    pages = {None: _realdata("playlistItems_page1.json"), "CAoQAA": _realdata("playlistItems_page2.json")}
    with replay_server() as server:
        server.route("GET", "/youtube/v3/channels", lambda r: json_reply({"items": [channel]}))
        server.route("GET", "/youtube/v3/playlistItems", lambda r: json_reply(pages[r.arg("pageToken")]))
        server.route("GET", "/youtube/v3/videos", lambda r: json_reply({"items": []}))
        batch, http = poll(server, datetime(2019, 12, 1, tzinfo=UTC))
        listing = server.requests("/youtube/v3/playlistItems")
        (videos,) = server.requests("/youtube/v3/videos")
        assert all(r.headers.get("x-goog-api-key") == KEY and "key" not in r.query for r in server.requests())
    assert [r.arg("pageToken") for r in listing] == [None, "CAoQAA"]  # page 2 has no nextPageToken
    assert {r.arg("playlistId") for r in listing} == {"UU_x5XG1OV2P6uZZ5FSM9Ttw"}
    ids = (videos.arg("id") or "").split(",")
    assert len(ids) == 13 and ids[0] == "CvTApw9X8aA"
    assert batch.posts == () and batch.counters == ()  # videos.list returned none of them: private or gone
    assert batch.followers == 1927873 and batch.measures == frozenset({"replies", "responses", "likes"})
    assert http.budgets[DailyQuota.KEY].remaining == 10_000 - 4  # the channel, 2 pages of uploads, 1 videos call


# -- a replay server playing the YouTube Data API -------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)  # 05:00 in Los Angeles (PDT, UTC-7)
KEY = "AIza-test-key-0123456789"
TOKEN = "ya29.test-access-token"
LIB, JANE = "UCriversideLibrary000001", "UCjaneReadsStaff00000001"
ANN, BOB, CAT, DEE, EVE, FIN, GUS = (f"UCcommunity{n}" for n in "ABCDEFG")
NAMES = {
    LIB: "@RiversideLibrary", JANE: "@janereads", ANN: "@ann", BOB: "@bob", CAT: "@cat", DEE: "@dee",
    EVE: "@eve", FIN: "@fin", GUS: "@gus",
}


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def google_error(status: int, reason: str, message: str) -> Reply:
    errors = [{"message": message, "domain": "youtube", "reason": reason}]
    return json_reply({"error": {"code": status, "message": message, "errors": errors}}, status)


class FakeYouTube:
    """The API's JSON shapes, paging and refusals, computed from a small world of videos and comments.

    Pages are small (5 uploads, 2 threads, 2 replies a page; 2 replies inlined in a thread) so
    every kind of paging happens. `commentCount` is counted from the comments: a new one moves it.
    """

    PAGE = {"playlistItems": 5, "commentThreads": 2, "comments": 2}
    INLINED = 2

    def __init__(self, server: ReplayServer) -> None:
        self.server = server
        self.videos: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.bad_key = json_reply(_realdata("error_400_keyInvalid.json"), 400)
        self.broken: Reply | None = None
        handlers = {
            "channels": self.channels,
            "playlistItems": self.uploads,
            "videos": self.list_videos,
            "commentThreads": self.threads,
            "comments": self.replies,
        }
        for resource, handler in handlers.items():
            server.route("GET", f"/youtube/v3/{resource}", self.guarded(handler))

    def video(
        self, vid: str, when: datetime, title: str, text: str = "", likes: int = 0, disabled: bool = False
    ) -> str:
        self.videos[vid] = {"at": when, "title": title, "description": text, "likes": likes, "disabled": disabled}
        return vid

    def comment(self, cid: str, video: str, author: str, when: datetime, text: str, top: str | None = None) -> str:
        cid = f"{top}.{cid}" if top else cid
        self.comments[cid] = {"video": video, "top": top, "author": author, "at": when, "text": text}
        return cid

    def guarded(self, handler: Any) -> Any:
        """The credential checks every call goes through: a token, else the key in its header."""

        def answer(request: Request) -> Reply:
            assert "key" not in request.query  # the key travels in a header, never in the URL
            if self.broken is not None:
                return self.broken
            auth = request.headers.get("authorization")
            if auth is not None and auth != f"Bearer {TOKEN}":
                return google_error(401, "authError", "Request had invalid authentication credentials.")
            if auth is None and request.headers.get("x-goog-api-key") != KEY:
                return self.bad_key
            return handler(request)  # type: ignore[no-any-return]

        return answer

    def _page(self, resource: str, items: list[dict[str, Any]], request: Request) -> Reply:
        size = min(int(request.arg("maxResults") or 5), self.PAGE[resource])
        start = int((request.arg("pageToken") or "p0")[1:])
        body: dict[str, Any] = {"items": items[start : start + size], "pageInfo": {"totalResults": len(items)}}
        if start + size < len(items):
            body["nextPageToken"] = f"p{start + size}"
        return json_reply(body)

    def channels(self, request: Request) -> Reply:
        if request.arg("forHandle"):
            found = [{"kind": "youtube#channel", "id": c} for c, n in NAMES.items() if n == request.arg("forHandle")]
            return json_reply({"kind": "youtube#channelListResponse", "items": found})
        assert request.arg("part") == "contentDetails,statistics"
        if request.arg("id") != LIB:
            return json_reply({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}})
        channel = {
            "kind": "youtube#channel",
            "id": LIB,
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + LIB[2:]}},
            "statistics": {"viewCount": "99", "subscriberCount": "1234", "hiddenSubscriberCount": False},
        }
        return json_reply({"kind": "youtube#channelListResponse", "items": [channel]})

    def uploads(self, request: Request) -> Reply:
        assert request.arg("playlistId") == "UU" + LIB[2:]
        newest = sorted(self.videos.items(), key=lambda kv: kv[1]["at"], reverse=True)
        items = [
            {
                "kind": "youtube#playlistItem",
                "id": f"item-{vid}",
                "snippet": {"publishedAt": iso(v["at"]), "channelId": LIB, "title": v["title"],
                            "resourceId": {"kind": "youtube#video", "videoId": vid}},
                "contentDetails": {"videoId": vid, "videoPublishedAt": iso(v["at"])},
            }
            for vid, v in newest
        ]
        return self._page("playlistItems", items, request)

    def list_videos(self, request: Request) -> Reply:
        assert "maxResults" not in request.query  # the API refuses maxResults together with id
        items = []
        for vid in (request.arg("id") or "").split(","):
            v = self.videos.get(vid)
            if v is None:
                continue
            stats = {"viewCount": "40", "likeCount": str(v["likes"]), "favoriteCount": "0"}
            if not v["disabled"]:
                stats["commentCount"] = str(sum(c["video"] == vid for c in self.comments.values()))
            snippet = {"publishedAt": iso(v["at"]), "channelId": LIB, "title": v["title"],
                       "description": v["description"], "liveBroadcastContent": "none"}
            items.append({"kind": "youtube#video", "id": vid, "snippet": snippet, "statistics": stats})
        return json_reply({"kind": "youtube#videoListResponse", "items": items})

    def _resource(self, cid: str) -> dict[str, Any]:
        c = self.comments[cid]
        snippet = {
            "channelId": LIB,
            "videoId": c["video"],
            "textDisplay": html.escape(c["text"], quote=False),
            "textOriginal": c["text"],
            "authorDisplayName": NAMES[c["author"]],
            "authorChannelUrl": f"http://www.youtube.com/{NAMES[c['author']]}",
            "authorChannelId": {"value": c["author"]},
            "likeCount": 0,
            "publishedAt": iso(c["at"]),
            "updatedAt": iso(c["at"]),
        }
        if c["top"]:
            snippet["parentId"] = c["top"]
        return {"kind": "youtube#comment", "id": cid, "snippet": snippet}

    def _replies_to(self, top: str) -> list[str]:
        return sorted((k for k, c in self.comments.items() if c["top"] == top), key=lambda k: self.comments[k]["at"])

    def threads(self, request: Request) -> Reply:
        vid = request.arg("videoId") or ""
        if self.videos[vid]["disabled"]:
            return google_error(403, "commentsDisabled", "The video identified by videoId has disabled comments.")
        tops = [k for k, c in self.comments.items() if c["video"] == vid and not c["top"]]
        items = []
        for top in sorted(tops, key=lambda k: self.comments[k]["at"], reverse=True):  # order=time: newest first
            replies = self._replies_to(top)
            snippet = {"channelId": LIB, "videoId": vid, "topLevelComment": self._resource(top),
                       "totalReplyCount": len(replies), "canReply": True, "isPublic": True}
            thread: dict[str, Any] = {"kind": "youtube#commentThread", "id": top, "snippet": snippet}
            if replies:
                thread["replies"] = {"comments": [self._resource(r) for r in replies[: self.INLINED]]}
            items.append(thread)
        return self._page("commentThreads", items, request)

    def replies(self, request: Request) -> Reply:
        replies = self._replies_to(request.arg("parentId") or "")
        return self._page("comments", [self._resource(r) for r in replies], request)


V_OLD, V_BASE, V1, V2, V3, V5 = "vOld0000001", "vBase000001", "vSummer0001", "vTeens00001", "vSale000001", "vClose00001"
ROUTINE = [f"vRoutine00{i}" for i in range(10)]
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


class World:
    """60 days of a library's channel: a dozen routine videos, two summer-reading videos with
    conversations, one with comments turned off, and the staff member jane answering too."""

    def __init__(self, fake: FakeYouTube) -> None:
        f = self.fake = fake
        f.video(V_OLD, ago(70), "Welcome to our channel", likes=9)  # beyond the 60-day horizon: never read
        f.comment("old1", V_OLD, ANN, ago(69), "Hello!")
        t = ago(45)  # the baseline window
        f.video(V_BASE, t, "Summer reading last year #SummerReading", likes=7)
        base = f.comment("base1", V_BASE, ANN, t + HOUR, "Loved it")
        f.comment("r1", V_BASE, LIB, t + 3 * HOUR, "@ann Thank you!", top=base)
        for i, vid in enumerate(ROUTINE):  # 2.5, 7.5, ... 47.5 days ago; no comments
            f.video(vid, ago(2.5 + 5 * i), f"Opening hours update {i}", likes=1)

        t = ago(20)
        f.video(V1, t, "Summer reading kickoff #SummerReading", "Books: https://library.example.org/summer.", 12)
        pin = f.comment("pin", V1, LIB, t + 10 * MINUTE, "Reading logs are at the front desk.")  # its own comment
        f.comment("d1", V1, DEE, t + DAY, "What prizes?", top=pin)
        ann = f.comment("a1", V1, ANN, t + HOUR, "Can kids join?")
        f.comment("l1", V1, LIB, t + 3 * HOUR, "@ann Yes, all ages!", top=ann)
        f.comment("b1", V1, BOB, t + 4 * HOUR, "@RiversideLibrary and adults?", top=ann)
        f.comment("j1", V1, JANE, t + 5 * HOUR, "@bob Adults too!", top=ann)
        cat = f.comment("c1", V1, CAT, t + 6 * HOUR, "Where do I sign up?")
        f.comment("l2", V1, LIB, t + 10 * HOUR, "@cat At the front desk.", top=cat)

        t = ago(10)
        f.video(V2, t, "Teen summer reading picks", likes=5)
        self.eve = f.comment("e1", V2, EVE, t + 30 * MINUTE, "Any manga? Mine: https://manga.example/list")
        f.comment("l3", V2, LIB, t + 90 * MINUTE, "@eve Plenty!", top=self.eve)
        self.thanks = f.comment("e2", V2, EVE, t + 2 * HOUR, "@RiversideLibrary thanks", top=self.eve)
        self.fin = f.comment("f1", V2, FIN, t + DAY, "Great list #SummerReading")
        f.video(V5, ago(8), "Closed on Monday", likes=3)
        f.video(V3, ago(5), "Book sale", likes=2, disabled=True)


SOURCES = """
[[sources]]
id = "{id}"
platform = "youtube"
channel_id = "{channel}"
api = "{url}/youtube/v3"
{credentials}
"""
KEY_CREDENTIAL = 'api_key = { env = "TEST_YT_KEY" }'
GOALS = """
[[goals]]
name = "Everything"
window = "30d"

[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]
keywords = ["summer reading"]
window = "30d"
"""


def source(server: ReplayServer, sid: str = "yt", credentials: str = KEY_CREDENTIAL, channel: str = LIB) -> str:
    return SOURCES.format(id=sid, channel=channel, url=server.url, credentials=credentials)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: object) -> Any:  # noqa: F811
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    with replay_server() as server:
        w = World(FakeYouTube(server))
        also, refresh = 'also = ["youtube:@janereads"]', 'thread_refresh = "1h"'
        config = write_config(tmp_path, source(server), GOALS, organization=also, dashboard=refresh)
        yield w, config


def measured(config: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each goal's metrics and baseline: what must not move when nothing changed (times do)."""
    return {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}


def thread_reads(server: ReplayServer) -> list[str]:
    return sorted(r.arg("videoId") or "" for r in server.requests("/youtube/v3/commentThreads"))


def test_scenario_metrics(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    server = w.fake.server
    collect(config, monkeypatch, NOW)

    # the calls: the channel and jane's @handle; 16 uploads at 5 a page, the 4th page reaching past the
    # horizon (V_OLD); one videos call for the 15 younger; threads only of videos with comments (V1 has
    # 3 threads: 2 pages; V3's comments are off, which is no error), and ann's 3 replies (2 inlined) in 2 pages
    assert sorted(r.arg("forHandle") or r.arg("id") or "" for r in server.requests("/youtube/v3/channels")) == [
        "@janereads", LIB]
    assert [r.arg("pageToken") for r in server.requests("/youtube/v3/playlistItems")] == [None, "p5", "p10", "p15"]
    (videos,) = server.requests("/youtube/v3/videos")
    assert len((videos.arg("id") or "").split(",")) == 15
    assert thread_reads(server) == sorted([V1, V1, V2, V3, V_BASE])
    assert [r.arg("parentId") for r in server.requests("/youtube/v3/comments")] == ["a1", "a1"]
    assert server.requests("/youtube/v3/search") == []  # 100 units a call: never

    report = goals(config)
    m = report["Everything"]["metrics"]
    # broadcasts in the last 30 days: V1, V2, V3, V5 and the routine videos of 2.5 ... 27.5 days ago (6)
    assert m["broadcast"] == 10
    # community: V1 dee (under the library's own comment, a self-thread), ann, bob (answering the library's
    # reply to ann), cat; V2 eve, eve again, fin
    assert m["replies"] == 7
    assert m["mentions"] is None and m["community_messages"] == 7
    # responses: l1 to ann after 2 h; j1 (jane, staff by `also`) to bob after 1 h: its "@bob" makes bob's
    # reply its parent, where YouTube files it under ann's comment; l2 to cat after 4 h; l3 to eve after 1 h
    assert (m["responses"], m["answered"], m["unanswered"]) == (4, 4, 3)  # dee, eve's thanks, fin wait
    assert m["two_way"] == 11
    # first responses 1 h, 1 h, 2 h, 4 h: the median between 1 h and 2 h, the 90th percentile the 4th of 4
    assert m["median_response_seconds"] == (3600 + 7200) / 2
    assert m["p90_response_seconds"] == 4 * 3600
    assert m["voices"] == 6  # ann, bob, cat, dee, eve, fin
    assert m["likes"] == 12 + 5 + 2 + 3 + 6 * 1
    assert (m["reposts"], m["quotes"], m["amplification_rate"]) == (None, None, None)
    assert m["conversation_rate"] == pytest.approx(7 / 10) and m["response_rate"] == pytest.approx(4 / 7)
    assert m["applause_rate"] == pytest.approx(28 / 10)
    everything = report["Everything"]
    assert everything["unavailable"] == {
        "mentions": ["yt"], "reposts": ["yt"], "quotes": ["yt"], "amplification_rate": ["yt"]}
    b = everything["baseline"]
    # 30 to 60 days ago: the routine videos of 32.5 ... 47.5 days (4) and V_BASE, with ann answered after 2 h
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"], b["likes"]) == (
        5, 1, 1, 7200, 4 + 7)

    s = report["Summer reading"]["metrics"]
    # V1 (hashtag and keyword) and V2 (keyword): every conversation above is under one of them
    assert (s["broadcast"], s["replies"], s["responses"], s["answered"], s["likes"]) == (2, 7, 4, 4, 12 + 5)
    assert report["Summer reading"]["baseline"]["broadcast"] == 1  # V_BASE
    (yt,) = snapshot_json(config)["sources"]
    assert (yt["status"], yt["followers"]) == ("ok", 1234)


def test_steady_state_counters_refresh_and_deletions(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, config = world
    f, server = w.fake, w.fake.server
    collect(config, monkeypatch, NOW)
    before = measured(config)

    # nothing changed: the channel, the 4 upload pages and one videos call (6 units); jane's channel is
    # remembered; no thread
    server.reset_log()
    collect(config, monkeypatch, NOW + 5 * MINUTE)
    assert sorted(r.path for r in server.requests()) == sorted(
        ["/youtube/v3/channels", "/youtube/v3/videos"] + ["/youtube/v3/playlistItems"] * 4)
    assert measured(config) == before

    # the library answers fin: V2's commentCount moves and only V2 is read; V1's likes move with no read
    f.comment("l4", V2, LIB, NOW + 8 * MINUTE, "@fin Thank you!", top=w.fin)
    f.videos[V1]["likes"] = 15
    server.reset_log()
    collect(config, monkeypatch, NOW + 10 * MINUTE)
    assert thread_reads(server) == [V2] and server.requests("/youtube/v3/comments") == []
    m = goals(config)["Everything"]["metrics"]
    assert (m["replies"], m["responses"], m["answered"], m["unanswered"]) == (7, 5, 5, 2)
    assert m["likes"] == 28 + 3
    # fin wrote 9 days ago (a day after V2), answered 8 minutes after NOW: 9 d 8 min = 778080 s.
    # First responses 1 h, 1 h, 2 h, 4 h, 778080 s: the median is the 3rd, the 90th percentile the 5th of 5
    assert (m["median_response_seconds"], m["p90_response_seconds"]) == (7200, 9 * 86400 + 8 * 60)

    # eve deletes her thanks and gus comments: V2's count stays 5, so nothing is read until
    # thread_refresh (1 h) is due for every video with comments
    del f.comments[w.thanks]
    f.comment("g1", V2, GUS, NOW + 15 * MINUTE, "Is there a manga club?")
    server.reset_log()
    collect(config, monkeypatch, NOW + 20 * MINUTE)
    assert thread_reads(server) == []
    assert goals(config)["Everything"]["metrics"]["voices"] == 6
    collect(config, monkeypatch, NOW + 2 * HOUR)
    assert thread_reads(server) == sorted([V1, V1, V2, V2, V3, V_BASE])  # V2 has 3 threads now: 2 pages
    m = goals(config)["Everything"]["metrics"]
    # eve's thanks gone, gus new: 7 replies still, 7 voices; dee and gus wait
    assert (m["replies"], m["voices"], m["answered"], m["unanswered"]) == (7, 7, 5, 2)

    # V5 is deleted: gone from the uploads, and from every metric
    del f.videos[V5]
    server.reset_log()
    collect(config, monkeypatch, NOW + 2 * HOUR + 10 * MINUTE)
    assert thread_reads(server) == []
    m = goals(config)["Everything"]["metrics"]
    assert (m["broadcast"], m["likes"]) == (9, 31 - 3)


def test_a_broken_answer_fails_the_source_and_keeps_the_data(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, config = world
    collect(config, monkeypatch, NOW)
    before, spent = measured(config), _quota(config)
    w.fake.broken = Reply(500, b'{"error": {"code": 500, "message": "Backend Error"}}')
    w.fake.server.reset_log()
    monkeypatch.setenv("TWOWAY_NOW", iso(NOW + 5 * MINUTE))
    code, err = collect_once(config)
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith("twoway: yt: ")
    assert len(w.fake.server.requests()) == 3  # the channel call, tried three times
    assert measured(config) == before and snapshot_json(config)["sources"][0]["status"] == "error"
    assert _quota(config) == [spent[0], spent[1] + 1]  # what the failed cycle paid for stays paid


def _quota(config: Path) -> list[Any]:
    """The daily quota the stored cursor remembers: [Pacific day, units spent]."""
    conn = sqlite3.connect(config.parent / "store.db")
    try:
        (cursor,) = conn.execute("SELECT cursor FROM sources WHERE source_id = 'yt'").fetchone()
    finally:
        conn.close()
    return list(json.loads(cursor)["quota"])


# -- credentials and quota ------------------------------------------------------------------


def test_a_missing_credential_fails_check_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_YT_KEY", raising=False)
    with replay_server() as server:
        config = write_config(tmp_path, source(server))
    code, _, err = run_cli("--config", str(config), "check-config")
    assert code == 2
    assert "sources[0].api_key: TEST_YT_KEY is not set: source 'yt' cannot be polled without it" in err


MODERN_BAD_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "errors": [{"message": "API key not valid. Please pass a valid API key.", "domain": "global",
                    "reason": "badRequest"}],
        "status": "INVALID_ARGUMENT",
    }
}


@pytest.mark.parametrize("answer", ["recorded keyInvalid", "badRequest since 2020"])
def test_a_rejected_key_is_one_line_and_the_other_source_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object, answer: str  # noqa: F811
) -> None:
    wrong = "AIza-wrong-key-987654"
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    monkeypatch.setenv("TEST_YT_WRONG", wrong)
    monkeypatch.setenv("TWOWAY_NOW", iso(NOW))
    with replay_server() as server:
        fake = FakeYouTube(server)
        if answer != "recorded keyInvalid":
            fake.bad_key = json_reply(MODERN_BAD_KEY, 400)
        fake.video("v1", ago(1), "Storytime", likes=2)
        sources = source(server, "yt-bad", 'api_key = { env = "TEST_YT_WRONG" }') + source(server)
        config = write_config(tmp_path, sources, GOALS)
        code, err = collect_once(config)
    assert code == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"twoway: yt-bad: {server.url}/youtube/v3/channels: {KEY_INVALID} (HTTP 400")
    assert wrong not in err
    snapshot = snapshot_json(config)
    assert {s["id"]: s["status"] for s in snapshot["sources"]} == {"yt-bad": "error", "yt": "ok"}
    assert wrong not in json.dumps(snapshot)
    assert snapshot["goals"][0]["metrics"]["broadcast"] == 1


def test_an_expired_token_is_one_line_and_wins_over_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object  # noqa: F811
) -> None:
    expired = "ya29.expired-token-123"
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    monkeypatch.setenv("TEST_YT_TOKEN", expired)
    monkeypatch.setenv("TWOWAY_NOW", iso(NOW))
    with replay_server() as server:
        FakeYouTube(server)
        both = KEY_CREDENTIAL + '\ntoken = { env = "TEST_YT_TOKEN" }'
        config = write_config(tmp_path, source(server, credentials=both), GOALS)
        code, err = collect_once(config)
        (request,) = server.requests()
    assert request.headers["authorization"] == f"Bearer {expired}" and "x-goog-api-key" not in request.headers
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith("twoway: yt: ")
    assert "token expired or revoked (Google access tokens last an hour): get a new one" in err
    assert expired not in err


@pytest.mark.parametrize(
    ("answer", "advice"),
    [
        ("error_403_permission.json", "refused: check the key's API restrictions at https://console.cloud.google.com"),
        (google_error(403, "quotaExceeded", "quota"), "daily quota used up: Google gives it back at midnight Pacific"),
        (google_error(403, "accessNotConfigured", "off"), "the YouTube Data API v3 is not enabled for this key's"),
        (google_error(403, "forbidden", "no"), "not allowed to read this: the channel or video is private"),
        (google_error(403, "insufficientPermissions", "s"), "the token lacks the scope https://www.googleapis.com/"),
    ],
)
def test_refusals_say_what_to_do(monkeypatch: pytest.MonkeyPatch, answer: Any, advice: str) -> None:
    monkeypatch.setenv("TEST_YT_TOKEN", TOKEN)
    reply = json_reply(_realdata(answer), 403) if isinstance(answer, str) else answer
    with replay_server() as server:
        server.route("GET", "/youtube/v3/channels", lambda r: reply)
        with pytest.raises(FetchError) as caught:
            poll(server, NOW, token=True)
    assert str(caught.value).startswith(f"{server.url}/youtube/v3/channels: {advice}")
    assert "(HTTP 403" in str(caught.value) and TOKEN not in str(caught.value)


def test_staff_by_channel_id_an_unknown_channel_and_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    with replay_server() as server:
        fake = FakeYouTube(server)
        fake.video("v1", ago(1), "Storytime")
        batch, _ = poll(server, NOW, also=(JANE, "@nobody"))
        lookups = [r.arg("forHandle") for r in server.requests("/youtube/v3/channels") if r.arg("forHandle")]
        assert [(a.author_id, a.origin) for a in batch.accounts] == [(LIB, "source"), (JANE, f"youtube:{JANE}")]
        assert lookups == ["@nobody"]  # a channel id needs no lookup; an unknown handle is skipped
        server.reset_log()
        poll(server, NOW, batch.cursor, also=(JANE, "@nobody"))
        assert not any(r.arg("forHandle") for r in server.requests())  # looked up once
        with pytest.raises(FetchError, match=r"^channel 'UCnobody' not found: channel_id is the channel's id"):
            poll(server, NOW, channel="UCnobody")
        monkeypatch.setenv("TEST_YT_TOKEN", TOKEN)
        server.reset_log()
        batch, _ = poll(server, NOW, token=True)  # an OAuth token instead of the key
        assert [p.id for p in batch.posts] == ["v1"]
        assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests())
        assert not any("x-goog-api-key" in r.headers for r in server.requests())


SPENT = "daily budget of 4 quota units used up (4 spent); it comes back in 18.8 h"
"""Ten minutes after NOW: 05:10 in Los Angeles, 18 h 50 min (18.83 h) before midnight Pacific."""


def test_the_daily_quota_is_the_budget_and_stops_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object  # noqa: F811
) -> None:
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    with replay_server() as server:
        f = FakeYouTube(server)
        f.video("vA", ago(2), "Older")
        f.comment("ca", "vA", ANN, ago(1.5), "Hi")
        f.video("vB", ago(1), "Newer")
        f.comment("cb", "vB", BOB, ago(0.5), "Hello")

        batch, http = poll(server, NOW, budget=4, refresh_hours=48)
        # the channel, one page of uploads, one videos call: 3 units; vB (newest first) is read with the
        # 4th; vA's read would be the 5th, so it waits, and what the cycle learned is kept
        assert thread_reads(server) == ["vB"]
        assert {p.id for p in batch.posts} == {"vA", "vB", "cb"}
        budget = http.budgets[DailyQuota.KEY]
        # 05:00 in Los Angeles: the units come back at midnight Pacific, 19 h on (the clock says 1000 s)
        assert (budget.remaining, budget.limit, budget.reset_at) == (0, 4, 1000.0 + 19 * 3600)

        server.reset_log()
        with pytest.raises(FetchError, match=rf"^{re.escape(SPENT)}$"):
            poll(server, NOW + 10 * MINUTE, batch.cursor, budget=4, refresh_hours=48)  # 05:10: 18 h 50 min left
        assert server.requests() == []  # refused before anything was sent

        tomorrow = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # 00:30 in Los Angeles: a new allowance
        batch, http = poll(server, tomorrow, batch.cursor, budget=4, refresh_hours=48)
        assert thread_reads(server) == ["vA"] and "ca" in {p.id for p in batch.posts}
        assert http.budgets[DailyQuota.KEY].remaining == 0

        # through the command line: the same budget, spent by the first collect, refused in one line
        config = write_config(tmp_path, source(server) + "budget = 4\n")
        monkeypatch.setenv("TWOWAY_NOW", iso(NOW))
        assert collect_once(config) == (0, "")
        monkeypatch.setenv("TWOWAY_NOW", iso(NOW + 10 * MINUTE))
        assert collect_once(config) == (1, f"twoway: yt: {SPENT}\n")
