"""The Mastodon collector: real recorded answers parsed, and a replay server playing Mastodon.

The scenario's expected metrics are worked out by hand from SPEC §2–§3 in the comments
next to each assertion; nothing is copied from what the code computed.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.collecting import Stage, context, goals, health, played, poll
from tests.fakes import UTC, cassette, realdata_dir
from tests.fakes.mastodon import BOB, DAVE, MASTODON, NOW, World, cassette_server
from tests.replay import json_reply, replay_server
from twoway.collectors.mastodon import MastodonCollector, _Cycle, _next, parse_status, plain_text
from twoway.config import Credential
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context, CursorState

# -- real recorded answers ------------------------------------------------------------



def test_every_recorded_status_parses_to_a_clean_post() -> None:
    seen = 0
    for path in sorted(realdata_dir("mastodon").glob("*.yaml")):
        for item in cassette("mastodon", path.name):
            body = item["body"]
            found = body if isinstance(body, list) else [body]
            if isinstance(body, dict) and "descendants" in body:
                found = body["ancestors"] + body["descendants"]
            for status in found:
                if isinstance(status, dict) and "status" in status:
                    status = status["status"]  # a notification
                if not isinstance(status, dict) or "content" not in status or status.get("reblog"):
                    continue
                post = parse_status(status, "nobody")
                seen += 1
                assert post.id == status["id"] and post.author_id == status["account"]["id"], path.name
                assert post.created_at.tzinfo is UTC, path.name
                assert "<" not in post.text and "&amp;" not in post.text, (path.name, post.text)
                assert post.root_id == (None if status["in_reply_to_id"] else post.id)
    assert seen > 30


def test_real_context_is_the_account_replying_in_its_own_thread() -> None:
    (item,) = cassette("mastodon", "real_mastodon_social_status_context.yaml")
    (top,), (last,) = item["body"]["ancestors"], item["body"]["descendants"]
    middle = urlsplit(item["uri"]).path.split("/")[-2]
    root = parse_status(top, "43", top["id"])
    reply = parse_status(last, "43", top["id"])
    assert (root.id, root.author_id, root.parent_id, root.root_id) == ("110446983178245440", "43", None, top["id"])
    assert (reply.author_id, reply.parent_id, reply.root_id) == ("43", middle, "110446983178245440")
    assert root.text == "first status" and reply.text == "final status"
    assert reply.created_at == datetime(2023, 5, 28, 15, 20, 35, 248000, tzinfo=UTC)
    assert item["headers"]["x-ratelimit-remaining"].isdigit()


def test_real_status_with_h_card_mention_and_hashtag_markup() -> None:
    first, second = (i["body"] for i in cassette("mastodon", "real_mastodon_social_statuses.yaml"))
    post = parse_status(first, "23972")
    assert first["spoiler_text"] == "test post for mastodon.py stuff"  # the content warning leads the text
    assert post.text == (
        "test post for mastodon.py stuff\n\n@halcy you're a doo-doo head\n\n"
        "edit: editing this to have the maximum amount of fields filled :trans_heart: #ThisIsAHashtag"
    )
    assert post.hashtags == ("thisisahashtag",)
    assert post.links == ()  # the mention and the hashtag are not links
    assert post.mentions_source  # it names account 23972
    assert post.created_at == datetime(2023, 5, 28, 12, 6, 50, tzinfo=UTC)
    assert post.url == "https://icosahedron.website/@halcy/110446222386355655"
    # edited: the content is the latest edit, the created time stays
    assert first["edited_at"] and second["edited_at"] and parse_status(second, "1").text == "test?"


def test_real_notifications_skip_deleted_statuses_and_keep_the_mention() -> None:
    (item,) = cassette("mastodon", "real_mastodon_social_notifications.yaml")
    notes = item["body"]
    with_status = [n for n in notes if n["status"]]
    assert len(notes) == 40 and len(with_status) == 1
    assert _next(item["headers"]["link"], "max_id") == "541461666"
    post = parse_status(with_status[0]["status"], "43")
    assert post.mentions_source and post.author_id == "109446733121874654"
    assert post.text.startswith("@halcy@mastodon.social @halcy@glitch.social @halcy@hachyderm.io ____")


def test_real_mention_notification_and_reply() -> None:
    mention = next(i for i in cassette("mastodon", "notifications_mentions_only.yaml") if "types" in i["uri"])
    assert mention["body"][0]["type"] == "mention"
    post = parse_status(mention["body"][0]["status"], "117020565966271181")
    assert (post.text, post.mentions_source, post.parent_id) == ("@mastodonpy_test hello!", True, None)
    posted = [i["body"] for i in cassette("mastodon", "status_reply.yaml") if i["method"] == "POST"]
    top, reply = posted[0], posted[1]
    post = parse_status(reply, "117020566092212359", top["id"])
    assert (post.parent_id, post.root_id, post.author_id) == (top["id"], top["id"], "117020565693913441")
    assert post.text == "@mastodonpy_test_2 same!" and post.mentions_source


def test_real_quotes_count_becomes_the_quotes_counter() -> None:
    from twoway.collectors.mastodon import _counters

    statuses = [i["body"] for i in cassette("mastodon", "status_quotes.yaml") if isinstance(i["body"], dict) and "quotes_count" in i["body"]]
    assert statuses
    counters = _counters(statuses[0], datetime(2026, 8, 1, tzinfo=UTC))
    assert counters.quotes == statuses[0]["quotes_count"] and counters.likes == statuses[0]["favourites_count"]


def test_plain_text_keeps_link_text_and_drops_mention_and_hashtag_links() -> None:
    html = (
        '<p>Hi <span class="h-card"><a href="https://glammr.us/@jane" class="u-url mention">@<span>jane</span></a>'
        '</span> &amp; all</p><p>See <a href="https://library.example.org/summer/kids" rel="nofollow noopener">'
        '<span class="invisible">https://</span><span class="ellipsis">library.example.org/summer</span>'
        '<span class="invisible">/kids</span></a><br>Tag <a href="https://glammr.us/tags/x" class="mention hashtag"'
        ' rel="tag">#<span>x</span></a></p>'
    )
    text, links = plain_text(html)
    assert text == "Hi @jane & all\n\nSee https://library.example.org/summer/kids\nTag #x"
    assert links == ["https://library.example.org/summer/kids"]



def context_for(server_url: str, account: str, token: bool = False) -> Context:
    token_option = {"token": Credential(env="TEST_MASTODON_TOKEN")} if token else {}
    return context("mastodon", {"instance": server_url, "account": account, **token_option})


def test_real_pagination_follows_the_link_header() -> None:
    items = cassette("mastodon", "account_statuses_pagination.yaml")
    with replay_server() as server:
        cassette_server(server, items)
        me = next(i["body"] for i in items if i["uri"].endswith("verify_credentials"))
        server.route("GET", "/api/v1/accounts/lookup", lambda r: json_reply(me))
        server.route("GET", "/api/v1/statuses/*", lambda r: json_reply({"ancestors": [], "descendants": []}))
        batch = poll(context_for(server.url, "mastodonpy_test"), datetime(2026, 8, 1, 14, tzinfo=UTC))
        pages = [r.arg("max_id") for r in server.requests("/api/v1/accounts/117020565966271181/statuses")]
    # page 1, then the two max_id pages the Link headers named (the last one recorded answers no more)
    assert pages == [None, "117020580489281910", "117020580452511285"]
    texts = sorted(p.text for p in batch.posts)
    assert texts == [f"Toot number {n}!" for n in range(10)]
    assert {c.quotes for c in batch.counters} == {0} and batch.followers == 0
    assert batch.measures == frozenset({"replies", "responses", "reposts", "likes", "quotes"})  # no token: no mentions
    assert batch.accounts[0].author_id == "117020565966271181" and batch.accounts[0].origin == "source"


def test_real_notifications_through_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MASTODON_TOKEN", "secret")
    account = next(i["body"] for i in cassette("mastodon", "real_mastodon_social_account.yaml") if "verify" in i["uri"])
    (notes,) = cassette("mastodon", "real_mastodon_social_notifications.yaml")
    with replay_server() as server:
        server.route("GET", "/api/v1/accounts/lookup", lambda r: json_reply(account))
        server.route("GET", "/api/v1/accounts/43/statuses", lambda r: json_reply([]))
        server.route(
            "GET", "/api/v1/notifications",
            lambda r: json_reply([]) if r.arg("max_id") else json_reply(notes["body"], headers={"Link": notes["headers"]["link"]}),
        )
        batch = poll(context_for(server.url, "halcy", token=True), datetime(2026, 4, 12, tzinfo=UTC))
        assert all(r.headers.get("authorization") == "Bearer secret" for r in server.requests())
        assert all("secret" not in str(r.query) for r in server.requests())
    (post,) = batch.posts  # 39 of the 40 mentions have status null: deleted, nothing to keep
    assert post.id == "116275331587890092" and post.mentions_source and post.root_id == post.id
    assert batch.followers == 126 and "mentions" in (batch.measures or ())
    assert json.loads(batch.cursor or "{}")["notes"] == "550622655"


def test_real_unknown_account_is_one_clear_error() -> None:
    items = cassette("mastodon", "account_lookup.yaml")
    missing = next(i for i in items if i["status"] == 404)
    with replay_server() as server:
        server.route("GET", "/api/v1/accounts/lookup", lambda r: json_reply(missing["body"], 404))
        with pytest.raises(FetchError, match="account 'nobody' not found on http://127.0.0.1"):
            poll(context_for(server.url, "nobody"), datetime(2026, 8, 1, tzinfo=UTC))


def test_real_missing_status_reads_as_gone() -> None:
    (missing,) = cassette("mastodon", "status_missing_404.yaml")
    with replay_server() as server:
        server.route("GET", "/api/v1/statuses/*", lambda r: json_reply(missing["body"], missing["status"]))
        context = context_for(server.url, "x")
        collector = MastodonCollector(context)
        cycle = _Cycle(collector, CursorState(), datetime(2026, 8, 1, tzinfo=UTC), None)

        async def run() -> None:
            try:
                await cycle.read_thread("0")
            finally:
                await context.http.client.aclose()

        asyncio.run(run())
    assert cycle.deleted == {"0"}


# -- the scenario, on a replay server playing Mastodon (tests/fakes/mastodon.py) --------------


world = played(MASTODON)



def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    world.collect(NOW)
    contexts = [r.path.split("/")[4] for r in w.fake.server.requests("/api/v1/statuses/")]
    # one read per thread (B0 only through A0, the mentions M1 and M3's X1 through notifications), plus one
    # read each to find the top of a conversation nothing known leads to: M3 (alice's thread) and C0 (B0's)
    threads = [w.b0, w.b1, w.b2, w.b3, w.b4, w.m1, w.x1]
    assert sorted(contexts) == sorted([*threads, w.m3, w.c0])
    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in the last 30 days: B1, B2, B3 (S1 is B1's self-thread; boosts are neither; B4 is older)
    assert m["broadcast"] == 3
    # replies: R1 R2 R3 R4 under B1 (jane and the library are the organization), R5 M2 under B2, R6 under B3
    assert m["replies"] == 7
    # mentions: M1, and M3 in alice's thread; M2 counts once, as a reply; C0 is a reply under B0
    assert m["mentions"] == 2
    assert m["community_messages"] == 9
    # responses: A1 to R1 after 3 h, J1 (staff) to R3 after 30 min, A3 to M2 after 1 day, A2 to M1 after 2 h
    assert (m["responses"], m["answered"], m["unanswered"]) == (4, 4, 5)
    assert m["two_way"] == 13
    assert m["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2
    assert m["p90_response_seconds"] == 86400
    # likes 5 + 3 + 1; boosts 2 + 0 + (1 - the library's own boost of B3); quotes 2 + 1 + 0
    assert (m["likes"], m["reposts"], m["quotes"]) == (9, 2, 3)
    assert m["voices"] == 4  # alice, bob, carol, dave
    assert report["All"]["unavailable"] == {}

    s = report["Summer reading"]["metrics"]
    # B1 (with S1's text), its four replies, and the mention M1 tagged #SummerReading
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 4, 1, 3)
    assert s["median_response_seconds"] == 2 * 3600  # 30 min, 2 h, 3 h
    assert (s["likes"], s["reposts"], s["quotes"]) == (5, 2, 2)
    assert report["Closures"]["metrics"]["broadcast"] == 0  # B2 says Tuesday

    assert health(config) == ("ok", 321)


def test_steady_state_counters_and_thread_refresh(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    world.collect(NOW)

    # a new community reply to the library's answer A1 under B1 moves A1's counter: B1's thread is read
    f.post(DAVE, NOW + timedelta(minutes=8), "Thanks!", w.a1)
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert [r.path for r in server.requests("/api/v1/statuses/")] == [f"/api/v1/statuses/{w.b1}/context"]
    assert goals(config)["All"]["metrics"]["replies"] == 7 + 1

    # a reply under carol's reply moves no counter of ours: not read until thread_refresh (1 h) is due
    f.post(BOB, NOW + timedelta(minutes=15), "Me too", w.r3)
    server.reset_log()
    world.collect(NOW + timedelta(minutes=20))
    assert server.requests("/api/v1/statuses/") == []
    assert goals(config)["All"]["metrics"]["replies"] == 8
    world.collect(NOW + timedelta(hours=2))
    m = goals(config)["All"]["metrics"]
    assert m["replies"] == 9 and m["unanswered"] == 5 + 2

    # deletions and an edit: R5 vanishes from B2's thread, B3 from the listing; B2 now says Monday
    f.delete(w.r5)
    f.delete(w.b3)
    f.delete(w.boost_b3)
    f.edit(w.b2, "The library is closed on Monday", NOW + timedelta(hours=2))
    world.collect(NOW + timedelta(hours=2, minutes=10))
    report = goals(config)
    m = report["All"]["metrics"]
    # B3 takes R6 with it; R5 is gone: replies 9 - 2
    assert (m["broadcast"], m["replies"], m["likes"], m["reposts"]) == (2, 7, 8, 2)
    assert report["Closures"]["metrics"]["broadcast"] == 1


def test_without_a_token_mentions_are_unavailable(world: Stage[World], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world.world, world.config
    monkeypatch.delenv("TEST_MASTODON_TOKEN")
    world.collect(NOW)
    assert w.fake.server.requests("/api/v1/notifications") == []
    assert all("authorization" not in r.headers for r in w.fake.server.requests())
    report = goals(config)["All"]
    assert report["metrics"]["mentions"] is None
    assert report["unavailable"] == {"mentions": ["library-mastodon"]}
    # the threads are read all the same: M2 is still a reply in B2's thread, and answered
    assert report["metrics"]["replies"] == 7
