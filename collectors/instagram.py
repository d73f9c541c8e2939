"""Instagram professional accounts (Business or Creator) through the Instagram Graph API.

The token is either a Facebook Login token (host `graph.facebook.com`, the default) or
an Instagram Login token (`api = "https://graph.instagram.com/v21.0"`); the calls are
the same. What one poll asks:

- `/{ig-user-id}?fields=id,username,followers_count`: the account and its followers.
- `/{ig-user-id}/media`, newest first, paged back to the horizon, every cycle: the
  account's posts and reels (its broadcasts) with `comments_count` and `like_count`.
- `/{ig-media-id}/comments` with each comment's `replies{...}`, only when `ThreadWatch`
  says so: the post's `comments_count` (comments and their replies) moved, or
  `thread_refresh` has passed. Instagram nests one level: a reply answers a comment.
  When a comment has more replies than the nested page holds, `/{comment-id}/replies`.

The organization: a comment whose author is the account (`from.id`/`user.id` is the
IG user id, or `username` is the account's) is the account's. Everyone else is
`@username`, which Graph sends on every comment it was asked for (`from` it leaves out
of some), so `also` staff are matched by username too; a comment without either
counts as by one unknown member.

Not measured: mentions. `/{ig-user-id}/tags` lists media in which others *tagged* the
account (a photo tag marks who appears in a picture, not a message to the account), and
the account's answers on other people's media cannot be read at all, so every tag would
wait forever in the staff's to-do list. Real @mentions in captions and comments reach
apps only through the `mentions` webhook. Reposts and quotes: Instagram has none in the
API (shares are per-post insights, one request per post per cycle). A hidden like count
(`like_count` absent) is not observed, never 0. Hidden comments are left out.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twoway.collectors.graph import UNKNOWN_AUTHOR, Graph, Rereads, advice, base_url, graph_time, text_parts, vanished
from twoway.model import Account, Batch, Counters, Part, Post
from twoway.plugin.fields import whole
from twoway.plugin.protocol import CursorState

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["ADVICE", "Authors", "InstagramCollector", "parse_comment", "parse_counters", "parse_media"]

HOST = "https://graph.facebook.com"
MEDIA_FIELDS = "id,caption,timestamp,permalink,comments_count,like_count,media_product_type,media_type"
REPLY_FIELDS = "id,text,timestamp,username,from,parent_id,hidden"
COMMENT_FIELDS = f"{REPLY_FIELDS},replies{{{REPLY_FIELDS}}}"
MEASURES: frozenset[Part] = frozenset({"replies", "responses", "likes"})

ADVICE = {
    **advice(
        "Instagram token expired or revoked: renew it at https://developers.facebook.com/tools/explorer "
        "(Instagram Login tokens: refresh them every 60 days)",
        "this endpoint needs the instagram_basic / instagram_manage_comments permission "
        "(instagram_business_basic / instagram_business_manage_comments with Instagram Login)",
    ),
    "100": "check user_id: it must be the id of the Instagram professional account this token can read",
}


class InstagramCollector:
    """One Instagram professional account: its media and their comments."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.user_id = str(context.option("user_id"))

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        state = CursorState.load(cursor)
        since = state.since(now, self.context.horizon)
        graph = Graph(self.context, base_url(self.context.option("api"), HOST), self.context.secret("token"), ADVICE)
        me = await graph.get(f"/{self.user_id}", {"fields": "id,username,followers_count"})
        who = Authors(str(me.get("id") or self.user_id), str(me.get("username") or ""), self.context.also)

        media = await graph.items(f"/{who.org}/media", {"fields": MEDIA_FIELDS}, since=since, time_key="timestamp")
        posts = {m["id"]: parse_media(m, who.org) for m in media}
        deleted = vanished(state.data.get("own", {}), posts, since)
        state.data["own"] = {pid: post.created_at.timestamp() for pid, post in posts.items()}

        rereads = Rereads(state, now, self.context.thread_refresh)
        for item in media:
            signature = str(item.get("comments_count"))
            if rereads.due(item["id"], signature):
                found = await self._conversation(graph, item, who)
                posts.update((c.id, c) for c in found)
                deleted |= rereads.done(item["id"], signature, (c.id for c in found))
        rereads.keep(set(state.data["own"]))

        return Batch(
            source_id=self.context.source.id,
            platform="instagram",
            polled_at=now,
            posts=tuple(posts.values()),
            counters=tuple(parse_counters(m, now) for m in media),
            accounts=who.accounts(),
            deleted=tuple(sorted(deleted)),
            followers=whole(me.get("followers_count")),
            measures=MEASURES,
            cursor=state.dump(),
        )

    async def _conversation(self, graph: Graph, media: dict[str, Any], who: Authors) -> list[Post]:
        """Every visible comment of a post and every reply under them."""
        url = str(media.get("permalink") or "")
        found: list[Post] = []
        for comment in await graph.items(f"/{media['id']}/comments", {"fields": COMMENT_FIELDS}):
            if comment.get("hidden"):
                continue
            nested = comment.get("replies")
            nested = nested if isinstance(nested, dict) else {}
            replies = nested.get("data") or []
            if (nested.get("paging") or {}).get("next"):  # more replies than the nested page holds
                replies = await graph.items(f"/{comment['id']}/replies", {"fields": REPLY_FIELDS})
            found.append(parse_comment(comment, media["id"], url, who))
            shown = (r for r in replies if not r.get("hidden"))
            found += [parse_comment(r, media["id"], url, who, parent=comment["id"]) for r in shown]
        return found


