"""The Facebook Pages collector: real recorded Graph answers parsed, then a replay server
playing the Graph API (cursor paging with a token-bearing `next`, stream comments with
`parent`, usage headers, OAuth errors) polled through `twoway collect --once`.

Every expected metric is worked out by hand from the scenario in the comments next to
it (SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.collecting import Stage, context, goals, health, played, poll
from tests.fakes import UTC, realdata
from tests.fakes.facebook import DAVE, FACEBOOK, NOW, PAGE, TOKEN, World
from tests.fakes.graph import comment_reads, graph_error
from tests.replay import json_reply, replay_server
from twoway.collectors.facebook import ADVICE, parse_comment, parse_counters, parse_post
from twoway.collectors.graph import UNKNOWN_AUTHOR, _following, base_url, graph_time
from twoway.config import Credential
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import explain

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
    feed = realdata("facebook", "page_feed_page1.json")
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
    posts = realdata("facebook", "posts_with_counts_and_from.json")
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
    page1, page2 = realdata("facebook", "post_comments_page1.json"), realdata("facebook", "post_comments_page2.json")
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
    comment = parse_comment(realdata("facebook", "comment_with_from.json"), "2121008874780932_2954961744718970", "2121008874780932")
    assert (comment.id, comment.author_id) == ("2954961744718970_2966313500250461", "2711636948859886")
    assert comment.parent_id == "2121008874780932_2954961744718970"  # no `parent`: a comment on the post
    assert comment.created_at == datetime(2021, 7, 23, 8, 35, 18, tzinfo=UTC)
    assert comment.text == "My Nice Car "


def test_missing_permission_error_becomes_advice() -> None:
    body = realdata("facebook", "error_oauthexception_100.json")
    error = FetchError("https://graph.facebook.com/v21.0/1/published_posts: HTTP 400: (#100) Object does not exist", status=400, data=body)
    line = str(explain(error, ADVICE))
    assert line.startswith("https://graph.facebook.com/v21.0/1/published_posts: check page_id")
    assert "pages_read_engagement" in line and "(HTTP 400: (#100) Object does not exist" in line


def test_poll_over_recorded_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector on the recorded page, feed and comments; `tagged` refused, so mentions are not measured."""
    page, feed = realdata("facebook", "page_fields.json"), realdata("facebook", "page_feed_page1.json")
    first = feed["data"][0]["id"]
    pages = [realdata("facebook", "post_comments_page1.json"), realdata("facebook", "post_comments_page2.json")]
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
        options = {"page_id": "20531316728", "api": server.url, "token": Credential(env="TEST_FB_TOKEN")}
        batch = poll(context("facebook", options), datetime(2021, 7, 15, tzinfo=UTC))
        assert all("access_token" not in r.query for r in server.requests())
        assert [r.arg("after") for r in server.requests(f"/v21.0/{first}/comments")] == [None, "after"]
        assert server.requests(f"/v21.0/{first}/comments")[0].arg("filter") == "stream"
    assert batch.followers == 214507731  # no followers_count: fan_count
    assert batch.accounts[0] == ("20531316728", "facebookapp", "source")
    assert batch.measures == frozenset({"replies", "responses", "reposts", "likes"})
    assert len([p for p in batch.posts if p.parent_id is None]) == 5
    assert len([p for p in batch.posts if p.root_id == first and p.id != first]) == 15
    assert len(batch.counters) == 5 and batch.deleted == ()


# -- the scenario, on a replay server playing the Graph API (tests/fakes/facebook.py) ------------


world = played(FACEBOOK)


def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    server, ids = w.fb.server, w.ids
    world.collect(NOW)
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

    assert health(config) == ("ok", 321)


def test_steady_state_changed_counters_and_deletions(world: Stage[World]) -> None:
    w, config = world.world, world.config
    fb, server, ids = w.fb, w.fb.server, w.ids
    world.collect(NOW)

    # a reply under alice's comment on b2 moves b2's stream count: b2 alone is read
    fb.comment(ids["b2"], DAVE, NOW + timedelta(minutes=8), "Me too", ids["r5"])
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert comment_reads(server) == [ids["b2"]]
    assert goals(config)["All"]["metrics"]["replies"] == 6 + 1

    # the Page answers on the partner's post t2: its count moves, the mention is answered (after 6 days and 15 min)
    fb.comment(ids["t2"], PAGE, NOW + timedelta(minutes=15), "Come again!")
    server.reset_log()
    world.collect(NOW + timedelta(minutes=20))
    assert comment_reads(server) == [ids["t2"]]
    assert goals(config)["All"]["metrics"]["answered"] == 4 + 1

    # b3 is deleted (taking r6), r5 is deleted (b2's count moves); thread_refresh (1 h) is due for the rest
    fb.posts[ids["b3"]].deleted = True
    fb.comments[ids["r5"]].deleted = True
    server.reset_log()
    world.collect(NOW + timedelta(hours=2))
    assert len(set(comment_reads(server))) == 12 - 1  # every conversation but b3's
    m = goals(config)["All"]["metrics"]
    # broadcasts 9 - b3; replies 7 - r6 - r5 (dave's reply under r5 is still a reply in b2's thread)
    assert (m["broadcast"], m["replies"], m["likes"], m["reposts"]) == (8, 5, 8, 2)


def test_comments_of_a_tagging_post_may_be_refused(world: Stage[World]) -> None:
    w, config = world.world, world.config
    refusal = graph_error(10, "(#10) Requires pages_read_user_content permission", 403)
    w.fb.refused[f"/v21.0/{w.ids['t1']}/comments"] = refusal
    world.collect(NOW)
    m = goals(config)["All"]["metrics"]
    # t1 still counts as a mention, but the Page's answer a2 under it is out of sight: 3 of the 4 responses
    assert (m["mentions"], m["responses"], m["answered"]) == (2, 3, 3)
    w.fb.server.reset_log()
    world.collect(NOW + timedelta(minutes=5))
    assert comment_reads(w.fb.server) == []  # a refused conversation is not asked again every cycle
