"""The Instagram collector: real recorded Graph answers parsed, then a replay server
playing the Instagram Graph API (media with counters, comments with nested `replies`,
cursor paging, OAuth errors) polled through `twoway collect --once`.

Every expected metric is worked out by hand from the scenario in the comments next to
it (SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.collecting import Stage, context, goals, health, played, poll
from tests.fakes import UTC, realdata
from tests.fakes.graph import comment_reads
from tests.fakes.instagram import EVE, INSTAGRAM, NOW, TOKEN, USER, FakeInstagram
from tests.replay import json_reply, replay_server
from twoway.collectors.graph import UNKNOWN_AUTHOR, _following
from twoway.collectors.instagram import ADVICE, Authors, parse_comment, parse_counters, parse_media
from twoway.config import Credential
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import explain

# -- real recorded answers ----------------------------------------------------------------


def test_user_media_page_and_its_counters() -> None:
    page = realdata("instagram", "ig_user_media_page1.json")
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
    page = realdata("instagram", "ig_media_comments_page1.json")
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
    item = realdata("instagram", "ig_comment_with_replies.json")
    account = realdata("instagram", "ig_mentioned_comment.json")["id"]
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
    mentioned = realdata("instagram", "ig_mentioned_comment.json")["mentioned_comment"]
    comment = parse_comment(mentioned, "m", "", who)
    assert (comment.author_id, comment.mentions_source) == ("17841400000000001", True)  # by username: the account's own
    media = parse_media(realdata("instagram", "ig_mentioned_media.json")["mentioned_media"], "someone")
    assert media.text == "@ikroskun hey" and media.created_at == datetime(2021, 8, 19, 9, 0, 22, tzinfo=UTC)


def test_permission_error_becomes_advice() -> None:
    body = {"error": {"message": "(#10) Application does not have permission for this action", "type": "OAuthException",
                      "code": 10, "fbtrace_id": "A"}}
    line = str(explain(FetchError("https://graph.facebook.com/v21.0/1/media: HTTP 403", status=403, data=body), ADVICE))
    assert "instagram_basic / instagram_manage_comments" in line


def test_poll_over_recorded_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    user, media = realdata("instagram", "ig_user_fields.json"), realdata("instagram", "ig_user_media_page1.json")
    comments = realdata("instagram", "ig_media_comments_page1.json")
    monkeypatch.setenv("TEST_IG_TOKEN", TOKEN)
    with replay_server() as server:
        uid = user["id"]
        server.route("GET", f"/v21.0/{uid}", lambda r: json_reply(user))
        server.route("GET", f"/v21.0/{uid}/media", lambda r: json_reply({"data": []}) if r.arg("after") else json_reply(media))
        server.route("GET", "/v21.0/17896622936197745/comments",
                     lambda r: json_reply({"data": []}) if r.arg("after") else json_reply(comments))
        server.route("GET", "/v21.0/*", lambda r: json_reply({"data": []}))
        batch = poll(context("instagram", {"user_id": uid, "api": server.url, "token": Credential(env="TEST_IG_TOKEN")}), datetime(2021, 8, 20, tzinfo=UTC))
        assert [r.arg("after") for r in server.requests(f"/v21.0/{uid}/media")] == [None, "after"]
        assert all("access_token" not in r.query for r in server.requests())
    assert batch.followers == 64363 and batch.accounts == (("17841407673135339", "facebookfordevelopers", "source"),)
    assert batch.measures == frozenset({"replies", "responses", "likes"})
    assert sorted(p.id for p in batch.posts if p.root_id == "17896622936197745") == [
        "17858154961981086", "17874875428706419", "17896622936197745",
    ]


# -- the scenario, on a replay server playing the Instagram Graph API (tests/fakes/instagram.py) --

Played = Stage[tuple[FakeInstagram, dict[str, str]]]


world = played(INSTAGRAM)


def test_scenario_metrics(world: Played) -> None:
    (ig, ids), config = world.world, world.config
    server = ig.server
    world.collect(NOW)
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

    assert health(config) == ("ok", 654)


def test_steady_state_changed_counters_and_deletions(world: Played) -> None:
    (ig, ids), config = world.world, world.config
    server = ig.server
    world.collect(NOW)

    # eve replies under dave's comment: m1's comments_count moves, m1 alone is read
    ig.comment(ids["m1"], EVE, NOW + timedelta(minutes=8), "@dave thanks", ids["c4"])
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert comment_reads(server) == [ids["m1"]]
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["voices"]) == (7 + 1, 4 + 1)

    # m3 is deleted (taking c7), c5 is deleted (m2's count moves); thread_refresh (1 h) is due for the rest
    ig.media[ids["m3"]].deleted = True
    ig.comments[ids["c5"]].deleted = True
    server.reset_log()
    world.collect(NOW + timedelta(hours=2))
    assert len(comment_reads(server)) == 8 - 1
    m = goals(config)["All"]["metrics"]
    # broadcasts 7 - m3; replies 8 - c7 - c5; likes 54 - 4
    assert (m["broadcast"], m["replies"], m["likes"]) == (6, 6, 50)
