"""The LinkedIn collector: the documented response shapes parsed, then a replay server that
answers like the Community Management API (`/rest`, Rest.li 2.0 encoding, `start`/`count`
paging), polled through `twoway collect --once`.

No recorded LinkedIn responses exist in shared/realdata; the shapes follow the API's
documentation (Posts, Comments, Social Metadata, Share Statistics, Network Sizes). Every
expected metric is worked out by hand in the comments from SPEC §2–§3.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from twoway.plugin.protocol import Context
from twoway.plugin.http import Http
from twoway.collectors.linkedin import (
    LinkedInCollector,
    _answered,
    _named,
    little_text,
    organization_urn,
    parse_comment,
    parse_post,
)
from tests.collecting import collect, collect_once, fake_sleep, goals, run_cli, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.config import Credential, Source
from twoway.model import Batch

UTC = timezone.utc
ORG = "urn:li:organization:2414183"
TOKEN = "AQV-linkedin-s3cret-token"
VERSION = "202610"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


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


# -- (b) a replay server playing the Community Management API ------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
LIB, JANE = ORG, "urn:li:person:jane9"
ANN, BOB, CAROL, DAVE, EVE, HAL = (f"urn:li:person:{n}" for n in ("ann1", "bob7", "carol3", "dave4", "eve5", "hal6"))


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


@dataclass
class Comment:
    urn: str
    post: str
    parent: str | None
    actor: str
    at: datetime
    text: str
    named: tuple[str, ...] = ()
    deleted: bool = False


@dataclass
class FakeLinkedIn:
    """Posts, comments, reactions and shares of pages, served in the API's shapes.

    `commentSummary.count` is counted from the live comments (every depth), so a new
    comment moves its post's counter as on LinkedIn.
    """

    server: ReplayServer
    page: int = 5
    version: str = VERSION
    tokens: dict[str, str] = field(default_factory=lambda: {TOKEN: ORG})
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    reactions: dict[str, dict[str, int]] = field(default_factory=dict)
    shares: dict[str, int] = field(default_factory=dict)
    followers: int = 1234
    statistics: Reply | None = None
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(7000000000000000000))

    def __post_init__(self) -> None:
        for path, handler in (
            ("/rest/posts", self.list_posts),
            ("/rest/socialMetadata", self.metadata),
            ("/rest/organizationalEntityShareStatistics", self.statistics_of),
            ("/rest/networkSizes/*", self.network),
            ("/rest/socialActions/*", self.list_comments),
        ):
            self.server.route("GET", path, self._checked(handler))

    def _checked(self, handler: Any) -> Any:
        def serve(request: Request) -> Reply:
            bearer = (request.headers.get("authorization") or "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return json_reply(
                    {
                        "status": 401,
                        "serviceErrorCode": 65601,
                        "code": "REVOKED_ACCESS_TOKEN",
                        "message": f"The token used in the request has been revoked by the user ({bearer})",
                    },
                    401,
                )
            assert request.headers.get("x-restli-protocol-version") == "2.0.0"
            assert request.headers.get("linkedin-version") == self.version
            return handler(request)  # type: ignore[no-any-return]

        return serve

    def post(
        self, kind: str, at: datetime, text: str = "", *, author: str = LIB, reshare: str | None = None,
        reactions: dict[str, int] | None = None, shares: int = 0,
    ) -> str:
        urn = f"urn:li:{kind}:{next(self.seq)}"
        self.posts[urn] = {
            "isReshareDisabledByAuthor": False, "createdAt": ms(at), "publishedAt": ms(at), "lastModifiedAt": ms(at),
            "lifecycleState": "PUBLISHED", "visibility": "PUBLIC", "author": author, "id": urn, "commentary": text,
            "distribution": {"feedDistribution": "MAIN_FEED", "thirdPartyDistributionChannels": []},
            "lifecycleStateInfo": {"isEditedByAuthor": False},
        }
        if reshare:
            self.posts[urn]["reshareContext"] = {"parent": reshare, "root": reshare}
        self.reactions[urn] = reactions or {}
        self.shares[urn] = shares
        return urn

    def comment(self, post: str, actor: str, at: datetime, text: str, parent: str | None = None,
                named: tuple[str, ...] = ()) -> str:
        urn = f"urn:li:comment:(urn:li:activity:{post.rsplit(':', 1)[1]},{next(self.seq)})"
        self.comments[urn] = Comment(urn, post, parent, actor, at, text, named)
        return urn

    def live(self, post: str) -> list[Comment]:
        return [c for c in self.comments.values() if c.post == post and not c.deleted]

    def _page(self, elements: list[dict[str, Any]], request: Request) -> Reply:
        start, count = int(request.arg("start") or 0), min(int(request.arg("count") or 10), self.page)
        return json_reply({
            "paging": {"start": start, "count": count, "links": [], "total": len(elements)},
            "elements": elements[start : start + count],
        })

    def list_posts(self, request: Request) -> Reply:
        assert (request.arg("q"), request.arg("sortBy")) == ("author", "CREATED")
        author = request.arg("author") or ""
        mine = sorted((p for p in self.posts.values() if p["author"] == author), key=lambda p: -p["createdAt"])
        return self._page(mine, request)

    def _ids(self, value: str | None) -> list[str]:
        assert value and value.startswith("List(") and value.endswith(")")
        return value[5:-1].split(",")

    def metadata(self, request: Request) -> Reply:
        results = {}
        for urn in self._ids(request.arg("ids")):
            if urn in self.posts:
                live = self.live(urn)
                results[urn] = {
                    "reactionSummaries": {k: {"reactionType": k, "count": n} for k, n in self.reactions[urn].items()},
                    "commentsState": "OPEN",
                    "commentSummary": {"count": len(live), "topLevelCount": sum(1 for c in live if c.parent is None)},
                    "entity": urn,
                }
        return json_reply({"results": results, "statuses": {u: 200 for u in results}, "errors": {}})

    def statistics_of(self, request: Request) -> Reply:
        if self.statistics is not None:
            return self.statistics
        assert request.arg("q") == "organizationalEntity"
        kind = "share" if request.arg("shares") else "ugcPost"
        elements = [
            {
                "organizationalEntity": request.arg("organizationalEntity"),
                kind: urn,
                "totalShareStatistics": {
                    "uniqueImpressionsCount": 90, "shareCount": self.shares[urn], "engagement": 0.05,
                    "clickCount": 7, "likeCount": 1, "impressionCount": 120, "commentCount": 2,
                },
            }
            for urn in self._ids(request.arg("shares") or request.arg("ugcPosts"))
            if urn.startswith(f"urn:li:{kind}:")
        ]
        return json_reply({"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})

    def network(self, request: Request) -> Reply:
        assert request.arg("edgeType") == "COMPANY_FOLLOWED_BY_MEMBER"
        return json_reply({"firstDegreeSize": self.followers})

    def list_comments(self, request: Request) -> Reply:
        target = unquote(request.path.removeprefix("/rest/socialActions/").removesuffix("/comments"))
        if target.startswith("urn:li:comment:"):
            under = [c for c in self.comments.values() if c.parent == target and not c.deleted]
        elif target in self.posts:
            under = [c for c in self.live(target) if c.parent is None]
        else:
            return json_reply({"status": 404, "serviceErrorCode": 0, "message": "Not Found"}, 404)
        return self._page([self.render(c) for c in sorted(under, key=lambda c: c.at)], request)

    def render(self, c: Comment) -> dict[str, Any]:
        nested = sum(1 for o in self.comments.values() if o.parent == c.urn and not o.deleted)
        body: dict[str, Any] = {
            "actor": c.actor, "commentUrn": c.urn, "$URN": c.urn, "id": c.urn.rsplit(",", 1)[1].rstrip(")"),
            "object": c.urn.split("(", 1)[1].split(",")[0], "created": {"actor": c.actor, "time": ms(c.at)},
            "lastModified": {"actor": c.actor, "time": ms(c.at)},
            "message": {
                "text": c.text,
                "attributes": [
                    {"start": 0, "length": 4, "value": {"person": {"person": n}}} for n in c.named
                ],
            },
            "commentsSummary": {"selectedComments": [], "aggregatedTotalComments": nested, "totalFirstLevelComments": nested},
        }
        if c.parent:
            body["parentComment"] = c.parent
        return body


class World:
    """60-odd days of a library's LinkedIn page, its staff member Jane and its community."""

    def __init__(self, fake: FakeLinkedIn) -> None:
        f = self.fake = fake
        # routine posts every 6 days from 1.5 days ago: 1.5 … 25.5 in the window, 31.5 … 55.5 in the
        # baseline, 61.5 and 67.5 beyond the 60-day horizon (the listing stops there)
        self.routine = [f.post("share", ago(days=1.5 + 6 * i), f"Opening hours, week {i}") for i in range(12)]
        t = self.t1 = ago(days=20)
        self.b1 = f.post(
            "ugcPost", t, "Summer reading starts! {hashtag|\\#|SummerReading} https://library.example.org/summer",
            reactions={"LIKE": 5, "PRAISE": 2}, shares=3,
        )
        self.c3 = f.comment(self.b1, LIB, t + timedelta(minutes=10), "Pick up a reading log at the desk.")
        self.c1 = f.comment(self.b1, ANN, t + timedelta(hours=1), "Can adults join?")
        self.n1 = f.comment(self.b1, LIB, t + timedelta(hours=4), "Ann yes, everyone can!", self.c1, (ANN,))
        self.n2 = f.comment(self.b1, BOB, t + timedelta(days=1), "Great news, is there a prize?", self.c1)
        self.n3 = f.comment(self.b1, JANE, t + timedelta(days=1, hours=1), "Bob a tote bag!", self.c1, (BOB,))
        self.c2 = f.comment(self.b1, CAROL, t + timedelta(hours=2), "Where do I sign up?")
        self.n4 = f.comment(self.b1, DAVE, t + timedelta(days=2), "Which desk?", self.c3)
        t = ago(days=10)
        self.b2 = f.post(
            "share", t, "The library is closed on Tuesday. Thanks @[Friends](urn:li:organization:777)\\!",
            reactions={"LIKE": 3}, shares=2,
        )
        self.c4 = f.comment(self.b2, ANN, t + timedelta(hours=1), "Noted")
        self.c5 = f.comment(self.b2, CAROL, t + timedelta(hours=2), "All day?")
        self.n5 = f.comment(self.b2, LIB, t + timedelta(days=1, hours=2), "Carol yes, all day.", self.c5, (CAROL,))
        self.b3 = f.post("share", ago(days=5), reshare="urn:li:share:999")  # a partner's post, reshared
        self.b4 = f.post("share", ago(days=4), reshare=self.b2)  # its own post, reshared: one of b2's 2 shares
        t = ago(days=45)
        self.b5 = f.post("share", t, "Spring sale", reactions={"LIKE": 4}, shares=1)
        self.c6 = f.comment(self.b5, HAL, t + timedelta(hours=1), "Any comics?")
        self.n6 = f.comment(self.b5, LIB, t + timedelta(hours=3), "Hal plenty!", self.c6, (HAL,))
        self.b6 = f.post("share", ago(days=3), "Book club tonight", reactions={"LIKE": 1})
        f.posts[f.post("share", ago(days=2), "Draft")]["lifecycleState"] = "DRAFT"


