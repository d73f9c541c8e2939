"""The Bluesky collector: parsing of recorded bskyr cassettes, and whole collect/snapshot
cycles against a replay server that answers like the AppView and a PDS (XRPC JSON).

Every expected metric in the scenario is worked out by hand in the comments from SPEC §2–§3.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from tests.collecting import Stage, collect_once, context, goals, played, poll, snapshot_json
from tests.fakes import UTC, realdata_bytes
from tests.fakes.bluesky import BLUESKY, BLUESKY_PUBLIC, DAVE, ERIN, NOW, ORG, World, library_world
from tests.replay import json_reply, replay_server
from twoway.collectors.bluesky import BlueskyCollector, parse_counters, parse_post
from twoway.config import Credential, Source
from twoway.model import Reaction
from twoway.plugin.http import Http
from twoway.plugin.protocol import Context

CHRIS = "did:plc:wpe35pganb6d4pg4ekmfy6u5"
BSKYR = "did:plc:5c2r73erhng4bszmxlfdtscf"

def recorded(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, response) of a cassette's first interaction, the body parsed."""
    interaction = yaml.safe_load(realdata_bytes("bluesky", name))["http_interactions"][0]
    response = interaction["response"]
    return interaction["request"], {**response, "json": json.loads(response["body"]["string"])}


