"""Google+ Takeout: an account's posts, their comments, +1s and reshares (Google+ closed in 2019).

Takeout wrote one JSON file per post in `Takeout/Google+ Stream/Posts/`, named
`YYYYMMDD - <start of the text>.json`, beside the post's photos and their
`.metadata.csv`. PATH is the Takeout `.zip` (a split export: import every part), the
folder it was unpacked into, any folder inside it down to `Posts`, or one post file. A
folder without `Google+ Stream/Posts` in it (a Takeout in another language) is read as
the posts folder itself.

- A post is a broadcast by its author, the account that asked for the Takeout
  (`author.resourceName`, given as the source's account). A reshare without words of its
  own (`resharedPost`, empty `content`) is the account's repost of someone else's post:
  neither broadcast nor response.
- `comments[]` are flat, without parents. One by someone else is a community reply to the
  post; one by the account answers the latest community comment before it (Google+ showed
  comments in time order and people answered the one above), and before any, continues
  the post and answers nothing.
- `plusOnes[]` and `reshares[]` name who +1'd and reshared: the likes and reposts
  counters, the account's own left out. Takeout leaves empty lists out, so an absent list
  is none. The counters are as of the export.
- Text is the HTML `content` without markup; hashtags come from the text, links from its
  anchors and the `link` preview (Google+'s own profile and hashtag pages left out).

What it cannot measure: mentions (posts by others naming the account are not in its
Takeout), quotes (Google+ had none), followers (not in Takeout).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twoway.collectors.mastodon import plain_text
from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.files import ExportFiles, JsonDoc
from twoway.plugin.importer import ImportFailed
from twoway.plugin.text import hashtags_in

__all__ = ["GooglePlusImporter"]

MEASURES: frozenset[Part] = frozenset({"replies", "responses", "reposts", "likes"})
POSTS = re.compile(r"(?:^|/)Google\+ Stream/Posts/[^/]+\.json")
TIME_EXAMPLE = "2018-10-09 11:38:31+0000"
INTERNAL_HOSTS = frozenset({"plus.google.com"})
"""Links to Google+'s own pages: a hashtag's search, a +mentioned profile."""


class GooglePlusImporter:
    FORMAT = "googleplus"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        with ExportFiles(path) as files:
            docs = [files.json(name) for name in _post_files(files)]
        posts = [_Takeout(doc) for doc in docs]
        owners = {p.author: p.author_name for p in posts}
        batch: dict[str, Post] = {}
        counters: dict[str, Counters] = {}
        reactions: set[Reaction] = set()
        for post in posts:
            for record in post.records(owners):
                batch[record.id] = record
            counters[post.id] = post.counters(now)
            reactions.update(post.own_reactions(owners))
        return Batch(
            source_id=source_id,
            platform=platform,
            polled_at=now,
            posts=tuple(batch.values()),
            counters=tuple(counters.values()),
            reactions=tuple(sorted(reactions)),
            accounts=tuple(Account(author, name, "source") for author, name in sorted(owners.items())),
            measures=MEASURES,
        )


def _post_files(files: ExportFiles) -> list[str]:
    """The post files: those in `Google+ Stream/Posts`, else every `.json` at the top of PATH."""
    found = [n for n in files.names if POSTS.search(n)]
    if not found and not files.is_archive:
        found = [n for n in files.names if n.count("/") <= 1 and n.lower().endswith(".json")]
    if not found:
        raise ImportFailed(
            f"{files.path.name}: no Google+ posts: expected Takeout/Google+ Stream/Posts/*.json"
            " (export the Google+ Stream as JSON, not HTML)"
        )
    return found


class _Takeout:
    """One post file: the post, its comments, who +1'd and reshared it."""

    def __init__(self, doc: JsonDoc) -> None:
        self.doc = doc
        top = doc.top()
        author = doc.get(top, "", "author", dict, required=True)
        self.author: str = doc.get(author, "author", "resourceName", str, required=True)
        self.author_name: str = doc.get(author, "author", "displayName", str) or self.author
        self.created = doc.time(top, "", "creationTime", TIME_EXAMPLE)
        self.url: str = doc.get(top, "", "url", str) or ""
        self.id: str = self.url or doc.get(top, "", "resourceName", str) or ""
        if not self.id:
            doc.fail("url", "missing (and no resourceName to tell the post by)")
        self.text, self.hashtags, self.links = _content(doc, top, "")
        self.is_repost = doc.get(top, "", "resharedPost", dict) is not None and not self.text
        self.plus_ones = _people(doc, top, "plusOnes", "plusOner")
        self.reshares = _people(doc, top, "reshares", "resharer")
        self.comments = doc.objects(top, "", "comments")

    def records(self, owners: dict[str, str]) -> list[Post]:
        """The post, then its comments, each owner's comment answering the community comment above it."""
        post = Post(
            self.id, self.author, self.created, self.url, root_id=self.id, text=self.text,
            hashtags=self.hashtags, links=self.links, is_repost=self.is_repost,
        )
        comments = sorted((self.comment(path, item) for path, item in self.comments), key=lambda c: c.created_at)
        records, above = [post], None
        for comment in comments:
            if comment.author_id in owners:
                comment = comment._replace(parent_id=above or self.id)
            else:
                above = comment.id
            records.append(comment)
        return records

    def comment(self, path: str, item: dict[str, Any]) -> Post:
        """A comment as a reply to the post; `records` re-parents the account's own."""
        doc = self.doc
        author = doc.get(item, path, "author", dict, required=True)
        author_id = doc.get(author, f"{path}.author", "resourceName", str, required=True)
        created = doc.time(item, path, "creationTime", TIME_EXAMPLE)
        text, hashtags, links = _content(doc, item, path)
        cid = doc.get(item, path, "resourceName", str)
        if not cid:  # a stable stand-in: the same comment in any export, edited or not, gets the same id
            digest = hashlib.sha256(f"{author_id}\n{created.isoformat()}".encode()).hexdigest()[:24]
            cid = f"{self.id}#comment-{digest}"
        url = doc.get(item, path, "postUrl", str) or self.url
        return Post(cid, author_id, created, url, self.id, self.id, text, hashtags, links)

    def counters(self, now: datetime) -> Counters:
        return Counters(
            self.id, now, replies=len(self.comments), reposts=len(self.reshares), likes=len(self.plus_ones)
        )

    def own_reactions(self, owners: dict[str, str]) -> list[Reaction]:
        """The account's +1s and reshares of its own post: the store leaves them out of the counters."""
        return [Reaction(self.id, "likes", who) for who in self.plus_ones if who in owners] + [
            Reaction(self.id, "reposts", who) for who in self.reshares if who in owners
        ]


def _people(doc: JsonDoc, top: dict[str, Any], key: str, role: str) -> list[str]:
    """Who +1'd or reshared, by `resourceName` (empty when a name is missing: counted all the same)."""
    people = []
    for path, item in doc.objects(top, "", key):
        person = doc.get(item, path, role, dict) or {}
        people.append(doc.get(person, f"{path}.{role}", "resourceName", str) or "")
    return people


def _content(doc: JsonDoc, obj: dict[str, Any], path: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(text, hashtags, links) of a post's or comment's HTML `content` and `link` preview."""
    text, links = plain_text(doc.get(obj, path, "content", str) or "")
    preview = doc.get(obj, path, "link", dict)
    if preview:
        links.append(doc.get(preview, f"{path}.link" if path else "link", "url", str) or "")
    external = (link for link in links if link and not _internal(link))
    return text, hashtags_in(text), tuple(dict.fromkeys(external))


def _internal(link: str) -> bool:
    try:
        return urlsplit(link).hostname in INTERNAL_HOSTS
    except ValueError:  # a malformed address is no Google+ page; the store keeps it as text
        return False
