"""WordPress sites through the public REST API (`{url}/wp-json/wp/v2/`); no credentials.

What a WordPress site can tell twoway:

- Broadcasts are the site's published posts (title and content as plain text, tags as
  hashtags, `<a href>` links). Community replies and the organization's responses are
  approved comments; `parent` (0 = on the post) gives each its parent, the post is the
  root. The public API lists approved comments only, so held or spam comments never count.
- The organization is every author the site lists (`/wp/v2/users`: users with published
  posts), plus the `also` staff, matched by user slug or name; a staff member with no
  published post is recognized once they comment while logged in, by their display name.
- Comment authors: a registered user is `user:{id}`; a guest (`author` 0) is told apart
  by name and avatar hash (`guest:{name}:{hash}`). Guests are always community.
- It cannot measure mentions (pingbacks need authentication to filter), likes, reposts,
  quotes, followers or views: core WordPress has none (Jetpack's are outside the API).
  `measures` is {replies, responses}.

Calls per cycle: the users list; the posts younger than the horizon (`after=`, paged by
`X-WP-TotalPages`, `_embed=wp:term` inlining the tag names); one "recent comments" query
for every recent post not re-read in full (`post=id1,id2,…&after=` the last poll minus a
day), which finds new comments without reading any thread; and full re-reads, batched
the same way (`post=` up to 100 ids, paged), of threads ThreadWatch finds due: new posts,
threads last read longer ago than `thread_refresh` (catching trashed comments, edits and
comments approved late, whose date lies before the last poll), and threads where a
recent comment answers a comment not seen yet. The post object carries no comment count,
so a full read's count is the `replies` counter.

WordPress compares `after` with the site's local time (`post_date`, `comment_date`), not
UTC, so every bound is moved a day earlier (and to midnight, which keeps the URL stable
for conditional requests) and posts are then cut at the horizon by `date_gmt`.

Ids: a post keeps its WordPress id ("60"); comments live in another table with their own
numbering, so they are `comment-{id}` (WordPress's own anchor), never colliding with posts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from twoway.model import Account, Batch, Counters, Part, Post
from twoway.plugin.fields import utc
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context, CursorState
from twoway.plugin.text import hashtags_in, html_to_text

__all__ = ["WordPressCollector", "comment_author", "comment_post", "post_record"]

MEASURES: frozenset[Part] = frozenset({"replies", "responses"})
MAX_PAGES = 200
"""20,000 posts or comments a listing: more than any horizon of a library's blog holds."""
PER_PAGE = 100
IDS_PER_QUERY = 100
"""Post ids in one `post=` comments query: keeps URLs short."""
LOCAL_TIME_MARGIN = timedelta(days=1)
"""Covers any site's UTC offset in `after=` bounds, which WordPress reads as local time."""

_AVATAR_HASH = re.compile(r"/avatar/([0-9a-fA-F]{32,64})")


_utc = partial(utc, platform="WordPress")
"""`date_gmt` is UTC without a zone."""


def _local_bound(moment: datetime) -> str:
    """An `after=` value safe whatever the site's time zone (see the module docstring)."""
    return (moment - LOCAL_TIME_MARGIN).strftime("%Y-%m-%dT00:00:00")


def _rendered(field: Any) -> str:
    return str(field.get("rendered") or "") if isinstance(field, dict) else ""


def _tag_names(post: Mapping[str, Any]) -> list[str]:
    """The post's tags from `_embedded["wp:term"]`, each as a hashtag (its name without spaces) and its slug."""
    names: list[str] = []
    groups = (post.get("_embedded") or {}).get("wp:term") or []
    for term in (t for group in groups if isinstance(group, list) for t in group if isinstance(t, dict)):
        if term.get("taxonomy") == "post_tag":
            name, _ = html_to_text(str(term.get("name") or ""))
            names += ["".join(name.split()), str(term.get("slug") or "")]
    return [n for n in dict.fromkeys(names) if n]


def post_record(post: Mapping[str, Any]) -> Post:
    """A published post: a broadcast by its author; the title leads the text."""
    url = str(post.get("link") or "")
    title, _ = html_to_text(_rendered(post.get("title")))
    body, links = html_to_text(_rendered(post.get("content")), url)
    text = "\n".join(part for part in (title, body) if part)
    return Post(
        id=str(post["id"]),
        author_id=f"user:{post.get('author', 0)}",
        created_at=_utc(str(post["date_gmt"])),
        url=url,
        text=text,
        hashtags=hashtags_in(text, _tag_names(post)),
        links=links,
    )


def comment_author(comment: Mapping[str, Any]) -> str:
    """A registered user by id; a guest by name and avatar hash (the hash of their e-mail)."""
    if comment.get("author"):
        return f"user:{comment['author']}"
    avatars = comment.get("author_avatar_urls") or {}
    found = next((m for url in avatars.values() if (m := _AVATAR_HASH.search(str(url)))), None)
    return f"guest:{comment.get('author_name') or ''}:{found.group(1).lower() if found else ''}"


def comment_post(comment: Mapping[str, Any]) -> Post:
    """An approved comment: a reply to its parent comment, or to the post (`parent` 0)."""
    url = str(comment.get("link") or "")
    text, links = html_to_text(_rendered(comment.get("content")), url)
    root = str(comment["post"])
    parent = comment.get("parent") or 0
    return Post(
        id=f"comment-{comment['id']}",
        author_id=comment_author(comment),
        created_at=_utc(str(comment["date_gmt"])),
        url=url,
        parent_id=f"comment-{parent}" if parent else root,
        root_id=root,
        text=text,
        hashtags=hashtags_in(text),
        links=links,
    )


