"""Bluesky (AT Protocol): the organization's posts, their threads and, with an app
password, the mentions of its account.

Calls (XRPC, GET unless said):
- `app.bsky.actor.getProfile` (the source's DID and `followersCount`) and, when
  `[organization] also` names Bluesky staff, `app.bsky.actor.getProfiles` for theirs.
- `app.bsky.feed.getAuthorFeed?filter=posts_with_replies`, cursor-paged back to the
  horizon every cycle: the organization's broadcasts *and* its replies, with
  `replyCount`, `repostCount`, `quoteCount`, `likeCount`. Its reposts (`reason` =
  `#reasonRepost`, `by` the account) are neither broadcasts nor responses: each is emitted
  as the account's own `Reaction` on the reposted post, so the store leaves a repost of
  its own post out of `reposts`, as Mastodon's boosts are.
- `app.bsky.feed.getPostThread?depth=1000` of an organization thread only when
  `ThreadWatch` says so: the reply counts of the organization's posts in it moved, a
  notification points into it, or `thread_refresh` has passed.
- With `app_password`: `com.atproto.server.createSession` at the `pds` once per process
  (`refreshSession` when the access token expires), then
  `app.bsky.notification.listNotifications?reasons=mention&reasons=reply` through the
  PDS, which proxies it to the AppView. Without it there are no mentions.

Bluesky has no views or impressions. Counters come from the AppView's cache and can lag.
Who liked or reposted is public (`getLikes`, `getRepostedBy`) but not asked for, to keep
the steady-state budget (a request per post): the organization's own likes therefore
count in `likes`, and so do reposts by staff accounts (`[organization] also`), whose
reposts are in their own feeds, not in the source's. The source account's own reposts
are known for free, from the author feed it reads anyway.
Posts cannot be edited in the official app; a record rewritten by another client is
stored as its latest text. A post's time is Bluesky's own sort time: the earlier of the
record's `createdAt` (client-supplied) and the AppView's `indexedAt`.

Deletions: an organization post younger than the horizon that drops out of the feed, a
reply seen in a thread before and gone from it on the next read, and `#notFoundPost` /
`#blockedPost` nodes are reported as deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import utc
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context, CursorState
from twoway.plugin.text import hashtags_in

__all__ = ["BlueskyCollector"]

PAGE = 100
THREAD_DEPTH = 1000
"""getPostThread has no paging; the lexicon's maximum depth reads the whole tree."""
REPOST = "app.bsky.feed.defs#reasonRepost"
"""An author-feed item's `reason` when the item is the account's repost, not its post."""
PUBLIC_PARTS: frozenset[Part] = frozenset({"replies", "responses", "reposts", "quotes", "likes"})


@dataclass
class _Session:
    access: str
    refresh: str


class _Seen(Cycle):
    """What one poll gathers, with the counters of the organization's posts among it."""

    platform = "bluesky"

    def __init__(self, context: Context, state: CursorState, now: datetime, org: set[str]) -> None:
        super().__init__(context, state, now)
        self.org = org
        self.counters: dict[str, Counters] = {}
        self.reactions: list[Reaction] = []
        """The account's reposts, each on the post it reposted."""

    def add(self, view: dict[str, Any], source_did: str) -> Post:
        post = parse_post(view, source_did)
        self.posts[post.id] = post
        if post.author_id in self.org and "likeCount" in view:
            self.counters[post.id] = parse_counters(view, self.now)
        return post


