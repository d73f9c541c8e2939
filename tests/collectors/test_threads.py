"""The Threads collector against a replay server playing the Threads API in its documented
shapes (there are no recorded Threads answers in shared/realdata): the profile's threads,
replies and mentions, cursor paging without `next`, `/conversation` at every depth,
media and user insights, Graph errors. Polled through `twoway collect --once`.

Every expected metric is worked out by hand from the scenario in the comments next to
it (SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.collecting import Stage, goals, health, played, snapshot_json
from tests.fakes import UTC
from tests.fakes.graph import graph_error
from tests.fakes.threads import NOW, ORG, ORG_NAME, THREADS, FakeThreads, thread_reads
from twoway.collectors.threads import ADVICE, _Authors, _metric_values, parse_counters, parse_post
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import explain

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


# -- the scenario, on a replay server playing the Threads API (tests/fakes/threads.py) -----------

Played = Stage[tuple[FakeThreads, dict[str, str]]]


world = played(THREADS)


def test_scenario_metrics(world: Played) -> None:
    (th, ids), config = world.world, world.config
    server = th.server
    world.collect(NOW)
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

    assert health(config) == ("ok", 321)


def test_steady_state_first_replies_refresh_and_deletions(world: Played) -> None:
    (th, ids), config = world.world, world.config
    server = th.server
    world.collect(NOW)

    # the first reply to a routine post flips its has_replies: that thread alone is read, counters and all
    th.post("dave", NOW + timedelta(minutes=7), "What about Sunday?", ids["n0"])
    # a reply to the library's answer o2 flips o2's has_replies (in /replies): t2 is read
    th.post("carol", NOW + timedelta(minutes=8), "Thanks!", ids["o2"])
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert sorted(thread_reads(server)) == sorted([ids["n0"], ids["t2"]])
    assert sorted(thread_reads(server, "insights")) == sorted([ids["n0"], ids["t2"]])
    assert goals(config)["All"]["metrics"]["replies"] == 8 + 2

    # alice answers dave deep in t1, which had replies: no flag moves, found when thread_refresh (1 h) is due
    th.post("alice", NOW + timedelta(minutes=12), "Me too", ids["r4"])
    server.reset_log()
    world.collect(NOW + timedelta(minutes=20))
    assert thread_reads(server) == []
    assert goals(config)["All"]["metrics"]["replies"] == 10
    # by then t1's likes moved (no flag either), r5 and the whole of t3 are deleted
    th.posts[ids["t1"]].likes = 12
    th.posts[ids["r5"]].deleted = True
    th.posts[ids["t3"]].deleted = True
    world.collect(NOW + timedelta(hours=2))
    m = goals(config)["All"]["metrics"]
    # broadcasts 7 - t3; replies 10 + alice's - r5 - r6 (t3 takes it along); likes 12 + 3; reposts 2 + 0
    assert (m["broadcast"], m["replies"], m["likes"], m["reposts"]) == (6, 10 + 1 - 1 - 1, 15, 2)


def test_without_insights_or_mentions_permissions_those_parts_are_unavailable(world: Played) -> None:
    (th, _), config = world.world, world.config
    refusal = graph_error(10, "(#10) Application does not have permission for this action", 403)
    th.refused[f"/v1.0/{ORG}/threads_insights"] = refusal
    th.refused[f"/v1.0/{ORG}/mentions"] = refusal
    world.collect(NOW)
    assert thread_reads(th.server, "insights") == []
    report = goals(config)["All"]
    m = report["metrics"]
    # replies and responses are still read; o3 answers mm1, which is unseen: 3 responses remain
    assert (m["replies"], m["mentions"], m["responses"]) == (8, None, 3)
    assert (m["likes"], m["reposts"], m["quotes"]) == (None, None, None)
    assert set(report["unavailable"]) == {"mentions", "likes", "reposts", "quotes", "amplification_rate", "applause_rate"}
    assert snapshot_json(config)["sources"][0]["followers"] is None
