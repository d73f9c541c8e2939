"""YouTube channels through the YouTube Data API v3 (`https://www.googleapis.com/youtube/v3`).

What one poll asks (every call is a `GET` list call costing one quota unit):

- `channels?part=contentDetails,statistics&id=`: the channel's uploads playlist
  (`relatedPlaylists.uploads`) and `subscriberCount` as followers (none when hidden).
  A staff entry of `[organization] also` written as an `@handle` costs one more call
  (`forHandle=`) once; its channel id is then kept in the cursor.
- `playlistItems?part=contentDetails,snippet&playlistId=<uploads>&maxResults=50`, newest
  first, paged with `pageToken` back to the horizon: the channel's videos (the
  broadcasts). `search.list` would cost 100 units a call, so it is never used.
- `videos?part=statistics,snippet&id=` (50 ids a call): each video's title and
  description (its text) and counters: `commentCount` → replies, `likeCount` → likes.
- Only for a video `ThreadWatch` finds due (its `commentCount` moved, or it was read
  longer ago than `thread_refresh`): `commentThreads?part=snippet,replies&videoId=`
  (paged), and `comments?part=snippet&parentId=` (paged) for a thread with more replies
  than the few YouTube inlines. A video whose `commentCount` is 0 costs nothing; one with
  comments turned off answers 403 `commentsDisabled`, which means no comments, not an error.

Threads: a video is the root; its top-level comments reply to it. YouTube keeps only two
levels: an answer to a reply is filed under the top-level comment, starting with
"@name" of the person answered. Such a reply gets as parent the latest earlier comment
in the thread by that name, so a staff answer to a community reply answers that reply
and not the thread's first comment. A comment whose author channel is the source's is
the organization's; so is one by a staff channel from `also` (`youtube:UC…` or
`youtube:@handle`).

Quota: Google gives a project 10,000 units a day (`budget`), reset at midnight Pacific.
The units are counted in the cursor (`DailyQuota`) and shown as the source's budget. A
cycle the day's remaining units cannot pay the fixed calls for is refused in one line
before anything is sent; a budget running out while threads are read ends the reading
there, keeping what was learned, and the next cycle says so.

Credentials: an API key is sent as the `X-Goog-Api-Key` header, never in the URL; an
OAuth access token (`token`) as `Authorization: Bearer`, and when both are set, the token.

What it cannot measure: mentions (no API finds comments naming a channel), reposts and
quotes (YouTube has neither), dislikes (no longer public); views are answered but are no
part of the metrics. Deleted: a video gone from the uploads inside the horizon (or turned
private), and a comment gone from a re-read video.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from twoway.model import Account, Batch, Counters, Part, Post
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import utc
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context, CursorState, DailyQuota, explain
from twoway.plugin.text import hashtags_in, html_to_text, links_in

__all__ = ["YouTubeCollector", "channel_facts", "listed_video", "thread_posts", "video_counters", "video_post"]

API = "https://www.googleapis.com/youtube/v3"
BUDGET = 10_000
"""Quota units a day: what Google gives a project unless it asked for more."""
PACIFIC = ZoneInfo("America/Los_Angeles")
"""YouTube's quota day ends at midnight Pacific time."""
MEASURES: frozenset[Part] = frozenset({"replies", "responses", "likes"})
IDS_PER_CALL = 50
"""Videos one `videos` call may name."""
FIXED_CALLS = 3
"""The least a cycle costs: the channel, one page of uploads, one `videos` call."""
WATCH = "https://www.youtube.com/watch?v="
_HANDLE_CHAR = re.compile(r"[\w.\-·]")

KEY_INVALID = (
    "API key not valid: create one at https://console.cloud.google.com/apis/credentials "
    "and enable the YouTube Data API v3"
)
ADVICE: dict[int | str, str] = {
    "keyInvalid": KEY_INVALID,
    "accessNotConfigured": (
        "the YouTube Data API v3 is not enabled for this key's project: enable it at "
        "https://console.cloud.google.com/apis/library/youtube.googleapis.com"
    ),
    "ipRefererBlocked": (
        "this API key's restrictions refuse this machine: restrict it to this machine's IP address instead "
        "(a website restriction cannot fit a server) at https://console.cloud.google.com/apis/credentials"
    ),
    "quotaExceeded": (
        "daily quota used up: Google gives it back at midnight Pacific time; poll less often (a longer interval) "
        "or ask for more at https://console.cloud.google.com/apis/api/youtube.googleapis.com/quotas"
    ),
    "rateLimitExceeded": "too many requests in a short time: twoway tries again next cycle",
    "insufficientPermissions": (
        "the token lacks the scope https://www.googleapis.com/auth/youtube.readonly: authorize twoway again with it"
    ),
    "forbidden": "not allowed to read this: the channel or video is private, or the token is not the channel owner's",
    403: "refused: check the key's API restrictions at https://console.cloud.google.com/apis/credentials",
}
TOKEN_EXPIRED = (
    "token expired or revoked (Google access tokens last an hour): get a new one, "
    "or use an api_key (https://console.cloud.google.com/apis/credentials)"
)