class BlueskyCollector:
    """One Bluesky account: public reads from the AppView, notifications with an app password."""

    _sessions: ClassVar[dict[tuple[str, str], _Session]] = {}
    """Sessions by (pds, handle), kept for the process: createSession is tightly rate limited."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.handle = str(context.option("handle")).lstrip("@")
        self.service = str(context.option("service", "https://public.api.bsky.app")).rstrip("/")
        self.pds = str(context.option("pds", "https://bsky.social")).rstrip("/")

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        state = CursorState.load(cursor)
        password = self.context.secret("app_password")

        profile = await self._get("app.bsky.actor.getProfile", {"actor": self.handle})
        did = _field(profile, "did", str, "app.bsky.actor.getProfile")
        accounts = [Account(did, str(profile.get("handle") or self.handle), "source"), *await self._staff()]
        seen = _Seen(self.context, state, now, {a.author_id for a in accounts})
        since = seen.since

        own: dict[str, int] = {}
        signatures: dict[str, list[str]] = {}
        async for view, reposter in self._feed(did, since):
            if reposter is not None:
                seen.reactions.append(Reaction(str(view["uri"]), "reposts", reposter))
                continue
            post = seen.add(view, did)
            own[post.id] = int(post.created_at.timestamp())
            root = post.root_id or post.id
            if _did_of(root) in seen.org:
                signatures.setdefault(root, []).append(f"{post.id}:{view.get('replyCount')}")
        for uri, created in state.data.get("own", {}).items():
            if created >= since.timestamp() and uri not in own:
                seen.deleted.add(uri)

        pointed: set[str] = set()
        if password:
            pointed = await self._notifications(password, did, since, state, seen)

        watch = state.threads()
        members: dict[str, list[str]] = state.data.get("members", {})
        roots = set(signatures) | pointed
        for root in sorted(roots):
            signature = hashlib.sha1("|".join(sorted(signatures.get(root, []))).encode()).hexdigest()[:16]
            if watch.due(root, signature, now, self.context.thread_refresh, pointed=root in pointed):
                found = await self._thread(root, did, seen)
                seen.deleted.update(set(members.get(root, ())) - found)
                members[root] = sorted(found)
                watch.read(root, signature, now)
        watch.forget_older(roots)
        state.data["members"] = {root: ids for root, ids in members.items() if root in roots}
        state.data.update(polled=True, own=own)
        seen.deleted -= seen.posts.keys()

        return seen.batch(
            counters=seen.counters.values(),
            reactions=seen.reactions,
            accounts=accounts,
            followers=profile.get("followersCount") if isinstance(profile.get("followersCount"), int) else None,
            measures=PUBLIC_PARTS | {"mentions"} if password else PUBLIC_PARTS,
        )

    # -- public reads ----------------------------------------------------------------

    async def _get(self, nsid: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await self.context.http.get(f"{self.service}/xrpc/{nsid}", params=params)
        return _object(response.json(), nsid)

    async def _staff(self) -> list[Account]:
        """Staff handles from `also`, resolved to DIDs (getProfiles takes 25 at a time)."""
        entries = {entry.lstrip("@").lower(): entry for entry in self.context.also}
        accounts = []
        names = list(entries)
        for start in range(0, len(names), 25):
            data = await self._get("app.bsky.actor.getProfiles", {"actors": names[start : start + 25]})
            for profile in data.get("profiles") or []:
                for key in (str(profile.get("handle", "")).lower(), str(profile.get("did", "")).lower()):
                    if key in entries:
                        accounts.append(Account(profile["did"], profile["handle"], f"bluesky:{entries[key]}"))
                        break
        return accounts

    async def _feed(self, did: str, since: datetime) -> AsyncIterator[tuple[dict[str, Any], str | None]]:
        """The organization's own posts and replies younger than `since`, newest first, as
        `(postView, None)`; its reposts made since then as `(the reposted postView, reposter DID)`."""
        cursor, cursors = None, set[str]()
        while True:
            params = {"actor": did, "filter": "posts_with_replies", "limit": PAGE, "cursor": cursor}
            data = await self._get("app.bsky.feed.getAuthorFeed", params)
            feed = _field(data, "feed", list, "app.bsky.feed.getAuthorFeed")
            for item in feed:
                view = item.get("post") or {}
                reason = item.get("reason") or {}
                if reason.get("$type") == REPOST:
                    if _time(reason.get("indexedAt")) < since:
                        return
                    if view.get("uri"):
                        yield view, str((reason.get("by") or {}).get("did") or did)
                    continue
                if _sort_time(view) < since:
                    return
                yield view, None
            cursor = data.get("cursor")
            if not cursor or not feed:
                return
            _check_progress(cursor, cursors, "app.bsky.feed.getAuthorFeed")

    async def _thread(self, root: str, did: str, seen: _Seen) -> set[str]:
        """Reads thread `root` into `seen`; returns the ids of the replies it holds now."""
        try:
            data = await self._get(
                "app.bsky.feed.getPostThread", {"uri": root, "depth": THREAD_DEPTH, "parentHeight": 0}
            )
        except FetchError as error:
            if error.status == 400 and "NotFound" in str(error):
                seen.deleted.add(root)
                return set()
            raise
        found: set[str] = set()
        nodes = [data.get("thread") or {}]
        while nodes:
            node = nodes.pop()
            kind = str(node.get("$type", ""))
            if "post" in node and not kind.endswith(("#notFoundPost", "#blockedPost")):
                found.add(seen.add(node["post"], did).id)
                nodes.extend(r for r in node.get("replies") or [] if isinstance(r, dict))
            elif node.get("uri"):
                seen.deleted.add(str(node["uri"]))
        found.discard(root)
        return found

    # -- with an app password ----------------------------------------------------------

    async def _notifications(
        self, password: str, did: str, since: datetime, state: CursorState, seen: _Seen
    ) -> set[str]:
        """Mentions and replies newer than the last seen; returns the organization threads they point into."""
        floor = max(since, _time(state.data["notified"])) if state.data.get("notified") else since
        newest = floor
        pointed: set[str] = set()
        cursor, cursors = None, set[str]()
        while True:
            params = {"reasons": ["mention", "reply"], "limit": PAGE, "cursor": cursor}
            data = await self._authed(password, "app.bsky.notification.listNotifications", params)
            items = _field(data, "notifications", list, "app.bsky.notification.listNotifications")
            older = False
            for item in items:
                at = _time(item.get("indexedAt"))
                if at <= floor:
                    older = True
                    continue
                newest = max(newest, at)
                if item.get("reason") not in ("mention", "reply") or not isinstance(item.get("record"), dict):
                    continue
                post = seen.add(item, did)
                if post.root_id and _did_of(post.root_id) in seen.org:
                    pointed.add(post.root_id)
            cursor = data.get("cursor")
            if older or not cursor or not items:
                break
            _check_progress(cursor, cursors, "app.bsky.notification.listNotifications")
        state.data["notified"] = newest.isoformat()
        return pointed

    async def _authed(self, password: str, nsid: str, params: dict[str, Any]) -> dict[str, Any]:
        """A call through the PDS with the session's token; an expired token is refreshed once."""
        session = await self._session(password)
        url = f"{self.pds}/xrpc/{nsid}"
        try:
            response = await self.context.http.get(url, params=params, token=session.access)
        except FetchError as error:
            if not _expired(error):
                raise
            session = await self._session(password, renew=session)
            response = await self.context.http.get(url, params=params, token=session.access)
        return _object(response.json(), nsid)

    async def _session(self, password: str, renew: _Session | None = None) -> _Session:
        """The process's session for this account: created once, refreshed when expired."""
        key = (self.pds, self.handle)
        session = self._sessions.get(key)
        if session is not None and session is not renew:
            return session
        data = None
        if renew is not None:
            try:
                response = await self.context.http.request(
                    "POST", f"{self.pds}/xrpc/com.atproto.server.refreshSession", token=renew.refresh
                )
                data = response.json()
            except FetchError as error:
                if not _expired(error):
                    raise
        if data is None:
            response = await self.context.http.request(
                "POST",
                f"{self.pds}/xrpc/com.atproto.server.createSession",
                json_body={"identifier": self.handle, "password": password},
            )
            data = response.json()
        data = _object(data, "com.atproto.server.createSession")
        session = _Session(
            _field(data, "accessJwt", str, "the session"), _field(data, "refreshJwt", str, "the session")
        )
        self._sessions[key] = session
        return session


