"""The Reddit collector: recorded real answers (PRAW's cassettes) replayed, then a fake Reddit
in the API's shapes (OAuth refresh-token grant, Listings paged with `after`, comment trees
with "load more" and "continue this thread" stubs, the inbox) polled through
`twoway collect --once`. Every expected metric is worked out by hand from the scenario in
the comments next to it (SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.collecting import Stage, context, goals, health, played
from tests.fakes import UTC, cassette
from tests.fakes.reddit import NOW, REDDIT, SECRETS, USER, FakeReddit, World, ago
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.cli import main
from twoway.collectors.reddit import RedditCollector, comment_post, submission_post
from twoway.config import Credential
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context

# -- recorded real answers ---------------------------------------------------------------


def test_real_submissions_listing_parses_to_posts() -> None:
    (_, listing) = cassette("reddit", "user_submissions_new.json")
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
    token, tree = cassette("reddit", "submission_comments_op_reply.json")
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
    _, info, context = cassette("reddit", "comment_parent_lookup.json")
    looked_up = comment_post(info["body"]["data"]["children"][0]["data"])
    (parent,) = context["body"][1]["data"]["children"]
    assert looked_up.parent_id == comment_post(parent["data"]).id == "t1_cklfmye"
    assert looked_up.root_id == "t3_2gmzqe"


def _context(server: ReplayServer, username: str) -> Context:
    options = {
        "username": username, "api": server.url,
        "client_id": Credential(env="TEST_REDDIT_ID"), "client_secret": Credential(env="TEST_REDDIT_SECRET"),
        "refresh_token": Credential(env="TEST_REDDIT_REFRESH"),
    }
    return context("reddit", options, sid="reddit")


def _empty_listing(request: Request) -> Reply:
    return json_reply({"kind": "Listing", "data": {"after": None, "children": []}})


async def test_real_mentions_through_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    token, mentions = cassette("reddit", "inbox_mentions.json")
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


# -- the scenario, on a fake Reddit (tests/fakes/reddit.py) ----------------------------------------


world = played(REDDIT)


def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    server = w.fake.server
    world.collect(NOW)
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

    assert health(config) == ("ok", 321)


def test_steady_state_and_changes(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    world.collect(NOW)

    # a new comment under the library's answer a1 moves S1's num_comments: only S1 is read
    f.comment("g1", "s1", "a1", "grace", NOW + timedelta(minutes=8), "Thanks!")
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert sorted(r.path for r in server.requests("/comments/")) == ["/comments/s1", "/comments/s1/_/c3"]
    assert len(server.requests("/api/morechildren")) == 1
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["unanswered"]) == (8 + 1, 6 + 1)

    # the newest mention is now inside S2: read once, then a quiet cycle reads no thread again
    f.comment("h1", "s2", "c9", "hank", NOW + timedelta(minutes=11), f"u/{USER} same question")
    f.mentions.append("h1")
    world.collect(NOW + timedelta(minutes=12))
    server.reset_log()
    world.collect(NOW + timedelta(minutes=14))
    assert server.requests("/comments/") == [] and len(server.requests("/message/mentions")) == 1
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["mentions"], m["unanswered"]) == (10, 2, 8)  # hank's is a reply in S2, counted once

    # deletions: S4 leaves the listing; alice deletes c8, which moves no counter, so S2 is re-read
    # only once thread_refresh (1 h) is due
    del f.submissions["s4"]
    f.remove("c8")
    world.collect(NOW + timedelta(minutes=20))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["replies"]) == (2, 10)
    world.collect(NOW + timedelta(hours=2))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["replies"], m["voices"]) == (2, 9, 8)  # grace and hank joined; alice still speaks in S1


def test_a_hashtag_typed_in_a_title_text_or_comment_matches_a_hashtag_goal(world: Stage[World]) -> None:
    """Issue 12: Reddit has no hashtags of its own, but a `#word` written in a submission or a
    comment is a hashtag (SPEC §3), so the goal filtered on `hashtags = ["ReadAlong"]` finds them."""
    w, config = world.world, world.config
    f = w.fake
    # R1 has it in its text, at the start of a line: Reddit renders that as a heading, without the `#`
    f.submit("r1", ago(2), "Our book club", text="#ReadAlong starts Monday")
    f.submissions["r1"]["selftext_html"] = '<!-- SC_OFF --><div class="md"><h1>ReadAlong starts Monday</h1></div><!-- SC_ON -->'
    f.comment("c20", "r1", None, "grace", ago(2, hours=-1), "Count me in")
    f.comment("a20", "r1", "c20", USER, ago(2, hours=-3), "See you there!")
    # R2 has it in its title, in other letters; R3 names it without the `#`, which is no hashtag
    f.submit("r2", ago(1), "Chapter two tonight #readalong")
    f.submit("r3", ago(1, hours=1), "Our ReadAlong list")
    # hank's mention elsewhere carries it; it is not answered
    f.comment("m5", "o5", None, "hank", ago(1, hours=-1), f"u/{USER} is the #ReadAlong open to teens?")
    f.mentions.append("m5")
    world.collect(NOW)

    m = goals(config)["Read along"]["metrics"]
    # R1 and R2; none of the scenario's submissions (no `#ReadAlong` in them), not R3. Before issue 12: 0
    assert m["broadcast"] == 2
    # grace's c20 under R1, answered after 2 h by a20; hank's m5 (before issue 12 the goal had no mention either)
    assert (m["replies"], m["mentions"], m["responses"], m["answered"], m["unanswered"]) == (1, 1, 1, 1, 1)
    assert m["median_response_seconds"] == 2 * 3600
    assert goals(config)["All"]["metrics"]["broadcast"] == 3 + 3  # S1 S2 S4 and R1 R2 R3


def test_without_the_privatemessages_scope_mentions_are_unavailable(world: Stage[World]) -> None:
    w, config = world.world, world.config
    w.fake.refresh_tokens[SECRETS["TEST_REDDIT_REFRESH"]] = "read history"
    world.collect(NOW)
    assert w.fake.server.requests("/message/mentions") == []
    report = goals(config)["All"]
    assert report["metrics"]["mentions"] is None
    assert report["unavailable"] == {"mentions": ["reddit"], "quotes": ["reddit"]}
    # still seen: c9 as a reply in S2, and a2 (found in the account's comments) answers nothing known
    assert (report["metrics"]["replies"], report["metrics"]["responses"]) == (8, 3)


def test_a_missing_credential_fails_check_config(world: Stage[World], monkeypatch: pytest.MonkeyPatch) -> None:
    config = world.config
    monkeypatch.delenv("TEST_REDDIT_SECRET")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--config", str(config), "check-config"]) == 2
    (line,) = [line for line in err.getvalue().splitlines() if "client_secret" in line]
    assert "sources[0].client_secret: TEST_REDDIT_SECRET is not set" in line and "'reddit'" in line  # the key and the source


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
