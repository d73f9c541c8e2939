"""A LinkedIn organization page, played as the Community Management API answers (`/rest`,
Rest.li 2.0 encoding, `start`/`count` paging). No recorded LinkedIn answers exist; the shapes
follow the API's documentation (Posts, Comments, Social Metadata, Share Statistics, Network Sizes)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from tests.fakes import ALL, SUMMER_TAG, UTC, Ago, Platform, also, env, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

ORG = "urn:li:organization:2414183"
TOKEN = "AQV-linkedin-s3cret-token"
VERSION = "202610"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
LIB, JANE = ORG, "urn:li:person:jane9"
ANN, BOB, CAROL, DAVE, EVE, HAL = (f"urn:li:person:{n}" for n in ("ann1", "bob7", "carol3", "dave4", "eve5", "hal6"))
ago = Ago(NOW)


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



def source(url: str, sid: str = "li", token: str = "TEST_LINKEDIN_TOKEN", version: str | None = None) -> str:
    return source_toml(sid, "linkedin", organization="2414183", api=url, token=env(token), version=version)


def thread_reads(server: ReplayServer) -> list[str]:
    """The posts and comments whose comments were read."""
    return [unquote(r.path.split("/")[3]) for r in server.requests("/rest/socialActions/")]


GOALS = goals_toml(ALL, SUMMER_TAG, goal_toml("Closures", keywords=["closed on tuesday"]))

LINKEDIN = Platform(
    "linkedin", "li", NOW, {"TEST_LINKEDIN_TOKEN": TOKEN}, lambda server: World(FakeLinkedIn(server)), source, GOALS,
    also(f"linkedin:{JANE}"),
)
