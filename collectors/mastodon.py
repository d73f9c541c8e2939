"""Mastodon and servers speaking its client API (GoToSocial, Akkoma/Pleroma).

What one poll asks (all `GET`, `Authorization: Bearer` only when a token is set):

- `/api/v1/accounts/lookup?acct=` for the source account (its id and `followers_count`)
  and for every staff handle in `[organization] also` (a handle the server does not
  know answers 404 and is skipped: lookup does no WebFinger).
- `/api/v1/accounts/:id/statuses?exclude_replies=false`, newest first, paged with
  `max_id` from the `Link: rel="next"` header, back to `horizon`, every cycle: the
  organization's broadcasts, self-threads and replies, with their counters
  (`replies_count`, `reblogs_count`, `favourites_count`, `quotes_count` on 4.5+).
  The organization's boosts are emitted as reposts (`is_repost`) and as its own
  `Reaction` on the boosted post, so the store leaves a boost of its own post out of
  `reposts`.
- `/api/v1/statuses/:id/context` for a thread's top status, only when `ThreadWatch`
  says so: the thread's signature (the `replies_count` of the organization's posts in
  it) moved, a mention notification points into it, or `thread_refresh` has passed,
  since a reply under a community reply moves no counter of ours. An organization
  reply whose thread is not yet known costs one more context read, on itself, to find
  its top (`ancestors[0]`).
- With a token: `/api/v1/notifications?types[]=mention`, since the newest one seen.
  A mention's status is a community post naming the source; when it replies to
  something, its thread is read too, so the store places it (a mention that is also a
  reply in an organization thread counts once, as a reply).

What it cannot measure: mentions without a token (a public API has no way to find
posts naming an account; `measures` then leaves `mentions` out); views or impressions
(Mastodon has none); quotes before Mastodon 4.5 (no `quotes_count`); who liked or
boosted (skipped: one more request per post, and the organization rarely likes its own).
Counters are what this server knows: replies and boosts from servers it never heard
from are missing. An anonymous context read is capped by Mastodon (4.0+) at 60
descendants and depth 20 (a token lifts it to 4096); a capped read never marks replies
deleted. Deleted posts: an organization post missing from the listing inside the
horizon, a thread top whose context answers 404, or a reply gone from a re-read thread.
GoToSocial answers every read with 401 without a token; Akkoma may too
(`restrict_unauthenticated`).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import utc, whole
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["MastodonCollector", "parse_status", "plain_text"]

PAGE = 40
"""Statuses and notifications per page: Mastodon's maximum for statuses."""
PUBLIC_CONTEXT_CAP = 60
"""Descendants an anonymous context read returns at most (Mastodon 4.0+)."""
TOKEN_CONTEXT_CAP = 4096
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";,]+)"?')


