"""LinkedIn organization pages through the Community Management API (`/rest`, versioned).

What one poll asks (all `GET`, with `Authorization: Bearer`, `LinkedIn-Version` and
`X-Restli-Protocol-Version: 2.0.0`; URNs percent-encoded, lists as Rest.li `List(...)`):

- `/rest/posts?q=author&author={org}&sortBy=CREATED`, paged with `start`/`count`, back to
  the horizon, every cycle: the page's posts. Its reshares (`reshareContext`) are reposts:
  neither broadcasts nor responses, and the page's own `Reaction` on the reshared post, so a
  reshare of its own post stays out of that post's `reposts`.
- `/rest/socialMetadata?ids=List(...)`, 50 posts a call: reactions of every kind (LinkedIn's
  likes) and `commentSummary.count`, the comments at every depth.
- `/rest/organizationalEntityShareStatistics?q=organizationalEntity&shares=List(...)` (and
  `ugcPosts=List(...)`): each post's lifetime `shareCount`, the `reposts` counter. It needs
  `rw_organization_admin`: a 403 leaves reposts unmeasured instead of failing the source.
- `/rest/networkSizes/{org}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`: followers (a 403: unknown).
- `/rest/socialActions/{post}/comments` only when `ThreadWatch` says so (the post's comment
  count moved, or `thread_refresh` passed), then `/rest/socialActions/{comment}/comments` for
  each comment that has replies of its own.

Who is who: a comment's `actor` is a person URN or the page's organization URN; the page's
own comments are the organization's. Staff answering under their own name are given in
`[organization] also` by their person URN (`linkedin:urn:li:person:AbC123`, or the bare
id): LinkedIn offers page tools no way to look a member up by name.

LinkedIn threads are two levels deep: a reply to a reply is filed under the top comment.
Its parent is therefore taken as the latest earlier comment in that conversation by a
member it names (LinkedIn prefills the name of the member answered), else the top comment,
so a staff answer to a member's reply answers that member.

It cannot measure mentions (the notification feed names a mentioning post, but a page's
token may not read members' posts), quotes (a repost with commentary is counted as a
repost), nor who reacted or reposted. No rate-limit headers exist: daily quotas answer 429,
which the HTTP layer handles. Deleted: a post missing from the listing inside the horizon, a
post whose comments answer 404, a comment gone from a re-read thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context, CursorState, explain
from twoway.plugin.text import hashtags_in, links_in

__all__ = ["LinkedInCollector", "little_text", "organization_urn", "parse_comment", "parse_post"]

DEFAULT_API = "https://api.linkedin.com"
DEFAULT_VERSION = "202610"
"""`LinkedIn-Version` when the source names none; LinkedIn serves each monthly version about a year."""
PAGE = 100
IDS_PER_CALL = 50
"""URNs in one `List(...)`: keeps the URL well under LinkedIn's 4 KB query limit."""
MAX_PAGES = 200
PUBLIC: frozenset[Part] = frozenset({"replies", "responses", "likes"})
FOLLOWERS = "COMPANY_FOLLOWED_BY_MEMBER"
VERSION_GONE = "LinkedIn no longer serves this LinkedIn-Version: set `version` to a recent month (YYYYMM)"
ADVICE: dict[int | str, str] = {
    401: "token expired: LinkedIn tokens last 60 days; renew it at https://www.linkedin.com/developers/apps",
    403: "needs the r_organization_social permission (Community Management API) and the ADMINISTRATOR role on the page",
    426: VERSION_GONE,
    "NONEXISTENT_VERSION": VERSION_GONE,
}

_MENTION = re.compile(r"@\[((?:\\.|[^\]\\])*)\]\((urn:li:[^)\s]+)\)")
_TAG_TEMPLATE = re.compile(r"\{hashtag\|\\?[#＃]\|((?:\\.|[^}\\])*)\}")
_ESCAPED = re.compile(r"\\(.)")
_URN = re.compile(r"urn:li:(?:person|organization):[\w-]+")


def organization_urn(value: object) -> str:
    """`2414183` or `urn:li:organization:2414183` as the URN."""
    text = str(value).strip()
    return text if text.startswith("urn:li:") else f"urn:li:organization:{text}"


