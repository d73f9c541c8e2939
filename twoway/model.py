"""The normalized records every collector emits, whatever the platform.

A collector never decides who is the organization or what counts as a broadcast:
it reports authors by their platform id and the store derives roles from the
organization's accounts, so a change to `[organization] also` re-derives stored
data too (SPEC §2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from twoway.report import PARTS, Part

__all__ = [
    "PARTS",
    "Account",
    "Batch",
    "Counters",
    "Imported",
    "Part",
    "Post",
    "Reaction",
]




class Post(NamedTuple):
    """One post, reply or comment as the platform shows it now (its latest edit)."""

    id: str
    author_id: str
    """The author's stable platform id; hashed in the store unless an organization account."""
    created_at: datetime
    """Aware UTC; never changes once stored, whatever later edits say."""
    url: str = ""
    parent_id: str | None = None
    """The post this one replies to, on the same source."""
    root_id: str | None = None
    """The top of its conversation, when the platform says; else derived from parents."""
    text: str = ""
    """Plain text without markup; a blog post's title included."""
    hashtags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mentions_source: bool = False
    """True when the post explicitly names the source's own account."""
    is_repost: bool = False
    """The organization's repost of someone else's post: neither broadcast nor response."""


class Counters(NamedTuple):
    """A post's public counters at one moment; `None` means not observed."""

    post_id: str
    observed_at: datetime
    replies: int | None = None
    reposts: int | None = None
    quotes: int | None = None
    likes: int | None = None


class Reaction(NamedTuple):
    """Who reposted, quoted or liked a post, where the platform says who."""

    post_id: str
    kind: Literal["reposts", "quotes", "likes"]
    author_id: str


class Account(NamedTuple):
    """An organization account resolved to its platform id."""

    author_id: str
    handle: str
    origin: str = "source"
    """`source` for the source's own account, else the `also` entry it came from."""


class Imported(NamedTuple):
    """Where an imported batch came from: its numbers are the export's, not a poll's."""

    file: str
    """The file's name (not its path: the path may say more than the store should keep)."""
    format: str
    exported_at: datetime
    imported_at: datetime


class Batch(NamedTuple):
    """Everything one poll of one source learned; the store writes it in one transaction."""

    source_id: str
    platform: str
    polled_at: datetime
    posts: tuple[Post, ...] = ()
    counters: tuple[Counters, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    accounts: tuple[Account, ...] = ()
    deleted: tuple[str, ...] = ()
    """Ids of posts the platform says are gone."""
    followers: int | None = None
    measures: frozenset[Part] | None = None
    """The parts this source can measure, as its collector knows them now."""
    cursor: str | None = None
    """Opaque to everyone but the collector that wrote it; `None` keeps the old one."""
    imported: Imported | None = None
    """Set by `twoway import`: the batch is a file's, so it is no poll of the source."""