SOURCE = """
[[sources]]
id = "{id}"
platform = "linkedin"
organization = "2414183"
api = "{url}"
token = {{ env = "{env}" }}
"""


def source(url: str, id: str = "li", env: str = "TEST_LINKEDIN_TOKEN") -> str:
    return SOURCE.format(id=id, url=url, env=env)


GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]

[[goals]]
name = "Closures"
keywords = ["closed on tuesday"]
"""


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: object) -> Iterator[tuple[World, Path]]:  # noqa: F811
    monkeypatch.setenv("TEST_LINKEDIN_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        w = World(FakeLinkedIn(server))
        config = write_config(
            tmp_path, source(server.url), GOALS, f'also = ["linkedin:{JANE}"]', 'thread_refresh = "1h"'
        )
        yield w, config


def metrics(config: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}


def source_state(config: Path) -> dict[str, Any]:
    state: dict[str, Any]
    (state,) = snapshot_json(config)["sources"]
    return state


def thread_reads(server: ReplayServer) -> list[str]:
    return [unquote(r.path.split("/")[3]) for r in server.requests("/rest/socialActions/")]


def test_scenario_metrics(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    server = w.fake.server
    collect(config, monkeypatch, NOW)
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
    assert (source_state(config)["status"], source_state(config)["followers"]) == ("ok", 1234)


def test_steady_state_changes_and_deletions(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    f, server = w.fake, w.fake.server
    collect(config, monkeypatch, NOW)
    before = metrics(config)

    # nothing changed: the listing pages and the fixed calls, no thread
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    paths = sorted(r.path for r in server.requests())
    # 4 listing pages, socialMetadata for 14 posts, share statistics for shares and for ugcPosts, followers
    assert paths == sorted(
        ["/rest/posts"] * 4
        + ["/rest/socialMetadata", "/rest/networkSizes/urn%3Ali%3Aorganization%3A2414183"]
        + ["/rest/organizationalEntityShareStatistics"] * 2
    )
    assert metrics(config) == before

    # Eve answers Carol under b2: b2's comment count moves, so that thread alone is read
    f.comment(w.b2, EVE, NOW + timedelta(minutes=8), "Carol same question", w.c5, (CAROL,))
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=10))
    assert sorted(thread_reads(server)) == sorted([w.b2, w.c5])
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["unanswered"], m["voices"]) == (7, 4, 5)  # Eve's reply waits

    # the page deletes b6 and its answer n5 to Carol: b6 leaves the listing, b2's count moves
    del f.posts[w.b6]
    f.comments[w.n5].deleted = True
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=20))
    assert sorted(thread_reads(server)) == sorted([w.b2, w.c5])
    m = goals(config)["All"]["metrics"]
    # 7 broadcasts; Carol's c5 reopens: responses n1, n3 (3 h, 1 h); b6's like is gone
    assert (m["broadcast"], m["responses"], m["answered"], m["unanswered"], m["likes"]) == (7, 2, 2, 5, 10)
    assert m["median_response_seconds"] == 2 * 3600

    # thread_refresh (1 h) is due two hours after the backfill: every recent thread is read again
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(hours=2))
    tops = [p for p in thread_reads(server) if not p.startswith("urn:li:comment:")]
    assert sorted(tops) == sorted([*w.routine[:10], w.b1, w.b2, w.b5])
    assert goals(config)["All"]["metrics"]["replies"] == 7


def test_share_statistics_refused_leaves_reposts_unmeasured(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, config = world
    w.fake.statistics = json_reply(
        {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough permissions"}, 403
    )
    collect(config, monkeypatch, NOW)
    report = goals(config)["All"]
    assert report["metrics"]["reposts"] is None and report["metrics"]["likes"] == 11
    # amplification needs reposts or quotes: neither is measured now
    assert report["unavailable"] == {"mentions": ["li"], "quotes": ["li"], "reposts": ["li"], "amplification_rate": ["li"]}
    assert report["metrics"]["amplification_rate"] is None
    assert (source_state(config)["status"], source_state(config)["followers"]) == ("ok", 1234)


def test_a_missing_token_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_LINKEDIN_TOKEN", raising=False)
    config = write_config(tmp_path, source("https://api.linkedin.com"))
    code, _, err = run_cli("--config", str(config), "check-config")
    assert code == 2
    assert "sources[0].token" in err and "TEST_LINKEDIN_TOKEN is not set" in err and "'li'" in err


@pytest.mark.parametrize(
    ("status", "body", "advice"),
    [
        (
            401,
            {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN", "message": "Invalid access token"},
            "token expired: LinkedIn tokens last 60 days; renew it at https://www.linkedin.com/developers/apps",
        ),
        (
            403,
            {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
             "message": "Not enough permissions to access: partnerApiPostsExternal.FINDER-author.20260101"},
            "needs the r_organization_social permission (Community Management API) and the ADMINISTRATOR role",
        ),
        (
            426,
            {"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 20241001 is not active"},
            "LinkedIn no longer serves this LinkedIn-Version: set `version` to a recent month (YYYYMM)",
        ),
    ],
    ids=["expired", "no-permission", "old-version"],
)
def test_a_refused_token_fails_its_source_in_one_line_and_the_other_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object, status: int, body: dict[str, Any], advice: str  # noqa: F811
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    monkeypatch.setenv("TEST_LINKEDIN_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_LINKEDIN_OTHER", "AQV-refused-other-token")
    with replay_server() as server:
        fake = FakeLinkedIn(server)
        fake.post("share", ago(days=1), "Hello", reactions={"LIKE": 2})
        refused = server.routes[("GET", "/rest/posts")]

        def posts(request: Request) -> Reply:
            if request.headers.get("authorization") == "Bearer AQV-refused-other-token":
                return json_reply(body, status)
            return refused(request)

        server.route("GET", "/rest/posts", posts)
        config = write_config(tmp_path, source(server.url) + source(server.url, "li-other", "TEST_LINKEDIN_OTHER"))
        code, err = collect_once(config)
        snapshot = snapshot_json(config)
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("twoway: li-other: ") and advice in line
    assert "AQV-refused-other-token" not in err and TOKEN not in err
    states = {s["id"]: s["status"] for s in snapshot["sources"]}
    assert states == {"li": "ok", "li-other": "error"}


def test_a_429_waits_for_retry_after_and_the_version_is_configurable(
    monkeypatch: pytest.MonkeyPatch, fake_sleep: Any  # noqa: F811
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
        context = Context(Source("li", "linkedin", 300, options), Http(httpx.AsyncClient()), 60 * 86400, 3600)
        batch = poll(context, NOW)
    assert any(29 < pause <= 30 for pause in fake_sleep.pauses)  # Retry-After, not real time
    assert len(server.requests("/rest/posts")) == 2
    assert [p.text for p in batch.posts] == ["Hello"] and batch.followers == 1234
    assert batch.accounts[0].author_id == ORG
    assert context.http.budgets == {}  # LinkedIn announces no rate limit: there is no budget to show


def poll(context: Context, now: datetime) -> Batch:
    async def run() -> Batch:
        try:
            return await LinkedInCollector(context).poll(None, now)
        finally:
            await context.http.client.aclose()

    return asyncio.run(run())