def body(name: str) -> Any:
    return recorded(name)[1]["json"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- (a) recorded responses ----------------------------------------------------------------


def test_author_feed_posts_replies_and_reposts() -> None:
    feed = body("getAuthorFeed_bsky_social.yml")["feed"]
    reposts = [i for i in feed if (i.get("reason") or {}).get("$type") == "app.bsky.feed.defs#reasonRepost"]
    own = [parse_post(i["post"], CHRIS) for i in feed if i not in reposts]
    assert len(feed) == 50 and len(reposts) == 7 and len(own) == 43
    assert all(p.author_id == CHRIS for p in own)
    assert sum(1 for p in own if p.parent_id) == 24

    reply = own[0]
    assert reply.id == "at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3lof7sovfok2h"
    assert reply.url == "https://bsky.app/profile/chriskenny.bsky.social/post/3lof7sovfok2h"
    assert reply.parent_id == reply.root_id == "at://did:plc:z4cp3uwgxiioi7uaxn2boq47/app.bsky.feed.post/3lobj4swhjo2x"
    # createdAt 01:30:17.912, indexedAt 01:30:18.253: the earlier wins
    assert reply.created_at == datetime(2025, 5, 5, 1, 30, 17, 912000, tzinfo=UTC)
    assert reply.text.startswith("If you’re running this on GHA") and not reply.mentions_source

    release = own[1]
    assert release.parent_id is None and release.root_id is None
    assert release.hashtags == ("rstats",)
    assert release.links == ("https://christophertkenny.com/bskyr/news/index.html",)
    assert release.text.startswith("#rstats `bskyr` 0.3.0 is now on CRAN.")


def test_author_feed_counters_facets_and_embeds() -> None:
    feed = body("getAuthorFeed_bsky_social.yml")["feed"]
    views = {i["post"]["uri"].rsplit("/", 1)[1]: i["post"] for i in feed}
    now = datetime(2025, 5, 19, tzinfo=UTC)
    assert parse_counters(views["3lc5d6zspys2c"], now) == (views["3lc5d6zspys2c"]["uri"], now, 3, 3, 2, 12)

    dissertation = parse_post(views["3lo7irc7njk2p"], CHRIS)
    # link facet and the external embed name the same repository once; the @mentions are of others
    assert dissertation.links == ("https://github.com/christopherkenny/harvard-diss",)
    assert not dissertation.mentions_source

    emoji = parse_post(views["3lc5d6zspys2c"], BSKYR)
    assert emoji.mentions_source  # a #mention facet names bskyr's DID
    assert emoji.hashtags == ("rstats",)
    assert "https://bsky.app/profile/bskyr.bsky.social/post/3lc5c5qv72r2w" in emoji.links

    # written as "#rstats" by a client that made no tag facet; the text still carries it
    assert parse_post(views["3ku7fkat3gc2s"], CHRIS).hashtags == ("rstats",)
    # a record whose createdAt has microseconds
    assert parse_post(views["3ku7fkat3gc2s"], CHRIS).created_at == datetime(2024, 6, 5, 21, 1, 56, 189000, tzinfo=UTC)


def test_thread_posts_and_profiles() -> None:
    for name in ("getPostThread_bsky_social.yml", "getPosts_bsky_social.yml"):
        data = body(name)
        view = data["thread"]["post"] if "thread" in data else data["posts"][0]
        post = parse_post(view, "did:plc:someone-else")
        assert post.id == "at://did:plc:ic6zqvuw5ulmfpjiwnhsr2ns/app.bsky.feed.post/3k7qmjev5lr2s"
        assert post.author_id == "did:plc:ic6zqvuw5ulmfpjiwnhsr2ns"
        assert post.created_at == datetime(2023, 9, 19, 11, 32, 54, 574000, tzinfo=UTC)
        assert post.hashtags == ("rstats", "rgov")
        assert post.links == ("http://localview.net", "https://rstats.ai/gov.html")
        assert parse_counters(view, post.created_at)[2:] == (0, 0, 0, 4)
    profile = body("getProfiles_bsky_social.yml")["profiles"][0]
    assert (profile["did"], profile["followersCount"]) == (CHRIS, 554)


def test_quotes_likes_and_reposted_by_have_the_shapes_we_rely_on() -> None:
    quotes = body("getQuotes_bsky_social.yml")
    quoting = [parse_post(p, BSKYR) for p in quotes["posts"]]
    assert quoting and all(p.id.startswith("at://did:") and p.author_id.startswith("did:") for p in quoting)
    likes = body("getLikes_bsky_social.yml")
    assert all(like["actor"]["did"].startswith("did:") for like in likes["likes"])
    assert all(actor["did"].startswith("did:") for actor in body("getRepostedBy_bsky_social.yml")["repostedBy"])


def test_notifications_mentions_and_replies() -> None:
    data = body("listNotifications_bsky_social.yml")
    mentions = [parse_post(n, BSKYR) for n in data["notifications"] if n["reason"] == "mention"]
    assert len(mentions) == 11 and all(m.mentions_source for m in mentions)
    first = mentions[0]
    assert first.id == "at://did:plc:lprqqpoyjspuma25n5gofocf/app.bsky.feed.post/3lmicbemya22g"
    assert first.author_id == "did:plc:lprqqpoyjspuma25n5gofocf"
    assert first.parent_id is not None  # a mention that is also a reply
    assert first.text.startswith("Ok, @bskyr.bsky.social makes this ridiculously easy.")
    assert first.links == ("https://christophertkenny.com/bskyr/index.html",)
    swedish = next(m for m in mentions if m.id.endswith("3lffbrjglpc2u"))
    assert swedish.hashtags == ("rstats", "ggplot2") and swedish.parent_id is None


def test_session_and_error_shapes() -> None:
    session = body("createSession_bsky_social.yml")
    assert {"did", "accessJwt", "refreshJwt"} <= set(session)
    request, error = recorded("createRecord_400_error.yml")
    assert request["method"] == "POST" and error["status"] == 400
    assert error["json"]["error"] == "InvalidRequest"


@pytest.mark.usefixtures("fake_sleep")
async def test_poll_over_recorded_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """One poll served the recorded bodies: paging stops at the horizon, reposts are the account's
    own reactions (not posts), notifications come through the session, and the password never
    leaves the login call."""
    feed = body("getAuthorFeed_bsky_social.yml")
    views = {i["post"]["uri"]: i["post"] for i in feed["feed"]}
    profile = body("getProfiles_bsky_social.yml")["profiles"][0]
    monkeypatch.setenv("TEST_BSKY_PASSWORD", "app-pass-word")
    with replay_server() as server:
        server.route("GET", "/xrpc/app.bsky.actor.getProfile", lambda r: json_reply(profile))
        server.route(
            "GET",
            "/xrpc/app.bsky.feed.getAuthorFeed",
            lambda r: json_reply(feed if not r.arg("cursor") else {"feed": []}),
        )
        server.route(
            "GET",
            "/xrpc/app.bsky.feed.getPostThread",
            lambda r: json_reply(
                {"thread": {"$type": "app.bsky.feed.defs#threadViewPost", "post": views[r.arg("uri")]}}
            ),
        )
        server.route(
            "POST",
            "/xrpc/com.atproto.server.createSession",
            lambda r: json_reply(body("createSession_bsky_social.yml")),
        )
        server.route(
            "GET",
            "/xrpc/app.bsky.notification.listNotifications",
            lambda r: json_reply(body("listNotifications_bsky_social.yml")),
        )
        options = {
            "handle": "chriskenny.bsky.social",
            "service": server.url,
            "pds": server.url,
            "app_password": Credential(env="TEST_BSKY_PASSWORD"),
        }
        async with httpx.AsyncClient() as client:
            context = Context(Source("lib", "bluesky", 300, options), Http(client), 30 * 86400, 3600)
            batch = await BlueskyCollector(context).poll(None, at("2025-05-19T17:41:26Z"))

    since = at("2025-04-19T17:41:26Z")
    ids = {p.id for p in batch.posts}
    own = [v for v in views.values() if v["author"]["did"] == CHRIS and at(v["indexedAt"]) >= since]
    assert {v["uri"] for v in own} <= ids and len(own) == 8  # 3lof7sovfok2h .. 3lngkyiea3c2s
    assert not any(p.author_id == "did:plc:vzbfeedmxehmx5nmzrwymuoc" for p in batch.posts)  # mickael's, reposted
    # the one repost inside the horizon (2025-04-25); the next (2025-03-23) ends the paging
    reposted = "at://did:plc:n65dhyosfrm6t7jhzum76exq/app.bsky.feed.post/3lnneysi3ps2c"
    assert batch.reactions == (Reaction(reposted, "reposts", CHRIS),) and reposted not in ids
    assert len(server.requests("/xrpc/app.bsky.feed.getAuthorFeed")) == 1  # the page reached the horizon
    # three of those posts start threads of their own; the replies' roots are other people's
    assert len(server.requests("/xrpc/app.bsky.feed.getPostThread")) == 3
    assert batch.followers == 554 and batch.accounts[0] == (CHRIS, "chriskenny.bsky.social", "source")
    assert batch.measures is not None and "mentions" in batch.measures
    # notifications from before the horizon are not read; those after it are mentions of bskyr
    mention = "at://did:plc:lprqqpoyjspuma25n5gofocf/app.bsky.feed.post/3lmicbemya22g"
    assert mention not in ids  # indexed 2025-04-10, before the horizon
    login = server.requests("/xrpc/com.atproto.server.createSession")[0]
    assert json.loads(login.body) == {"identifier": "chriskenny.bsky.social", "password": "app-pass-word"}
    notified = server.requests("/xrpc/app.bsky.notification.listNotifications")[0]
    assert notified.headers["authorization"] == "Bearer REDACTED"
    assert notified.query["reasons"] == ["mention", "reply"]
    assert "app-pass-word" not in (batch.cursor or "") and "REDACTED" not in (batch.cursor or "")


# -- the scenario, on a replay server playing Bluesky (tests/fakes/bluesky.py) --------------------
# Ids: `stage.world` is the fake AppView and the ids of the posts tests change or count.

Played = Stage[tuple[World, dict[str, str]]]


library = played(BLUESKY)


public = played(BLUESKY_PUBLIC)


def test_scenario_metrics(library: Played) -> None:
    (world, ids), config = library.world, library.config
    assert collect_once(config) == (0, "")
    first = goals(config)["Everything"]["metrics"]
    # b1, b3, b4 (b0 is beyond the horizon, e1 is only reposted);
    # replies r1 r2 r2a m2 | r4 r5 | r6; mentions m1 m3
    assert (first["broadcast"], first["replies"], first["mentions"]) == (3, 7, 2)

    # between cycles: b3 is edited to carry the hashtag, r5 and the whole of b4 are deleted, b1 gets likes
    world.posts[ids["b3"]]["record"]["text"] = "Library closed Monday #SummerReading"
    world.posts[ids["r5"]]["deleted"] = True
    world.posts[ids["b4"]]["deleted"] = True
    world.posts[ids["b1"]]["likeCount"] = 12
    assert collect_once(config) == (0, "")
    snapshot = snapshot_json(config)

    assert world.sessions == 1  # one login for both cycles of this process
    summer = next(g for g in snapshot["goals"] if g["name"] == "Summer reading")
    m = summer["metrics"]
    # broadcasts inside 30 days with #SummerReading: b1, and b3 since its edit (b4 is deleted, b2 is 40 days old)
    assert m["broadcast"] == 2
    # b1's thread: r1, r2, r2a (under r2) and m2 (a mention that is also a reply, under the self-thread c1);
    # b3's thread: r4 (r5 deleted)
    assert m["replies"] == 5
    assert m["mentions"] == 1  # m1 has the hashtag, m3 does not
    assert m["community_messages"] == 6
    # s1 → r1, j1 (staff) → r2a, s2 → m2, s4 → r4, s5 → m1
    assert (m["responses"], m["answered"], m["unanswered"]) == (5, 5, 1)
    assert m["two_way"] == 11
    # latest counters of b1 and b3, less the library's own repost of b1 (its feed names it as the reposter):
    # b1's repostCount 3 is two community members and the library, so 2 + 1 (3 + 1 before issue 12's fix)
    assert (m["reposts"], m["quotes"], m["likes"]) == (2 + 1, 1 + 0, 12 + 4)
    assert m["amplification_rate"] == (3 + 1) / 2  # (reposts + quotes) / broadcasts; 2.5 before the fix
    # waits: r1 2 h, r2a 1 h, m2 30 min, r4 20 min, m1 1 h → median 1 h
    assert m["median_response_seconds"] == 3600
    assert m["conversation_rate"] == 5 / 2 and m["response_rate"] == pytest.approx(5 / 6)
    assert m["voices"] == 4  # alice, bob, carol, dave
    baseline = summer["baseline"]
    assert (baseline["broadcast"], baseline["replies"], baseline["responses"]) == (1, 1, 1)  # b2, r3, s3

    everything = next(g for g in snapshot["goals"] if g["name"] == "Everything")["metrics"]
    assert (everything["broadcast"], everything["replies"], everything["mentions"]) == (2, 5, 2)
    assert everything["reposts"] == 2 + 1  # b1 and b3, as above (b4, deleted, had none)
    assert (everything["answered"], everything["unanswered"]) == (5, 2)  # r2 and m3 wait
    source = snapshot["sources"][0]
    assert (source["status"], source["followers"]) == ("ok", 321)


def test_the_accounts_reposts_are_its_own_reactions_at_no_extra_request() -> None:
    """Issue 12: the author feed the collector pages anyway names the account as the reposter of
    b1 (its own broadcast) and of erin's e1. Both become the account's `Reaction`s, which the store
    leaves out of `reposts` (b1's repostCount stays Bluesky's 3 in the counters); neither is a post."""
    world, ids = library_world()
    with replay_server() as server:
        world.serve(server)
        made = context("bluesky", {"handle": "library.bsky.social", "service": server.url, "pds": server.url})
        batch = poll(made, NOW)
        asked = sorted({r.path for r in server.requests()})
        pages = len(server.requests("/xrpc/app.bsky.feed.getAuthorFeed"))
    assert sorted(batch.reactions) == sorted([Reaction(ids["b1"], "reposts", ORG), Reaction(ids["e1"], "reposts", ORG)])
    assert ids["e1"] not in {p.id for p in batch.posts}
    assert next(c for c in batch.counters if c.post_id == ids["b1"]).reposts == 3
    # 11 posts and 2 reposts, 4 items a page: the pages the feed takes anyway, and nothing that asks who reposted
    assert pages == 4
    assert asked == sorted({
        "/xrpc/app.bsky.actor.getProfile", "/xrpc/app.bsky.feed.getAuthorFeed", "/xrpc/app.bsky.feed.getPostThread"
    })


# -- steady state -------------------------------------------------------------------------------


def test_steady_state_reads_threads_only_when_counters_move_or_due(public: Played) -> None:
    (world, ids), server, config = public.world, public.server, public.config
    assert collect_once(config) == (0, "")
    before = goals(config)["Everything"]
    assert before["metrics"]["mentions"] is None  # no app password, no mentions
    assert before["unavailable"]["mentions"] == ["library-bluesky"]
    assert not server.requests("/xrpc/app.bsky.notification") and not server.requests("/xrpc/com.atproto")

    # a reply to the library's answer s3 under the 40-day-old b2: s3's replyCount moves
    world.post(ERIN, "r3b", NOW + timedelta(minutes=8), "One more question", ids["s3"])
    server.reset_log()
    public.collect(NOW + timedelta(minutes=10))
    threads = server.requests("/xrpc/app.bsky.feed.getPostThread")
    assert [t.arg("uri") for t in threads] == [ids["b2"]]
    after = goals(config)["Everything"]
    assert after["baseline"]["replies"] == before["baseline"]["replies"] + 1
    assert after["baseline"]["unanswered"] == 1

    # a reply deep under community replies moves no counter of ours: found once thread_refresh (1h) is due
    world.post(DAVE, "deep", NOW + timedelta(minutes=12), "me too", ids["r2a"])
    replies = after["metrics"]["replies"]
    server.reset_log()
    public.collect(NOW + timedelta(minutes=20))
    assert not server.requests("/xrpc/app.bsky.feed.getPostThread")
    assert goals(config)["Everything"]["metrics"]["replies"] == replies
    public.collect(NOW + timedelta(hours=2))
    assert len(server.requests("/xrpc/app.bsky.feed.getPostThread")) == 4  # b1 b2 b3 b4, all due
    assert goals(config)["Everything"]["metrics"]["replies"] == replies + 1


def test_a_notification_points_at_its_thread_and_an_expired_token_is_refreshed(library: Played) -> None:
    (world, ids), server, config = library.world, library.server, library.config
    assert collect_once(config) == (0, "")
    replies = goals(config)["Everything"]["metrics"]["replies"]
    # a reply under r2 (community) with a reply notification: no counter of ours moves, the notification points
    world.post(ERIN, "n1", NOW + timedelta(minutes=3), "@library me too", ids["r2"], mention=True, notify="mention")
    world.expire_next = True
    server.reset_log()
    library.collect(NOW + timedelta(minutes=5))
    assert [t.arg("uri") for t in server.requests("/xrpc/app.bsky.feed.getPostThread")] == [ids["b1"]]
    assert len(server.requests("/xrpc/com.atproto.server.refreshSession")) == 1
    assert not server.requests("/xrpc/com.atproto.server.createSession")
    metrics = goals(config)["Everything"]["metrics"]
    assert metrics["replies"] == replies + 1  # a reply that also mentions counts once, as a reply
