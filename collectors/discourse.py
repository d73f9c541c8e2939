"""Discourse forums: the topics the organization's users start, their replies, and (with an
API key) the mentions of those users.

Public categories need no credentials. With `api_key`, every request carries `Api-Key`
and `Api-Username` (`api_username`, else the first of `usernames`), so the key's user
sees what it may see, and mentions become measurable.

What one poll asks (every page has a `.json` twin):

- `/topics/created-by/{username}.json?page=N` for each of `usernames`, newest activity
  first, until a topic last bumped before the horizon: the broadcasts. A topic's first
  post is the broadcast; its counters are `posts_count - 1` (replies) and
  `op_like_count` (the first post's likes, where the forum sends it; else the first
  post's likes are taken whenever its topic is read). The topic's `like_count` counts
  the likes of every post in it, so it is not the broadcast's.
- `/t/{id}.json` (the first chunk of posts and the ids of all of them) and
  `/t/{id}/posts.json?post_ids[]=…` (20 ids a call) for the posts not seen before, only
  when `ThreadWatch` says so: the topic's `posts_count` or `last_posted_at` moved, a
  mention points into it, or `thread_refresh` has passed. A post answers the post its
  `reply_to_post_number` names, and the topic's first post when it names none (the
  topic's own Reply button), so only answers written with a post's Reply button count
  as responses to that post.
- With an API key, for each of `usernames`: `/user_actions.json?filter=7` (posts that
  mention them, newest first, back to the newest seen; each new one outside the
  organization's topics is read with `/posts/{id}.json` for its whole text) and
  `/user_actions.json?filter=5` (their replies in other people's topics, back to the
  horizon: the answers to those mentions). Mentions are private to the mentioned user
  and admins, so the key must be an admin's, or that user's own.

Ids are `{topic id}/{post number}` (`57/1` is topic 57's first post), which is what
`reply_to_post_number` points at. Authors are usernames in lower case; the staff of
`[organization] also = ["discourse:name"]` are organization accounts too. Only regular
posts count: moderator notes, small actions ("closed", "pinned") and staff whispers are
skipped.

Deleted: a topic of the organization younger than the horizon that left its user's
list or whose read answers 403/404/410, a post withdrawn by its author or deleted
(`user_deleted`, `deleted_at`), a post gone from its topic's stream, and an answer of
the organization gone from its replies.

Hashtags (SPEC §3): a first post carries its topic's tags; every post also has the
`#words` written in it (`twoway.plugin.text.hashtags_in`), read from its `raw` Markdown
where the answer carries it (`/posts/{id}.json` does) and else from the cooked HTML. There
Discourse turns a `#word` naming a known tag or category into a link with no `#` left in
its text (`<a class="hashtag-cooked" data-type="tag" data-slug="readalong">`), so that
link's `data-slug` is one too; a `#word` naming neither stays as text.

Cannot measure: reposts and quotes (Discourse has neither), views per post, followers,
who liked (not asked: a request per post) and mentions without an API key (`measures`
then leaves them out). Edits of replies beyond a topic's first 20 posts are not re-read
(only new posts are fetched).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from twoway.model import Account, Batch, Counters, Part, Post
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import utc, whole
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState, explain
from twoway.plugin.text import hashtags_in, html_to_text

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = ["DiscourseCollector", "linked_hashtags", "parse_post"]

MAX_PAGES = 50
"""Pages of one listing a cycle (30 topics or actions a page)."""
POST_IDS = 20
"""Post ids one `/t/{id}/posts.json` call asks for: Discourse's chunk size."""
REGULAR = 1
"""`post_type` of an ordinary post (2 moderator action, 3 small action, 4 whisper)."""
MENTION, REPLY = 7, 5
"""`user_actions` filters."""
PUBLIC_PARTS: frozenset[Part] = frozenset({"replies", "responses", "likes"})

KEY_REFUSED = "the forum refused the API key: check api_key and api_username on the forum's /admin/api/keys page"
KEY_ADVICE: dict[int | str, str] = {"invalid_access": KEY_REFUSED, 403: KEY_REFUSED}
PUBLIC_ADVICE: dict[int | str, str] = {
    403: "the forum shows this only to logged-in users: set api_key (and api_username) for this source",
}
MENTIONS_REFUSED = "the API key cannot read this user's mentions: act as an admin (api_username) or use their key"
MENTION_ADVICE: dict[int | str, str] = dict.fromkeys(("invalid_access", 403, 404), MENTIONS_REFUSED)


