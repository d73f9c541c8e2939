"""Facebook Pages through the Graph API, with a Page access token.

What one poll asks (all `GET`, the token in the `Authorization` header):

- `/{page-id}?fields=id,name,username,followers_count,fan_count`: the Page's id and followers.
- `/{page-id}/published_posts`, newest first, paged back to the horizon, every cycle:
  the Page's broadcasts with their counters: `comments.filter(stream).summary(true)`
  (every comment at any depth), `shares`, `reactions.summary(true)` (all reaction types).
- `/{post-id}/comments?filter=stream&order=chronological` for a post only when
  `ThreadWatch` says so: its comment count moved, or `thread_refresh` has passed. A
  stream read is the whole conversation, flat, every comment naming its `parent`.
  The Page's own comments (`from.id` = the Page) are its responses.
- `/{page-id}/tagged`: public posts that tag the Page, each a mention; their comment
  counts say when to read their comments, where the Page may have answered. Without
  `pages_read_user_content` Graph refuses it and mentions are not measured.

Authors: Meta gives the author of a comment (`from`) only to a Page token with
`pages_read_user_content`, and never the author of a person's post on `/tagged`. A
comment or post without `from` is kept as a community message by one unknown member
(`UNKNOWN_AUTHOR`): replies, mentions and responses stay right, `voices` counts every
withheld author as one. The Page's own comments always name the Page.

Ids: Graph withholds comment ids from apps that only have Page Public Content Access;
such a comment's id and parent are taken from its `permalink_url` (`comment_id`,
`reply_comment_id`). Hidden comments (the Page hid them) are left out: moderated, not
waiting for an answer. `shares` is absent from a post nobody shared: 0.

It cannot measure quotes (Facebook has none), who reacted (one more request per post),
@mentions of the Page in comments on other posts, or visitor posts (`/feed`), which
name no one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

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
from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import whole
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["ADVICE", "FacebookCollector", "parse_comment", "parse_counters", "parse_post"]

HOST = "https://graph.facebook.com"
STREAM_COUNT = "comments.filter(stream).limit(0).summary(true)"
"""Every comment of a post at any depth, counted: the signature of its conversation."""
POST_FIELDS = (
    f"id,message,created_time,permalink_url,parent_id,attachments{{unshimmed_url}},"
    f"shares,{STREAM_COUNT},reactions.limit(0).summary(true)"
)
TAGGED_FIELDS = f"id,message,created_time,permalink_url,from{{id}},message_tags,{STREAM_COUNT}"
COMMENT_FIELDS = "id,from{id},message,created_time,parent{id},permalink_url,is_hidden,message_tags"
MEASURES: frozenset[Part] = frozenset({"replies", "responses", "reposts", "likes"})

ADVICE = {
    **advice(
        "page token expired or revoked: renew it at https://developers.facebook.com/tools/explorer "
        "(Get Page Access Token)",
        "this endpoint needs the pages_read_engagement / pages_read_user_content permission "
        "and a Page token of someone who can moderate the Page",
    ),
    "100": "check page_id: the Page does not exist or the token cannot read it (it needs pages_read_engagement)",
}


class FacebookCollector:
    """One Facebook Page: its posts, their comments, and the posts that tag it."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.page_id = str(context.option("page_id"))

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        base = base_url(self.context.option("api"), HOST, self.context.option("api_version"))
        graph = Graph(self.context, base, self.context.secret("token"), ADVICE)
        return await _Cycle(self, graph, CursorState.load(cursor), now).run()


class _Cycle(Cycle):
    """A Page's poll through Graph, and the conversations it re-reads."""

    platform = "facebook"

    def __init__(self, collector: FacebookCollector, graph: Graph, state: CursorState, now: datetime) -> None:
        super().__init__(collector.context, state, now)
        self.page_id = collector.page_id
        self.graph = graph
        self.rereads = Rereads(state, now, self.context.thread_refresh)

    async def run(self) -> Batch:
        page = await self.graph.get(f"/{self.page_id}", {"fields": "id,name,username,followers_count,fan_count"})
        org = str(page.get("id") or self.page_id)
        accounts = [Account(org, str(page.get("username") or page.get("name") or org))]
        accounts += [Account(handle, handle, f"facebook:{handle}") for handle in self.context.also]

        since = {"since": int(self.since.timestamp())}
        listing = await self.graph.items(f"/{org}/published_posts", {"fields": POST_FIELDS, **since}, since=self.since)
        counters, reactions = [], []
        for item in listing:
            post = parse_post(item, org)
            self.posts[post.id] = post
            if post.is_repost:
                reactions.append(Reaction(str(item["parent_id"]), "reposts", org))
            else:
                counters.append(parse_counters(item, self.now))
        tagged = await self.tagged(org)

        own = {p["id"]: p for p in listing if not self.posts[p["id"]].is_repost}
        theirs = {t["id"]: t for t in tagged or []}
        for pid, item in {**own, **theirs}.items():
            signature = str(_total(item.get("comments")))
            if self.rereads.due(pid, signature):
                await self.read_comments(pid, org, signature, mention=pid in theirs)
        self.rereads.keep(set(own) | set(theirs))

        self.deleted |= vanished(self.state.data.get("own", {}), (p["id"] for p in listing), self.since)
        self.state.data["own"] = {p["id"]: graph_time(p["created_time"]).timestamp() for p in listing}
        if tagged is not None:
            self.deleted |= vanished(self.state.data.get("tagged", {}), theirs, self.since)
            self.state.data["tagged"] = {t["id"]: graph_time(t["created_time"]).timestamp() for t in tagged}
        return self.batch(
            counters=counters,
            reactions=reactions,
            accounts=accounts,
            followers=whole(page.get("followers_count")) if "followers_count" in page else whole(page.get("fan_count")),
            measures=MEASURES | {"mentions"} if tagged is not None else MEASURES,
        )

    async def tagged(self, org: str) -> list[dict[str, Any]] | None:
        """Posts tagging the Page, as mentions; None when the token may not read them."""
        try:
            items = await self.graph.items(f"/{org}/tagged", {"fields": TAGGED_FIELDS}, since=self.since)
        except FetchError as error:
            if is_refusal(error):
                return None
            raise
        for item in items:
            post = parse_post(item, org, tagged=True)
            self.posts[post.id] = post
        return items

    async def read_comments(self, pid: str, org: str, signature: str, *, mention: bool) -> None:
        """A post's whole conversation. Someone else's post may refuse us its comments: then nothing vanishes."""
        params = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "chronological"}
        try:
            comments = await self.graph.items(f"/{pid}/comments", params)
        except FetchError as error:
            if not (mention and is_refusal(error)):
                raise
            self.rereads.done(pid, signature, self.rereads.seen.get(pid, ()))
            return
        found = [parse_comment(c, pid, org) for c in comments if not c.get("is_hidden")]
        for comment in found:
            self.posts[comment.id] = comment
        self.deleted |= self.rereads.done(pid, signature, (c.id for c in found))


