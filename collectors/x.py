"""X (formerly Twitter), API v2, with an app-only bearer token: the account's posts, the
replies to them, and its mentions.

What one poll asks (all `GET` to `api`, default https://api.x.com, each one request of
`budget`):

- `/2/users/:id/tweets`, newest first, 100 a page (`pagination_token` ←
  `meta.next_token`), back to the horizon (`start_time`), every cycle: the account's
  broadcasts, self-threads, replies and retweets with `public_metrics` (`reply_count`,
  `retweet_count` → reposts, `quote_count` → quotes, `like_count` → likes). The
  expansions bring the account itself (`followers_count`, its @name) and the posts its
  replies answer, so an answer brings the community message it answers, however old.
  Its retweets are reposts (`is_repost`) and its own `Reaction`, never broadcasts.
- `/2/users/by?usernames=` once for staff handles in `[organization] also` not yet known
  (kept in the cursor), and `/2/users/:id` only when the listing had no post to bring
  the account along (followers of a quiet account).
- `/2/users/:id/mentions` since the newest mention seen (`since_id`, in the cursor).
- `/2/tweets?ids=` for conversations whose first post is not known yet (kept in the
  cursor), so a reply under an old broadcast is placed in its thread, not counted as a
  mention.
- `/2/tweets/search/recent?query=conversation_id:<id>` for a conversation started by
  the account, only when `ThreadWatch` says so: a `reply_count` of the account's posts in
  it moved, or `thread_refresh` passed (replies under community replies move no counter
  of ours). A conversation whose posts of ours have no reply at all needs no search.

Replies are measured, within X's limit: recent search reaches 7 days back only. A reply
older than that which twoway did not see before is read only if something else brings
it: the account's answer to it (its expansion), or the mentions timeline (the account's
last 800 mentions, any age), which holds every reply that names the account, as X's
replies to its posts do unless the author removed the name. The rest (unanswered,
not naming the account: mostly replies under other people's replies) is missing on the
first poll's backfill and after twoway stopped polling for more than 7 days, so
`replies` and `unanswered` run low and `response_rate` high for those weeks. Polled at
least weekly (and `thread_refresh` under 7 days), no reply is missed for this. A reply
that vanishes from a thread is marked deleted only while inside those 7 days.

Paid access: `budget` caps requests a day (`DailyQuota`, kept in the cursor, shown as
the source's budget next to X's `x-rate-limit-*` headers). A cycle that runs out keeps
what it read and records what it spent (threads not read stay due); the next cycle
of the day sends nothing and fails with one line. Partial errors (`errors[]` next to
`data`): a referenced post not found is deleted; one hidden from us is skipped.

Not measured: views and bookmarks (not parts of SPEC §3); who liked (one more paid read
per post: the account's own likes count like anyone's); replies by staff outside the
account's conversations (their own timelines are not read). Edits: a post is kept under its first id
(`edit_history_tweet_ids[0]`) with its latest text.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import utc, whole
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState, DailyQuota, explain

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["ADVICE", "API", "XCollector", "parse_counters", "parse_tweet"]

API = "https://api.x.com"
PAGE = 100
"""Posts a page: the maximum of the timelines and of recent search."""
LOOKUP = 100
"""Ids or usernames one lookup takes at most."""
SEARCH_REACH = timedelta(days=7)
"""How far back recent search sees."""
SEARCH_MARGIN = timedelta(hours=1)
"""A remembered reply this close to the search's edge may fall out of it without being deleted."""
TIMELINE_CAP = 3200
"""The user timeline returns the most recent 3,200 posts at most."""
TWEET_FIELDS = (
    "public_metrics,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,entities,author_id,note_tweet"
)
MEASURES: frozenset[Part] = frozenset({"replies", "mentions", "responses", "reposts", "quotes", "likes"})
"""All of them: replies too, though the first backfill misses some older than 7 days (see above)."""
PORTAL = "https://developer.x.com/en/portal/dashboard"
ADVICE: dict[int | str, str] = {
    401: f"bearer token refused: renew it in the X developer portal ({PORTAL})",
    "Client Forbidden": (
        "this app is not enrolled for X API v2: attach it to a Project with paid access (pay-per-use credits or a"
        f" plan) in the X developer portal ({PORTAL})"
    ),
    "Forbidden": (
        "the app's X API access does not include this endpoint: reading timelines, mentions and recent search needs"
        f" paid access (pay-per-use credits or a paid plan), see the X developer portal ({PORTAL})"
    ),
    403: f"X refused the app this endpoint: check its access and its Project in the X developer portal ({PORTAL})",
    "CreditsDepleted": f"the app has no X API credits left: buy credits in the X developer portal ({PORTAL})",
    402: f"the app has no X API credits left: buy credits in the X developer portal ({PORTAL})",
    429: f"X rate limit or monthly usage cap reached: see the app's usage in the X developer portal ({PORTAL})",
}
"""X's refusals (by status, or by the problem `title`) as what to do about them."""