class Authors:
    """Who wrote what: the account by its id or username, everyone else (`also` staff too) by username."""

    def __init__(self, org: str, username: str, also: tuple[str, ...] = ()) -> None:
        self.org = org
        self.username = username.lower()
        self.staff = {handle.lstrip("@").lower(): handle for handle in also}
        named = rf"(?<![\w.])@{re.escape(self.username)}(?!\w|\.\w)"  # a username may hold dots, never end in one
        self.named = re.compile(named, re.IGNORECASE) if username else None

    def of(self, item: dict[str, Any]) -> str:
        ids = [str(k["id"]) for k in (item.get("from"), item.get("user")) if isinstance(k, dict) and k.get("id")]
        name = str(item.get("username") or (item.get("from") or {}).get("username") or "").lower()
        if self.org in ids or (name and name == self.username):
            return self.org
        if name:  # Graph always sends `username`, `from` not always: one person, one id
            return f"@{name}"
        return ids[0] if ids else UNKNOWN_AUTHOR

    def accounts(self) -> tuple[Account, ...]:
        staff = (Account(f"@{name}", name, f"instagram:{handle}") for name, handle in self.staff.items())
        return (Account(self.org, self.username or self.org), *staff)


def parse_media(item: dict[str, Any], org: str) -> Post:
    """One of the account's posts or reels: a broadcast, its caption as text."""
    text = str(item.get("caption") or "")
    tags, links = text_parts(text)
    return Post(
        id=str(item["id"]),
        author_id=org,
        created_at=graph_time(item.get("timestamp")),
        url=str(item.get("permalink") or ""),
        root_id=str(item["id"]),
        text=text,
        hashtags=tags,
        links=links,
    )


def parse_comment(
    item: dict[str, Any], media_id: str, url: str, who: Authors, *, parent: str | None = None
) -> Post:
    """A comment on a post (`parent` None) or a reply to a comment; its link is the post's (comments have none)."""
    text = str(item.get("text") or "")
    tags, links = text_parts(text)
    return Post(
        id=str(item["id"]),
        author_id=who.of(item),
        created_at=graph_time(item.get("timestamp")),
        url=url,
        parent_id=str(item.get("parent_id") or parent or media_id),
        root_id=media_id,
        text=text,
        hashtags=tags,
        links=links,
        mentions_source=bool(who.named and who.named.search(text)),
    )


def parse_counters(item: dict[str, Any], now: datetime) -> Counters:
    """Comments (with their replies) and likes; a like count the owner hid is absent: not observed."""
    replies, likes = whole(item.get("comments_count")), whole(item.get("like_count"))
    return Counters(str(item["id"]), now, replies=replies, likes=likes)