def parse_post(item: dict[str, Any], page_id: str, *, tagged: bool = False) -> Post:
    """A post of the Page (`published_posts`), or one tagging it (`tagged`, a mention by its `from`).

    A share of another post without words of the Page's own is a repost, not a broadcast.
    """
    text = str(item.get("message") or "")
    tags, links = text_parts(text)
    attached = [
        str(a["unshimmed_url"])
        for a in (item.get("attachments") or {}).get("data") or []
        if isinstance(a, dict) and str(a.get("unshimmed_url") or "").startswith(("http://", "https://"))
    ]
    return Post(
        id=str(item["id"]),
        author_id=_author(item) if tagged else page_id,
        created_at=graph_time(item.get("created_time")),
        url=str(item.get("permalink_url") or ""),
        root_id=str(item["id"]),
        text=text,
        hashtags=tags,
        links=tuple(dict.fromkeys([*links, *attached])),
        mentions_source=tagged or _names(item, page_id),
        is_repost=bool(item.get("parent_id")) and not text.strip(),
    )


def parse_comment(comment: dict[str, Any], post_id: str, page_id: str) -> Post:
    """A comment at any depth of a post's stream: a reply to its parent comment, or to the post."""
    url = str(comment.get("permalink_url") or "")
    cid, parent = _ids(comment, post_id, url)
    text = str(comment.get("message") or "")
    tags, links = text_parts(text)
    return Post(
        id=cid,
        author_id=_author(comment),
        created_at=graph_time(comment.get("created_time")),
        url=url,
        parent_id=parent,
        root_id=post_id,
        text=text,
        hashtags=tags,
        links=links,
        mentions_source=_names(comment, page_id),
    )


def parse_counters(item: dict[str, Any], now: datetime) -> Counters:
    """Comments (all levels), shares (absent: none) and reactions of every type as likes."""
    shares = item.get("shares")
    return Counters(
        str(item["id"]),
        now,
        replies=_total(item.get("comments")),
        reposts=whole(shares.get("count")) if isinstance(shares, dict) else 0,
        likes=_total(item.get("reactions")),
    )


def _ids(comment: dict[str, Any], post_id: str, url: str) -> tuple[str, str]:
    """(id, parent id): Graph's own, else read from the permalink's `comment_id` and `reply_comment_id`."""
    parent = comment.get("parent")
    if comment.get("id"):
        own = str(comment["id"])
        return own, str(parent["id"]) if isinstance(parent, dict) and parent.get("id") else post_id
    query = parse_qs(urlsplit(url).query)
    top, reply = (query.get(key, [""])[0] for key in ("comment_id", "reply_comment_id"))
    if not top:
        raise FetchError(f"Facebook answered a comment of {post_id} with neither an id nor a permalink")
    obj = post_id.rsplit("_", 1)[-1]
    return (f"{obj}_{reply}", f"{obj}_{top}") if reply else (f"{obj}_{top}", post_id)


def _author(item: dict[str, Any]) -> str:
    author = item.get("from")
    return str(author["id"]) if isinstance(author, dict) and author.get("id") else UNKNOWN_AUTHOR


def _names(item: dict[str, Any], page_id: str) -> bool:
    return any(isinstance(t, dict) and str(t.get("id")) == page_id for t in item.get("message_tags") or [])


def _total(edge: Any) -> int | None:
    """An edge's `summary.total_count`, or None when Graph did not count it."""
    summary = edge.get("summary") if isinstance(edge, dict) else None
    return whole(summary.get("total_count")) if isinstance(summary, dict) else None
