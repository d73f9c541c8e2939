"""Threads (Meta) through the Threads API, with the profile's own Threads user token.

What one poll asks (`https://graph.threads.net/v1.0`, the token in the `Authorization` header):

- `/{user-id}?fields=id,username` and `/{user-id}/threads_insights?metric=followers_count`.
- `/{user-id}/threads` back to the horizon, every cycle: the profile's posts, its
  broadcasts (its reposts of others, `REPOST_FACADE`, are neither broadcasts nor kept).
- `/{user-id}/replies` back to the horizon, every cycle: the profile's own replies,
  wherever they are: its answers to mentions in other people's threads, and the
  `has_replies` of its answers in its own threads.
- `/{user-id}/mentions` back to the horizon: public posts that @mention the profile.
  It needs `threads_manage_mentions` (with Advanced Access, else only the app's testers'
  mentions come back); refused, mentions are not measured.
- For a thread `ThreadWatch` finds due, `/{id}/insights?metric=likes,replies,reposts,quotes`
  (its counters) and `/{id}/conversation?reverse=false` (every reply at every depth,
  each naming `replied_to` and `root_post`).

Threads lists no counter with a post: each post's counters are one insights request.
So a thread's counters and conversation are read together, when the thread is new,
when its post or one of the profile's replies in it gets its first reply
(`has_replies`, which every listing carries), and when it was last read longer ago than
`thread_refresh`: more replies to a post that had some are found at the next refresh.
Without `threads_manage_insights` the insights are refused: then no followers, likes,
reposts or quotes, and the replies are still read.

Authors: the profile's own replies say `is_reply_owned_by_me`; everyone else is
`@username`, which Threads gives for public profiles only; a private profile's reply
counts as by one unknown member. The Threads API has no cursor `next` link: lists page
on `paging.cursors.after` until a page comes back empty.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from twoway.collectors.graph import (
    UNKNOWN_AUTHOR,
    Graph,
    Rereads,
    advice,
    base_url,
    graph_time,
    is_refusal,
    text_parts,
    vanished,
)
from twoway.model import Account, Batch, Counters, Part, Post
from twoway.plugin.cycle import Cycle
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["ADVICE", "ThreadsCollector", "parse_counters", "parse_post"]

HOST = "https://graph.threads.net"
VERSION = "v1.0"
POST_FIELDS = "id,text,timestamp,permalink,username,media_type,is_quote_post,has_replies,replied_to,root_post"
REPLY_FIELDS = f"{POST_FIELDS},is_reply_owned_by_me,hide_status"
METRICS = "likes,replies,reposts,quotes"
EARLIEST = datetime.fromtimestamp(1688540400, timezone.utc)
"""The earliest `since` the Threads API accepts (its launch, July 2023)."""
REPLIES: frozenset[Part] = frozenset({"replies", "responses"})
COUNTED: frozenset[Part] = frozenset({"reposts", "quotes", "likes"})
MENTIONS: frozenset[Part] = frozenset({"mentions"})

ADVICE = advice(
    "Threads token expired or revoked: refresh it before its 60 days are over "
    "(GET https://graph.threads.net/refresh_access_token) or make a new one at https://developers.facebook.com/apps",
    "this endpoint needs the threads_basic / threads_read_replies / threads_manage_insights permission",
)


class ThreadsCollector:
    """One Threads profile: its posts, their conversations and counters, its mentions."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.user_id = str(context.option("user_id"))

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        base = base_url(self.context.option("api"), HOST, VERSION)
        graph = Graph(self.context, base, self.context.secret("token"), ADVICE)
        return await _Cycle(self, graph, CursorState.load(cursor), now).run()


