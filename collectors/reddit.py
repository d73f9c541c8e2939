"""Reddit through its OAuth API (`https://oauth.reddit.com`), as the organization's own account.

Reddit gives no anonymous API access worth the name, so every source needs a "script" or
"web app" client (`client_id`, `client_secret`) and a refresh token of the account,
granted the scopes `read`, `history` and `privatemessages`. Each process trades the
refresh token for an access token (`POST https://www.reddit.com/api/v1/access_token`,
`grant_type=refresh_token`, HTTP Basic client id:secret) and keeps it in memory, never
in the cursor; it is renewed when it expires or an endpoint answers 401. Every request
carries the User-Agent Reddit asks for, `python:twoway:<version> (by /u/<username>)`:
Reddit throttles generic agents.

What one poll asks (`raw_json=1`, so text comes unescaped):

- `/user/{username}/about`: `subreddit.subscribers` of the profile is the follower count.
- `/user/{username}/submitted?sort=new` and `/user/{username}/comments?sort=new`, paged
  with `after` back to the horizon, every cycle: the broadcasts (submissions) with their
  counters, and the account's comments anywhere, which answer community messages.
  `num_comments` is the replies counter, `score` (up minus down votes) the likes, the
  account's own upvote left out (`likes: true` is its own vote), `num_crossposts` the
  reposts. The account's crossposts are its reposts: neither broadcasts nor responses.
- `/comments/{id}?sort=old&limit=500&depth=10` for a submission's thread, only when
  `ThreadWatch` says so: `num_comments` moved (any new comment anywhere in the thread
  moves it), a mention points into it, or `thread_refresh` has passed. "Load more"
  stubs are followed with `/api/morechildren` (100 ids a call) and "continue this
  thread" stubs with `/comments/{id}/_/{comment}`, at most `MORE_CALLS` calls a thread:
  a bigger thread is read in part, and a partial read never marks comments deleted.
- `/message/mentions` (username mentions, which need `privatemessages`), newest first,
  back to the newest one seen.

Ids are Reddit's fullnames (`t3_…` submissions, `t1_…` comments); a comment's root is its
submission (`link_id`), so a mention and the account's answer to it share a conversation
even in someone else's thread. Authors are usernames in lower case (Reddit names are
case-insensitive and cannot change); accounts deleted since they wrote are all
`[deleted]`.

Deleted: a submission or comment of the account younger than the horizon that left its
listing, a submission removed by moderators, a comment shown as `[deleted]`/`[removed]`,
and a comment gone from a thread's complete re-read.

Hashtags: Reddit has none of its own, but a `#word` written in a title, a self post's
text or a comment is one (SPEC §3, `twoway.plugin.text.hashtags_in`). They are read from
the Markdown (`selftext`, `body`) as well as from the rendered text: Reddit renders
`#word` at the start of a line as a heading, dropping the `#`.

Cannot measure: quotes (Reddit has none), views (only moderators see traffic), who
upvoted (only the account's own vote), and mentions Reddit does not notify (by blocked
users, some comments naming many users).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from twoway import __version__
from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import whole
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState, explain
from twoway.plugin.text import hashtags_in, html_to_text

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["RedditCollector", "comment_post", "submission_post"]

API = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
APPS = "https://www.reddit.com/prefs/apps"
WEB = "https://www.reddit.com"
PAGE = 100
"""Listing items a page: Reddit's maximum."""
MAX_PAGES = 10
"""Reddit's listings end after about 1,000 items."""
THREAD_LIMIT = 500
THREAD_DEPTH = 10
MORE_CALLS = 5
"""Extra calls for "load more" and "continue this thread" stubs in one thread read."""
MORE_IDS = 100
"""Comment ids one `/api/morechildren` call takes."""
TOKEN_MARGIN = 60.0
"""Renew an access token this many seconds before Reddit says it expires."""
GONE = frozenset({"[deleted]", "[removed]"})
NEEDED_SCOPES = ("read", "history")

