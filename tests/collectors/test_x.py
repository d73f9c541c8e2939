"""The X collector: every recorded X answer parsed, then a replay server playing X API v2.

The scenario's expected metrics are worked out by hand from SPEC §2–§3 in the comments
next to each assertion; nothing is copied from what the code computed. X's recent
search reaches 7 days back, so the scenario keeps old and new replies apart on purpose.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import FakeSleep, Stage, collect_once, context, goals, health, played, poll, snapshot_json
from tests.fakes import UTC, realdata, realdata_dir
from tests.fakes.x import BOB, CAROL, ERIN, LIB, NOW, TOKEN, FakeX, World, X, calls, iso
from tests.replay import Reply, json_reply, replay_server
from twoway.collectors.x import parse_counters, parse_tweet
from twoway.config import Credential
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context

# -- real recorded answers ------------------------------------------------------------


def test_every_recorded_post_and_user_parses() -> None:
    posts = users = 0
    for path in sorted(realdata_dir("x").glob("*.json")):
        body = realdata("x", path.name)
        data = body["data"] if isinstance(body["data"], list) else [body["data"]]
        includes = body.get("includes", {})
        for tweet in [*(d for d in data if "text" in d), *includes.get("tweets", [])]:
            # the recorded requests did not all ask for author_id; ours always does
            post = parse_tweet({"author_id": "someone", **tweet}, "2244994945", "TwitterDev")
            posts += 1
            assert post.id == tweet["id"] and post.created_at.tzinfo is UTC, path.name
            assert post.created_at == datetime.fromisoformat(tweet["created_at"].replace("Z", "+00:00")), path.name
            assert post.text and "&amp;" not in post.text, path.name
            counters = parse_counters(tweet, post.id, datetime(2026, 1, 1, tzinfo=UTC))
            if "public_metrics" in tweet:
                assert counters.likes == tweet["public_metrics"]["like_count"], path.name
                assert counters.reposts == tweet["public_metrics"]["retweet_count"], path.name
        for user in [*(d for d in data if "username" in d), *includes.get("users", [])]:
            users += 1
            assert isinstance(user["id"], str) and user["username"], path.name
    # 5 timeline posts + 5 mentions + 4 search results and 3 expanded + 15 quotes + 2 looked up
    assert (posts, users) == (34, 20)  # users: 3 + 14 expanded, 2 expanded, 1 looked up


def test_recorded_timeline_counters_and_paging_token() -> None:
    body = realdata("x", "users_id_tweets_public_metrics.json")
    first = body["data"][0]
    post = parse_tweet({**first, "author_id": "2244994945"}, "2244994945", "TwitterDev")
    assert (post.id, post.parent_id, post.root_id) == ("1364275610764201984", None, "1364275610764201984")
    assert post.created_at == datetime(2021, 2, 23, 18, 7, 7, tzinfo=UTC)
    assert post.hashtags == () and post.links == ()  # this request asked for no entities: the text keeps them
    assert "#TwitterAPI" in post.text and post.text.endswith("https://t.co/SQziibOD9P")
    counters = parse_counters(first, post.id, datetime(2021, 2, 24, tzinfo=UTC))
    assert (counters.replies, counters.reposts, counters.quotes, counters.likes) == (2, 10, 1, 37)
    assert body["meta"]["next_token"] == "7140dibdnow9c7btw3w3itbygz8uu5pbs45oy6erjc2ls"


def test_recorded_search_is_a_conversation_with_the_account_answering() -> None:
    body = realdata("x", "search_recent_replies.json")
    # @snowman (17200003) asked a question (1273733248749690880, an expanded post); replies at two depths
    snowman = "17200003"
    posts = {p.id: p for p in (parse_tweet(t, snowman, "snowman") for t in body["data"] + body["includes"]["tweets"])}
    root, fave, answer = posts["1273733248749690880"], posts["1274086728471461889"], posts["1275653067283759104"]
    assert (root.author_id, root.parent_id, root.root_id) == (snowman, None, root.id)
    assert (fave.author_id, fave.parent_id) == ("63046977", root.id)
    assert fave.hashtags == ("fresh",) and fave.mentions_source  # "@snowman My fave is ..."
    # snowman answers happycamper's reply: an organization reply to a community message
    assert (answer.author_id, answer.parent_id) == (snowman, fave.id)
    assert not answer.mentions_source  # it names @happycamper only
    # without conversation_id in the answer, a reply's root is left for the store to take from its parent
    assert answer.root_id is None
    photo = posts["1276035977375477760"]
    assert photo.parent_id == answer.id and photo.mentions_source
    assert photo.links == ()  # a photo is not a link
    assert photo.text.endswith("https://twitter.com/happycamper/status/1276035977375477760/photo/1")
    assert posts["1275882613572583424"].parent_id == root.id  # snowman's self-thread


def test_recorded_quotes_have_their_conversation_as_root() -> None:
    body = realdata("x", "quote_tweets_conversation_id.json")
    posts = [parse_tweet(t, "2244994945") for t in body["data"]]
    assert len(posts) == 15 and all(p.root_id for p in posts)
    reply = next(p for p in posts if p.id == "1427332549479526400")
    assert reply.root_id == "1427290387194974213" and reply.author_id == "857699969263964161"
    assert posts[0].text.startswith("RT @chris_bail: Twitter has created an entire course")
    assert "I’d be happy" in posts[-1].text


def test_recorded_mentions_and_lookup() -> None:
    body = realdata("x", "users_id_mentions.json")
    # this request asked for no author_id; each names @TwitterDev somewhere in the text
    for tweet in body["data"]:
        assert "@twitterdev" in tweet["text"].lower()
        post = parse_tweet({**tweet, "author_id": "x"}, "2244994945", "TwitterDev")
        assert post.created_at.year == 2021 and post.root_id == post.id
    assert body["meta"]["newest_id"] == "1364398068313903104"
    lookup = realdata("x", "tweets_lookup_with_includes.json")
    first, second = (parse_tweet(t, "2244994945", "TwitterDev") for t in lookup["data"])
    assert (first.author_id, second.author_id) == ("2244994945", "783214")
    assert second.text == "Good news and bad news: \n\n2020 is half over"


def test_edits_long_posts_and_escaped_text() -> None:
    edited = {
        "id": "22", "edit_history_tweet_ids": ["11", "22"], "conversation_id": "22", "author_id": "1",
        "created_at": "2026-06-01T10:03:00.000Z", "text": "Closed on Monday &amp; Tuesday (cut off at 280…",
        "note_tweet": {"text": "Closed on Monday &amp; Tuesday, see https://t.co/abc",
                       "entities": {"urls": [{"url": "https://t.co/abc", "expanded_url": "https://library.example.org/hours",
                                              "display_url": "library.example.org/hours"}],
                                    "hashtags": [{"tag": "Hours"}], "mentions": [{"username": "RiversideLib"}]}},
    }
    post = parse_tweet(edited, "100", "riversidelib")
    # the first id, whichever version X names as the conversation; the long text of note_tweet, unescaped
    assert (post.id, post.root_id, post.parent_id) == ("11", "11", None)
    assert post.text == "Closed on Monday & Tuesday, see https://library.example.org/hours"
    assert post.links == ("https://library.example.org/hours",) and post.hashtags == ("Hours",)
    assert post.mentions_source and post.url == "https://x.com/i/web/status/11"


def direct_context(url: str, user_id: str, **options: object) -> Context:
    return context("x", {"api": url, "user_id": user_id, "token": Credential(env="TEST_X_TOKEN"), **options})


def test_recorded_timeline_through_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", "recorded-token")
    timeline = realdata("x", "users_id_tweets_public_metrics.json")
    user = realdata("x", "user_by_id_public_metrics.json")
    with replay_server() as server:
        empty = json_reply({"meta": {"result_count": 0}})
        server.route("GET", "/2/users/2244994945/tweets", lambda r: empty if r.arg("pagination_token") else json_reply(timeline))
        server.route("GET", "/2/users/2244994945", lambda r: json_reply(user))
        server.route("GET", "/2/users/2244994945/mentions", lambda r: json_reply({"meta": {"result_count": 0}}))
        server.route("GET", "/2/tweets/search/recent", lambda r: json_reply({"meta": {"result_count": 0}}))
        now = datetime(2021, 2, 24, tzinfo=UTC)
        batch = poll(direct_context(server.url, "2244994945"), now)
        listing = server.requests("/2/users/2244994945/tweets")
        searches = sorted(r.arg("query") or "" for r in server.requests("/2/tweets/search/recent"))
        again = poll(direct_context(server.url, "2244994945"), now + timedelta(minutes=5), batch.cursor)
    assert [r.arg("pagination_token") for r in listing] == [None, timeline["meta"]["next_token"]]
    assert listing[0].arg("start_time") == "2020-12-26T00:00:00Z"  # 60 days back
    assert listing[0].headers["authorization"] == "Bearer recorded-token"
    assert len(batch.posts) == 5 and {p.author_id for p in batch.posts} == {"2244994945"}
    # the recorded timeline brought no expanded user: one lookup gives the followers and the @name
    assert batch.followers == 514020 and batch.accounts[0].handle == "TwitterDev"
    # the @name came after the posts: links name the post alone, and the account from the next poll on
    assert batch.posts[0].url == "https://x.com/i/web/status/1364275610764201984"
    assert again.posts[0].url == "https://x.com/TwitterDev/status/1364275610764201984"
    assert sum(c.likes or 0 for c in batch.counters) == 37 + 58 + 9 + 8 + 74
    # every post has replies (reply_count 2, 7, 2, 2, 9): each conversation is searched once
    assert searches == sorted(f"conversation_id:{t['id']}" for t in timeline["data"])


# -- the scenario, on a replay server playing X (tests/fakes/x.py) -------------------------------


world = played(X)


def metrics(config: Path) -> dict[str, dict[str, Any]]:
    return {name: g["metrics"] for name, g in goals(config).items()}


def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    server = w.fake.server
    world.collect(NOW)
    listing, mentions = f"/2/users/{LIB}/tweets", f"/2/users/{LIB}/mentions"
    search = "/2/tweets/search/recent?conversation_id:"
    # 12 posts of the library inside 60 days, 5 a page: 3 pages; 10 mentions: 2 pages; the staff handle once;
    # one lookup for the starts of B0's and alice's conversations (C0 and M3 answer replies, not their first
    # posts); a search of each conversation of ours that has replies: B0 (through A0), B1, and B2, whose
    # 8 posts of this week take 2 pages. B3 and B4 have no reply: no search.
    assert sorted(calls(server)) == sorted(
        [listing] * 3 + [mentions] * 2 + ["/2/users/by", "/2/tweets"]
        + [search + w.b0, search + w.b1, search + w.b2, search + w.b2]
    )
    (lookup,) = [r for r in server.requests() if r.path == "/2/tweets"]
    assert sorted((lookup.arg("ids") or "").split(",")) == sorted([w.b0, w.x1])
    assert server.requests("/2/users/by")[0].arg("usernames") == "jane_at_lib"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests())

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in the last 30 days: B1, B2, B3 (S1 is B1's self-thread; retweets are neither; B4, B0 older)
    assert m["broadcast"] == 3
    # replies: under B1 R1 (brought by the library's answer A1), R4 (it names the library: the mentions
    # timeline has it), R7 (this week's search); R2 is 19 days old, unanswered and names only alice: X's
    # search cannot reach it and nothing else brings it, so it is missing. Under B2: R5, M2, R6, R8 (depth 2);
    # DEL1 was deleted. B3: none. C0 is a reply in B0's thread (the lookup placed it), outside the window;
    # Y1 is bob's reply in alice's conversation and names nobody of ours.
    assert m["replies"] == 7
    # mentions: M0 (15 days old: the mentions timeline is not limited to 7 days), M1, M3; M2 counts as a reply
    assert m["mentions"] == 3
    assert m["community_messages"] == 10
    # responses: A1 to R1 after 3 h, J2 (staff) to R8 after 30 min, A3 to M2 after 1 day, A2 to M1 after 2 h;
    # A4 answers the deleted DEL1 and counts nowhere
    assert (m["responses"], m["answered"], m["unanswered"]) == (4, 4, 6)
    assert m["two_way"] == 14
    assert m["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2
    assert m["p90_response_seconds"] == 86400  # nearest rank: the 4th of 4
    # likes 5 + 3 + 1; retweets 2 + 1 + (1 - the library's own retweet of B3); quotes 2 + 1 + 0
    assert (m["likes"], m["reposts"], m["quotes"]) == (9, 3, 3)
    assert m["voices"] == 5  # alice, bob, carol, dave, erin
    assert m["conversation_rate"] == 7 / 3 and m["response_rate"] == 4 / 10
    assert report["All"]["unavailable"] == {}
    base = report["All"]["baseline"]
    assert (base["broadcast"], base["likes"], base["replies"]) == (1, 4, 0)  # B4 alone, 45 days ago
    assert report["All"]["deltas"]["broadcast"] == 2

    s = report["Summer reading"]["metrics"]
    # B1 (with S1's text) and its replies R1, R4, R7; the mention M1 tagged #SummerReading
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 3, 1, 2)
    assert s["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2 and s["p90_response_seconds"] == 3 * 3600
    assert (s["likes"], s["reposts"], s["quotes"]) == (5, 2, 2)
    c = report["Closures"]["metrics"]
    # B2 was edited from Tuesday to Monday: the latest text is matched; R5, M2, R6, R8 and two answers under it
    assert (c["broadcast"], c["replies"], c["responses"]) == (1, 4, 2)

    assert health(config) == ("ok", 1234) and snapshot_json(config)["sources"][0]["error"] is None


def test_steady_state_counters_and_thread_refresh(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    listing, mentions = f"/2/users/{LIB}/tweets", f"/2/users/{LIB}/mentions"
    world.collect(NOW)

    # carol thanks the library under A3: A3's reply_count moves, so B2's conversation (only) is searched
    f.post(CAROL, NOW + timedelta(minutes=8), "Thanks!", w.a3, mentions=(LIB,))
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    b2_pages = [f"/2/tweets/search/recent?conversation_id:{w.b2}"] * 2
    assert sorted(calls(server)) == sorted([listing] * 3 + [mentions] + b2_pages)
    assert metrics(config)["All"]["replies"] == 7 + 1

    # a reply under bob's reply moves no counter of ours: not searched until thread_refresh (1 h) is due
    f.post(ERIN, NOW + timedelta(minutes=15), "Me too", w.r6, mentions=(BOB,))
    server.reset_log()
    world.collect(NOW + timedelta(minutes=20))
    assert server.requests("/2/tweets/search/recent") == []
    assert metrics(config)["All"]["replies"] == 8
    server.reset_log()
    world.collect(NOW + timedelta(hours=2))
    # due again: the three conversations with replies; B3 and B4 still have none and cost nothing
    assert {r.arg("query") for r in server.requests("/2/tweets/search/recent")} == {
        f"conversation_id:{c}" for c in (w.b0, w.b1, w.b2)
    }
    m = metrics(config)["All"]
    assert m["replies"] == 9 and m["unanswered"] == 6 + 2

    # deletions: R5 vanishes from B2's conversation, B3 (and the library's retweet of it) from the listing,
    # and bob deletes M1, which only the library's answer A2 still points at (a partial error names it)
    for gone in (w.r5, w.b3, w.rt3, w.m1):
        f.delete(gone)
    world.collect(NOW + timedelta(hours=2, minutes=10))
    m = metrics(config)["All"]
    # B3 goes (its like with it); R5: 9 - 1 replies; M1: 3 - 1 mentions, and A2 answers nothing: 4 - 1 responses
    assert (m["broadcast"], m["replies"], m["mentions"], m["responses"], m["likes"]) == (2, 8, 2, 3, 8)


def test_a_reply_read_once_stays_after_search_can_no_longer_see_it(
    world: Stage[World]
) -> None:
    w, config = world.world, world.config
    world.collect(NOW)
    before = metrics(config)["All"]
    # 8 days on, every reply of B2 and R7 is older than search reaches; the threads are due and searched
    # (finding nothing), yet nothing is marked deleted. The window moved 8 days: no broadcast or mention left it.
    world.collect(NOW + timedelta(days=8))
    assert len(w.fake.server.requests("/2/tweets/search/recent")) >= 3
    assert metrics(config)["All"] == before


def test_a_daily_budget_stops_a_cycle_then_refuses_in_one_line(
    world: Stage[World]
) -> None:
    w, config = world.world, world.config
    server = w.fake.server
    config.write_text(config.read_text(encoding="utf-8").replace('token = { env = "TEST_X_TOKEN" }',
                                                                 'token = { env = "TEST_X_TOKEN" }\nbudget = 6'),
                      encoding="utf-8")
    # the first poll needs 10 requests: the 3 listing pages, the staff lookup and 2 mention pages fit in 6;
    # what they read is kept, and the 6 spent are recorded
    world.collect(NOW)
    assert len(server.requests()) == 6 and "/2/tweets" not in calls(server)
    m = metrics(config)["All"]
    # until the lookup places it in B0's thread, C0 (naming the library, answering erin) looks like a mention
    assert (m["broadcast"], m["mentions"]) == (3, 3 + 1)
    # the next cycle of the day sends nothing and says so in one line (midnight UTC is 12 h away)
    server.reset_log()
    world.monkeypatch.setenv("TWOWAY_NOW", iso(NOW + timedelta(minutes=5)))
    code, err = collect_once(config)
    assert code == 1 and server.requests() == []
    assert err == "twoway: library-x: daily budget of 6 requests used up (6 spent); it comes back in 11.9 h\n"
    (source,) = snapshot_json(config)["sources"]
    assert source["status"] == "error" and source["error"].startswith("daily budget of 6 requests used up")
    # a new day, a new budget: the conversations left unread are still due
    world.collect(NOW + timedelta(hours=13))
    # 3 listing pages, the mentions since the newest, the lookup, then the first search of B0, B1, B2
    assert calls(server) == [f"/2/users/{LIB}/tweets"] * 3 + [f"/2/users/{LIB}/mentions", "/2/tweets",
                                                              f"/2/tweets/search/recent?conversation_id:{w.b0}"]
    assert metrics(config)["All"]["mentions"] == 3


def test_a_failed_poll_keeps_what_it_spent_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    with replay_server() as server:
        World(FakeX(server))
        server.route("GET", f"/2/users/{LIB}/mentions", lambda r: Reply(503))
        monkeypatch.setattr("twoway.plugin.http.wait", FakeSleep())
        with pytest.raises(FetchError) as failed:
            poll(direct_context(server.url, LIB, budget=50), NOW)
    # the three listing pages and the mentions call (its retries are the HTTP layer's, not paid twice) are
    # spent; what the pages said is not kept: the next cycle reads them again
    assert json.loads(failed.value.cursor or "{}") == {"quota": [NOW.date().isoformat(), 4]}


@pytest.mark.parametrize(
    ("status", "body", "advice"),
    [
        (
            403,
            {"client_id": "123", "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use"
             " keys and tokens from a Twitter developer App that is attached to a Project.",
             "registration_url": "https://developer.twitter.com/en/docs/projects/overview", "title": "Client Forbidden",
             "required_enrollment": "Appropriate Level of API Access", "reason": "client-not-enrolled",
             "type": "https://api.twitter.com/2/problems/client-forbidden"},
            "this app is not enrolled for X API v2: attach it to a Project with paid access",
        ),
        (
            403,
            {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"},
            "the app's X API access does not include this endpoint: reading timelines, mentions and recent search"
            " needs paid access",
        ),
        (402, {"title": "CreditsDepleted", "detail": "Your enrolled account does not have any credits",
               "type": "https://api.twitter.com/2/problems/credits"}, "the app has no X API credits left"),
    ],
    ids=["client-not-enrolled", "forbidden", "credits-depleted"],
)
def test_access_refusals_say_what_access_is_needed(
    monkeypatch: pytest.MonkeyPatch, status: int, body: dict[str, Any], advice: str
) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    with replay_server() as server:
        server.route("GET", "/2/users/*", lambda r: json_reply(body, status))
        with pytest.raises(FetchError) as error:
            poll(direct_context(server.url, LIB), NOW)
    line = str(error.value)
    assert line.startswith(f"{server.url}/2/users/{LIB}/tweets: {advice}") and "\n" not in line
    assert "https://developer.x.com/en/portal/dashboard" in line and TOKEN not in line


def test_an_unknown_account_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    with replay_server() as server:
        FakeX(server)  # knows no user: X answers 200 with an error about the account and no data
        with pytest.raises(FetchError, match=r"/2/users/404404/tweets: Could not find user with id: \[404404\]\.$"):
            poll(direct_context(server.url, "404404"), NOW)