_time = partial(utc, platform="YouTube")
"""YouTube's RFC 3339 times as aware UTC."""


def _count(value: object) -> int | None:
    """YouTube's counters are strings of digits; absent means hidden or not counted."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _reasons(data: Any) -> set[str]:
    """The `reason`s of a Google error body: {"error": {"errors": [{"reason"}]}}."""
    error = data.get("error") if isinstance(data, dict) else None
    items = error.get("errors") if isinstance(error, dict) else None
    return {str(i.get("reason")) for i in items if isinstance(i, dict)} if isinstance(items, list) else set()


def _advised(error: FetchError, token: bool) -> Exception:
    """A refusal with what to do about it: a bad key, a spent quota, an expired token."""
    advice = dict(ADVICE)
    google = error.data.get("error") if isinstance(error.data, dict) else None
    if isinstance(google, dict) and str(google.get("message", "")).startswith("API key not valid"):
        advice["badRequest"] = KEY_INVALID  # how Google has answered a bad key since 2020
    if token:
        advice.update({401: TOKEN_EXPIRED, "authError": TOKEN_EXPIRED})
    return explain(error, advice)


def _items(data: dict[str, Any], where: str) -> list[dict[str, Any]]:
    items = data.get("items", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i for i in items):
        raise FetchError(f"{where}: answered something other than a list of resources")
    return items


def channel_facts(channel: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """A channel's uploads playlist and its subscriber count (None when the owner hides it)."""
    playlists = (channel.get("contentDetails") or {}).get("relatedPlaylists") or {}
    stats = channel.get("statistics") or {}
    followers = None if stats.get("hiddenSubscriberCount") else _count(stats.get("subscriberCount"))
    return (str(playlists["uploads"]) if playlists.get("uploads") else None), followers


def listed_video(item: Mapping[str, Any]) -> tuple[str, datetime]:
    """A playlist item's video id and when the video went public (else when it was added)."""
    details = item.get("contentDetails") or {}
    snippet = item.get("snippet") or {}
    video = details.get("videoId") or (snippet.get("resourceId") or {}).get("videoId")
    return str(video), _time(details.get("videoPublishedAt") or snippet["publishedAt"])


def video_post(video: Mapping[str, Any], channel: str) -> Post:
    """A video as a broadcast: its title, then its description."""
    snippet = video.get("snippet") or {}
    vid = str(video["id"])
    text = "\n".join(str(snippet.get(k) or "").strip() for k in ("title", "description")).strip()
    return Post(
        id=vid,
        author_id=str(snippet.get("channelId") or channel),
        created_at=_time(snippet["publishedAt"]),
        url=f"{WATCH}{vid}",
        root_id=vid,
        text=text,
        hashtags=hashtags_in(text),
        links=links_in(text),
    )


def video_counters(video: Mapping[str, Any], now: datetime) -> Counters:
    stats = video.get("statistics") or {}
    return Counters(
        str(video["id"]), now, replies=_count(stats.get("commentCount")), likes=_count(stats.get("likeCount"))
    )