class XCollector:
    """One X account, read with the app's bearer token."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.api = f"{str(context.option('api') or API).rstrip('/')}/2"
        self.user_id = str(context.option("user_id"))

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        token = self.context.secret("token")
        if not token:
            raise FetchError("token not set in the environment")
        cycle = _Cycle(self, CursorState.load(cursor), now, token)
        try:
            return await cycle.run()
        except FetchError as error:
            if cycle.quota is not None:
                error.cursor = cycle.quota.carried(cursor)
            raise explain(error, ADVICE) from None


class _OutOfBudget(Exception):
    """The daily budget refused a request: the cycle stops where it is."""

    def __init__(self, error: FetchError) -> None:
        super().__init__(str(error))
        self.error = error


class _Cycle(Cycle):
    """An X poll, each request paid for from the daily budget when there is one."""

    platform = "x"

    def __init__(self, collector: XCollector, state: CursorState, now: datetime, token: str) -> None:
        super().__init__(collector.context, state, now)
        self.api = collector.api
        self.me = collector.user_id
        self.token = token
        budget = self.context.option("budget")
        self.quota = DailyQuota(state, self.context.http, int(budget), now) if budget is not None else None
        self.sent = 0
        self.username = str(state.data.get("user") or "")
        self.followers: int | None = None
        self.counters: dict[str, Counters] = {}
        self.reactions: list[Reaction] = []
        self.listed: dict[str, dict[str, Any]] = {}
        """The account's own posts this cycle (retweets aside), by id, with their counters."""
        self.roots: dict[str, str] = state.data.get("roots", {})
        """Conversation id → the author of its first post ("" when gone)."""

    # -- the cycle ---------------------------------------------------------------------

    async def run(self) -> Batch:
        staff: list[Account] = []
        try:
            await self.listing()
            if self.followers is None:  # no post of the listing brought the account along
                await self.lookup_me()
            staff = await self.staff()
            await self.mentions()
            await self.locate_roots()
            await self.threads()
        except _OutOfBudget as out:
            if not self.sent:
                raise out.error from None
            # what was read is kept and what was spent recorded; the next cycle says the budget is used up
        batch = self.batch(
            counters=self.counters.values(),
            reactions=self.reactions,
            accounts=(Account(self.me, self.username or self.me, "source"), *staff),
            followers=self.followers,
            measures=MEASURES,
        )
        # X's answers can disagree about a post (read in one, gone in another): it is neither emitted nor deleted
        return batch._replace(deleted=tuple(sorted(self.deleted - self.posts.keys())))

    async def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One request, paid for from the daily budget first; partial errors read."""
        if self.quota is not None:
            try:
                self.quota.spend()
            except FetchError as error:
                raise _OutOfBudget(error) from None
        response = await self.context.http.get(f"{self.api}{path}", params=params, token=self.token)
        self.sent += 1
        data = response.json()
        if not isinstance(data, dict):
            raise FetchError(f"{self.api}{path}: answered something other than a JSON object")
        for problem in data.get("errors") or []:
            if isinstance(problem, dict) and problem.get("resource_type") == "tweet" and _not_found(problem):
                self.deleted.add(str(problem.get("resource_id") or problem.get("value")))
        return data

    async def pages(self, path: str, params: dict[str, Any], token_name: str) -> AsyncIterator[dict[str, Any]]:
        """Every page of a listing; `meta.next_token` goes back as `token_name`."""
        tokens: set[str] = set()
        while True:
            page = await self.get(path, params)
            _check_subject(page, f"{self.api}{path}")
            yield page
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                return
            if token in tokens:  # the same page again would page forever
                raise FetchError(f"{self.api}{path}: meta.next_token repeats the same page")
            tokens.add(str(token))
            params = {**params, token_name: token}

    # -- the account's own posts ---------------------------------------------------------

    async def listing(self) -> None:
        params = {
            "max_results": PAGE,
            "start_time": _iso(self.since),
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id,referenced_tweets.id",
            "user.fields": "public_metrics",
        }
        own: dict[str, int] = {}
        count, oldest = 0, self.now
        async for page in self.pages(f"/users/{self.me}/tweets", params, "pagination_token"):
            self.read_users(page)
            for tweet in _records(page.get("data"), "data"):
                count += 1
                tweet.setdefault("author_id", self.me)  # it is the account's own timeline
                post = parse_tweet(tweet, self.me, self.username, self.url_of)
                oldest = min(oldest, post.created_at)
                if post.id in own:
                    continue  # an older version of an edited post: the newest came first
                own[post.id] = int(post.created_at.timestamp())
                self.posts[post.id] = post  # over any copy a page's expansions brought
                refs = _refs(tweet)
                if post.is_repost:
                    self.reactions.append(Reaction(refs["retweeted"], "reposts", self.me))
                    continue
                if "quoted" in refs:
                    self.reactions.append(Reaction(refs["quoted"], "quotes", self.me))
                self.listed[post.id] = tweet
                self.counters[post.id] = parse_counters(tweet, post.id, self.now)
            self.read_parents(page)
        # complete: an own post of the horizon missing from it is deleted (unless the timeline's cap cut it off)
        cutoff = (self.since if count < TIMELINE_CAP else oldest).timestamp()
        for pid, created in self.state.data.get("own", {}).items():
            if created >= cutoff and pid not in own:
                self.deleted.add(pid)
        self.state.data["own"] = own

    def read_users(self, page: dict[str, Any]) -> None:
        for user in _records((page.get("includes") or {}).get("users"), "includes.users"):
            if user["id"] == self.me:
                self.username = str(user.get("username") or self.username)
                self.state.data["user"] = self.username
                self.followers = whole((user.get("public_metrics") or {}).get("followers_count"))

    def read_parents(self, page: dict[str, Any]) -> None:
        """The posts this page's posts answer, from the expansions: a community message under an answer."""
        parents = {_refs(t).get("replied_to") for t in _records(page.get("data"), "data")}
        for tweet in _records((page.get("includes") or {}).get("tweets"), "includes.tweets"):
            if tweet["id"] in parents:
                self.add(parse_tweet(tweet, self.me, self.username, self.url_of))

    async def lookup_me(self) -> None:
        """The account itself, when no post of the listing brought it along."""
        data = await self.get(f"/users/{self.me}", {"user.fields": "public_metrics"})
        _check_subject(data, f"{self.api}/users/{self.me}")
        self.read_users({"includes": {"users": [data.get("data") or {}]}})

    async def staff(self) -> list[Account]:
        """Staff handles from `also`, resolved once and kept in the cursor (`None`: X has no such user)."""
        handles = {h.lstrip("@").lower(): h for h in self.context.also}
        known: dict[str, str | None] = {h: i for h, i in self.state.data.get("staff", {}).items() if h in handles}
        missing = sorted(set(handles) - set(known))
        for start in range(0, len(missing), LOOKUP):
            chunk = missing[start : start + LOOKUP]
            data = await self.get("/users/by", {"usernames": ",".join(chunk)})
            found = {str(u.get("username", "")).lower(): u["id"] for u in _records(data.get("data"), "data")}
            known.update({h: found.get(h) for h in chunk})
        self.state.data["staff"] = known
        return [Account(str(i), h, f"x:{handles[h]}") for h, i in sorted(known.items()) if i]

    # -- mentions, and where conversations start --------------------------------------------

    async def mentions(self) -> None:
        newest = self.state.data.get("mentions")
        params: dict[str, Any] = {
            "max_results": PAGE,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "referenced_tweets.id",
        }
        params.update({"since_id": newest} if newest else {"start_time": _iso(self.since)})
        first: str | None = None
        async for page in self.pages(f"/users/{self.me}/mentions", params, "pagination_token"):
            first = first or (page.get("meta") or {}).get("newest_id")
            for tweet in _records(page.get("data"), "data"):
                post = parse_tweet(tweet, self.me, self.username, self.url_of)
                self.add(post._replace(mentions_source=True))
            self.read_parents(page)
        if first:
            self.state.data["mentions"] = str(first)

    async def locate_roots(self) -> None:
        """Who started each conversation we hold a post of, read once (`/2/tweets?ids=`) and remembered."""
        wanted = {p.root_id for p in self.posts.values() if p.root_id and not p.is_repost}
        for pid, post in self.posts.items():
            if post.root_id == pid:
                self.roots[pid] = post.author_id
        unknown = sorted(r for r in wanted if r not in self.roots and r not in self.deleted)
        for start in range(0, len(unknown), LOOKUP):
            chunk = unknown[start : start + LOOKUP]
            data = await self.get("/tweets", {"ids": ",".join(chunk), "tweet.fields": TWEET_FIELDS})
            for tweet in _records(data.get("data"), "data"):
                post = parse_tweet(tweet, self.me, self.username, self.url_of)
                self.add(post)
                self.roots[post.id] = post.author_id
            self.roots.update({r: "" for r in chunk if r not in self.roots})  # gone, or hidden from us
        self.roots = {r: a for r, a in self.roots.items() if r in wanted}
        self.state.data["roots"] = self.roots

    # -- threads -----------------------------------------------------------------------

    async def threads(self) -> None:
        """Searches each conversation of ours `ThreadWatch` says is due; one that runs out of budget stays due."""
        ours = sorted(r for r, author in self.roots.items() if author == self.me)
        watch = self.state.threads()
        watch.forget_older(set(ours))
        members: dict[str, dict[str, int]] = self.state.data.setdefault("members", {})
        for root in list(members):
            if root not in ours:
                del members[root]
        for root in ours:
            counts = {pid: (t.get("public_metrics") or {}).get("reply_count") for pid, t in self.listed.items()
                      if self.posts[pid].root_id == root}
            signature = hashlib.sha1(repr(sorted(counts.items())).encode()).hexdigest()[:16]
            if not watch.due(root, signature, self.now, self.context.thread_refresh):
                continue
            silent = root in counts and all(c == 0 for c in counts.values()) and not members.get(root)
            if not silent:  # a conversation nobody answered has nothing to search
                members[root] = await self.search(root, members.get(root, {}))
            watch.read(root, signature, self.now)

    async def search(self, root: str, before: dict[str, int]) -> dict[str, int]:
        """The conversation's posts of the last 7 days; returns them (id → created) for next time."""
        params = {
            "query": f"conversation_id:{root}",
            "max_results": PAGE,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "referenced_tweets.id",
        }
        found: dict[str, int] = {}
        async for page in self.pages("/tweets/search/recent", params, "next_token"):
            for tweet in _records(page.get("data"), "data"):
                post = parse_tweet(tweet, self.me, self.username, self.url_of)._replace(root_id=root)
                self.add(post)
                found[post.id] = int(post.created_at.timestamp())
            self.read_parents(page)
        edge = (self.now - SEARCH_REACH + SEARCH_MARGIN).timestamp()
        self.deleted.update(pid for pid, created in before.items() if created >= edge and pid not in found)
        reach = (self.now - SEARCH_REACH).timestamp()
        return {pid: c for pid, c in {**before, **found}.items() if c >= reach and pid not in self.deleted}

    # -- records -----------------------------------------------------------------------

    def add(self, post: Post) -> None:
        """The first copy of a post met twice wins; a mention stays a mention."""
        seen = self.posts.setdefault(post.id, post)
        if post.mentions_source and not seen.mentions_source:
            self.posts[post.id] = seen._replace(mentions_source=True)

    def url_of(self, author: str, tid: str) -> str:
        if author == self.me and self.username:
            return f"https://x.com/{self.username}/status/{tid}"
        return f"https://x.com/i/web/status/{tid}"