class WordPressCollector:
    """One WordPress site: its posts, their approved comments, and its listed authors."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.api = str(context.option("url")).rstrip("/") + "/wp-json/wp/v2"

    async def _list(self, route: str, params: Mapping[str, Any], *, conditional: bool = False) -> list[dict[str, Any]]:
        """Every page of a collection, as `X-WP-TotalPages` counts them."""
        items: list[dict[str, Any]] = []
        seen: set[object] = set()
        page, pages = 1, 1
        while page <= pages:
            response = await self.context.http.get(
                f"{self.api}/{route}", params={**params, "per_page": PER_PAGE, "page": page}, conditional=conditional
            )
            data = response.json()
            if not isinstance(data, list):
                raise FetchError(f"{self.api}/{route}: answered {type(data).__name__} where a list was expected")
            fresh = [item for item in data if isinstance(item, dict) and item.get("id") not in seen]
            if data and not fresh:  # a site that hands out the same page again would page forever
                raise FetchError(f"{self.api}/{route}: page {page} repeats an earlier page")
            if not data:
                break
            seen.update(item.get("id") for item in fresh)
            items += fresh
            total = response.headers.get("x-wp-totalpages", "1")
            pages = min(int(total), MAX_PAGES) if total.isdigit() else 1
            page += 1
        return items

    async def _comments(self, post_ids: list[str], after: str | None = None) -> list[dict[str, Any]]:
        """Approved comments of these posts (all of them, or those dated after `after`)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(post_ids), IDS_PER_QUERY):
            chunk = ",".join(post_ids[start : start + IDS_PER_QUERY])
            found += await self._list("comments", {"post": chunk, "after": after}, conditional=after is not None)
        return [c for c in found if c.get("status", "approved") == "approved"]

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        state = CursorState.load(cursor)
        since = state.since(now, self.context.horizon)
        users = await self._list("users", {}, conditional=True)
        listed = await self._list(
            "posts", {"after": _local_bound(since), "orderby": "date", "_embed": "wp:term"}, conditional=True
        )
        posts = {str(p["id"]): p for p in listed if p.get("date_gmt") and _utc(str(p["date_gmt"])) >= since}

        # a post seen before, still inside the horizon, and no longer listed was deleted (or unpublished)
        seen_posts: dict[str, float] = state.data.get("posts", {})
        deleted = [pid for pid, ts in seen_posts.items() if pid not in posts and ts >= since.timestamp()]
        state.data["posts"] = {pid: _utc(str(p["date_gmt"])).timestamp() for pid, p in posts.items()}

        known: dict[str, list[int]] = {pid: ids for pid, ids in state.data.get("comments", {}).items() if pid in posts}
        watch = state.threads()
        due = {pid for pid in posts if watch.due(pid, "", now, self.context.thread_refresh)}
        rest = [pid for pid in posts if pid not in due]
        fresh: list[dict[str, Any]] = []
        if rest and "polled" in state.data:
            last = datetime.fromtimestamp(float(state.data["polled"]), timezone.utc)
            fresh = await self._comments(rest, after=_local_bound(last))
            fresh_ids = {int(c["id"]) for c in fresh}
            for c in fresh:  # a reply to a comment never seen (approved late, say): read that thread whole
                parent = int(c.get("parent") or 0)
                if parent and parent not in fresh_ids and parent not in known.get(str(c["post"]), ()):
                    due.add(str(c["post"]))
        full = await self._comments(sorted(due, key=int)) if due else []

        counters: list[Counters] = []
        thread_ids: dict[str, set[int]] = {pid: set() for pid in due}
        for c in full:
            thread_ids.setdefault(str(c["post"]), set()).add(int(c["id"]))
        for pid in sorted(due, key=int):
            ids = thread_ids[pid]
            deleted += [f"comment-{i}" for i in known.get(pid, ()) if i not in ids]
            known[pid] = sorted(ids)
            counters.append(Counters(pid, now, replies=len(ids)))
            watch.read(pid, "", now)
        for c in fresh:
            pid = str(c["post"])
            known[pid] = sorted({*known.get(pid, ()), int(c["id"])})
        watch.forget_older(set(posts))
        state.data["comments"] = known

        comments = {c["id"]: c for c in (*fresh, *full) if str(c.get("post")) in posts}
        accounts = self._accounts(users, comments.values(), state.data)
        state.data["polled"] = now.timestamp()
        return Batch(
            source_id=self.context.source.id,
            platform="wordpress",
            polled_at=now,
            posts=(*(post_record(p) for p in posts.values()), *(comment_post(c) for c in comments.values())),
            counters=tuple(counters),
            accounts=accounts,
            deleted=tuple(deleted),
            measures=MEASURES,
            cursor=state.dump(),
        )

    def _accounts(
        self, users: list[dict[str, Any]], comments: Iterable[Mapping[str, Any]], data: dict[str, Any]
    ) -> tuple[Account, ...]:
        """Every listed author (origin "source") and the `also` staff resolved so far.

        The public users list shows only users with published posts; staff who only answer
        comments are found by the display name they comment under while logged in.
        """
        accounts = [Account(f"user:{u['id']}", str(u.get("slug") or u.get("name") or u["id"])) for u in users]
        staff: dict[str, str] = {h: a for h, a in data.get("staff", {}).items() if h in self.context.also}
        for handle in self.context.also:
            wanted = handle.casefold()
            for user in users:
                if wanted in (str(user.get("slug", "")).casefold(), str(user.get("name", "")).casefold()):
                    staff[handle] = f"user:{user['id']}"
            for comment in comments:
                if comment.get("author") and str(comment.get("author_name", "")).casefold() == wanted:
                    staff.setdefault(handle, f"user:{comment['author']}")
        data["staff"] = staff
        accounts += [Account(author, handle, f"wordpress:{handle}") for handle, author in sorted(staff.items())]
        return tuple(accounts)