def _person_urn(handle: str) -> str:
    return handle if handle.startswith("urn:li:") else f"urn:li:person:{handle}"


def _enc(urn: str) -> str:
    return quote(urn, safe="")


def _list(urns: Iterable[str]) -> str:
    return "List(" + ",".join(_enc(u) for u in urns) + ")"


def _time(ms: object) -> datetime:
    try:
        if isinstance(ms, (int, float)) and not isinstance(ms, bool):
            return datetime.fromtimestamp(ms / 1000, timezone.utc)
    except (OverflowError, OSError, ValueError):
        pass
    raise FetchError(f"LinkedIn answered a time that is not epoch milliseconds: {str(ms)[:40]!r}")


def little_text(commentary: str) -> tuple[str, tuple[str, ...]]:
    """A post's "little text" as plain text and its hashtags.

    `@[Name](urn:li:organization:1)` becomes `Name`, `{hashtag|\\#|Tag}` becomes `#Tag`,
    and backslash escapes of the format's reserved characters are dropped.
    """
    tags: list[str] = []

    def tag(match: re.Match[str]) -> str:
        name = _ESCAPED.sub(r"\1", match.group(1))
        tags.append(name)
        return f"#{name}"

    text = _TAG_TEMPLATE.sub(tag, commentary)
    text = _MENTION.sub(lambda m: m.group(1), text)
    text = _ESCAPED.sub(r"\1", text)
    return text, hashtags_in(text, tags)


def parse_post(element: dict[str, Any], org: str) -> tuple[Post, Reaction | None]:
    """A post listed as the page's (`org`), and for a reshare the page's repost of the reshared post."""
    pid = str(element["id"])
    created = _time(element.get("publishedAt") or element.get("createdAt"))
    url = f"https://www.linkedin.com/feed/update/{pid}/"
    reshared = (element.get("reshareContext") or {}).get("parent")
    if reshared:
        return Post(pid, org, created, url, root_id=pid, is_repost=True), Reaction(str(reshared), "reposts", org)
    text, tags = little_text(str(element.get("commentary") or ""))
    article = (element.get("content") or {}).get("article") or {}
    source = str(article.get("source") or "") if isinstance(article, dict) else ""
    links = links_in(text) + ((source,) if source.startswith(("http://", "https://")) else ())
    title = str(article.get("title") or "") if isinstance(article, dict) else ""
    full = "\n".join(part for part in (text, title) if part)
    return Post(pid, org, created, url, root_id=pid, text=full, hashtags=tags, links=tuple(dict.fromkeys(links))), None


def _comment_urn(comment: dict[str, Any]) -> str:
    urn = comment.get("$URN") or comment.get("commentUrn")
    return str(urn) if urn else f"urn:li:comment:({comment.get('object')},{comment.get('id')})"


def parse_comment(comment: dict[str, Any], root: str, parent: str) -> Post:
    """A comment under post `root`, answering `parent` (the post or a comment)."""
    urn = _comment_urn(comment)
    text = str((comment.get("message") or {}).get("text") or "")
    created = comment.get("created") or {}
    return Post(
        id=urn,
        author_id=str(comment.get("actor") or created.get("actor") or ""),
        created_at=_time(created.get("time")),
        url=f"https://www.linkedin.com/feed/update/{root}/?commentUrn={_enc(urn)}",
        parent_id=parent,
        root_id=root,
        text=text,
        hashtags=hashtags_in(text),
        links=links_in(text),
    )


