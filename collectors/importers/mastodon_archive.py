"""A Mastodon account archive (Preferences → Import and export → Request your archive).

The archive is a `.zip` (a `.tar.gz` from older servers) holding `outbox.json`
(an ActivityStreams OrderedCollection of the account's `Create` and `Announce`
activities), `actor.json` (the account), `likes.json` and `bookmarks.json` (addresses of
statuses it favourited or bookmarked) and its media. PATH is the archive or the folder
it was unpacked into.

- Every `Create` is one of the account's posts: a broadcast, a post of a self-thread,
  or a reply to someone (`inReplyTo`). Direct messages (addressed neither to the public
  nor to the followers) are left out, as the collector leaves them out.
- Every `Announce` is the account's boost of a post: neither broadcast nor response
  (`is_repost`), and, when the boosted post is its own, its own repost, which the store
  leaves out of `reposts` like the collector's.
- Counters: recent Mastodon versions give each post its favourites and boosts
  (`likes.totalItems`, `shares.totalItems`), which count as observed when the archive
  was made (so a later poll's counters win); older archives have none, and then
  likes and reposts are not measured from the archive.
- `likes.json`: the account's favourites of its own posts, left out of `likes`.

Ids are the ones the Mastodon API uses, so an archive imported into the polled Mastodon
source (`--format mastodon_archive`) merges with what polling stored and counts nothing
twice: a status's address ends in its id (`https://host/users/name/statuses/<id>`, or
`/ap/users/<account id>/statuses/<id>` for accounts with numeric addresses), and a reply to
a status on the same server has that status's id as its parent. A reply to a status on
another server keeps that status's address (the id this server gave it is not in the
archive). The account's own id: for numeric addresses the id in them, the API's; else
`actor.json` names no id, so its address is the author and is given as the source's account
(`Batch.accounts`, origin `source`), which makes its posts the organization's wherever
they are stored, beside the numeric id polling gives.

What it cannot measure: the archive holds only the account's own posts, so no community
replies, mentions or responses (a reply of the account counts as a response only when
polling stored the message it answers), no reply counts, no quotes, no followers.
Archives of other servers (Akkoma, Pleroma) read too, into a `mastodon_archive` source,
with the addresses as ids; they cannot merge with a polled source, whose ids are the
server's own.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twoway.collectors.mastodon import parse_status
from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.files import ExportFiles, JsonDoc
from twoway.plugin.importer import ImportFailed

__all__ = ["MastodonArchiveImporter"]

PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
_STATUS = re.compile(r"/(?:users/[^/]+|ap/users/\d+)/statuses/(\d+)(?:/activity)?/?")
_NUMERIC_ACTOR = re.compile(r"/ap/users/(\d+)/?")
class MastodonArchiveImporter:
    FORMAT = "mastodon_archive"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        with ExportFiles(path) as files:
            outbox_name = _outbox(files)
            folder = outbox_name.removesuffix("outbox.json")
            if f"{folder}actor.json" not in files.names:
                raise ImportFailed(f"{files.label(folder + 'actor.json')}: missing (it comes with outbox.json)")
            actor = _Actor(files.json(f"{folder}actor.json"))
            outbox = files.json(outbox_name)
            likes = files.json(f"{folder}likes.json") if f"{folder}likes.json" in files.names else None
        archive = _Archive(actor, outbox, now, live=platform != self.FORMAT, source_id=source_id)
        if likes is not None:
            archive.own_likes(likes)
        return Batch(
            source_id=source_id,
            platform=platform,
            polled_at=now,
            posts=tuple(sorted(archive.posts.values(), key=lambda p: p.created_at)),  # parents first
            counters=tuple(archive.counters),
            reactions=tuple(archive.reactions),
            accounts=(Account(actor.author_id, actor.handle, "source"),),
            measures=archive.measures(),
        )


def _outbox(files: ExportFiles) -> str:
    """The `outbox.json` nearest the top (an unpacked archive may sit in a folder of its own)."""
    found = [n for n in files.names if n == "outbox.json" or n.endswith("/outbox.json")]
    if not found:
        raise ImportFailed(
            f"{files.path.name}: no outbox.json: expected a Mastodon archive (the .zip from"
            " Preferences → Import and export, or the folder it was unpacked into)"
        )
    return min(found, key=lambda n: (n.count("/"), n))


class _Actor:
    """The archive's account: its address, host, handle, and the author id its posts get."""

    def __init__(self, doc: JsonDoc) -> None:
        top = doc.top()
        self.uri = doc.get(top, "", "id", str, required=True)
        self.host = urlsplit(self.uri).netloc
        if not self.host:
            doc.fail("id", f"{self.uri!r} is not the account's address (https://host/users/name)")
        name = doc.get(top, "", "preferredUsername", str) or self.uri.rstrip("/").rsplit("/", 1)[-1]
        self.handle = f"{name}@{self.host}"
        self.followers = doc.get(top, "", "followers", str) or f"{self.uri.rstrip('/')}/followers"
        numeric = _NUMERIC_ACTOR.fullmatch(urlsplit(self.uri).path)
        self.author_id = numeric.group(1) if numeric else self.uri

    def status_id(self, uri: str) -> str | None:
        """The API's id of a status on this server, from its address; `None` for any other address."""
        parts = urlsplit(uri)
        match = _STATUS.fullmatch(parts.path) if parts.netloc == self.host else None
        return match.group(1) if match else None


