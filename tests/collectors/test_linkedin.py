"""The LinkedIn collector: the documented response shapes parsed, then a replay server that
answers like the Community Management API (`/rest`, Rest.li 2.0 encoding, `start`/`count`
paging), polled through `twoway collect --once`.

No recorded LinkedIn responses exist in shared/realdata; the shapes follow the API's
documentation (Posts, Comments, Social Metadata, Share Statistics, Network Sizes). Every
expected metric is worked out by hand in the comments from SPEC §2–§3.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from tests.collecting import FakeSleep, Stage, context, goals, health, played, poll
from tests.fakes import UTC
from tests.fakes.linkedin import CAROL, EVE, LINKEDIN, NOW, ORG, TOKEN, FakeLinkedIn, World, thread_reads
from tests.replay import Reply, Request, json_reply, replay_server
from twoway.collectors.linkedin import _answered, _named, little_text, organization_urn, parse_comment, parse_post
from twoway.config import Credential

# -- (a) the documented shapes ----------------------------------------------------------------

POST = {  # the Posts API's "find posts by author" element, as documented
    "isReshareDisabledByAuthor": False,
    "createdAt": 1661801185549,
    "lifecycleState": "PUBLISHED",
    "lastModifiedAt": 1661801185579,
    "visibility": "PUBLIC",
    "publishedAt": 1661801185549,
    "author": ORG,
    "id": "urn:li:share:6970450637599182848",
    "distribution": {"feedDistribution": "MAIN_FEED", "thirdPartyDistributionChannels": []},
    "content": {
        "article": {
            "source": "https://library.example.org/summer",
            "title": "Summer reading 2026",
            "description": "Log your books",
        }
    },
    "commentary": "Join us, @[Riverside Friends](urn:li:organization:777)! {hashtag|\\#|SummerReading} "
    "starts \\(really\\) today #books",
    "lifecycleStateInfo": {"isEditedByAuthor": False},
}
COMMENT = {  # a comment answering another, as the Comments API documents it
    "actor": "urn:li:person:jane9",
    "commentUrn": "urn:li:comment:(urn:li:activity:6970450637599182848,6970463720000000000)",
    "$URN": "urn:li:comment:(urn:li:activity:6970450637599182848,6970463720000000000)",
    "created": {"actor": "urn:li:person:jane9", "time": 1661804305000},
    "lastModified": {"actor": "urn:li:person:jane9", "time": 1661804305000},
    "id": "6970463720000000000",
    "object": "urn:li:activity:6970450637599182848",
    "parentComment": "urn:li:comment:(urn:li:activity:6970450637599182848,6970460000000000000)",
    "message": {
        "text": "Bob Smith a tote bag! See https://library.example.org/prizes.",
        "attributes": [{"start": 0, "length": 9, "value": {"person": {"person": "urn:li:person:bob7"}}}],
    },
    "commentsSummary": {"selectedComments": [], "aggregatedTotalComments": 0, "totalFirstLevelComments": 0},
    "likesSummary": {"selectedLikes": [], "aggregatedTotalLikes": 0, "likedByCurrentUser": False, "totalLikes": 0},
}


def test_organization_accepts_an_id_or_its_urn() -> None:
    assert organization_urn(2414183) == ORG
    assert organization_urn(" 2414183 ") == ORG
    assert organization_urn(ORG) == ORG


def test_little_text_becomes_plain_text_with_hashtags() -> None:
    text, tags = little_text(str(POST["commentary"]))
    assert text == "Join us, Riverside Friends! #SummerReading starts (really) today #books"
    assert tags == ("SummerReading", "books")
    assert little_text("a \\@ sign, \\{braces\\} and \\\\") == ("a @ sign, {braces} and \\", ())


def test_a_documented_post_parses_to_a_broadcast_of_the_page() -> None:
    post, reaction = parse_post(POST, ORG)
    assert reaction is None
    assert (post.id, post.author_id, post.root_id, post.parent_id) == (POST["id"], ORG, POST["id"], None)
    assert post.created_at == datetime(2022, 8, 29, 19, 26, 25, 549000, tzinfo=UTC)
    assert post.url == "https://www.linkedin.com/feed/update/urn:li:share:6970450637599182848/"
    assert post.text.endswith("today #books\nSummer reading 2026")  # the article's title is matched too
    assert post.links == ("https://library.example.org/summer",)
    assert post.hashtags == ("SummerReading", "books") and not post.is_repost


def test_a_reshare_is_the_pages_repost_of_the_reshared_post() -> None:
    reshare = {**POST, "id": "urn:li:share:2", "reshareContext": {"parent": "urn:li:share:1", "root": "urn:li:share:1"}}
    post, reaction = parse_post(reshare, ORG)
    assert post.is_repost and post.text == "" and post.root_id == "urn:li:share:2"
    assert reaction is not None and tuple(reaction) == ("urn:li:share:1", "reposts", ORG)


def test_a_documented_comment_and_whom_it_answers() -> None:
    root = "urn:li:share:6970450637599182848"
    top = "urn:li:comment:(urn:li:activity:6970450637599182848,6970460000000000000)"
    reply = parse_comment(COMMENT, root, top)
    assert reply.id == COMMENT["$URN"] and reply.author_id == "urn:li:person:jane9"
    assert (reply.parent_id, reply.root_id) == (top, root)
    assert reply.created_at == datetime(2022, 8, 29, 20, 18, 25, tzinfo=UTC)
    assert reply.links == ("https://library.example.org/prizes",)
    assert reply.url.startswith(f"https://www.linkedin.com/feed/update/{root}/?commentUrn=urn%3Ali%3Acomment%3A%28")
    assert _named(COMMENT) == {"urn:li:person:bob7"}
    # the conversation under the top comment: Ann's question, then Bob's; Jane names Bob, so she answers him
    ann = reply._replace(id="ann", author_id="urn:li:person:ann1", created_at=reply.created_at - timedelta(hours=2))
    bob = reply._replace(id="bob", author_id="urn:li:person:bob7", created_at=reply.created_at - timedelta(hours=1))
    assert _answered(reply, [ann, bob], _named(COMMENT)) == "bob"
    assert _answered(reply, [ann], _named(COMMENT)) == "ann"  # Bob said nothing here: the top comment
    later = bob._replace(created_at=reply.created_at + timedelta(hours=1))
    assert _answered(reply, [ann, later], _named(COMMENT)) == "ann"  # an answer never precedes its message


# -- (b) the scenario, on the Community Management API played by tests/fakes/linkedin.py ----------


world = played(LINKEDIN)


def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    server = w.fake.server
    world.collect(NOW)
    # 16 posts inside the horizon and the draft, 5 a page: the fourth page reaches past 60 days
    assert [r.arg("start") for r in server.requests("/rest/posts")] == ["0", "5", "10", "15"]
    # every broadcast's comments (10 routine, b1 b2 b5 b6), then replies under c1, c3 (b1), c5 (b2), c6 (b5)
    broadcasts = [*w.routine[:10], w.b1, w.b2, w.b5, w.b6]
    assert sorted(thread_reads(server)) == sorted([*broadcasts, w.c1, w.c3, w.c5, w.c6])
    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in 30 days: routine 1.5 7.5 13.5 19.5 25.5, b1, b2, b6 (reshares b3 b4 are reposts; the draft waits)
    assert m["broadcast"] == 8
    # replies: Ann's c1, Bob's n2, Carol's c2, Dave's n4 under b1; Ann's c4, Carol's c5 under b2 (c3 is the page's)
    assert m["replies"] == 6
    assert m["mentions"] is None and m["community_messages"] == 6
    # responses: n1 (page) to Ann after 3 h, n3 (Jane, who names Bob) to Bob after 1 h, n5 to Carol after 1 day
    assert (m["responses"], m["answered"], m["unanswered"]) == (3, 3, 3)  # waiting: c2, n4, c4
    assert m["two_way"] == 9
    assert m["median_response_seconds"] == 3 * 3600
    assert m["p90_response_seconds"] == 86400  # nearest rank: the 3rd of 3
    assert m["voices"] == 4  # Ann, Bob, Carol, Dave
    # likes: b1 5 + 2 reactions, b2 3, b6 1; reposts: b1 3, b2 2 less the page's own reshare b4, b6 0
    assert (m["likes"], m["reposts"], m["quotes"]) == (11, 4, None)
    assert m["conversation_rate"] == 6 / 8 and m["response_rate"] == 0.5 and m["amplification_rate"] == 4 / 8
    assert report["All"]["unavailable"] == {"mentions": ["li"], "quotes": ["li"]}
    b = report["All"]["baseline"]
    # baseline (30 to 60 days): routine 31.5 … 55.5 and b5; Hal answered after 2 h
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"], b["likes"]) == (6, 1, 1, 7200, 4)

    s = report["Summer reading"]["metrics"]
    # b1 alone: four replies, n1 (3 h) and n3 (1 h) answering
    assert (s["broadcast"], s["replies"], s["responses"], s["median_response_seconds"]) == (1, 4, 2, 2 * 3600)
    assert (s["likes"], s["reposts"]) == (7, 3)
    assert report["Closures"]["metrics"]["broadcast"] == 1  # b2's little text, unescaped
    assert health(config) == ("ok", 1234)


def test_steady_state_changes_and_deletions(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    world.collect(NOW)

    # Eve answers Carol under b2: b2's comment count moves, so that thread alone is read
    f.comment(w.b2, EVE, NOW + timedelta(minutes=8), "Carol same question", w.c5, (CAROL,))
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert sorted(thread_reads(server)) == sorted([w.b2, w.c5])
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["unanswered"], m["voices"]) == (7, 4, 5)  # Eve's reply waits

    # the page deletes b6 and its answer n5 to Carol: b6 leaves the listing, b2's count moves
    del f.posts[w.b6]
    f.comments[w.n5].deleted = True
    server.reset_log()
    world.collect(NOW + timedelta(minutes=20))
    assert sorted(thread_reads(server)) == sorted([w.b2, w.c5])
    m = goals(config)["All"]["metrics"]
    # 7 broadcasts; Carol's c5 reopens: responses n1, n3 (3 h, 1 h); b6's like is gone
    assert (m["broadcast"], m["responses"], m["answered"], m["unanswered"], m["likes"]) == (7, 2, 2, 5, 10)
    assert m["median_response_seconds"] == 2 * 3600

    # thread_refresh (1 h) is due two hours after the backfill: every recent thread is read again
    server.reset_log()
    world.collect(NOW + timedelta(hours=2))
    tops = [p for p in thread_reads(server) if not p.startswith("urn:li:comment:")]
    assert sorted(tops) == sorted([*w.routine[:10], w.b1, w.b2, w.b5])
    assert goals(config)["All"]["metrics"]["replies"] == 7


def test_share_statistics_refused_leaves_reposts_unmeasured(world: Stage[World]) -> None:
    w, config = world.world, world.config
    w.fake.statistics = json_reply(
        {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough permissions"}, 403
    )
    world.collect(NOW)
    report = goals(config)["All"]
    assert report["metrics"]["reposts"] is None and report["metrics"]["likes"] == 11
    # amplification needs reposts or quotes: neither is measured now
    assert report["unavailable"] == {"mentions": ["li"], "quotes": ["li"], "reposts": ["li"], "amplification_rate": ["li"]}
    assert report["metrics"]["amplification_rate"] is None
    assert health(config) == ("ok", 1234)


def test_a_429_waits_for_retry_after_and_the_version_is_configurable(
    monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    monkeypatch.setenv("TEST_LINKEDIN_TOKEN", TOKEN)
    with replay_server() as server:
        fake = FakeLinkedIn(server, version="202509")
        fake.post("share", NOW - timedelta(days=1), "Hello")
        served = server.routes[("GET", "/rest/posts")]
        calls = itertools.count()

        def posts(request: Request) -> Reply:
            if next(calls) == 0:  # LinkedIn's daily quota, as it answers when spent
                body = {"status": 429, "message": "Resource level throttle APPLICATION DAY limit for calls to this resource"}
                return json_reply(body, 429, {"Retry-After": "30"})
            return served(request)

        server.route("GET", "/rest/posts", posts)
        options: dict[str, object] = {
            "organization": "urn:li:organization:2414183", "api": server.url, "version": "202509",
            "token": Credential(env="TEST_LINKEDIN_TOKEN"),
        }
        made = context("linkedin", options, sid="li", refresh_hours=1)
        batch = poll(made, NOW)
    assert any(29 < pause <= 30 for pause in fake_sleep.pauses)  # Retry-After, not real time
    assert len(server.requests("/rest/posts")) == 2
    assert [p.text for p in batch.posts] == ["Hello"] and batch.followers == 1234
    assert batch.accounts[0].author_id == ORG
    assert made.http.budgets == {}  # LinkedIn announces no rate limit: there is no budget to show