TOKEN_ADVICE: dict[int | str, str] = {
    "invalid_grant": f"refresh token revoked or expired: run the OAuth flow again at {APPS}",
    401: f"client_id or client_secret refused: check them at {APPS}",
    "unsupported_grant_type": f"the app cannot use refresh tokens: it must be a script or web app at {APPS}",
}
API_ADVICE: dict[int | str, str] = {
    401: f"the access token was refused after a renewal: run the OAuth flow again at {APPS}",
    403: "Reddit refused: the refresh token needs the OAuth scopes read, history and privatemessages "
    "(run the OAuth flow again granting them)",
}


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float
    """On the HTTP layer's monotonic clock."""
    scopes: frozenset[str] | None
    """What Reddit granted; None when it did not say."""

    def allows(self, scope: str) -> bool:
        return self.scopes is None or "*" in self.scopes or scope in self.scopes


class RedditCollector:
    """One Reddit account: its submissions, their comment trees, its comments and its mentions."""

    def __init__(self, context: Context) -> None:
        self.context = context
        api = context.option("api")
        self.api = str(api or API).rstrip("/")
        self.token_url = f"{self.api}/api/v1/access_token" if api else TOKEN_URL
        self.handle = _handle(str(context.option("username")))
        self.headers = {"User-Agent": f"python:twoway:{__version__} (by /u/{self.handle})"}
        self.token: _Token | None = None
        """The access token, kept for the process: a refresh costs a request to Reddit's token endpoint."""

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        return await _Cycle(self, CursorState.load(cursor), now).run()

    async def access(self, *, renew: bool = False) -> _Token:
        """A valid access token: the one in memory, or a new one for the refresh token."""
        http = self.context.http
        if self.token is not None and not renew and http.clock() < self.token.expires_at:
            return self.token
        client = f"{self.context.secret('client_id')}:{self.context.secret('client_secret')}"
        basic = base64.b64encode(client.encode()).decode()
        form = {"grant_type": "refresh_token", "refresh_token": self.context.secret("refresh_token") or ""}
        try:
            response = await http.request(
                "POST",
                self.token_url,
                form=form,
                headers=self.headers,
                secret_headers={"Authorization": f"Basic {basic}"},
            )
            data = response.json()
        except FetchError as error:
            raise explain(error, TOKEN_ADVICE) from None
        value = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(value, str) or not value:
            code = data.get("error") if isinstance(data, dict) else None  # Reddit says invalid_grant with a 200
            refused = FetchError(f"{self.token_url}: no access token ({code or 'unexpected answer'})", data=data)
            raise explain(refused, TOKEN_ADVICE)
        scope = data.get("scope")
        scopes = frozenset(str(scope).replace(",", " ").split()) if scope is not None else None
        token = _Token(value, http.clock() + float(data.get("expires_in") or 3600) - TOKEN_MARGIN, scopes)
        missing = [s for s in NEEDED_SCOPES if not token.allows(s)]
        if missing:
            raise FetchError(
                f"{self.token_url}: the refresh token lacks the OAuth scope {', '.join(missing)}: "
                f"run the OAuth flow again granting read, history and privatemessages"
            )
        self.token = token
        return token

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON answer of an API call; a refused access token is renewed once."""
        url, query = f"{self.api}{path}", {**(params or {}), "raw_json": 1}
        try:
            return await self._get(url, query, await self.access())
        except FetchError as error:
            if error.status != 401:
                raise explain(error, API_ADVICE) from None
        token = await self.access(renew=True)
        try:
            return await self._get(url, query, token)
        except FetchError as error:
            raise explain(error, API_ADVICE) from None

    async def _get(self, url: str, query: dict[str, Any], token: _Token) -> Any:
        response = await self.context.http.get(url, params=query, token=token.value, headers=self.headers)
        return response.json()


class _Cycle(Cycle):
    """A Reddit poll, through the collector's access token."""

    platform = "reddit"

    def __init__(self, collector: RedditCollector, state: CursorState, now: datetime) -> None:
        super().__init__(collector.context, state, now)
        self.collector = collector
        self.me = collector.handle.lower()

    async def run(self) -> Batch:
        c = self.collector
        about = await self.about()
        submitted = await self.listing(f"/user/{quote(c.handle)}/submitted")
        comments = await self.listing(f"/user/{quote(c.handle)}/comments")
        counters, reactions, signatures = self.own(submitted, comments)
        token = await c.access()
        pointed = await self.mentions(set(signatures)) if token.allows("privatemessages") else set()

        watch = self.state.threads()
        seen: dict[str, list[str]] = self.state.data.get("seen", {})
        for root in sorted(signatures):
            if watch.due(root, signatures[root], self.now, self.context.thread_refresh, pointed=root in pointed):
                found, complete = await self.thread(root)
                old = set(seen.get(root, ()))
                if complete:
                    self.deleted.update(old - found)
                seen[root] = sorted(found if complete else found | old)
                watch.read(root, signatures[root], self.now)
        watch.forget_older(set(signatures))
        self.state.data["seen"] = {root: ids for root, ids in seen.items() if root in signatures}
        self.deleted -= self.posts.keys()

        accounts = [Account(self.me, c.handle, "source")]
        accounts += [Account(_handle(h).lower(), h, f"reddit:{h}") for h in self.context.also]
        parts: set[Part] = {"replies", "responses", "likes"}
        if self.state.data.get("crossposts"):
            parts.add("reposts")
        if token.allows("privatemessages"):
            parts.add("mentions")
        profile = about.get("subreddit")
        return self.batch(
            counters=counters,
            reactions=reactions,
            accounts=accounts,
            followers=whole(profile.get("subscribers")) if isinstance(profile, dict) else None,
            measures=frozenset(parts),
        )

    async def about(self) -> dict[str, Any]:
        try:
            data = await self.collector.get(f"/user/{quote(self.collector.handle)}/about")
        except FetchError as error:
            if error.status == 404:
                raise FetchError(f"Reddit user {self.collector.handle!r} not found") from None
            raise
        return _data(data, "t2", f"/user/{self.collector.handle}/about")

    async def listing(self, path: str, floor: datetime | None = None) -> list[dict[str, Any]]:
        """A newest-first listing's items down to `floor` (default: the horizon)."""
        floor = floor or self.since
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": PAGE, "sort": "new" if path.startswith("/user/") else None}
        for _ in range(MAX_PAGES):
            page = _data(await self.collector.get(path, params), "Listing", path)
            children = [c.get("data") for c in page.get("children") or [] if isinstance(c, dict)]
            for item in children:
                if not isinstance(item, dict) or "created_utc" not in item:
                    continue
                if _utc(item["created_utc"]) < floor:
                    if item.get("pinned"):  # a pinned post leads the profile whatever its age
                        continue
                    return items
                items.append(item)
            after = page.get("after")
            if not after or not children:
                return items
            if after == params.get("after"):
                raise FetchError(f"{self.collector.api}{path}: the listing's `after` repeats the same page")
            params = {**params, "after": after}
        return items

    def own(
        self, submitted: list[dict[str, Any]], comments: list[dict[str, Any]]
    ) -> tuple[list[Counters], list[Reaction], dict[str, str]]:
        """The account's submissions and comments: posts, counters, its own votes and crossposts, thread signatures."""
        counters, reactions, signatures = [], [], {}
        listed: dict[str, int] = {}
        for item in submitted:
            sid = _fullname(item, "t3")
            parent = item.get("crosspost_parent")
            if parent:  # the account's crosspost: a repost, whose own comments are not the organization's thread
                post = submission_post(item)
                self.posts[sid] = post._replace(is_repost=True)
                reactions.append(Reaction(str(parent), "reposts", self.me))
                listed[sid] = int(post.created_at.timestamp())
                continue
            if item.get("removed_by_category"):
                continue  # removed by moderators: no one else sees it, so it is gone
            post = submission_post(item)
            self.posts[sid] = post
            listed[sid] = int(post.created_at.timestamp())
            score = whole(item.get("score"))
            counters.append(
                Counters(
                    sid,
                    self.now,
                    replies=whole(item.get("num_comments")),
                    reposts=whole(item.get("num_crossposts")),
                    likes=None if score is None else max(0, score),  # a submission's score: up minus down votes
                )
            )
            if item.get("likes") is True:  # the account's own upvote, which Reddit gives every new post
                reactions.append(Reaction(sid, "likes", self.me))
            signatures[sid] = str(item.get("num_comments"))
        if submitted:
            self.state.data["crossposts"] = any("num_crossposts" in s for s in submitted)
        for item in comments:
            post = comment_post(item)
            self.posts[post.id] = post
            listed[post.id] = int(post.created_at.timestamp())
        cutoff = self.since.timestamp()
        gone = (pid for pid, at in self.state.data.get("own", {}).items() if at >= cutoff and pid not in listed)
        self.deleted.update(gone)
        self.state.data["own"] = listed
        return counters, reactions, signatures

    async def mentions(self, roots: set[str]) -> set[str]:
        """Username mentions newer than the last seen; returns the account's threads they point into."""
        last = self.state.data.get("mentioned")
        floor = max(self.since, _utc(last)) if last else self.since
        pointed: set[str] = set()
        newest = floor.timestamp()
        for item in await self.listing("/message/mentions", floor):
            root = _root_of_context(str(item.get("context") or ""))
            post = comment_post(item, root)._replace(mentions_source=True)
            newest = max(newest, post.created_at.timestamp())
            if _gone(item) or (last and post.created_at <= floor):  # gone, or seen by an earlier poll
                continue
            self.posts[post.id] = post
            if post.root_id in roots:
                pointed.add(post.root_id)
        self.state.data["mentioned"] = newest
        return pointed

    async def thread(self, root: str) -> tuple[set[str], bool]:
        """Reads a submission's comment tree; returns the comment ids found and whether the read was complete."""
        short = root.removeprefix("t3_")
        params = {"sort": "old", "limit": THREAD_LIMIT, "depth": THREAD_DEPTH}
        try:
            answer = await self.collector.get(f"/comments/{quote(short)}", params)
        except FetchError as error:
            if error.status in (404, 410):
                self.deleted.add(root)
                return set(), True
            raise
        found: set[str] = set()
        stubs: list[dict[str, Any]] = []
        self.walk(_comment_listing(answer, root), root, found, stubs)
        for _ in range(MORE_CALLS):
            if not stubs:
                break
            stub = stubs.pop(0)
            children = [str(c) for c in stub.get("children") or []]
            if children:  # "load more comments": up to 100 of the ids it holds
                if children[MORE_IDS:]:
                    stubs.insert(0, {**stub, "children": children[MORE_IDS:]})
                ids = ",".join(children[:MORE_IDS])
                more = await self.collector.get(
                    "/api/morechildren", {"api_type": "json", "link_id": root, "children": ids, "sort": "old"}
                )
                self.walk(_things(more), root, found, stubs)
            else:  # "continue this thread": the replies below a comment, read from that comment
                parent = str(stub["parent_id"]).removeprefix("t1_")
                answer = await self.collector.get(f"/comments/{quote(short)}/_/{quote(parent)}", params)
                self.walk(_comment_listing(answer, root), root, found, stubs)
        return found, not stubs

    def walk(self, children: list[Any], root: str, found: set[str], stubs: list[dict[str, Any]]) -> None:
        """Comments of a tree (nested `replies` listings, or morechildren's flat list) into the cycle."""
        nodes = list(children)
        while nodes:
            node = nodes.pop()
            if not isinstance(node, dict) or not isinstance(node.get("data"), dict):
                continue
            data = node["data"]
            if node.get("kind") == "more":
                if data.get("children") or str(data.get("parent_id") or "").startswith("t1_"):
                    stubs.append(data)
                continue
            if node.get("kind") != "t1":
                continue
            post = comment_post(data, root)
            found.add(post.id)
            if _gone(data):
                self.deleted.add(post.id)  # its replies stay: they still answer it
            else:
                self.posts[post.id] = post
            replies = data.get("replies")
            if isinstance(replies, dict):
                nodes.extend(((replies.get("data") or {}).get("children")) or [])