class DiscourseCollector:
    """One forum: the topics the organization's users start, and with an API key their mentions."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.base = str(context.option("url")).rstrip("/")
        self.usernames = [str(u).lstrip("@") for u in context.option("usernames") or []]

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        if not self.usernames:
            raise FetchError(f"{self.base}: `usernames` is empty: name the organization's forum users")
        key = self.context.secret("api_key")
        headers = None
        if key:
            headers = {"Api-Key": key, "Api-Username": str(self.context.option("api_username") or self.usernames[0])}
        return await _Cycle(self, CursorState.load(cursor), now, headers).run()


class _Cycle(Cycle):
    """A forum poll, as the API key's user when `headers` carry one."""

    platform = "discourse"

    def __init__(
        self, collector: DiscourseCollector, state: CursorState, now: datetime, headers: dict[str, str] | None
    ) -> None:
        super().__init__(collector.context, state, now)
        self.collector = collector
        self.base = collector.base
        self.headers = headers
        self.org = {u.lower() for u in collector.usernames} | {h.lstrip("@").lower() for h in self.context.also}
        self.likes: dict[str, int | None] = {}
        """A topic's first-post likes, from the topic read."""

    async def get(
        self, path: str, params: dict[str, Any] | None = None, advice: dict[int | str, str] | None = None
    ) -> Any:
        try:
            response = await self.context.http.get(f"{self.base}{path}", params=params, secret_headers=self.headers)
        except FetchError as error:
            raise explain(error, {**(KEY_ADVICE if self.headers else PUBLIC_ADVICE), **(advice or {})}) from None
        return response.json()

    async def run(self) -> Batch:
        topics = await self.topics()
        roots = {str(t["id"]) for t in topics}
        pointed: set[str] = set()
        if self.headers:
            pointed = await self.mentions(roots)
            await self.answers(roots)

        watch = self.state.threads()
        known: dict[str, dict[str, int]] = self.state.data.get("streams", {})
        for topic in topics:
            tid = str(topic["id"])
            signature = f"{topic.get('posts_count')}|{topic.get('last_posted_at')}"
            if watch.due(tid, signature, self.now, self.context.thread_refresh, pointed=tid in pointed):
                known[tid] = await self.read(topic, known.get(tid, {}))
                watch.read(tid, signature, self.now)
        watch.forget_older(roots)
        self.state.data["streams"] = {tid: ids for tid, ids in known.items() if tid in roots}
        self.deleted -= self.posts.keys()

        accounts = [Account(u.lower(), u, "source") for u in self.collector.usernames]
        accounts += [Account(h.lstrip("@").lower(), h, f"discourse:{h}") for h in self.context.also]
        return self.batch(
            counters=self.counters(topics),
            accounts=accounts,
            measures=PUBLIC_PARTS | {"mentions"} if self.headers else PUBLIC_PARTS,
        )

    async def topics(self) -> list[dict[str, Any]]:
        """The organization's topics created inside the horizon; those that left their lists are deleted."""
        found: dict[str, dict[str, Any]] = {}
        for username in self.collector.usernames:
            path = f"/topics/created-by/{quote(username)}.json"
            for page in range(MAX_PAGES):
                try:
                    data = await self.get(path, {"page": page or None})
                except FetchError as error:
                    if error.status == 404:
                        raise FetchError(f"user {username!r} not found on {self.base}") from None
                    raise
                listed = (data.get("topic_list") or {}) if isinstance(data, dict) else {}
                items = listed.get("topics")
                if not isinstance(items, list):
                    raise FetchError(f"{self.base}{path}: answered something other than a topic list")
                older = False
                for topic in items:
                    bumped = topic.get("bumped_at") or topic.get("last_posted_at") or topic["created_at"]
                    if _time(bumped) < self.since and not topic.get("pinned"):
                        older = True  # the list is by latest activity: the rest is older still
                        break
                    if topic.get("archetype", "regular") == "regular" and _time(topic["created_at"]) >= self.since:
                        found[str(topic["id"])] = topic
                if older or not items or not listed.get("more_topics_url"):
                    break
        cutoff = self.since.timestamp()
        seen: dict[str, int] = self.state.data.get("topics", {})
        self.deleted.update(f"{tid}/1" for tid, at in seen.items() if at >= cutoff and tid not in found)
        self.state.data["topics"] = {tid: int(_time(t["created_at"]).timestamp()) for tid, t in found.items()}
        return list(found.values())

    def counters(self, topics: list[dict[str, Any]]) -> list[Counters]:
        out = []
        for topic in topics:
            tid = str(topic["id"])
            posts = whole(topic.get("posts_count"))
            likes = whole(topic.get("op_like_count"))
            out.append(
                Counters(
                    f"{tid}/1",
                    self.now,
                    replies=max(0, posts - 1) if posts is not None else None,
                    likes=likes if likes is not None else self.likes.get(tid),
                )
            )
        return out

    async def read(self, topic: dict[str, Any], known: dict[str, int]) -> dict[str, int]:
        """Reads a topic's new posts; returns its stream (post id → post number) for the next read."""
        tid = str(topic["id"])
        try:
            data = await self.get(f"/t/{tid}.json")
        except FetchError as error:
            if error.status in (403, 404, 410):  # deleted, or moved where the community cannot see it
                self.deleted.add(f"{tid}/1")
                return {}
            raise
        stream_data = data.get("post_stream") if isinstance(data, dict) else None
        if not isinstance(stream_data, dict) or not isinstance(stream_data.get("posts"), list):
            raise FetchError(f"{self.base}/t/{tid}.json: answered something other than a topic")
        posts = list(stream_data["posts"])
        stream = [str(pid) for pid in stream_data.get("stream") or [p.get("id") for p in posts]]
        loaded = {str(p.get("id")) for p in posts}
        wanted = [pid for pid in stream if pid not in loaded and pid not in known]
        for start in range(0, len(wanted), POST_IDS):
            more = await self.get(f"/t/{tid}/posts.json", {"post_ids[]": wanted[start : start + POST_IDS]})
            chunk = ((more.get("post_stream") or {}).get("posts")) if isinstance(more, dict) else None
            if not isinstance(chunk, list):
                raise FetchError(f"{self.base}/t/{tid}/posts.json: answered something other than posts")
            posts += chunk
        numbers = {pid: n for pid, n in known.items() if pid in stream}
        self.deleted.update(f"{tid}/{n}" for pid, n in known.items() if pid not in stream)
        for post in posts:
            numbers[str(post.get("id"))] = int(post["post_number"])
            self.add(post, data)
        return numbers

    def add(self, post: dict[str, Any], topic: dict[str, Any]) -> None:
        """A post read from a topic (or alone): kept, deleted, or skipped when it is not a regular post."""
        record = parse_post(post, self.base, topic)
        if post.get("post_type", REGULAR) != REGULAR:
            return
        if post.get("deleted_at") or post.get("user_deleted"):
            self.deleted.add(record.id)
            return
        self.posts[record.id] = record
        if record.parent_id is None:
            self.likes[str(post.get("topic_id") or topic.get("id"))] = _likes(post)

    async def mentions(self, roots: set[str]) -> set[str]:
        """Posts mentioning the organization's users since the newest seen; returns its topics they point into."""
        last = self.state.data.get("mentioned")
        floor = max(self.since, _time(last)) if last else self.since
        newest = floor
        pointed: set[str] = set()
        for username in self.collector.usernames:
            for action in await self.actions(username, MENTION, floor):
                at = _time(action["created_at"])
                newest = max(newest, at)
                if last and at <= floor:
                    continue  # seen by an earlier poll
                author = str(action.get("acting_username") or action.get("username") or "").lower()
                if author in self.org or action.get("deleted") or action.get("hidden"):
                    continue
                tid = str(action.get("topic_id"))
                if tid in roots:
                    pointed.add(tid)  # its topic's read places it, as a reply
                    continue
                pid = f"{tid}/{action.get('post_number')}"
                if pid in self.posts:
                    continue  # names several of the organization's users: counted once
                post = await self.get(f"/posts/{quote(str(action['post_id']))}.json")
                if not isinstance(post, dict) or post.get("post_type", REGULAR) != REGULAR or post.get("user_deleted"):
                    continue
                self.posts[pid] = parse_post(post, self.base)._replace(mentions_source=True)
        self.state.data["mentioned"] = newest.isoformat()
        return pointed

    async def answers(self, roots: set[str]) -> None:
        """The organization's replies in other people's topics: answers to mentions found there."""
        listed: dict[str, int] = {}
        for username in self.collector.usernames:
            for action in await self.actions(username, REPLY, self.since):
                tid = str(action.get("topic_id"))
                if tid in roots or action.get("deleted"):
                    continue  # its topic's read has it, with its whole text
                number, parent = action.get("post_number"), action.get("reply_to_post_number")
                excerpt = str(action.get("excerpt") or "")
                text, links = html_to_text(excerpt)
                post = Post(
                    id=f"{tid}/{number}",
                    author_id=str(action.get("username") or username).lower(),
                    created_at=_time(action["created_at"]),
                    url=f"{self.base}/t/{action.get('slug') or '-'}/{tid}/{number}",
                    parent_id=f"{tid}/{parent or 1}",
                    root_id=f"{tid}/1",
                    text=text,
                    hashtags=hashtags_in(text, linked_hashtags(excerpt)),
                    links=links,
                )
                self.posts[post.id] = post
                listed[post.id] = int(post.created_at.timestamp())
        cutoff = self.since.timestamp()
        old: dict[str, int] = self.state.data.get("answers", {})
        self.deleted.update(pid for pid, at in old.items() if at >= cutoff and pid not in listed)
        self.state.data["answers"] = listed

    async def actions(self, username: str, kind: int, floor: datetime) -> list[dict[str, Any]]:
        """A user's actions of one kind, newest first, down to `floor`."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"username": username, "filter": kind}
        for _ in range(MAX_PAGES):
            data = await self.get("/user_actions.json", {**params, "offset": len(found) or None}, MENTION_ADVICE)
            items = data.get("user_actions") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise FetchError(f"{self.base}/user_actions.json: answered something other than user actions")
            for item in items:
                if _time(item["created_at"]) < floor:
                    return found
                found.append(item)
            if not items:
                return found
        return found


def parse_post(post: dict[str, Any], base: str, topic: dict[str, Any] | None = None) -> Post:
    """A post as a `Post`: the first post of a topic leads with the title and carries the topic's tags."""
    tid = str(post.get("topic_id") or (topic or {}).get("id"))
    number = int(post["post_number"])
    cooked = str(post.get("cooked") or "")
    text, links = html_to_text(cooked)
    tags: list[str] = []
    if number == 1 and topic is not None:
        title = str(topic.get("title") or "").strip()
        text = "\n".join(part for part in (title, text) if part)
        tags = [t if isinstance(t, str) else str(t.get("name", "")) for t in topic.get("tags") or []]
    raw = post.get("raw")
    written = f"{text}\n{raw}" if isinstance(raw, str) else text  # an old forum's raw may be no string
    slug = post.get("topic_slug") or (topic or {}).get("slug") or "-"
    reply_to = post.get("reply_to_post_number")
    return Post(
        id=f"{tid}/{number}",
        author_id=str(post.get("username") or "").lower(),
        created_at=_time(post["created_at"]),
        url=f"{base}/t/{slug}/{tid}/{number}",
        parent_id=None if number == 1 else f"{tid}/{reply_to or 1}",
        root_id=f"{tid}/1",
        text=text,
        hashtags=hashtags_in(written, (t for t in (*tags, *linked_hashtags(cooked)) if t)),
        links=links,
    )