def _check_progress(cursor: str, seen: set[str], nsid: str) -> None:
    """A cursor handed out twice would page forever: give up on this cycle instead."""
    if cursor in seen:
        raise FetchError(f"{nsid}: the server's paging cursor repeats itself")
    seen.add(cursor)


# -- parsing ---------------------------------------------------------------------------


def parse_post(view: dict[str, Any], source_did: str) -> Post:
    """A `postView` (or a notification, which has the same fields) as a `Post`."""
    record = view.get("record") or {}
    author = view.get("author") or {}
    uri = str(view["uri"])
    reply = record.get("reply") or {}
    text = str(record.get("text") or "")
    hashtags: list[str] = [str(t) for t in record.get("tags") or []]
    links: list[str] = []
    mentions = False
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or []:
            kind = str(feature.get("$type", ""))
            if kind.endswith("#tag") and feature.get("tag"):
                hashtags.append(str(feature["tag"]))
            elif kind.endswith("#link") and feature.get("uri"):
                links.append(str(feature["uri"]))
            elif kind.endswith("#mention") and feature.get("did") == source_did:
                mentions = True
    embed = record.get("embed") or {}
    for external in (embed.get("external"), (embed.get("media") or {}).get("external")):
        if isinstance(external, dict) and external.get("uri"):
            links.append(str(external["uri"]))
    handle = str(author.get("handle") or "")
    profile = handle if handle and handle != "handle.invalid" else str(author.get("did") or _did_of(uri))
    return Post(
        id=uri,
        author_id=str(author.get("did") or _did_of(uri)),
        created_at=_sort_time(view),
        url=f"https://bsky.app/profile/{profile}/post/{uri.rsplit('/', 1)[-1]}",
        parent_id=(reply.get("parent") or {}).get("uri"),
        root_id=(reply.get("root") or {}).get("uri"),
        text=text,
        hashtags=hashtags_in(text, hashtags),
        links=tuple(dict.fromkeys(links)),
        mentions_source=mentions,
    )


def parse_counters(view: dict[str, Any], now: datetime) -> Counters:
    def count(key: str) -> int | None:
        value = view.get(key)
        return value if isinstance(value, int) else None

    return Counters(
        str(view["uri"]), now, count("replyCount"), count("repostCount"), count("quoteCount"), count("likeCount")
    )


def _sort_time(view: dict[str, Any]) -> datetime:
    """The earlier of the record's `createdAt` and `indexedAt`: a clock set ahead cannot move a post forward."""
    indexed = _time(view.get("indexedAt"))
    try:
        created = _time((view.get("record") or {}).get("createdAt"))
    except FetchError:
        return indexed
    return min(created, indexed)


_time = partial(utc, platform="Bluesky")
"""Bluesky's RFC 3339 times as aware UTC."""


def _did_of(uri: str) -> str:
    """`at://<did>/app.bsky.feed.post/<rkey>` → `<did>`."""
    return uri.removeprefix("at://").split("/", 1)[0]


def _expired(error: FetchError) -> bool:
    """A session token past its time: 401, or XRPC's 400 `ExpiredToken` / `InvalidToken`."""
    text = str(error)
    return error.status == 401 or (error.status == 400 and ("ExpiredToken" in text or "InvalidToken" in text))


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise FetchError(f"Bluesky answered {what} with something that is not an XRPC object")
    return data


def _field(data: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise FetchError(f"Bluesky answered {what} without {key!r}")
    return value
