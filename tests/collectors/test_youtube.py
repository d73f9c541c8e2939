"""The YouTube collector: real recorded answers parsed, then a replay server playing the
YouTube Data API v3 (`pageToken` paging, inlined replies, `commentsDisabled`, the quota),
polled through `twoway collect --once`, with every expected metric worked out here by
hand from the scenario (SPEC §2–§3)."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collecting import FakeSleep, Stage, collect_once, context, goals, health, played, poll, write_config
from tests.fakes import UTC, realdata
from tests.fakes.youtube import (
    ANN,
    BOB,
    GOALS,
    GUS,
    HOUR,
    JANE,
    KEY,
    LIB,
    MINUTE,
    NOW,
    TOKEN,
    V1,
    V2,
    V3,
    V5,
    V_BASE,
    YOUTUBE,
    FakeYouTube,
    World,
    ago,
    google_error,
    iso,
    source,
    thread_reads,
)
from tests.replay import json_reply, replay_server
from twoway.collectors.youtube import channel_facts, listed_video, thread_posts, video_counters, video_post
from twoway.config import Credential
from twoway.model import Batch
from twoway.plugin.http import FetchError, Http
from twoway.plugin.protocol import DailyQuota

# -- real recorded answers ------------------------------------------------------------------


def test_channel_uploads_playlist_and_subscribers() -> None:
    channel = realdata("youtube", "channel_with_contentDetails.json")
    assert channel_facts(channel) == ("UU_x5XG1OV2P6uZZ5FSM9Ttw", 1927873)  # subscriberCount is a string
    (listed,) = realdata("youtube", "channels_list_statistics.json")["items"]
    assert channel_facts(listed) == (None, 1927873)  # asked without contentDetails: no uploads playlist
    hidden = copy.deepcopy(channel)
    hidden["statistics"]["hiddenSubscriberCount"] = True
    assert channel_facts(hidden) == ("UU_x5XG1OV2P6uZZ5FSM9Ttw", None)


def test_playlist_items_give_video_ids_and_times() -> None:
    items = realdata("youtube", "playlistItems_page1.json")["items"] + realdata("youtube", "playlistItems_page2.json")["items"]
    listed = [listed_video(i) for i in items]
    assert len(listed) == 13 == len({vid for vid, _ in listed})
    # recorded without contentDetails: the id from snippet.resourceId, the time from snippet.publishedAt
    assert listed[0] == ("CvTApw9X8aA", datetime(2019, 11, 21, 22, 17, 43, tzinfo=UTC))
    assert listed[10] == ("6aSG8SdvkoU", datetime(2019, 11, 23, 0, 45, 5, tzinfo=UTC))
    details = {"videoId": "CvTApw9X8aA", "videoPublishedAt": "2019-11-20T10:00:00Z"}
    with_details = {**items[0], "contentDetails": details}
    assert listed_video(with_details)[1] == datetime(2019, 11, 20, 10, tzinfo=UTC)  # went public before it was listed


def test_video_text_links_and_counters() -> None:
    video = realdata("youtube", "video_with_statistics.json")
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
    page = realdata("youtube", "commentThreads_by_video_page1.json")
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
    thread = realdata("youtube", "commentThread_with_replies.json")
    top, reply = thread_posts(thread, thread["replies"]["comments"], "D-lhorsDlUQ")
    assert (top.id, top.parent_id) == ("UgydxWWoeA7F1OdqypJ4AaABAg", "D-lhorsDlUQ")
    assert top.author_id == "UCe9i1nJCcevTa6KJa55KYog"
    assert (reply.parent_id, reply.root_id, reply.author_id) == (top.id, "D-lhorsDlUQ", "UCsl2A_QzcSnFD2hpCyVwXxA")
    assert reply.created_at == datetime(2019, 7, 20, 20, 22, 27, tzinfo=UTC)
    assert (reply.text, reply.hashtags) == ("#", ())


def test_replies_read_by_parent_join_their_thread() -> None:
    threads = {t["id"]: t for t in realdata("youtube", "commentThreads_allThreadsRelatedToChannelId.json")["items"]}
    replies = realdata("youtube", "comments_by_parent_page1.json")["items"]  # newest first, and without a videoId
    thread = threads["Ugw5zYU6n9pmIgAZWvN4AaABAg"]
    top, second, third = thread_posts(thread, replies, thread["snippet"]["videoId"])
    assert (top.root_id, top.text) == ("JE8xdDp5B8Q", "This is so beautiful !")
    assert [second.text, third.text] == ["this is the second reply!", "this is the third reply!"]  # oldest first
    assert second.parent_id == third.parent_id == top.id
    assert second.url == f"https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc={second.id}"
    # the channel's own discussion threads (no videoId) are never asked for: the collector reads by video
    assert sum("videoId" not in t["snippet"] for t in threads.values()) == 2


def poll_channel(
    server_url: str,
    now: datetime,
    cursor: str | None = None,
    *,
    budget: int | None = None,
    token: bool = False,
    refresh_hours: int = 6,
    channel: str = "",
    also: tuple[str, ...] = (),
) -> tuple[Batch, Http]:
    """One poll of the library's channel (or `channel`), read with the key (or the token), on a
    clock that says 1000 s."""
    options: dict[str, object] = {"channel_id": channel or LIB, "api": f"{server_url}/youtube/v3"}
    options["token" if token else "api_key"] = Credential(env="TEST_YT_TOKEN" if token else "TEST_YT_KEY")
    if budget is not None:
        options["budget"] = budget
    http = Http(httpx.AsyncClient(), clock=lambda: 1000.0)
    return poll(context("youtube", options, sid="yt", refresh_hours=refresh_hours, also=also, http=http), now, cursor), http


def test_real_playlist_pages_are_followed_by_page_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    channel = {**realdata("youtube", "channel_with_contentDetails.json"), "id": LIB}
    pages = {None: realdata("youtube", "playlistItems_page1.json"), "CAoQAA": realdata("youtube", "playlistItems_page2.json")}
    with replay_server() as server:
        server.route("GET", "/youtube/v3/channels", lambda r: json_reply({"items": [channel]}))
        server.route("GET", "/youtube/v3/playlistItems", lambda r: json_reply(pages[r.arg("pageToken")]))
        server.route("GET", "/youtube/v3/videos", lambda r: json_reply({"items": []}))
        batch, http = poll_channel(server.url, datetime(2019, 12, 1, tzinfo=UTC))
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


# -- the scenario, on a replay server playing the YouTube Data API (tests/fakes/youtube.py) --------


world = played(YOUTUBE)


def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    server = w.fake.server
    world.collect(NOW)

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
    assert health(config) == ("ok", 1234)


def test_steady_state_counters_refresh_and_deletions(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    world.collect(NOW)

    # the library answers fin: V2's commentCount moves and only V2 is read; V1's likes move with no read
    f.comment("l4", V2, LIB, NOW + 8 * MINUTE, "@fin Thank you!", top=w.fin)
    f.videos[V1]["likes"] = 15
    server.reset_log()
    world.collect(NOW + 10 * MINUTE)
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
    world.collect(NOW + 20 * MINUTE)
    assert thread_reads(server) == []
    assert goals(config)["Everything"]["metrics"]["voices"] == 6
    world.collect(NOW + 2 * HOUR)
    assert thread_reads(server) == sorted([V1, V1, V2, V2, V3, V_BASE])  # V2 has 3 threads now: 2 pages
    m = goals(config)["Everything"]["metrics"]
    # eve's thanks gone, gus new: 7 replies still, 7 voices; dee and gus wait
    assert (m["replies"], m["voices"], m["answered"], m["unanswered"]) == (7, 7, 5, 2)

    # V5 is deleted: gone from the uploads, and from every metric
    del f.videos[V5]
    server.reset_log()
    world.collect(NOW + 2 * HOUR + 10 * MINUTE)
    assert thread_reads(server) == []
    m = goals(config)["Everything"]["metrics"]
    assert (m["broadcast"], m["likes"]) == (9, 31 - 3)


# -- credentials and quota ------------------------------------------------------------------


def test_an_expired_token_is_one_line_and_wins_over_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    expired = "ya29.expired-token-123"
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    monkeypatch.setenv("TEST_YT_TOKEN", expired)
    monkeypatch.setenv("TWOWAY_NOW", iso(NOW))
    with replay_server() as server:
        FakeYouTube(server)
        config = write_config(tmp_path, source(server.url, token="TEST_YT_TOKEN"), GOALS)
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
    reply = json_reply(realdata("youtube", answer), 403) if isinstance(answer, str) else answer
    with replay_server() as server:
        server.route("GET", "/youtube/v3/channels", lambda r: reply)
        with pytest.raises(FetchError) as caught:
            poll_channel(server.url, NOW, token=True)
    assert str(caught.value).startswith(f"{server.url}/youtube/v3/channels: {advice}")
    assert "(HTTP 403" in str(caught.value) and TOKEN not in str(caught.value)


def test_staff_by_channel_id_an_unknown_channel_and_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    with replay_server() as server:
        fake = FakeYouTube(server)
        fake.video("v1", ago(1), "Storytime")
        batch, _ = poll_channel(server.url, NOW, also=(JANE, "@nobody"))
        lookups = [r.arg("forHandle") for r in server.requests("/youtube/v3/channels") if r.arg("forHandle")]
        assert [(a.author_id, a.origin) for a in batch.accounts] == [(LIB, "source"), (JANE, f"youtube:{JANE}")]
        assert lookups == ["@nobody"]  # a channel id needs no lookup; an unknown handle is skipped
        server.reset_log()
        poll_channel(server.url, NOW, batch.cursor, also=(JANE, "@nobody"))
        assert not any(r.arg("forHandle") for r in server.requests())  # looked up once
        with pytest.raises(FetchError, match=r"^channel 'UCnobody' not found: channel_id is the channel's id"):
            poll_channel(server.url, NOW, channel="UCnobody")
        monkeypatch.setenv("TEST_YT_TOKEN", TOKEN)
        server.reset_log()
        batch, _ = poll_channel(server.url, NOW, token=True)  # an OAuth token instead of the key
        assert [p.id for p in batch.posts] == ["v1"]
        assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests())
        assert not any("x-goog-api-key" in r.headers for r in server.requests())


SPENT = "daily budget of 4 quota units used up (4 spent); it comes back in 18.8 h"
"""Ten minutes after NOW: 05:10 in Los Angeles, 18 h 50 min (18.83 h) before midnight Pacific."""


def test_the_daily_quota_is_the_budget_and_stops_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    monkeypatch.setenv("TEST_YT_KEY", KEY)
    with replay_server() as server:
        f = FakeYouTube(server)
        f.video("vA", ago(2), "Older")
        f.comment("ca", "vA", ANN, ago(1.5), "Hi")
        f.video("vB", ago(1), "Newer")
        f.comment("cb", "vB", BOB, ago(0.5), "Hello")

        batch, http = poll_channel(server.url, NOW, budget=4, refresh_hours=48)
        # the channel, one page of uploads, one videos call: 3 units; vB (newest first) is read with the
        # 4th; vA's read would be the 5th, so it waits, and what the cycle learned is kept
        assert thread_reads(server) == ["vB"]
        assert {p.id for p in batch.posts} == {"vA", "vB", "cb"}
        budget = http.budgets[DailyQuota.KEY]
        # 05:00 in Los Angeles: the units come back at midnight Pacific, 19 h on (the clock says 1000 s)
        assert (budget.remaining, budget.limit, budget.reset_at) == (0, 4, 1000.0 + 19 * 3600)

        server.reset_log()
        with pytest.raises(FetchError, match=rf"^{re.escape(SPENT)}$"):
            poll_channel(server.url, NOW + 10 * MINUTE, batch.cursor, budget=4, refresh_hours=48)  # 05:10: 18 h 50 min left
        assert server.requests() == []  # refused before anything was sent

        tomorrow = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # 00:30 in Los Angeles: a new allowance
        batch, http = poll_channel(server.url, tomorrow, batch.cursor, budget=4, refresh_hours=48)
        assert thread_reads(server) == ["vA"] and "ca" in {p.id for p in batch.posts}
        assert http.budgets[DailyQuota.KEY].remaining == 0

        # through the command line: the same budget, spent by the first collect, refused in one line
        config = write_config(tmp_path, source(server.url, budget=4))
        monkeypatch.setenv("TWOWAY_NOW", iso(NOW))
        assert collect_once(config) == (0, "")
        monkeypatch.setenv("TWOWAY_NOW", iso(NOW + 10 * MINUTE))
        assert collect_once(config) == (1, f"twoway: yt: {SPENT}\n")
