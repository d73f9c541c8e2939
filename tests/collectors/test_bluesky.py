"""The Bluesky collector: parsing of recorded bskyr cassettes, and whole collect/snapshot
cycles against a replay server that answers like the AppView and a PDS (XRPC JSON).

Every expected metric in the scenario is worked out by hand in the comments from SPEC §2–§3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from twoway.plugin.protocol import Context
from twoway.collectors.bluesky import BlueskyCollector, parse_counters, parse_post
from twoway.plugin.http import Http
from tests.collecting import collect_once, fake_sleep, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.config import Credential, Source

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "bluesky"
CHRIS = "did:plc:wpe35pganb6d4pg4ekmfy6u5"
BSKYR = "did:plc:5c2r73erhng4bszmxlfdtscf"
UTC = timezone.utc


@pytest.fixture(autouse=True)
def _no_shared_sessions() -> Iterator[None]:
    """Sessions live for the process; each test starts without one."""
    BlueskyCollector._sessions.clear()
    yield
    BlueskyCollector._sessions.clear()


def recorded(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request, response) of a cassette's first interaction, the body parsed."""
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"recorded Bluesky responses not found at {REALDATA}")
    interaction = yaml.safe_load(path.read_text(encoding="utf-8"))["http_interactions"][0]
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
    """One poll served the recorded bodies: paging stops at the horizon, reposts are skipped,
    notifications come through the session, and the password never leaves the login call."""
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


# -- a world that answers like Bluesky -------------------------------------------------------

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
    page: int = 3
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
        self.sessions += 1
        return json_reply(
            {
                "did": ORG,
                "handle": "library.bsky.social",
                "accessJwt": f"access-{self.sessions}",
                "refreshJwt": f"refresh-{self.sessions}",
                "active": True,
            }
        )

    def _refresh_session(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer refresh-{self.sessions}":
            return json_reply({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        self.sessions += 1
        return json_reply(
            {
                "did": ORG,
                "handle": "library.bsky.social",
                "accessJwt": f"access-{self.sessions}",
                "refreshJwt": f"refresh-{self.sessions}",
            }
        )

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


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


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
        reposts=3,
        quotes=1,
    )
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


SOURCE = """
thread_refresh = "1h"

[[sources]]
id = "library-bluesky"
platform = "bluesky"
handle = "library.bsky.social"
service = "{url}"
pds = "{url}"
{password}
"""
GOALS = """
[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]
window = "30d"

[[goals]]
name = "Everything"
window = "30d"
"""


def configure(tmp_path: Path, server: ReplayServer, monkeypatch: pytest.MonkeyPatch, *, password: bool) -> Path:
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    if password:
        monkeypatch.setenv("TEST_BSKY_APP_PASSWORD", PASSWORD)
    line = 'app_password = { env = "TEST_BSKY_APP_PASSWORD" }' if password else ""
    # the first lines of `sources` land in [dashboard], which write_config writes just before them
    return write_config(
        tmp_path, SOURCE.format(url=server.url, password=line), GOALS, 'also = ["bluesky:jane.bsky.social"]'
    )


def measured(snapshot: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Every goal's metrics and baseline: what must not move when nothing changed."""
    return [(g["metrics"], g["baseline"]) for g in snapshot["goals"]]


def goal(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in snapshot["goals"] if g["name"] == name)


# -- (b) the scenario ---------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_sleep")
def test_scenario_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world, ids = library_world()
    with replay_server() as server:
        world.serve(server)
        config = configure(tmp_path, server, monkeypatch, password=True)
        assert collect_once(config) == (0, "")
        first = goal(snapshot_json(config), "Everything")["metrics"]
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
    summer = goal(snapshot, "Summer reading")
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
    # latest counters of b1 and b3
    assert (m["reposts"], m["quotes"], m["likes"]) == (3 + 1, 1 + 0, 12 + 4)
    # waits: r1 2 h, r2a 1 h, m2 30 min, r4 20 min, m1 1 h → median 1 h
    assert m["median_response_seconds"] == 3600
    assert m["conversation_rate"] == 5 / 2 and m["response_rate"] == pytest.approx(5 / 6)
    assert m["voices"] == 4  # alice, bob, carol, dave
    baseline = summer["baseline"]
    assert (baseline["broadcast"], baseline["replies"], baseline["responses"]) == (1, 1, 1)  # b2, r3, s3

    everything = goal(snapshot, "Everything")["metrics"]
    assert (everything["broadcast"], everything["replies"], everything["mentions"]) == (2, 5, 2)
    assert (everything["answered"], everything["unanswered"]) == (5, 2)  # r2 and m3 wait
    source = snapshot["sources"][0]
    assert (source["status"], source["followers"]) == ("ok", 321)


# -- (c) steady state -------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_sleep")
def test_steady_state_reads_threads_only_when_counters_move_or_due(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, ids = library_world()
    with replay_server() as server:
        world.serve(server)
        config = configure(tmp_path, server, monkeypatch, password=False)
        assert collect_once(config) == (0, "")
        before = snapshot_json(config)
        assert goal(before, "Everything")["metrics"]["mentions"] is None  # no app password, no mentions
        assert goal(before, "Everything")["unavailable"]["mentions"] == ["library-bluesky"]
        assert not server.requests("/xrpc/app.bsky.notification") and not server.requests("/xrpc/com.atproto")
        feed_pages = len(server.requests("/xrpc/app.bsky.feed.getAuthorFeed"))

        # nothing changed: the fixed calls and the recent pages, no thread
        server.reset_log()
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=5)).isoformat())
        assert collect_once(config) == (0, "")
        assert not server.requests("/xrpc/app.bsky.feed.getPostThread")
        assert len(server.requests("/xrpc/app.bsky.feed.getAuthorFeed")) == feed_pages
        assert len(server.requests()) == 2 + feed_pages  # getProfile, getProfiles (staff), the pages
        assert measured(snapshot_json(config)) == measured(before)

        # a reply to the library's answer s3 under the 40-day-old b2: s3's replyCount moves
        world.post(ERIN, "r3b", NOW + timedelta(minutes=8), "One more question", ids["s3"])
        server.reset_log()
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=10)).isoformat())
        assert collect_once(config) == (0, "")
        threads = server.requests("/xrpc/app.bsky.feed.getPostThread")
        assert [t.arg("uri") for t in threads] == [ids["b2"]]
        after = goal(snapshot_json(config), "Everything")
        assert after["baseline"]["replies"] == goal(before, "Everything")["baseline"]["replies"] + 1
        assert after["baseline"]["unanswered"] == 1

        # a reply deep under community replies moves no counter of ours: found once thread_refresh (1h) is due
        world.post(DAVE, "deep", NOW + timedelta(minutes=12), "me too", ids["r2a"])
        replies = after["metrics"]["replies"]
        server.reset_log()
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=20)).isoformat())
        assert collect_once(config) == (0, "")
        assert not server.requests("/xrpc/app.bsky.feed.getPostThread")
        assert goal(snapshot_json(config), "Everything")["metrics"]["replies"] == replies
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(hours=2)).isoformat())
        assert collect_once(config) == (0, "")
        assert len(server.requests("/xrpc/app.bsky.feed.getPostThread")) == 4  # b1 b2 b3 b4, all due
        assert goal(snapshot_json(config), "Everything")["metrics"]["replies"] == replies + 1


