"""RSS 2.0 and Atom feeds: a blog or news feed as the organization's broadcasts.

What a feed can tell:

- Every entry is a broadcast by the organization. Entries are written by one stable
  author, `feed:<url>` (the source's own account); the names of the feed's authors
  (channel `managingEditor`/Atom `<author>`, each entry's `dc:creator`/`<author>`) and
  the `rss:<name>` entries of `[organization] also` are organization accounts too,
  `name:<name>`, because a comment feed only knows its commenters by name.
- Replies come from per-entry comment feeds (`wfw:commentRss`, or an Atom
  `<link rel="replies">`). Comments are threaded when they carry `thr:in-reply-to`
  (RFC 4685, e.g. WordPress and Blogger Atom comment feeds); otherwise they reply to the
  entry. A comment is the organization's when its author *name* matches one of the
  names above: feeds give no verified identity, so a commenter who types the
  library's name passes as the library. Community commenters are `name:<name> <uri or
  email>` when the feed gives one.
- Counters: `slash:comments` (or Atom `thr:count`/`thr:total`) as the replies counter
  only. A feed never says who liked, reposted, quoted or mentioned anything, and has no
  follower count. `measures` is {replies} when comment feeds exist, plus {responses}
  once a comment feed has shown `thr:in-reply-to` (unthreaded comments all answer the
  entry, so no staff comment is seen answering a community one), and nothing without
  comment feeds (a bare comment count does not say who commented).

Calls: `GET <url>` and every `<atom:link rel="next">` page (RFC 5005) until the
entries are older than the horizon; `GET <comment feed>` (and its next pages) only when
`ThreadWatch` says so, its signature being the entry's comment count. The feed's own
pages are conditional (`If-None-Match`/`If-Modified-Since`); the validators live in the
cursor so a cron `collect --once` gets its 304s too. A comment feed is read whole: a
thread is read only when due anyway, and WordPress gives every comment feed the
validators of the site's newest comment, so a trashed or late-approved older comment
would hide behind a 304. feedparser parses the bodies and never
fetches anything itself.

Deletion is judged carefully, since a feed only shows its latest N entries: a known
entry (or comment) that vanished counts as deleted only when it is newer, by both its
published and updated time, than the oldest one the feed still shows. An entry that
merely fell off the end stays known until it leaves the horizon, and its comment feed
is still read every `thread_refresh`.
"""

from __future__ import annotations

import asyncio
import re
from calendar import timegm
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import feedparser

from twoway.model import Account, Batch, Counters, Part, Post
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState

if TYPE_CHECKING:
    from twoway.plugin.http import Response
    from twoway.plugin.protocol import Context

__all__ = [
    "FeedCollector",
    "FeedEntry",
    "comment_feed",
    "comment_posts",
    "feed_authors",
    "feed_posts",
    "is_threaded",
    "parse_feed",
    "plain_text",
    "vanished",
]

PLATFORM = "rss"
MAX_PAGES = 20
"""Next-links followed per feed in one cycle; a loop or an endless archive stops here."""
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_EDITOR = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^)]+)\)\s*$")


# -- text --------------------------------------------------------------------------------