def submission_post(item: dict[str, Any]) -> Post:
    """A submission (t3): the title leads the text; a link post's target is one of its links."""
    body, links = _text(item.get("selftext_html"), item.get("selftext"))
    target = str(item.get("url") or "")
    if not item.get("is_self") and urlsplit(target).scheme in ("http", "https"):
        links = (target, *(link for link in links if link != target))
    sid = _fullname(item, "t3")
    text = "\n".join(part for part in (str(item.get("title") or "").strip(), body) if part)
    return Post(
        id=sid,
        author_id=_author(item),
        created_at=_utc(item["created_utc"]),
        url=f"{WEB}{item['permalink']}" if item.get("permalink") else "",
        root_id=sid,
        text=text,
        hashtags=_hashtags(text, item.get("selftext")),
        links=links,
    )


def comment_post(item: dict[str, Any], root: str | None = None) -> Post:
    """A comment (t1), under its submission (`link_id`) unless `root` says otherwise."""
    text, links = _text(item.get("body_html"), item.get("body"))
    permalink = item.get("permalink") or item.get("context") or ""
    return Post(
        id=_fullname(item, "t1"),
        author_id=_author(item),
        created_at=_utc(item["created_utc"]),
        url=f"{WEB}{permalink}" if permalink else "",
        parent_id=str(item.get("parent_id") or "") or None,
        root_id=root or str(item.get("link_id") or "") or None,
        text=text,
        hashtags=_hashtags(text, item.get("body")),
        links=links,
    )