def parse_tweet(
    tweet: dict[str, Any], source_id: str, source_name: str = "", url_of: Callable[[str, str], str] | None = None
) -> Post:
    """One post as a `Post`: its first id (edits), the latest text with entities unescaped and links expanded.

    The root is `conversation_id`, kept under the first id when it names a version of the post
    itself; a reply without one gets its parent's root in the store.
    """
    tid = _first_id(tweet)
    refs = _refs(tweet)
    parent = refs.get("replied_to")
    note: dict[str, Any] = tweet["note_tweet"] if isinstance(tweet.get("note_tweet"), dict) else {}
    text = str(note.get("text") or tweet.get("text") or "")
    entities = note.get("entities") or tweet.get("entities") or {}
    links = []
    for item in entities.get("urls") or []:
        expanded = str(item.get("unwound_url") or item.get("expanded_url") or "")
        if item.get("url") and expanded:
            text = text.replace(str(item["url"]), expanded)
        media = item.get("media_key") or str(item.get("display_url", "")).startswith(("pic.x.com", "pic.twitter.com"))
        if expanded.startswith(("http://", "https://")) and not media:
            links.append(expanded)
    names = {str(source_name).lower(), source_id} - {""}
    mentioned = any(
        str(m.get("id", "")) in names or str(m.get("username", "")).lower() in names
        for m in entities.get("mentions") or [] if isinstance(m, dict)
    )
    conversation = str(tweet["conversation_id"]) if tweet.get("conversation_id") else None
    author = str(tweet["author_id"])
    return Post(
        id=tid,
        author_id=author,
        created_at=_time(str(tweet["created_at"])),
        url=url_of(author, tid) if url_of else f"https://x.com/i/web/status/{tid}",
        parent_id=parent,
        root_id=conversation if conversation not in (None, *_versions(tweet)) else (None if parent else tid),
        text=html.unescape(text),
        hashtags=tuple(str(h["tag"]) for h in entities.get("hashtags") or [] if isinstance(h, dict) and h.get("tag")),
        links=tuple(dict.fromkeys(links)),
        mentions_source=mentioned,
        is_repost="retweeted" in refs,
    )