class _Text(HTMLParser):
    """Plain text and http(s) links of an HTML fragment."""

    BLOCKS = frozenset({"p", "br", "div", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.startswith(("http://", "https://")):
            self.links.append(href)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> tuple[str, tuple[str, ...]]:
    """An HTML fragment as plain text (blank runs collapsed) and the links it holds."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line), tuple(parser.links)


def _detail_text(detail: Any, fallback: str = "") -> tuple[str, tuple[str, ...]]:
    """A feedparser text construct (title, summary, content) without markup."""
    if not detail:
        return fallback, ()
    value = detail.get("value", "") or ""
    if "html" in (detail.get("type") or ""):
        return plain_text(value)
    return " ".join(value.split()), ()


# -- parsing -----------------------------------------------------------------------------


def parse_feed(body: bytes, url: str, content_type: str = "application/xml") -> Any:
    """A feed document parsed from bytes; relative URLs resolve against `url`."""
    parsed = feedparser.parse(body, response_headers={"content-location": url, "content-type": content_type})
    if not parsed.get("version"):
        start = body[:200].decode("utf-8", "replace").lstrip().lower()
        what = "answered an HTML page" if start.startswith(("<!doctype html", "<html")) else "answered something else"
        raise FetchError(f"{url}: {what}, not an RSS or Atom feed")
    return parsed


def _when(entry: Any) -> tuple[datetime | None, datetime | None]:
    """(published, updated) as aware UTC; feedparser has already normalized them to UTC."""
    out = []
    for key in ("published_parsed", "updated_parsed"):
        value = dict.get(entry, key)  # plain dict access: no deprecated updated-from-published fallback
        out.append(datetime.fromtimestamp(timegm(value), timezone.utc) if value else None)
    return out[0], out[1]


def _hashtags(entry: Any) -> tuple[str, ...]:
    """Categories as hashtags, spaces dropped: a "Summer Reading" category matches #SummerReading."""
    tags = ("".join((t.get("term") or t.get("label") or "").split()) for t in entry.get("tags", ()) or ())
    return tuple(dict.fromkeys(t for t in tags if t))


def _entry_id(entry: Any) -> str | None:
    return entry.get("id") or entry.get("link") or None


def _count(entry: Any) -> int | None:
    """`slash:comments`, else an Atom replies link's `thr:count`, else `thr:total`."""
    candidates = [entry.get("slash_comments")]
    candidates += [link.get("thr:count") for link in entry.get("links", ()) if link.get("rel") == "replies"]
    candidates.append(entry.get("thr_total"))
    for value in candidates:
        if value is not None and str(value).strip().isdigit():
            return int(str(value).strip())
    return None


def comment_feed(entry: Any, base: str) -> str | None:
    """The entry's comment feed URL, resolved against the feed URL when relative."""
    href = entry.get("wfw_commentrss")
    if not href:
        for link in entry.get("links", ()):
            if link.get("rel") == "replies" and "html" not in (link.get("type") or ""):
                href = link.get("href")
                break
    return urljoin(base, href.strip()) if href else None


def normalize_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _person(detail: Any, fallback: str = "") -> tuple[str, str]:
    """(display name, uri or email) of an author; a `managingEditor` "mail (Name)" gives Name."""
    name = ((detail or {}).get("name") or fallback or "").strip()
    match = _EDITOR.match(name)
    if match:
        name = match.group("name").strip()
    contact = (detail or {}).get("href") or (detail or {}).get("email") or ""
    return name, contact.strip()


def feed_authors(parsed: Any) -> set[str]:
    """Display names that write this feed: the channel's author and every entry's."""
    names = {_person(parsed.feed.get("author_detail"), parsed.feed.get("author", ""))[0]}
    for entry in parsed.entries:
        names.update(_person(a)[0] for a in entry.get("authors", ()) or ())
        names.add(_person(entry.get("author_detail"), entry.get("author", ""))[0])
    return {n for n in names if n}


@dataclass(frozen=True)
class FeedEntry:
    """One entry of the organization's feed, normalized."""

    post: Post
    updated: datetime
    replies: int | None
    comments: str | None


def feed_posts(parsed: Any, feed_id: str, base: str) -> list[FeedEntry]:
    """The feed's dated entries as broadcasts by `feed_id`; undated entries cannot be placed in time."""
    out = []
    for entry in parsed.entries:
        pid = _entry_id(entry)
        published, updated = _when(entry)
        created = published or updated
        if pid is None or created is None:
            continue
        title, _ = _detail_text(entry.get("title_detail"), entry.get("title", ""))
        content = entry.get("content") or []
        body, links = _detail_text(content[0] if content else entry.get("summary_detail"), entry.get("summary", ""))
        link = entry.get("link", "")
        post = Post(
            id=pid,
            author_id=feed_id,
            created_at=created,
            url=link,
            text="\n\n".join(p for p in (title, body) if p),
            hashtags=_hashtags(entry),
            links=tuple(dict.fromkeys((*links, *((link,) if link.startswith(("http://", "https://")) else ())))),
        )
        out.append(FeedEntry(post, updated or created, _count(entry), comment_feed(entry, base)))
    return out


def comment_posts(parsed: Any, root: str, org_names: set[str]) -> list[tuple[Post, datetime]]:
    """A comment feed's comments under entry `root`, each with its updated time.

    A comment by an organization name gets that name's account id; anyone else is
    told apart by name plus uri or email, when the feed gives them.
    """
    out = []
    for entry in parsed.entries:
        pid = _entry_id(entry)
        published, updated = _when(entry)
        created = published or updated
        if pid is None or created is None or pid == root:
            continue
        name, contact = _person(entry.get("author_detail"), entry.get("author", ""))
        key = normalize_name(name) or "anonymous"
        author = f"name:{key}" if key in org_names or not contact else f"name:{key} <{contact}>"
        content = entry.get("content") or []
        text, links = _detail_text(content[0] if content else entry.get("summary_detail"), entry.get("summary", ""))
        if not text:
            text, _ = _detail_text(entry.get("title_detail"), entry.get("title", ""))
        ref = (entry.get("thr_in-reply-to") or {}).get("ref")
        out.append(
            (
                Post(
                    id=pid,
                    author_id=author,
                    created_at=created,
                    url=entry.get("link", ""),
                    parent_id=ref or root,
                    root_id=root,
                    text=text,
                    links=links,
                ),
                updated or created,
            )
        )
    return out


def is_threaded(parsed: Any) -> bool:
    """Whether a comment feed says what each comment answers (`thr:in-reply-to`)."""
    return any(dict.get(entry, "thr_in-reply-to") for entry in parsed.entries)


def vanished(known: dict[str, list[float]], present: dict[str, list[float]]) -> list[str]:
    """Known ids gone from a feed that still reaches back past them.

    Each value is [published, updated] (epoch seconds). A feed ordered by either time
    still shows an item newer than its oldest one by *both*, unless it was deleted.
    """
    if not present:
        return []  # an empty feed is more likely a hiccup than everything deleted
    oldest_published = min(v[0] for v in present.values())
    oldest_updated = min(v[1] for v in present.values())
    return sorted(
        pid
        for pid, (published, updated) in known.items()
        if pid not in present and published > oldest_published and updated > oldest_updated
    )


# -- polling -----------------------------------------------------------------------------


@dataclass
class _Pages:
    """One read of a feed and its next pages: the URLs visited, the documents that
    changed, and the ids listed on the pages that answered 304."""

    urls: list[str] = field(default_factory=list)
    fresh: list[Any] = field(default_factory=list)
    unchanged_ids: list[str] = field(default_factory=list)


class FeedCollector:
    """Polls one feed (and, when due, its comment feeds) into a `Batch`."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.url: str = context.option("url")
        self.feed_id = f"feed:{self.url}"

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        state = CursorState.load(cursor)
        since = state.since(now, self.context.horizon).timestamp()
        old_pages: dict[str, dict[str, Any]] = state.data.get("pages", {})
        pages: dict[str, dict[str, Any]] = {}
        known: dict[str, dict[str, Any]] = state.data.get("entries", {})

        read = await self._read(self.url, old_pages, pages, stop_before=since)
        authors = set(state.data.get("authors", []))
        entries: dict[str, dict[str, Any]] = {}
        posts: list[Post] = []
        counters: list[Counters] = []
        for parsed in read.fresh:
            authors |= feed_authors(parsed)
            for item in feed_posts(parsed, self.feed_id, self.url):
                created = item.post.created_at.timestamp()
                if created < since:
                    continue
                posts.append(item.post)
                if item.replies is not None:
                    counters.append(Counters(item.post.id, now, replies=item.replies))
                entries[item.post.id] = {
                    "t": created,
                    "u": item.updated.timestamp(),
                    "c": item.comments,
                    "n": item.replies,
                    "p": known.get(item.post.id, {}).get("p", []),
                }
        for pid in read.unchanged_ids:
            if pid in known and pid not in entries and known[pid]["t"] >= since:
                entries[pid] = known[pid]

        deleted: list[str] = []
        if read.fresh:  # an unchanged feed deleted nothing
            times = {pid: [e["t"], e["u"]] for pid, e in entries.items()}
            deleted += vanished({pid: [e["t"], e["u"]] for pid, e in known.items()}, times)
        for pid, entry in known.items():  # fell off the feed's last N: its comment feed still answers
            if pid not in entries and pid not in deleted and entry["t"] >= since:
                entries[pid] = entry

        org_names = {normalize_name(n) for n in (*authors, *self.context.also)}
        watch = state.threads()
        threaded: bool = state.data.get("threaded", False)
        comments: dict[str, dict[str, list[float]]] = state.data.get("comments", {})
        kept: dict[str, dict[str, list[float]]] = {}
        for pid, entry in sorted(entries.items()):
            if not entry["c"]:
                continue
            signature = "" if entry["n"] is None else str(entry["n"])
            seen = comments.get(pid, {})
            if watch.due(pid, signature, now, self.context.thread_refresh):
                try:
                    thread = await self._read(entry["c"], old_pages, pages, stop_before=None, conditional=False)
                except FetchError as e:
                    if e.status not in (404, 410):
                        raise
                    thread = _Pages()  # comments closed or feed removed: nothing to read, not a failure
                threaded = threaded or any(is_threaded(parsed) for parsed in thread.fresh)
                if thread.fresh:
                    found = {c: seen[c] for c in thread.unchanged_ids if c in seen}
                    for parsed in thread.fresh:
                        for post, updated in comment_posts(parsed, pid, org_names):
                            posts.append(post)
                            found[post.id] = [post.created_at.timestamp(), updated.timestamp()]
                    deleted += vanished(seen, found)
                    seen = found
                entry["p"] = thread.urls
                watch.read(pid, signature, now)
            else:  # keep its validators for the next read
                pages.update({u: old_pages[u] for u in entry["p"] if u in old_pages})
            kept[pid] = seen
        watch.forget_older(set(entries))

        measures: set[Part] = set()
        if any(e["c"] for e in entries.values()):
            # unthreaded comments all answer the entry: no comment can be seen answering another
            measures = {"replies", "responses"} if threaded else {"replies"}
        state.data.update(
            polled=True, pages=pages, entries=entries, comments=kept, authors=sorted(authors), threaded=threaded
        )
        return Batch(
            source_id=self.context.source.id,
            platform=PLATFORM,
            polled_at=now,
            posts=tuple(posts),
            counters=tuple(counters),
            accounts=self._accounts(authors),
            deleted=tuple(dict.fromkeys(deleted)),
            measures=frozenset(measures),
            cursor=state.dump(),
        )

    def _accounts(self, authors: set[str]) -> tuple[Account, ...]:
        accounts = [Account(self.feed_id, self.url)]
        accounts += [Account(f"name:{normalize_name(n)}", n) for n in sorted(authors)]
        accounts += [Account(f"name:{normalize_name(h)}", h, f"{PLATFORM}:{h}") for h in self.context.also]
        return tuple(accounts)

    async def _read(
        self,
        url: str,
        old: dict[str, dict[str, Any]],
        new: dict[str, dict[str, Any]],
        *,
        stop_before: float | None,
        conditional: bool = True,
    ) -> _Pages:
        """A feed and its next pages; stops after a page reaching back past `stop_before`."""
        out = _Pages()
        while url and url not in new and len(out.urls) < MAX_PAGES:
            record = old.get(url, {})
            response = await self._get(url, record if conditional else {}, conditional=conditional)
            if response.status == 304:
                out.unchanged_ids += record.get("ids", [])
            else:
                content_type = response.headers.get("content-type", "application/xml")
                parsed = await asyncio.to_thread(parse_feed, response.body, url, content_type)
                out.fresh.append(parsed)
                stamps = [s for s in (_when(e)[0] or _when(e)[1] for e in parsed.entries) if s is not None]
                links = parsed.feed.get("links", ())
                record = {
                    "etag": response.headers.get("etag"),
                    "modified": response.headers.get("last-modified"),
                    "next": next((link["href"] for link in links if link.get("rel") == "next"), None),
                    "ids": [pid for pid in map(_entry_id, parsed.entries) if pid],
                    "oldest": min(s.timestamp() for s in stamps) if stamps else None,
                }
            new[url] = record
            out.urls.append(url)
            if stop_before is not None and record.get("oldest") is not None and record["oldest"] < stop_before:
                break
            url = urljoin(url, record["next"]) if record.get("next") else ""
        return out

    async def _get(self, url: str, record: dict[str, Any], *, conditional: bool) -> Response:
        """A GET whose validators outlive the process (the cursor keeps them), when `conditional`."""
        headers = {"Accept": ACCEPT}
        if record.get("etag"):
            headers["If-None-Match"] = record["etag"]
        if record.get("modified"):
            headers["If-Modified-Since"] = record["modified"]
        return await self.context.http.get(url, headers=headers, conditional=conditional)