def _text(html: Any, markdown: Any) -> tuple[str, tuple[str, ...]]:
    """Reddit's rendered HTML as plain text and its absolute links; relative ones are `/u/` and `/r/` names."""
    if isinstance(html, str) and html:
        return html_to_text(html)
    return str(markdown or "").strip(), ()


def _hashtags(text: str, markdown: Any) -> tuple[str, ...]:
    """The `#words` of the plain text and of the Markdown it came from, where a `#word` that
    begins a line survives (Reddit renders it as a heading, without the `#`)."""
    return hashtags_in(f"{text}\n{markdown}" if isinstance(markdown, str) else text)


def _comment_listing(answer: Any, root: str) -> list[Any]:
    """The comment Listing of a `/comments/{id}` answer: `[submission Listing, comment Listing]`."""
    if not isinstance(answer, list) or len(answer) < 2 or not isinstance(answer[1], dict):
        raise FetchError(f"/comments/{root.removeprefix('t3_')}: answered something other than a comment tree")
    return list((answer[1].get("data") or {}).get("children") or [])


def _root_of_context(context: str) -> str | None:
    """The submission of an inbox item from its `context` link: `/r/{sub}/comments/{id}/{slug}/{comment}/`."""
    parts = [p for p in urlsplit(context).path.split("/") if p]
    return f"t3_{parts[parts.index('comments') + 1]}" if "comments" in parts[:-1] else None


