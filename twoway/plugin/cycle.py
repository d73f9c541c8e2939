"""What the collectors' polls share: the state one cycle works in, and how it ends as a `Batch`.

A collector's `_Cycle` subclasses it for one poll and fills `posts` and `deleted` as it
reads; one rule ends them all: a post the cycle both read and found gone is reported gone,
not emitted. Where a read outranks a deletion (Discourse, Reddit, Bluesky), the cycle takes
what it read out of `deleted` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from twoway.model import Batch

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from twoway.model import Account, Counters, Part, Post, Reaction
    from twoway.plugin.protocol import Context, CursorState

__all__ = ["Cycle"]


class Cycle:
    """The work of one poll, and what it learned so far."""

    platform: ClassVar[str]
    """The `Batch.platform` it reports under."""

    def __init__(self, context: Context, state: CursorState, now: datetime) -> None:
        self.context = context
        self.state = state
        self.now = now
        self.since = state.since(now, context.horizon)
        self.posts: dict[str, Post] = {}
        """By id, so a post met twice is emitted once."""
        self.deleted: set[str] = set()

    def batch(
        self,
        *,
        measures: frozenset[Part],
        counters: Iterable[Counters] = (),
        reactions: Iterable[Reaction] = (),
        accounts: Iterable[Account] = (),
        followers: int | None = None,
    ) -> Batch:
        """Everything the cycle learned, with the cursor as it leaves it."""
        return Batch(
            source_id=self.context.source.id,
            platform=self.platform,
            polled_at=self.now,
            posts=tuple(post for pid, post in self.posts.items() if pid not in self.deleted),
            counters=tuple(counters),
            reactions=tuple(reactions),
            accounts=tuple(accounts),
            deleted=tuple(sorted(self.deleted)),
            followers=followers,
            measures=measures,
            cursor=self.state.dump(),
        )