def parse_counters(tweet: dict[str, Any], post_id: str, now: datetime) -> Counters:
    metrics = tweet.get("public_metrics") or {}
    return Counters(
        post_id,
        now,
        replies=whole(metrics.get("reply_count")),
        reposts=whole(metrics.get("retweet_count")),
        quotes=whole(metrics.get("quote_count")),
        likes=whole(metrics.get("like_count")),
    )


def _check_subject(data: dict[str, Any], where: str) -> None:
    """An answer with errors and no data is about what was asked for itself (an unknown or suspended account)."""
    about = [e for e in data.get("errors") or [] if isinstance(e, dict) and e.get("resource_type") == "user"]
    if "data" not in data and about:
        detail = " ".join(str(about[0].get("detail") or about[0].get("title") or "error").split())[:160]
        raise FetchError(f"{where}: {detail}")


def _not_found(error: dict[str, Any]) -> bool:
    return error.get("title") == "Not Found Error" or str(error.get("type", "")).endswith("/resource-not-found")


def _first_id(tweet: dict[str, Any]) -> str:
    """An edited post keeps the id it was first posted under."""
    return _versions(tweet)[0]


def _versions(tweet: dict[str, Any]) -> list[str]:
    """The ids of every version of a post, first first."""
    history = tweet.get("edit_history_tweet_ids")
    return [str(i) for i in history] if isinstance(history, list) and history else [str(tweet["id"])]


def _refs(tweet: dict[str, Any]) -> dict[str, str]:
    return {
        str(r.get("type")): str(r.get("id"))
        for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict) and r.get("id")
    }


def _records(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) and "id" in v for v in value):
        raise FetchError(f"X answered something other than a list of records in {where}")
    for item in value:
        item["id"] = str(item["id"])
    return value


_time = partial(utc, platform="X")
"""X's RFC 3339 times as aware UTC."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
