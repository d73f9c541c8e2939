"""A YouTube channel, played as the YouTube Data API v3 answers: `pageToken` paging, inlined
replies, `commentsDisabled`, Google's error shapes."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import UTC, Ago, Platform, also, env, goal_toml, goals_toml, realdata, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)  # 05:00 in Los Angeles (PDT, UTC-7)
KEY = "AIza-test-key-0123456789"
TOKEN = "ya29.test-access-token"
LIB, JANE = "UCriversideLibrary000001", "UCjaneReadsStaff00000001"
ANN, BOB, CAT, DEE, EVE, FIN, GUS = (f"UCcommunity{n}" for n in "ABCDEFG")
NAMES = {
    LIB: "@RiversideLibrary", JANE: "@janereads", ANN: "@ann", BOB: "@bob", CAT: "@cat", DEE: "@dee",
    EVE: "@eve", FIN: "@fin", GUS: "@gus",
}


ago = Ago(NOW)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def google_error(status: int, reason: str, message: str) -> Reply:
    errors = [{"message": message, "domain": "youtube", "reason": reason}]
    return json_reply({"error": {"code": status, "message": message, "errors": errors}}, status)


class FakeYouTube:
    """The API's JSON shapes, paging and refusals, computed from a small world of videos and comments.

    Pages are small (5 uploads, 2 threads, 2 replies a page; 2 replies inlined in a thread) so
    every kind of paging happens. `commentCount` is counted from the comments: a new one moves it.
    """

    PAGE = {"playlistItems": 5, "commentThreads": 2, "comments": 2}
    INLINED = 2

    def __init__(self, server: ReplayServer) -> None:
        self.server = server
        self.videos: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.bad_key = json_reply(realdata("youtube", "error_400_keyInvalid.json"), 400)
        self.broken: Reply | None = None
        handlers = {
            "channels": self.channels,
            "playlistItems": self.uploads,
            "videos": self.list_videos,
            "commentThreads": self.threads,
            "comments": self.replies,
        }
        for resource, handler in handlers.items():
            server.route("GET", f"/youtube/v3/{resource}", self.guarded(handler))

    def video(
        self, vid: str, when: datetime, title: str, text: str = "", likes: int = 0, disabled: bool = False
    ) -> str:
        self.videos[vid] = {"at": when, "title": title, "description": text, "likes": likes, "disabled": disabled}
        return vid

    def comment(self, cid: str, video: str, author: str, when: datetime, text: str, top: str | None = None) -> str:
        cid = f"{top}.{cid}" if top else cid
        self.comments[cid] = {"video": video, "top": top, "author": author, "at": when, "text": text}
        return cid

    def guarded(self, handler: Any) -> Any:
        """The credential checks every call goes through: a token, else the key in its header."""

        def answer(request: Request) -> Reply:
            assert "key" not in request.query  # the key travels in a header, never in the URL
            if self.broken is not None:
                return self.broken
            auth = request.headers.get("authorization")
            if auth is not None and auth != f"Bearer {TOKEN}":
                return google_error(401, "authError", "Request had invalid authentication credentials.")
            if auth is None and request.headers.get("x-goog-api-key") != KEY:
                return self.bad_key
            return handler(request)  # type: ignore[no-any-return]

        return answer

    def _page(self, resource: str, items: list[dict[str, Any]], request: Request) -> Reply:
        size = min(int(request.arg("maxResults") or 5), self.PAGE[resource])
        start = int((request.arg("pageToken") or "p0")[1:])
        body: dict[str, Any] = {"items": items[start : start + size], "pageInfo": {"totalResults": len(items)}}
        if start + size < len(items):
            body["nextPageToken"] = f"p{start + size}"
        return json_reply(body)

    def channels(self, request: Request) -> Reply:
        if request.arg("forHandle"):
            found = [{"kind": "youtube#channel", "id": c} for c, n in NAMES.items() if n == request.arg("forHandle")]
            return json_reply({"kind": "youtube#channelListResponse", "items": found})
        assert request.arg("part") == "contentDetails,statistics"
        if request.arg("id") != LIB:
            return json_reply({"kind": "youtube#channelListResponse", "pageInfo": {"totalResults": 0}})
        channel = {
            "kind": "youtube#channel",
            "id": LIB,
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + LIB[2:]}},
            "statistics": {"viewCount": "99", "subscriberCount": "1234", "hiddenSubscriberCount": False},
        }
        return json_reply({"kind": "youtube#channelListResponse", "items": [channel]})

    def uploads(self, request: Request) -> Reply:
        assert request.arg("playlistId") == "UU" + LIB[2:]
        newest = sorted(self.videos.items(), key=lambda kv: kv[1]["at"], reverse=True)
        items = [
            {
                "kind": "youtube#playlistItem",
                "id": f"item-{vid}",
                "snippet": {"publishedAt": iso(v["at"]), "channelId": LIB, "title": v["title"],
                            "resourceId": {"kind": "youtube#video", "videoId": vid}},
                "contentDetails": {"videoId": vid, "videoPublishedAt": iso(v["at"])},
            }
            for vid, v in newest
        ]
        return self._page("playlistItems", items, request)

    def list_videos(self, request: Request) -> Reply:
        assert "maxResults" not in request.query  # the API refuses maxResults together with id
        items = []
        for vid in (request.arg("id") or "").split(","):
            v = self.videos.get(vid)
            if v is None:
                continue
            stats = {"viewCount": "40", "likeCount": str(v["likes"]), "favoriteCount": "0"}
            if not v["disabled"]:
                stats["commentCount"] = str(sum(c["video"] == vid for c in self.comments.values()))
            snippet = {"publishedAt": iso(v["at"]), "channelId": LIB, "title": v["title"],
                       "description": v["description"], "liveBroadcastContent": "none"}
            items.append({"kind": "youtube#video", "id": vid, "snippet": snippet, "statistics": stats})
        return json_reply({"kind": "youtube#videoListResponse", "items": items})

    def _resource(self, cid: str) -> dict[str, Any]:
        c = self.comments[cid]
        snippet = {
            "channelId": LIB,
            "videoId": c["video"],
            "textDisplay": html.escape(c["text"], quote=False),
            "textOriginal": c["text"],
            "authorDisplayName": NAMES[c["author"]],
            "authorChannelUrl": f"http://www.youtube.com/{NAMES[c['author']]}",
            "authorChannelId": {"value": c["author"]},
            "likeCount": 0,
            "publishedAt": iso(c["at"]),
            "updatedAt": iso(c["at"]),
        }
        if c["top"]:
            snippet["parentId"] = c["top"]
        return {"kind": "youtube#comment", "id": cid, "snippet": snippet}

    def _replies_to(self, top: str) -> list[str]:
        return sorted((k for k, c in self.comments.items() if c["top"] == top), key=lambda k: self.comments[k]["at"])

    def threads(self, request: Request) -> Reply:
        vid = request.arg("videoId") or ""
        if self.videos[vid]["disabled"]:
            return google_error(403, "commentsDisabled", "The video identified by videoId has disabled comments.")
        tops = [k for k, c in self.comments.items() if c["video"] == vid and not c["top"]]
        items = []
        for top in sorted(tops, key=lambda k: self.comments[k]["at"], reverse=True):  # order=time: newest first
            replies = self._replies_to(top)
            snippet = {"channelId": LIB, "videoId": vid, "topLevelComment": self._resource(top),
                       "totalReplyCount": len(replies), "canReply": True, "isPublic": True}
            thread: dict[str, Any] = {"kind": "youtube#commentThread", "id": top, "snippet": snippet}
            if replies:
                thread["replies"] = {"comments": [self._resource(r) for r in replies[: self.INLINED]]}
            items.append(thread)
        return self._page("commentThreads", items, request)

    def replies(self, request: Request) -> Reply:
        replies = self._replies_to(request.arg("parentId") or "")
        return self._page("comments", [self._resource(r) for r in replies], request)


V_OLD, V_BASE, V1, V2, V3, V5 = "vOld0000001", "vBase000001", "vSummer0001", "vTeens00001", "vSale000001", "vClose00001"
ROUTINE = [f"vRoutine00{i}" for i in range(10)]
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


class World:
    """60 days of a library's channel: a dozen routine videos, two summer-reading videos with
    conversations, one with comments turned off, and the staff member jane answering too."""

    def __init__(self, fake: FakeYouTube) -> None:
        f = self.fake = fake
        f.video(V_OLD, ago(70), "Welcome to our channel", likes=9)  # beyond the 60-day horizon: never read
        f.comment("old1", V_OLD, ANN, ago(69), "Hello!")
        t = ago(45)  # the baseline window
        f.video(V_BASE, t, "Summer reading last year #SummerReading", likes=7)
        base = f.comment("base1", V_BASE, ANN, t + HOUR, "Loved it")
        f.comment("r1", V_BASE, LIB, t + 3 * HOUR, "@ann Thank you!", top=base)
        for i, vid in enumerate(ROUTINE):  # 2.5, 7.5, ... 47.5 days ago; no comments
            f.video(vid, ago(2.5 + 5 * i), f"Opening hours update {i}", likes=1)

        t = ago(20)
        f.video(V1, t, "Summer reading kickoff #SummerReading", "Books: https://library.example.org/summer.", 12)
        pin = f.comment("pin", V1, LIB, t + 10 * MINUTE, "Reading logs are at the front desk.")  # its own comment
        f.comment("d1", V1, DEE, t + DAY, "What prizes?", top=pin)
        ann = f.comment("a1", V1, ANN, t + HOUR, "Can kids join?")
        f.comment("l1", V1, LIB, t + 3 * HOUR, "@ann Yes, all ages!", top=ann)
        f.comment("b1", V1, BOB, t + 4 * HOUR, "@RiversideLibrary and adults?", top=ann)
        f.comment("j1", V1, JANE, t + 5 * HOUR, "@bob Adults too!", top=ann)
        cat = f.comment("c1", V1, CAT, t + 6 * HOUR, "Where do I sign up?")
        f.comment("l2", V1, LIB, t + 10 * HOUR, "@cat At the front desk.", top=cat)

        t = ago(10)
        f.video(V2, t, "Teen summer reading picks", likes=5)
        self.eve = f.comment("e1", V2, EVE, t + 30 * MINUTE, "Any manga? Mine: https://manga.example/list")
        f.comment("l3", V2, LIB, t + 90 * MINUTE, "@eve Plenty!", top=self.eve)
        self.thanks = f.comment("e2", V2, EVE, t + 2 * HOUR, "@RiversideLibrary thanks", top=self.eve)
        self.fin = f.comment("f1", V2, FIN, t + DAY, "Great list #SummerReading")
        f.video(V5, ago(8), "Closed on Monday", likes=3)
        f.video(V3, ago(5), "Book sale", likes=2, disabled=True)


MODERN_BAD_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "errors": [{"message": "API key not valid. Please pass a valid API key.", "domain": "global",
                    "reason": "badRequest"}],
        "status": "INVALID_ARGUMENT",
    }
}

"""Google's answer to a key it does not know since 2020 (the recorded one says keyInvalid)."""


def source(
    url: str, sid: str = "yt", key: str = "TEST_YT_KEY", *, token: str | None = None, channel: str = LIB,
    budget: int | None = None,
) -> str:
    return source_toml(
        sid, "youtube", channel_id=channel, api=f"{url}/youtube/v3", api_key=env(key),
        token=env(token) if token else None, budget=budget,
    )


def thread_reads(server: ReplayServer) -> list[str]:
    """The videos whose comment threads were read, one a page."""
    return sorted(r.arg("videoId") or "" for r in server.requests("/youtube/v3/commentThreads"))


GOALS = goals_toml(
    goal_toml("Everything", window="30d"),
    goal_toml("Summer reading", hashtags=["SummerReading"], keywords=["summer reading"], window="30d"),
)

YOUTUBE = Platform(
    "youtube", "yt", NOW, {"TEST_YT_KEY": KEY}, lambda server: World(FakeYouTube(server)), source, GOALS,
    also("youtube:@janereads"),
)