class _HashtagLinks(HTMLParser):
    """The `data-slug` of each hashtag link in cooked HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.slugs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        found = dict(attrs)
        if "hashtag-cooked" in (found.get("class") or "").split() and found.get("data-slug"):
            self.slugs.append(str(found["data-slug"]))


def linked_hashtags(cooked: str) -> tuple[str, ...]:
    """The tags and categories a post names as `#words`, which Discourse cooks into links with no
    `#` left in their text: `<a class="hashtag-cooked" href="/tag/readalong" data-type="tag"
    data-slug="readalong">` (a `#word` that names neither stays as text, for `hashtags_in`)."""
    if "hashtag-cooked" not in cooked:
        return ()
    parser = _HashtagLinks()
    parser.feed(cooked)
    parser.close()
    return tuple(parser.slugs)


def _likes(post: dict[str, Any]) -> int | None:
    """A post's likes: `like_count`, else the like entry (id 2) of `actions_summary`, which omits zero counts."""
    if whole(post.get("like_count")) is not None:
        return whole(post.get("like_count"))
    summary = post.get("actions_summary")
    if not isinstance(summary, list):
        return None
    return next((whole(a.get("count")) or 0 for a in summary if isinstance(a, dict) and a.get("id") == 2), 0)


_time = partial(utc, platform="Discourse")
"""Discourse's RFC 3339 times as aware UTC."""