class _Cycle(Cycle):
    """A Threads poll, reading no further back than the API lets it."""

    platform = "threads"

    def __init__(self, collector: ThreadsCollector, graph: Graph, state: CursorState, now: datetime) -> None:
        super().__init__(collector.context, state, now)
        self.user_id = collector.user_id
        self.graph = graph
        self.since = max(self.since, EARLIEST)
        self.authors = _Authors(self.user_id, "")

    async def run(self) -> Batch:
        me = await self.graph.get(f"/{self.user_id}", {"fields": "id,username"})
        org = str(me.get("id") or self.user_id)
        self.authors = _Authors(org, str(me.get("username") or ""))
        followers = await self.insights(f"/{org}/threads_insights", "followers_count")
        counted = followers is not None  # one permission, threads_manage_insights, gives both

        listed = await self.listing(f"/{org}/threads", POST_FIELDS)
        threads = [t for t in listed if t.get("media_type") != "REPOST_FACADE"]
        own = {item["id"]: item for item in [*threads, *await self.listing(f"/{org}/replies", REPLY_FIELDS)]}
        for item in own.values():
            self.add(item, own=True)
        self.deleted |= vanished(self.state.data.get("own", {}), own, self.since)
        self.state.data["own"] = {pid: graph_time(item["timestamp"]).timestamp() for pid, item in own.items()}
        mentioned = await self.mentions(org)
        parts = REPLIES | (COUNTED if counted else frozenset()) | (MENTIONS if mentioned else frozenset())

        counters = []
        rereads = Rereads(self.state, self.now, self.context.thread_refresh)
        for top in (t["id"] for t in threads):
            flags = sorted(f"{p['id']}:{p.get('has_replies')}" for p in own.values() if _root(p) == top)
            if rereads.due(top, ",".join(flags)):
                if counted:
                    counters.append(parse_counters(top, await self.insights(f"/{top}/insights", METRICS), self.now))
                found = [self.add(r) for r in await self.conversation(top)]
                self.deleted |= rereads.done(top, ",".join(flags), (p.id for p in found))
        rereads.keep({t["id"] for t in threads})

        return self.batch(
            counters=counters,
            accounts=self.authors.accounts(self.context.also),
            followers=(followers or {}).get("followers_count"),
            measures=parts,
        )

    async def listing(self, path: str, fields: str) -> list[dict[str, Any]]:
        params = {"fields": fields, "since": int(self.since.timestamp())}
        return await self.graph.items(path, params, since=self.since, time_key="timestamp", cursor_only=True)

    async def insights(self, path: str, metrics: str) -> dict[str, int] | None:
        """Metric name → value; None when the token lacks `threads_manage_insights`."""
        try:
            data = await self.graph.get(path, {"metric": metrics})
        except FetchError as error:
            if is_refusal(error):
                return None
            raise
        return _metric_values(data)

    async def mentions(self, org: str) -> bool:
        """Adds the posts that mention the profile; False when the token may not read them."""
        try:
            items = await self.listing(f"/{org}/mentions", REPLY_FIELDS)
        except FetchError as error:
            if is_refusal(error):
                return False
            raise
        for item in items:
            post = self.add(item)
            self.posts[post.id] = post._replace(mentions_source=True)
        self.deleted |= vanished(self.state.data.get("mentions", {}), (m["id"] for m in items), self.since)
        self.state.data["mentions"] = {m["id"]: graph_time(m["timestamp"]).timestamp() for m in items}
        return True

    async def conversation(self, root: str) -> list[dict[str, Any]]:
        """Every reply under a thread, at every depth, oldest first; replies the profile hid are left out."""
        params = {"fields": REPLY_FIELDS, "reverse": "false"}
        replies = await self.graph.items(f"/{root}/conversation", params, cursor_only=True)
        return [r for r in replies if r.get("hide_status") != "HIDDEN"]

    def add(self, item: dict[str, Any], *, own: bool = False) -> Post:
        post = parse_post(item, self.authors, own=own)
        self.posts[post.id] = post
        return post


class _Authors:
    """The profile by `is_reply_owned_by_me` or its username; everyone else by username."""

    def __init__(self, org: str, username: str) -> None:
        self.org = org
        self.username = username.lower()

    def of(self, item: dict[str, Any], *, own: bool = False) -> str:
        name = str(item.get("username") or "").lower()
        if own or item.get("is_reply_owned_by_me") or (name and name == self.username):
            return self.org
        return f"@{name}" if name else UNKNOWN_AUTHOR

    def accounts(self, also: tuple[str, ...]) -> tuple[Account, ...]:
        staff = (Account(f"@{h.lstrip('@').lower()}", h.lstrip("@").lower(), f"threads:{h}") for h in also)
        return (Account(self.org, self.username or self.org), *staff)


def parse_post(item: dict[str, Any], authors: _Authors, *, own: bool = False) -> Post:
    """A post or a reply (`own`: listed as the profile's); a reply names its parent (`replied_to`) and
    its thread (`root_post`)."""
    text = str(item.get("text") or "")
    tags, links = text_parts(text)
    parent = item.get("replied_to")
    return Post(
        id=str(item["id"]),
        author_id=authors.of(item, own=own),
        created_at=graph_time(item.get("timestamp")),
        url=str(item.get("permalink") or ""),
        parent_id=str(parent["id"]) if isinstance(parent, dict) and parent.get("id") else None,
        root_id=_root(item),
        text=text,
        hashtags=tags,
        links=links,
    )


def parse_counters(post_id: str, metrics: dict[str, int] | None, now: datetime) -> Counters:
    values = metrics or {}
    return Counters(
        post_id, now, replies=values.get("replies"), reposts=values.get("reposts"),
        quotes=values.get("quotes"), likes=values.get("likes"),
    )


def _root(item: dict[str, Any]) -> str:
    root = item.get("root_post")
    return str(root["id"]) if isinstance(root, dict) and root.get("id") else str(item["id"])


def _metric_values(data: dict[str, Any]) -> dict[str, int]:
    """Insights as name → value: `total_value.value` (user metrics) or the last of `values` (media metrics)."""
    found: dict[str, int] = {}
    for metric in data.get("data") or []:
        if not isinstance(metric, dict) or not metric.get("name"):
            continue
        total = metric.get("total_value")
        values = metric.get("values")
        value = total.get("value") if isinstance(total, dict) else values[-1].get("value") if values else None
        if isinstance(value, int) and not isinstance(value, bool):
            found[str(metric["name"])] = value
    return found