def _things(answer: Any) -> list[Any]:
    """The comments and stubs of a `/api/morechildren` answer: `{"json": {"data": {"things": [...]}}}`."""
    data = ((answer.get("json") or {}).get("data") or {}) if isinstance(answer, dict) else {}
    things = data.get("things") if isinstance(data, dict) else None
    if not isinstance(things, list):
        raise FetchError("/api/morechildren: answered something other than a list of comments")
    return things


def _data(answer: Any, kind: str, where: str) -> dict[str, Any]:
    if not isinstance(answer, dict) or answer.get("kind") != kind or not isinstance(answer.get("data"), dict):
        raise FetchError(f"{where}: answered something other than a {kind}")
    data: dict[str, Any] = answer["data"]
    return data


def _fullname(item: dict[str, Any], kind: str) -> str:
    name = item.get("name")
    return str(name) if name else f"{kind}_{item['id']}"


def _author(item: dict[str, Any]) -> str:
    return str(item.get("author") or "[deleted]").lower()


def _gone(item: dict[str, Any]) -> bool:
    return str(item.get("body", "")).strip() in GONE and str(item.get("author") or "[deleted]") == "[deleted]"


def _handle(name: str) -> str:
    """`/u/name`, `u/name` and `@name` are all `name`."""
    name = name.strip().lstrip("@/")
    return name[2:] if name.lower().startswith("u/") else name


def _utc(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), timezone.utc)