class _Archive:
    """The outbox's posts, boosts and the account's own reactions."""

    def __init__(self, actor: _Actor, outbox: JsonDoc, now: datetime, *, live: bool, source_id: str) -> None:
        self.actor = actor
        self.doc = outbox
        self.now = now
        self.live = live
        self.source_id = source_id
        self.posts: dict[str, Post] = {}
        self.counters: list[Counters] = []
        """Boosts and favourites of the posts the archive counts them for, as of `now`."""
        self.reactions: list[Reaction] = []
        self.boosted: list[str] = []
        """The ids of the posts it boosted, matched to its own posts once all are read."""
        for path, item in outbox.objects(outbox.top(), "", "orderedItems"):
            kind = outbox.get(item, path, "type", str, required=True)
            if kind == "Create":
                self.create(path, item)
            elif kind == "Announce":
                self.announce(path, item)
        own = set(self.posts)
        for boosted in self.boosted:
            if boosted in own:
                self.reactions.append(Reaction(boosted, "reposts", actor.author_id))

    def measures(self) -> frozenset[Part]:
        """Reposts and likes where the archive counts them; nothing else can be measured from it."""
        parts: set[Part] = set()
        for c in self.counters:
            if c.reposts is not None:
                parts.add("reposts")
            if c.likes is not None:
                parts.add("likes")
        return frozenset(parts)

    def id_of(self, uri: str, path: str) -> str:
        """The API's id of the account's own status; its address where the API's cannot be known."""
        sid = self.actor.status_id(uri)
        if sid is not None:
            return sid
        if self.live:
            self.doc.fail(
                path,
                f"{uri!r} is no Mastodon status address (https://host/users/name/statuses/123): this archive"
                f" cannot be matched with the posts source {self.source_id!r} polls; import it into a source"
                ' with platform = "mastodon_archive" instead',
            )
        return uri

    def reference(self, uri: str) -> str:
        """Another status's id as the API gives it when on this server, else its address."""
        return self.actor.status_id(uri) or uri

    def create(self, path: str, item: dict[str, Any]) -> None:
        doc, where = self.doc, f"{path}.object"
        note = doc.get(item, path, "object", dict, required=True)
        if not self.addressed(note) and not self.addressed(item):
            return  # a direct message
        uri = doc.get(note, where, "id", str, required=True)
        sid = self.id_of(uri, f"{where}.id")
        published = doc.time(note, where, "published")
        parent = doc.get(note, where, "inReplyTo", str)
        tags = [t for _, t in _listed(doc, note, where, "tag") if t.get("type") == "Hashtag"]
        status = {
            "id": sid,
            "account": {"id": self.actor.author_id},
            "created_at": published.isoformat(),
            "url": _href(note.get("url")) or uri,
            "in_reply_to_id": self.reference(parent) if parent else None,
            "content": doc.get(note, where, "content", str) or "",
            "spoiler_text": doc.get(note, where, "summary", str) or "",
            "tags": [{"name": str(t.get("name") or "").lstrip("#")} for t in tags],
        }
        self.posts[sid] = parse_status(status, self.actor.author_id)
        shares, likes = _total(doc, note, where, "shares"), _total(doc, note, where, "likes")
        if shares is not None or likes is not None:
            self.counters.append(Counters(sid, self.now, reposts=shares, likes=likes))

    def announce(self, path: str, item: dict[str, Any]) -> None:
        doc = self.doc
        uri = doc.get(item, path, "id", str, required=True)
        sid = self.id_of(uri, f"{path}.id")
        published = doc.time(item, path, "published")
        boosted = item.get("object")
        boosted_uri = _href(boosted) or (boosted.get("id") if isinstance(boosted, dict) else None)
        if not isinstance(boosted_uri, str) or not boosted_uri:
            doc.fail(f"{path}.object", "missing the boosted post's address")
        self.posts[sid] = Post(sid, self.actor.author_id, published, boosted_uri, root_id=sid, is_repost=True)
        self.boosted.append(self.reference(boosted_uri))

    def addressed(self, obj: dict[str, Any]) -> bool:
        """Public, unlisted or followers-only: anything but a direct message."""
        audience = {a for key in ("to", "cc") for a in _strings(obj.get(key))}
        return bool(audience & (PUBLIC | {self.actor.followers}))

    def own_likes(self, likes: JsonDoc) -> None:
        """The account's favourites of its own posts: the store leaves them out of `likes`."""
        items = likes.get(likes.top(), "", "orderedItems", list) or []
        for uri in items:
            sid = self.actor.status_id(uri) if isinstance(uri, str) else None
            if sid in self.posts:
                self.reactions.append(Reaction(sid, "likes", self.actor.author_id))


def _total(doc: JsonDoc, note: dict[str, Any], path: str, key: str) -> int | None:
    """`totalItems` of a post's `likes` or `shares` collection; `None` where the archive has none."""
    collection = doc.get(note, path, key, dict)
    return doc.get(collection, f"{path}.{key}", "totalItems", int) if collection else None


def _listed(doc: JsonDoc, obj: dict[str, Any], path: str, key: str) -> list[tuple[str, dict[str, Any]]]:
    """A field ActivityStreams allows as one object or a list of them."""
    if isinstance(obj.get(key), dict):
        return [(f"{path}.{key}", obj[key])]
    return doc.objects(obj, path, key)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _href(value: Any) -> str:
    """A `url` as ActivityStreams may give it: a string, a Link object, or a list of either."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("href") or "")
    if isinstance(value, list) and value:
        return _href(value[0])
    return ""