def _named(comment: dict[str, Any]) -> set[str]:
    """The members and pages a comment's message names (its attributes, whatever their shape)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.update(_URN.findall(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk((comment.get("message") or {}).get("attributes"))
    return found


def _answered(reply: Post, conversation: list[Post], named: set[str]) -> str:
    """The comment a reply filed under a top comment answers (see the module docstring)."""
    for earlier in reversed(conversation):
        if earlier.created_at <= reply.created_at and earlier.author_id in named - {reply.author_id}:
            return earlier.id
    return conversation[0].id


def _has_replies(comment: dict[str, Any]) -> bool:
    summary = comment.get("commentsSummary") or {}
    count = summary.get("aggregatedTotalComments", summary.get("totalFirstLevelComments"))
    return not isinstance(count, int) or count > 0


def _reactions(metadata: dict[str, Any]) -> int | None:
    summaries = metadata.get("reactionSummaries")
    if not isinstance(summaries, dict):
        return None
    counts: list[int] = [
        s["count"] for s in summaries.values() if isinstance(s, dict) and isinstance(s.get("count"), int)
    ]
    return sum(counts)


def _comment_count(metadata: dict[str, Any]) -> int | None:
    count = (metadata.get("commentSummary") or {}).get("count")
    return count if isinstance(count, int) else None


class LinkedInCollector:
    """One LinkedIn page: its posts, their comments, reactions, reposts and followers."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.api = str(context.option("api", DEFAULT_API)).rstrip("/") + "/rest"
        self.org = organization_urn(context.option("organization"))
        self.headers = {
            "LinkedIn-Version": str(context.option("version", DEFAULT_VERSION)),
            "X-Restli-Protocol-Version": "2.0.0",
        }
        self.token: str | None = None

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        self.token = self.context.secret("token")
        try:
            return await self._poll(CursorState.load(cursor), now)
        except FetchError as error:
            raise explain(error, ADVICE) from None

    async def _get(self, path: str, query: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
        """One JSON object; `query` values are sent as given (already Rest.li-encoded)."""
        pairs = "&".join(f"{k}={v}" for k, v in query)
        url = f"{self.api}{path}?{pairs}" if pairs else f"{self.api}{path}"
        data = (await self.context.http.get(url, token=self.token, headers=self.headers)).json()
        if not isinstance(data, dict):
            raise FetchError(f"{self.api}{path}: answered {type(data).__name__} where an object was expected")
        return data

    async def _all(
        self, path: str, query: list[tuple[str, str]], stop: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Every element of a `start`/`count` paged collection, up to the first one `stop` rejects."""
        found: list[dict[str, Any]] = []
        start, first = 0, None
        for _ in range(MAX_PAGES):
            data = await self._get(path, [*query, ("start", str(start)), ("count", str(PAGE))])
            elements = data.get("elements")
            if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
                raise FetchError(f"{self.api}{path}: answered something other than a list of elements")
            if elements and elements[0] == first:
                raise FetchError(f"{self.api}{path}: paging repeats the same page")
            for element in elements:
                if stop is not None and stop(element):
                    return found
                found.append(element)
            first, start = (elements[0] if elements else None), start + len(elements)
            total = (data.get("paging") or {}).get("total")
            if not elements or (start >= total if isinstance(total, int) else len(elements) < PAGE):
                return found
        raise FetchError(f"{self.api}{path}: more than {MAX_PAGES} pages")

    async def _poll(self, state: CursorState, now: datetime) -> Batch:
        since = state.since(now, self.context.horizon)
        listing = await self._all(
            "/posts",
            [("q", "author"), ("author", _enc(self.org)), ("sortBy", "CREATED")],
            stop=lambda p: _time(p.get("createdAt") or p.get("publishedAt")) < since,
        )
        posts: dict[str, Post] = {}
        reactions: list[Reaction] = []
        for element in listing:
            if element.get("lifecycleState", "PUBLISHED") != "PUBLISHED":
                continue  # drafts and scheduled posts are nobody's to answer yet
            post, reaction = parse_post(element, self.org)
            if post.created_at >= since:
                posts[post.id] = post
                reactions += [reaction] if reaction else []
        broadcasts = [pid for pid, post in posts.items() if not post.is_repost]
        listed, roots = set(posts), {pid for pid, post in posts.items() if not post.is_repost}

        deleted = {pid for pid, ts in state.data.get("own", {}).items() if pid not in posts and ts >= since.timestamp()}
        metadata = await self._metadata(broadcasts)
        shares = await self._shares(broadcasts)
        counters = [
            Counters(
                pid, now, replies=_comment_count(metadata.get(pid, {})),
                reposts=shares.get(pid) if shares is not None else None, likes=_reactions(metadata.get(pid, {})),
            )
            for pid in broadcasts
        ]

        watch = state.threads()
        seen: dict[str, list[str]] = state.data.get("seen", {})
        for root in broadcasts:
            signature = str(_comment_count(metadata.get(root, {})))
            if not watch.due(root, signature, now, self.context.thread_refresh):
                continue
            thread = await self._thread(root)
            if thread is None:
                deleted.add(root)
                continue
            posts.update((p.id, p) for p in thread)
            deleted.update(set(seen.get(root, [])) - {p.id for p in thread})
            seen[root] = [p.id for p in thread]
            watch.read(root, signature, now)
        watch.forget_older(roots)
        state.data.update(
            own={pid: int(posts[pid].created_at.timestamp()) for pid in listed},
            seen={root: ids for root, ids in seen.items() if root in roots},
        )
        return Batch(
            source_id=self.context.source.id,
            platform="linkedin",
            polled_at=now,
            posts=tuple(p for pid, p in posts.items() if pid not in deleted),
            counters=tuple(counters),
            reactions=tuple(reactions),
            accounts=self._accounts(),
            deleted=tuple(sorted(deleted)),
            followers=await self._followers(),
            measures=PUBLIC | {"reposts"} if shares is not None else PUBLIC,
            cursor=state.dump(),
        )

    def _accounts(self) -> tuple[Account, ...]:
        staff = [Account(_person_urn(h), h, f"linkedin:{h}") for h in self.context.also]
        return (Account(self.org, str(self.context.option("organization")), "source"), *staff)

    async def _metadata(self, urns: list[str]) -> dict[str, dict[str, Any]]:
        """socialMetadata of each post, in batches."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(urns), IDS_PER_CALL):
            data = await self._get("/socialMetadata", [("ids", _list(urns[start : start + IDS_PER_CALL]))])
            results = data.get("results") or {}
            found.update((str(k), v) for k, v in results.items() if isinstance(v, dict))
        return found

    async def _shares(self, urns: list[str]) -> dict[str, int] | None:
        """Lifetime reposts of each post; None when the token may not read share statistics."""
        found: dict[str, int] = {}
        for kind, param in (("share", "shares"), ("ugcPost", "ugcPosts")):
            mine = [u for u in urns if u.startswith(f"urn:li:{kind}:")]
            for start in range(0, len(mine), IDS_PER_CALL):
                query = [
                    ("q", "organizationalEntity"), ("organizationalEntity", _enc(self.org)),
                    (param, _list(mine[start : start + IDS_PER_CALL])),
                ]
                try:
                    data = await self._get("/organizationalEntityShareStatistics", query)
                except FetchError as error:
                    if error.status == 403:
                        return None
                    raise
                for element in data.get("elements") or []:
                    count = (element.get("totalShareStatistics") or {}).get("shareCount")
                    if element.get(kind) and isinstance(count, int):
                        found[str(element[kind])] = count
        return found

    async def _followers(self) -> int | None:
        try:
            data = await self._get(f"/networkSizes/{_enc(self.org)}", [("edgeType", FOLLOWERS)])
        except FetchError as error:
            if error.status == 403:
                return None
            raise
        size = data.get("firstDegreeSize")
        return size if isinstance(size, int) else None

    async def _comments(self, urn: str) -> list[dict[str, Any]] | None:
        """The comments directly under a post or comment; None when it is gone."""
        try:
            return await self._all(f"/socialActions/{_enc(urn)}/comments", [])
        except FetchError as error:
            if error.status in (404, 410):
                return None
            raise

    async def _thread(self, root: str) -> list[Post] | None:
        """Every comment under a post, each with the comment it answers."""
        top = await self._comments(root)
        if top is None:
            return None
        found: list[Post] = []
        for comment in top:
            first = parse_comment(comment, root, root)
            found.append(first)
            nested = await self._comments(first.id) if _has_replies(comment) else None
            conversation = [first]
            for raw in sorted(nested or [], key=lambda c: (c.get("created") or {}).get("time") or 0):
                reply = parse_comment(raw, root, first.id)
                reply = reply._replace(parent_id=_answered(reply, conversation, _named(raw)))
                conversation.append(reply)
                found.append(reply)
        return found