def _comment_text(snippet: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Plain text and links: from `textDisplay` (HTML), else `textOriginal`.

    `textOriginal` is only promised to the comment's author. A hashtag in `textDisplay`
    links to a YouTube search, which is no link the comment's author wrote.
    """
    html = snippet.get("textDisplay")
    if not html:
        text = str(snippet.get("textOriginal") or "")
        return text, links_in(text)
    text, links = html_to_text(str(html))
    written = []
    for link in links:
        parts = urlsplit(link)
        if not ((parts.hostname or "").endswith("youtube.com") and parts.path.startswith(("/results", "/hashtag/"))):
            written.append(link)
    return text, tuple(written)


def _author(snippet: Mapping[str, Any]) -> str:
    channel = (snippet.get("authorChannelId") or {}).get("value")
    return str(channel) if channel else f"name:{snippet.get('authorDisplayName') or ''}"


def _answers(text: str, earlier: list[tuple[str, str]]) -> str | None:
    """The comment a reply starting with "@name" answers: the latest earlier one by that name."""
    if not text.startswith("@"):
        return None
    for name, cid in reversed(earlier):
        handle = name.removeprefix("@")
        rest = text[1 + len(handle) :]
        if handle and text[1 : 1 + len(handle)].casefold() == handle.casefold() and not _HANDLE_CHAR.match(rest[:1]):
            return cid
    return None


def thread_posts(thread: Mapping[str, Any], replies: list[dict[str, Any]], video: str) -> list[Post]:
    """A comment thread of `video`: its top-level comment, then its replies oldest first."""
    top = thread["snippet"]["topLevelComment"]
    posts: list[Post] = []
    earlier: list[tuple[str, str]] = []
    for comment in [top, *sorted(replies, key=lambda c: _time(c["snippet"]["publishedAt"]))]:
        snippet = comment["snippet"]
        cid = str(comment["id"])
        text, links = _comment_text(snippet)
        parent = video if comment is top else _answers(text, earlier) or str(snippet.get("parentId") or top["id"])
        posts.append(
            Post(
                id=cid,
                author_id=_author(snippet),
                created_at=_time(snippet["publishedAt"]),
                url=f"{WATCH}{video}&lc={cid}",
                parent_id=parent,
                root_id=video,
                text=text,
                hashtags=hashtags_in(text),
                links=links,
            )
        )
        earlier.append((str(snippet.get("authorDisplayName") or ""), cid))
    return posts


class YouTubeCollector:
    """One YouTube channel: its videos, their counters and their comments."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.api = str(context.option("api") or API).rstrip("/")
        self.channel = str(context.option("channel_id"))
        self.budget = int(context.option("budget") or BUDGET)

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        cycle = _Cycle(self, CursorState.load(cursor), now)
        try:
            return await cycle.run()
        except FetchError as error:
            error.cursor = cycle.quota.carried(cursor)
            raise


class _Cycle(Cycle):
    """A channel's poll, every call paid for from the day's quota units."""

    platform = "youtube"

    def __init__(self, collector: YouTubeCollector, state: CursorState, now: datetime) -> None:
        super().__init__(collector.context, state, now)
        self.api, self.channel = collector.api, collector.channel
        self.token = self.context.secret("token")
        self.key = None if self.token else self.context.secret("api_key")
        if self.token is None and self.key is None:
            raise FetchError("neither api_key nor token is set")
        self.quota = DailyQuota(state, self.context.http, collector.budget, now, unit="quota units", tz=PACIFIC)

    async def get(self, resource: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One list call, paid for first."""
        self.quota.spend()
        try:
            response = await self.context.http.get(
                f"{self.api}/{resource}",
                params=params,
                token=self.token,
                secret_headers={"X-Goog-Api-Key": self.key} if self.key else None,
            )
        except FetchError as e:
            raise _advised(e, self.token is not None) from None
        data = response.json()
        if not isinstance(data, dict):
            raise FetchError(f"{self.api}/{resource}: answered something other than a JSON object")
        return data

    async def listing(
        self, resource: str, params: Mapping[str, Any], enough: Callable[[list[dict[str, Any]]], bool] = lambda p: False
    ) -> list[dict[str, Any]]:
        """Every page of a list (`nextPageToken`), or the pages up to the one that is `enough`."""
        found: list[dict[str, Any]] = []
        page: str | None = None
        tokens: set[str] = set()
        while True:
            data = await self.get(resource, {**params, "pageToken": page})
            items = _items(data, f"{self.api}/{resource}")
            found += items
            page = data.get("nextPageToken")
            if not page or enough(items):
                return found
            if page in tokens:  # a server handing out a page seen before would page forever
                raise FetchError(f"{self.api}/{resource}: the pageToken repeats itself")
            tokens.add(page)

    async def run(self) -> Batch:
        self.reserve()
        spent = self.quota.used
        data = await self.get("channels", {"part": "contentDetails,statistics", "id": self.channel})
        channels = _items(data, f"{self.api}/channels")
        if not channels:
            raise FetchError(
                f"channel {self.channel!r} not found: channel_id is the channel's id (UC…), "
                "shown at https://www.youtube.com/account_advanced"
            )
        uploads, followers = channel_facts(channels[0])
        if uploads is None:
            raise FetchError(f"{self.api}/channels: the channel has no uploads playlist")
        accounts = [Account(self.channel, self.channel, "source"), *await self.staff()]
        videos = await self.videos(await self.uploads(uploads))
        self.state.data["fixed"] = max(FIXED_CALLS, self.quota.used - spent)

        self.posts.update((vid, video_post(video, self.channel)) for vid, video in videos.items())
        cutoff = self.since.timestamp()
        self.deleted.update(
            v for v, ts in self.state.data.get("videos", {}).items() if v not in videos and ts >= cutoff
        )
        self.state.data["videos"] = {pid: int(post.created_at.timestamp()) for pid, post in self.posts.items()}
        await self.threads(videos)
        return self.batch(
            counters=(video_counters(video, self.now) for video in videos.values()),
            accounts=accounts,
            followers=followers,
            measures=MEASURES,
        )

    def reserve(self) -> None:
        """Refuses the cycle, before anything is sent, when the day's units cannot pay its fixed calls.

        A poll that fails keeps its old cursor, so units spent in it would be forgotten.
        """
        needed = int(self.state.data.get("fixed", FIXED_CALLS))
        if self.quota.used + needed > self.quota.limit:
            self.quota.spend(needed)  # raises the one-line "daily budget ... used up"

    async def staff(self) -> list[Account]:
        """The `also` channels: a channel id as written, an `@handle` looked up once."""
        known: dict[str, str] = self.state.data.get("staff", {})
        resolved: dict[str, str] = {}
        for handle in self.context.also:
            if handle in known:
                resolved[handle] = known[handle]
            elif handle.startswith("@"):
                data = await self.get("channels", {"part": "id", "forHandle": handle})
                found = _items(data, f"{self.api}/channels")
                resolved[handle] = str(found[0]["id"]) if found else ""  # unknown: asked again only if `also` changes
            else:
                resolved[handle] = handle
        self.state.data["staff"] = resolved
        return [Account(channel, handle, f"youtube:{handle}") for handle, channel in resolved.items() if channel]

    async def uploads(self, playlist: str) -> list[str]:
        """The ids of the videos published since the horizon, newest first."""
        params = {"part": "contentDetails,snippet", "playlistId": playlist, "maxResults": 50}
        try:
            items = await self.listing(
                "playlistItems", params, lambda page: any(listed_video(i)[1] < self.since for i in page)
            )
        except FetchError as e:
            if "playlistNotFound" in _reasons(e.data):
                return []  # a channel that never uploaded has no uploads playlist yet
            raise
        return list(dict.fromkeys(vid for vid, at in map(listed_video, items) if at >= self.since))

    async def videos(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The public videos among `ids`; a private, deleted or still scheduled one is left out."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), IDS_PER_CALL):
            chunk = ",".join(ids[start : start + IDS_PER_CALL])
            data = await self.get("videos", {"part": "statistics,snippet", "id": chunk})
            for video in _items(data, f"{self.api}/videos"):
                if (video.get("snippet") or {}).get("liveBroadcastContent") != "upcoming":
                    found[str(video["id"])] = video
        return found

    async def threads(self, videos: dict[str, dict[str, Any]]) -> None:
        """Reads the comments of every video ThreadWatch finds due; those gone since their last read are deleted."""
        watch = self.state.threads()
        seen: dict[str, list[str]] = self.state.data.get("seen", {})
        for vid, video in videos.items():
            count = _count((video.get("statistics") or {}).get("commentCount"))
            signature = str(count)
            if not watch.due(vid, signature, self.now, self.context.thread_refresh):
                continue
            try:
                found = await self.comments(vid) if count != 0 else []
            except FetchError:
                if self.quota.used < self.quota.limit:
                    raise
                break  # the day's units ran out inside this thread: it stays due, the rest waits too
            ids = [p.id for p in found]
            self.deleted.update(set(seen.get(vid, [])) - set(ids))
            seen[vid] = ids
            self.posts.update((p.id, p) for p in found)
            watch.read(vid, signature, self.now)
        watch.forget_older(set(videos))
        self.state.data["seen"] = {vid: ids for vid, ids in seen.items() if vid in videos}

    async def comments(self, video: str) -> list[Post]:
        """Every comment of a video: its threads, with the replies YouTube did not inline."""
        params = {"part": "snippet,replies", "videoId": video, "maxResults": 100}
        try:
            threads = await self.listing("commentThreads", params)
        except FetchError as e:
            if "commentsDisabled" in _reasons(e.data):
                return []  # the owner turned comments off: no comments, not a failure
            raise
        posts: list[Post] = []
        for thread in threads:
            inline = (thread.get("replies") or {}).get("comments") or []
            total = _count(thread["snippet"].get("totalReplyCount")) or 0
            replies = inline
            if total > len(inline):
                params = {"part": "snippet", "parentId": thread["id"], "maxResults": 100}
                replies = await self.listing("comments", params)
            posts += thread_posts(thread, replies, video)
        return posts
