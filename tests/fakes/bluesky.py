"""Bluesky, played as the AppView and a PDS answer (XRPC JSON) from one small world of posts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import UTC, Ago, Platform, also, env, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ORG, JANE = "did:plc:library", "did:plc:jane"
HANDLES = {
    ORG: "library.bsky.social",
    JANE: "jane.bsky.social",
    "did:plc:alice": "alice.bsky.social",
    "did:plc:bob": "bob.bsky.social",
    "did:plc:carol": "carol.bsky.social",
    "did:plc:dave": "dave.bsky.social",
    "did:plc:erin": "erin.bsky.social",
}
ALICE, BOB, CAROL, DAVE, ERIN = (f"did:plc:{n}" for n in ("alice", "bob", "carol", "dave", "erin"))
PASSWORD = "abcd-efgh-ijkl-mnop"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"



@dataclass
class World:
    """Posts as the AppView holds them; answers are built from them in the real JSON shapes."""

    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    reposts: list[tuple[str, datetime]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    page: int = 4
    """Feed items a page: the library's 11 posts and 2 reposts take four pages, the last holding
    only b0, beyond the horizon (the quiet cycle of tests/collectors/test_contract.py counts them)."""
    sessions: int = 0
    expire_next: bool = False

    def post(
        self,
        did: str,
        rkey: str,
        when: datetime,
        text: str,
        parent: str | None = None,
        *,
        tags: tuple[str, ...] = (),
        link: str | None = None,
        mention: bool = False,
        likes: int = 0,
        reposts: int = 0,
        quotes: int = 0,
        notify: str | None = None,
    ) -> str:
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": iso(when), "text": text, "langs": ["en"]}
        if parent:
            root = self.posts[parent]["record"].get("reply", {}).get("root", {}).get("uri", parent)
            record["reply"] = {"root": {"uri": root, "cid": "bafyroot"}, "parent": {"uri": parent, "cid": "bafyparent"}}
        facets = [
            {"index": {"byteStart": 0, "byteEnd": 1}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}]}
            for t in tags
        ]
        if mention:
            facets.append(
                {
                    "index": {"byteStart": 0, "byteEnd": 1},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": ORG}],
                }
            )
        if facets:
            record["facets"] = facets
        if link:
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"uri": link, "title": "", "description": ""},
            }
        self.posts[uri] = {
            "uri": uri,
            "cid": "bafy" + rkey,
            "author": {"did": did, "handle": HANDLES[did]},
            "record": record,
            "likeCount": likes,
            "repostCount": reposts,
            "quoteCount": quotes,
            "indexedAt": iso(when + timedelta(milliseconds=300)),
            "deleted": False,
        }
        if notify:
            self.notifications.insert(
                0,
                {
                    "uri": uri,
                    "cid": "bafy" + rkey,
                    "author": {"did": did, "handle": HANDLES[did]},
                    "reason": notify,
                    "record": record,
                    "isRead": False,
                    "indexedAt": iso(when + timedelta(milliseconds=300)),
                    "labels": [],
                },
            )
        return uri

    def view(self, uri: str) -> dict[str, Any]:
        children = [p for p in self.posts.values() if p["record"].get("reply", {}).get("parent", {}).get("uri") == uri]
        view = {k: v for k, v in self.posts[uri].items() if k != "deleted"}
        return {**view, "replyCount": sum(1 for c in children if not c["deleted"])}

    def node(self, uri: str) -> dict[str, Any]:
        if self.posts[uri]["deleted"]:
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}
        children = [
            u for u, p in self.posts.items() if p["record"].get("reply", {}).get("parent", {}).get("uri") == uri
        ]
        replies = [self.node(c) for c in children if not self.posts[c]["deleted"] or self._has_children(c)]
        return {"$type": "app.bsky.feed.defs#threadViewPost", "post": self.view(uri), "replies": replies}

    def _has_children(self, uri: str) -> bool:
        return any(p["record"].get("reply", {}).get("parent", {}).get("uri") == uri for p in self.posts.values())

    def feed(self, did: str) -> list[dict[str, Any]]:
        items = [
            (p["indexedAt"], {"post": self.view(u)})
            for u, p in self.posts.items()
            if p["author"]["did"] == did and not p["deleted"]
        ]
        for uri, when in self.reposts:
            reason = {
                "$type": "app.bsky.feed.defs#reasonRepost",
                "by": {"did": did, "handle": HANDLES[did]},
                "indexedAt": iso(when),
            }
            items.append((iso(when), {"post": self.view(uri), "reason": reason}))
        return [item for _, item in sorted(items, key=lambda x: x[0], reverse=True)]

    def serve(self, server: ReplayServer) -> None:
        server.route("GET", "/xrpc/app.bsky.actor.getProfile", self._profile)
        server.route("GET", "/xrpc/app.bsky.actor.getProfiles", self._profiles)
        server.route("GET", "/xrpc/app.bsky.feed.getAuthorFeed", self._author_feed)
        server.route("GET", "/xrpc/app.bsky.feed.getPostThread", self._thread)
        server.route("POST", "/xrpc/com.atproto.server.createSession", self._create_session)
        server.route("POST", "/xrpc/com.atproto.server.refreshSession", self._refresh_session)
        server.route("GET", "/xrpc/app.bsky.notification.listNotifications", self._notifications)

    def _profile(self, request: Request) -> Reply:
        assert request.arg("actor") == "library.bsky.social"
        return json_reply({"did": ORG, "handle": "library.bsky.social", "followersCount": 321, "followsCount": 4})

    def _profiles(self, request: Request) -> Reply:
        actors = request.query.get("actors", [])
        return json_reply(
            {"profiles": [{"did": d, "handle": h, "followersCount": 1} for d, h in HANDLES.items() if h in actors]}
        )

    def _author_feed(self, request: Request) -> Reply:
        assert request.arg("filter") == "posts_with_replies" and request.arg("actor") == ORG
        start = int(request.arg("cursor") or 0)
        items = self.feed(ORG)
        page: dict[str, Any] = {"feed": items[start : start + self.page]}
        if start + self.page < len(items):
            page["cursor"] = str(start + self.page)
        return json_reply(
            page, headers={"RateLimit-Limit": "3000", "RateLimit-Remaining": "2990", "RateLimit-Policy": "3000;w=300"}
        )

    def _thread(self, request: Request) -> Reply:
        uri = request.arg("uri") or ""
        assert int(request.arg("depth") or 0) >= 100
        if uri not in self.posts or (self.posts[uri]["deleted"] and not self._has_children(uri)):
            return json_reply({"error": "NotFound", "message": f"Post not found: {uri}"}, 400)
        return json_reply({"thread": self.node(uri)})

    def _create_session(self, request: Request) -> Reply:
        credentials = json.loads(request.body)
        if credentials != {"identifier": "library.bsky.social", "password": PASSWORD}:
            return json_reply({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401)
        return self._new_session(active=True)

    def _refresh_session(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer refresh-{self.sessions}":
            return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return self._new_session()

    def _new_session(self, **more: Any) -> Reply:
        self.sessions += 1
        tokens = {"accessJwt": f"access-{self.sessions}", "refreshJwt": f"refresh-{self.sessions}"}
        return json_reply({"did": ORG, "handle": "library.bsky.social", **tokens, **more})

    def _notifications(self, request: Request) -> Reply:
        if self.expire_next:
            self.expire_next = False
            return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        if request.headers.get("authorization") != f"Bearer access-{self.sessions}":
            return json_reply({"error": "AuthenticationRequired", "message": "Authentication Required"}, 401)
        assert request.query.get("reasons") == ["mention", "reply"]
        start = int(request.arg("cursor") or 0)
        page: dict[str, Any] = {"notifications": self.notifications[start : start + 2], "priority": False}
        if start + 2 < len(self.notifications):
            page["cursor"] = str(start + 2)
        return json_reply(page)



ago = Ago(NOW)

def later(moment: datetime, hours: float = 0, minutes: float = 0) -> datetime:
    return moment + timedelta(hours=hours, minutes=minutes)


def library_world() -> tuple[World, dict[str, str]]:
    """Sixty days of a library on Bluesky; `ids` names the posts the tests change or count."""
    w, ids = World(), {}
    b1 = ago(days=10)
    ids["b1"] = w.post(
        ORG,
        "b1",
        b1,
        "Summer reading starts! Sign up",
        tags=("SummerReading",),
        link="https://library.example.org/summer",
        likes=10,
        reposts=3,  # two community members and the library itself (its repost below)
        quotes=1,
    )
    # the library reposts its own b1: Bluesky counts it in b1's repostCount, twoway must not (SPEC §3)
    w.reposts.append((ids["b1"], later(b1, hours=2)))
    ids["c1"] = w.post(ORG, "c1", later(b1, minutes=1), "Prizes for every reader", ids["b1"], likes=2)
    ids["r1"] = w.post(ALICE, "r1", later(b1, hours=1), "Can kids join?", ids["b1"], notify="reply")
    ids["s1"] = w.post(ORG, "s1", later(b1, hours=3), "Yes, all ages!", ids["r1"])
    ids["r2"] = w.post(BOB, "r2", later(b1, hours=3), "Nice", ids["b1"], notify="reply")
    ids["r2a"] = w.post(CAROL, "r2a", later(b1, hours=4), "Is there an e-book list?", ids["r2"])
    ids["j1"] = w.post(JANE, "j1", later(b1, hours=5), "There is, on our site", ids["r2a"])
    ids["m2"] = w.post(
        CAROL, "m2", later(b1, hours=6), "@library what prizes?", ids["c1"], mention=True, notify="mention"
    )
    ids["s2"] = w.post(ORG, "s2", later(b1, hours=6, minutes=30), "Books and badges", ids["m2"])

    b2 = ago(days=40)
    ids["b2"] = w.post(ORG, "b2", b2, "#SummerReading kicked off last year too", likes=7)
    ids["r3"] = w.post(DAVE, "r3", later(b2, hours=1), "Loved it", ids["b2"])
    ids["s3"] = w.post(ORG, "s3", later(b2, hours=1, minutes=10), "Thank you!", ids["r3"])

    b3 = ago(days=5)
    ids["b3"] = w.post(ORG, "b3", b3, "Library closed Monday", likes=4, reposts=1)
    ids["r4"] = w.post(ALICE, "r4", later(b3, minutes=10), "Open Tuesday?", ids["b3"])
    ids["s4"] = w.post(ORG, "s4", later(b3, minutes=30), "Yes, 9 to 5", ids["r4"])
    ids["r5"] = w.post(BOB, "r5", later(b3, hours=1), "ok", ids["b3"])
    ids["x1"] = w.post(DAVE, "x1", later(b3, hours=2), "deleted before we ever saw it", ids["b3"])
    w.post(ERIN, "x1a", later(b3, hours=3), "under a deleted post", ids["x1"])
    w.posts[ids["x1"]]["deleted"] = True

    ids["b4"] = w.post(ORG, "b4", ago(days=8), "Storytime #SummerReading", likes=5)
    ids["r6"] = w.post(BOB, "r6", ago(days=8, hours=-1), "See you there", ids["b4"])

    m1 = ago(days=3)
    ids["m1"] = w.post(
        DAVE, "m1", m1, "Loved the @library event", tags=("SummerReading",), mention=True, notify="mention"
    )
    ids["s5"] = w.post(ORG, "s5", later(m1, hours=1), "Thanks for coming!", ids["m1"])
    ids["m3"] = w.post(ALICE, "m3", ago(days=2), "@library are you open late?", mention=True, notify="mention")

    ids["e1"] = w.post(ERIN, "e1", ago(days=1, hours=2), "A great read #SummerReading", likes=40)
    w.reposts.append((ids["e1"], ago(days=1)))
    ids["b0"] = w.post(ORG, "b0", ago(days=70), "Old news beyond the horizon")
    w.notifications.sort(key=lambda n: n["indexedAt"], reverse=True)
    return w, ids




def served(server: ReplayServer) -> tuple[World, dict[str, str]]:
    """The library's world, answering on `server`, and the ids of the posts tests change or count."""
    world, ids = library_world()
    world.serve(server)
    return world, ids


def source(url: str, sid: str = "library-bluesky", password: str | None = "TEST_BSKY_APP_PASSWORD") -> str:
    """The library's account, read on the AppView and logged in on the PDS (both `url`) with the
    app password in the environment variable `password`, or public data only without one."""
    credential = env(password) if password else None
    return source_toml(sid, "bluesky", handle="library.bsky.social", service=url, pds=url, app_password=credential)


GOALS = goals_toml(
    goal_toml("Summer reading", hashtags=["SummerReading"], window="30d"), goal_toml("Everything", window="30d")
)
ALSO = also("bluesky:jane.bsky.social")

BLUESKY = Platform(
    "bluesky", "library-bluesky", NOW, {"TEST_BSKY_APP_PASSWORD": PASSWORD}, served, source, GOALS, ALSO
)
BLUESKY_PUBLIC = Platform(
    "bluesky", "library-bluesky", NOW, {}, served, lambda url: source(url, password=None), GOALS, ALSO
)
"""The same account without an app password: public data only (no notifications, no session)."""