@pytest.mark.usefixtures("fake_sleep")
def test_a_notification_points_at_its_thread_and_an_expired_token_is_refreshed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, ids = library_world()
    with replay_server() as server:
        world.serve(server)
        config = configure(tmp_path, server, monkeypatch, password=True)
        assert collect_once(config) == (0, "")
        replies = goal(snapshot_json(config), "Everything")["metrics"]["replies"]
        # a reply under r2 (community) with a reply notification: no counter of ours moves, the notification points
        world.post(ERIN, "n1", NOW + timedelta(minutes=3), "@library me too", ids["r2"], mention=True, notify="mention")
        world.expire_next = True
        server.reset_log()
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=5)).isoformat())
        assert collect_once(config) == (0, "")
        assert [t.arg("uri") for t in server.requests("/xrpc/app.bsky.feed.getPostThread")] == [ids["b1"]]
        assert len(server.requests("/xrpc/com.atproto.server.refreshSession")) == 1
        assert not server.requests("/xrpc/com.atproto.server.createSession")
        metrics = goal(snapshot_json(config), "Everything")["metrics"]
        assert metrics["replies"] == replies + 1  # a reply that also mentions counts once, as a reply


# -- (d) broken answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        Reply(500, b'{"error":"InternalServerError"}', {"Content-Type": "application/json"}),
        Reply(200, b"<!DOCTYPE html><html><body>Maintenance</body></html>", {"Content-Type": "text/html"}),
    ],
    ids=["500", "html"],
)
@pytest.mark.usefixtures("fake_sleep")
def test_a_broken_answer_fails_the_source_and_keeps_the_data(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broken: Reply,
) -> None:
    world, _ = library_world()
    with replay_server() as server:
        world.serve(server)
        config = configure(tmp_path, server, monkeypatch, password=True)
        assert collect_once(config) == (0, "")
        before = snapshot_json(config)
        server.route("GET", "/xrpc/app.bsky.feed.getAuthorFeed", lambda r: broken)
        code, err = collect_once(config)
        after = snapshot_json(config)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "library-bluesky" in lines[0] and "getAuthorFeed" in lines[0]
    assert PASSWORD not in err and "access-" not in err
    assert measured(after) == measured(before)
    assert after["sources"][0]["status"] == "error"


@pytest.mark.usefixtures("fake_sleep")
def test_a_refused_app_password_is_one_clear_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, _ = library_world()
    with replay_server() as server:
        world.serve(server)
        config = configure(tmp_path, server, monkeypatch, password=True)
        monkeypatch.setenv("TEST_BSKY_APP_PASSWORD", "wrong-pass-word")
        code, err = collect_once(config)
    assert code == 1 and "createSession" in err and "401" in err and "wrong-pass-word" not in err


def test_a_paging_cursor_that_repeats_forever_fails_the_source_not_the_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_sleep: object,  # noqa: F811
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:00Z")
    now = "2026-06-29T12:00:00Z"
    post = {
        "uri": "at://did:plc:lib/app.bsky.feed.post/1",
        "cid": "c1",
        "author": {"did": "did:plc:lib", "handle": "lib.example"},
        "record": {"$type": "app.bsky.feed.post", "text": "hello", "createdAt": now},
        "indexedAt": now,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 0,
        "quoteCount": 0,
    }
    with replay_server() as server:
        server.route(
            "GET",
            "/xrpc/app.bsky.actor.getProfile",
            lambda r: json_reply({"did": "did:plc:lib", "handle": "lib.example"}),
        )
        server.route(
            "GET",
            "/xrpc/app.bsky.feed.getAuthorFeed",
            lambda r: json_reply({"feed": [{"post": post}], "cursor": "same"}),
        )
        config = write_config(
            tmp_path,
            f'[[sources]]\nid = "sky"\nplatform = "bluesky"\nhandle = "lib.example"\nservice = "{server.url}"\n',
        )
        code, stderr = collect_once(config)
        assert len(server.requests("/xrpc/app.bsky.feed.getAuthorFeed")) == 2
    assert code == 1 and "paging cursor repeats itself" in stderr and stderr.count("\n") == 1