class MastodonCollector:
    """One Mastodon source: the account's own posts, their threads, and (with a token) mentions."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.api = f"{str(context.option('instance')).rstrip('/')}/api/v1"
        self.account = str(context.option("account")).lstrip("@")

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        state = CursorState.load(cursor)
        cycle = _Cycle(self, state, now, self.context.secret("token"))
        return await cycle.run()


class _Cycle(Cycle):
    """A Mastodon poll: the thread top of every status it placed, and the threads it read."""

    platform = "mastodon"

    def __init__(self, collector: MastodonCollector, state: CursorState, now: datetime, token: str | None) -> None:
        super().__init__(collector.context, state, now)
        self.collector = collector
        self.api = collector.api
        self.token = token
        self.org_id = ""
        self.seen: dict[str, list[str]] = state.data.get("seen", {})
        """Thread top → the ids its last full read returned, to notice replies that vanished."""
        self.root_of: dict[str, str] = {pid: root for root, ids in self.seen.items() for pid in ids}
        self.root_of.update({pid: v[0] for pid, v in state.data.get("own", {}).items()})
        self.watch = state.threads()
        self.read: set[str] = set()
        """Threads read this cycle."""

    async def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str]:
        """The JSON answer and its `Link` header."""
        response = await self.context.http.get(f"{self.api}{path}", params=params, token=self.token)
        return response.json(), response.headers.get("link", "")

    async def run(self) -> Batch:
        me = await self.lookup(self.collector.account)
        if me is None:
            raise FetchError(f"account {self.collector.account!r} not found on {self.api.removesuffix('/api/v1')}")
        self.org_id = str(me["id"])
        accounts = [Account(self.org_id, str(me.get("acct", self.collector.account)), "source")]
        for handle in self.context.also:
            staff = await self.lookup(handle.lstrip("@"))
            if staff is not None:
                accounts.append(Account(str(staff["id"]), str(staff.get("acct", handle)), f"mastodon:{handle}"))

        listing = await self.own_statuses()
        own, reactions, counters = self.read_own(listing)
        # Threads already known first: their reads place most new replies without a context call of their own.
        await self.visit({self.root_of[s["id"]] for s in own if s["id"] in self.root_of}, own, set())
        pointed = await self.mentions() if self.token else set()
        for status in own:
            sid, parent = status["id"], str(status.get("in_reply_to_id") or "")
            if sid not in self.root_of:
                self.root_of[sid] = self.root_of.get(parent) or await self.locate(status)
        threads = {self.root_of[s["id"]] for s in own}
        await self.visit(threads | pointed, own, pointed)
        for root in self.read:
            self.watch.read(root, self.signature(root, own), self.now)
        for status in own:  # the listing's copy and its root win over any context's
            self.add(status, self.root_of[status["id"]])

        keep = (threads | pointed) - self.deleted
        self.watch.forget_older(keep)
        self.state.data.update(
            polled=True,
            own={s["id"]: [self.root_of[s["id"]], int(_time(s["created_at"]).timestamp())] for s in own},
            seen={root: ids for root, ids in self.seen.items() if root in keep},
        )
        return self.batch(
            counters=counters,
            reactions=reactions,
            accounts=accounts,
            followers=whole(me.get("followers_count")),
            measures=self.measures(listing),
        )

    def measures(self, listing: list[dict[str, Any]]) -> frozenset[Part]:
        """Quotes where the server counts them (Mastodon 4.5+), mentions with a token."""
        if listing:
            self.state.data["quotes"] = any("quotes_count" in s for s in listing)
        parts: set[Part] = {"replies", "responses", "reposts", "likes"}
        if self.state.data.get("quotes"):
            parts.add("quotes")
        if self.token:
            parts.add("mentions")
        return frozenset(parts)

    async def visit(self, roots: set[str], own: list[dict[str, Any]], pointed: set[str]) -> None:
        """Reads each thread `ThreadWatch` says is due and this cycle has not read yet."""
        refresh = self.context.thread_refresh
        for root in sorted(roots - self.read):
            if self.watch.due(root, self.signature(root, own), self.now, refresh, pointed=root in pointed):
                await self.read_thread(root)
                self.read.add(root)

    async def lookup(self, acct: str) -> dict[str, Any] | None:
        """The account, or None when this server does not know it."""
        try:
            data, _ = await self.get("/accounts/lookup", {"acct": acct})
        except FetchError as e:
            if e.status == 404:
                return None
            raise
        if not isinstance(data, dict) or "id" not in data:
            raise FetchError(f"{self.api}/accounts/lookup: answered something other than an account")
        return data

    async def own_statuses(self) -> list[dict[str, Any]]:
        """The account's statuses younger than the horizon, replies and boosts included."""
        statuses: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": PAGE, "exclude_replies": "false"}
        while True:
            page, link = await self.get(f"/accounts/{quote(self.org_id)}/statuses", params)
            page = _list(page, f"{self.api}/accounts/{self.org_id}/statuses")
            recent = [s for s in page if _time(s["created_at"]) >= self.since]
            statuses += recent
            max_id = _next(link, "max_id")
            if len(recent) < len(page) or not page or max_id is None:
                return statuses
            if max_id == params.get("max_id"):  # the same page again would page forever
                raise FetchError(f"{self.api}/accounts/{self.org_id}/statuses: the Link header repeats the same page")
            params = {**params, "max_id": max_id}

    def read_own(self, listing: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Reaction], list[Counters]]:
        """The organization's own statuses, with the thread tops already known; its boosts as reposts."""
        own, reactions, counters = [], [], []
        for status in reversed(listing):  # oldest first: a self-thread's parent comes before its replies
            if status.get("visibility") == "direct":
                continue  # a private message is not social communication, and not ours to count
            boosted = status.get("reblog")
            if boosted:
                self.posts[status["id"]] = Post(
                    str(status["id"]), self.org_id, _time(status["created_at"]), str(boosted.get("url") or ""),
                    root_id=str(status["id"]), is_repost=True,
                )
                reactions.append(Reaction(str(boosted["id"]), "reposts", self.org_id))
                continue
            own.append(status)
            counters.append(_counters(status, self.now))
            sid, parent = status["id"], str(status.get("in_reply_to_id") or "")
            if not parent:
                self.root_of[sid] = sid
            elif sid not in self.root_of and parent in self.root_of:  # a self-thread, or under a known reply
                self.root_of[sid] = self.root_of[parent]
        listed = {s["id"] for s in own}
        cutoff = self.since.timestamp()
        for pid, (_, created) in self.state.data.get("own", {}).items():
            if created >= cutoff and pid not in listed:
                self.deleted.add(pid)
        return own, reactions, counters

    def signature(self, root: str, own: list[dict[str, Any]]) -> str:
        """The reply counts of the organization's posts in a thread: a new reply to any of them moves it."""
        return ",".join(sorted(f"{s['id']}:{s.get('replies_count')}" for s in own if self.root_of.get(s["id"]) == root))

    async def locate(self, status: dict[str, Any]) -> str:
        """The top of a status's conversation, from its own context (ancestors[0])."""
        if not status.get("in_reply_to_id"):
            return str(status["id"])
        context = await self.context_of(str(status["id"]))
        if context is None:
            return str(status["in_reply_to_id"])  # gone since it was listed; its parent is the best guess
        ancestors, descendants = context
        root = str(ancestors[0]["id"]) if ancestors else str(status["id"])
        for item in [*ancestors, status, *descendants]:
            self.add(item, root)
            self.root_of[str(item["id"])] = root
        return root

    async def mentions(self) -> set[str]:
        """New mention notifications as posts; returns the threads they point into."""
        newest = self.state.data.get("notes")
        params: dict[str, Any] = {"types[]": "mention", "limit": PAGE, "since_id": newest}
        pointed: set[str] = set()
        first = True
        while True:
            page, link = await self.get("/notifications", params)
            page = _list(page, f"{self.api}/notifications")
            if first and page:
                self.state.data["notes"] = str(page[0]["id"])
            first = False
            old = False
            for note in page:
                old = old or _time(note["created_at"]) < self.since
                status = note.get("status")  # null when the post was deleted or is hidden from us
                if note.get("type") != "mention" or not isinstance(status, dict) or old:
                    continue
                sid, parent = str(status["id"]), status.get("in_reply_to_id")
                if not parent:
                    self.root_of[sid] = sid  # an organization answer to it then needs no context call to place
                    self.add(status, sid, mentions_source=True)
                    continue
                root = self.root_of.get(sid) or self.root_of.get(str(parent)) or await self.locate(status)
                self.root_of[sid] = root
                self.add(status, root, mentions_source=True)
                pointed.add(root)
            max_id = _next(link, "max_id")
            if old or not page or max_id is None or max_id == params.get("max_id"):
                return pointed
            params = {**params, "max_id": max_id}

    async def context_of(self, sid: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """A status's ancestors and descendants, or None when it is gone (404)."""
        try:
            data, _ = await self.get(f"/statuses/{quote(sid)}/context")
        except FetchError as e:
            if e.status in (404, 410):
                return None
            raise
        if not isinstance(data, dict):
            raise FetchError(f"{self.api}/statuses/{sid}/context: answered something other than a context")
        where = f"{self.api}/statuses/{sid}/context"
        return _list(data.get("ancestors", []), where), _list(data.get("descendants", []), where)

    async def read_thread(self, root: str) -> None:
        context = await self.context_of(root)
        if context is None:
            self.deleted.add(root)
            self.seen.pop(root, None)
            return
        ancestors, descendants = context
        top = str(ancestors[0]["id"]) if ancestors else root
        for status in [*ancestors, *descendants]:
            self.add(status, top)
        ids = [str(s["id"]) for s in descendants]
        cap = TOKEN_CONTEXT_CAP if self.token else PUBLIC_CONTEXT_CAP
        if len(descendants) < cap:  # a capped read may leave replies out that still exist
            self.deleted.update(set(self.seen.get(root, [])) - set(ids))
        self.seen[root] = ids
        self.root_of.update(dict.fromkeys(ids, top))

    def add(self, status: dict[str, Any], root: str, *, mentions_source: bool = False) -> None:
        post = parse_status(status, self.org_id, root)
        if mentions_source and not post.mentions_source:
            post = post._replace(mentions_source=True)
        self.posts[post.id] = post


def parse_status(status: dict[str, Any], source_id: str, root: str | None = None) -> Post:
    """One status as a `Post`: the latest edit's text without markup, its hashtags and links."""
    sid = str(status["id"])
    parent = status.get("in_reply_to_id")
    text, links = plain_text(str(status.get("content") or ""))
    card = status.get("card") or {}
    if isinstance(card, dict) and card.get("url"):
        links.append(str(card["url"]))
    tags = tuple(str(t["name"]) for t in status.get("tags") or [] if isinstance(t, dict) and t.get("name"))
    mentioned = {str(m.get("id")) for m in status.get("mentions") or [] if isinstance(m, dict)}
    spoiler = str(status.get("spoiler_text") or "").strip()
    return Post(
        id=sid,
        author_id=str(status["account"]["id"]),
        created_at=_time(status["created_at"]),
        url=str(status.get("url") or status.get("uri") or ""),
        parent_id=str(parent) if parent else None,
        root_id=root or (None if parent else sid),
        text=f"{spoiler}\n\n{text}" if spoiler else text,
        hashtags=tags,
        links=tuple(dict.fromkeys(links)),
        mentions_source=source_id in mentioned,
    )


class _Text(HTMLParser):
    """Mastodon's sanitized HTML to plain text; links other than mentions and hashtags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")
        elif tag == "a":
            values = dict(attrs)
            kinds = f"{values.get('class') or ''} {values.get('rel') or ''}".split()
            href = values.get("href") or ""
            if href.startswith(("http://", "https://")) and not {"mention", "hashtag", "tag"} & set(kinds):
                self.links.append(href)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> tuple[str, list[str]]:
    """(text, links) of a status's HTML content."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    return "\n".join(line.strip() for line in lines).strip(), parser.links


def _counters(status: dict[str, Any], now: datetime) -> Counters:
    return Counters(
        str(status["id"]),
        now,
        replies=whole(status.get("replies_count")),
        reposts=whole(status.get("reblogs_count")),
        quotes=whole(status.get("quotes_count")),
        likes=whole(status.get("favourites_count")),
    )


_time = partial(utc, platform="Mastodon")
"""Mastodon's RFC 3339 times as aware UTC."""


def _list(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) and "id" in v for v in value):
        raise FetchError(f"{where}: answered something other than a list of records")
    for item in value:
        item["id"] = str(item["id"])
    return value


def _next(link: str, key: str) -> str | None:
    """A parameter of the `Link: rel="next"` URL (RFC 8288)."""
    for url, rel in _LINK.findall(link):
        if rel.strip() == "next":
            values = parse_qs(urlsplit(url).query).get(key)
            return values[0] if values else None
    return None
