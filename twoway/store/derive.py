"""Roles in one conversation (SPEC §2), from its stored posts and the organization's accounts.

Pure Python, no SQL: the store loads a conversation's posts, hands them here, and
writes back each post's role and the units (a broadcast with its thread's rollups,
or a mention) that metrics count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Set
from typing import NamedTuple

from twoway.store.packing import match, pack

__all__ = ["Derivation", "ThreadPost"]

MESSAGE_ROLES = ("reply", "mention")

class ThreadPost(NamedTuple):
    """A stored post as derivation needs it (see `Store._derive` for the column order)."""


    post_id: str
    parent_id: str | None
    root_id: str
    author_hash: str
    voice: int
    created_at: int
    deleted: int
    mentions_source: int
    is_repost: int
    platform: str
    url: str
    text: str | None
    hashtags: str
    links: str
    keywords: str
    reposts: int | None
    quotes: int | None
    likes: int | None


class Derivation:
    """Roles for one conversation (SPEC §2), from its stored posts and the organization's accounts."""

    def __init__(
        self,
        root: str,
        rows: list[ThreadPost],
        org: set[str],
        wait: Callable[[int, int], int],
        done: Set[str] = frozenset(),
    ) -> None:
        self.root = root
        self.done = done
        """Messages marked "no reply needed": unanswered, yet waiting for nobody (SPEC §9)."""
        self.posts = {r.post_id: r for r in rows}
        top = self.posts.get(root)
        self.top = top
        self.is_thread = top is not None and top.author_hash in org and not top.is_repost and top.parent_id is None
        self.org = org
        seen: dict[str, str] = {}
        structural = {pid: self._classify(pid, seen) for pid in self.posts}
        self.structural = structural
        self.role = {pid: "gone" if self.posts[pid].deleted else r for pid, r in structural.items()}
        self.answered_at: dict[str, int] = {}
        self.responses: dict[str, int] = defaultdict(int)
        for pid, post in self.posts.items():
            if self.role[pid] == "response" and post.parent_id is not None:
                self.responses[post.parent_id] += 1
                first = min(self.answered_at.get(post.parent_id, post.created_at), post.created_at)
                self.answered_at[post.parent_id] = first
        self.waits = {pid: wait(self.posts[pid].created_at, at) for pid, at in self.answered_at.items()}

    def _classify(self, pid: str, seen: dict[str, str]) -> str:
        if pid in seen:
            return seen[pid]
        seen[pid] = "other"  # guards against reply cycles in hostile data
        post = self.posts[pid]
        is_org = post.author_hash in self.org
        parent = self.posts.get(post.parent_id) if post.parent_id else None
        parent_role = self._classify(parent.post_id, seen) if parent else None
        is_thread = self.is_thread
        if is_thread and self.top.deleted:  # type: ignore[union-attr]
            result = "gone"  # a deleted broadcast takes its whole thread with it
        elif is_org and post.is_repost:
            result = "other"
        elif is_thread and pid == self.root:
            result = "broadcast"
        elif is_thread and is_org and parent_role in ("broadcast", "chain"):
            result = "chain"
        elif is_thread and not is_org:
            result = "reply"
        elif not is_thread and not is_org and post.mentions_source:
            result = "mention"
        elif is_org and parent is not None and parent_role in MESSAGE_ROLES and not parent.deleted:
            result = "response"
        else:
            result = "other"
        seen[pid] = result
        return result

    def post_updates(self) -> list[tuple[object, ...]]:
        """(post_id, role, thread, thread_at, answers, answered_at, wait, responses) per post."""
        thread = self.root if self.is_thread else None
        thread_at = self.top.created_at if self.is_thread else None  # type: ignore[union-attr]
        updates: list[tuple[object, ...]] = []
        for pid, post in self.posts.items():
            role = self.role[pid]
            message = role in MESSAGE_ROLES
            updates.append((
                pid, role, thread, thread_at,
                post.parent_id if role == "response" else None,
                self.answered_at.get(pid) if message else None,
                self.waits.get(pid) if message else None,
                self.responses.get(pid, 0) if message else 0,
            ))
        return updates

    def unit_rows(self, own: dict[tuple[str, str], int]) -> list[tuple[object, ...]]:
        """The broadcast's unit with its thread's rollups, and one unit per mention."""
        units = []
        for pid, post in self.posts.items():
            role = self.role[pid]
            if role == "broadcast":
                units.append(self._broadcast(post, own))
            elif role == "mention":
                answered = pid in self.answered_at
                waiting = not answered and pid not in self.done
                units.append((
                    "mention", post.created_at, pid, self.root, post.platform, post.url,
                    match(post.hashtags, post.links, post.keywords, post.text or ""),
                    None, None, None, 0, 0, 0, 0, self.responses.get(pid, 0), int(answered), None, None, None,
                    post.voice, self.waits.get(pid), post.created_at if waiting else None,
                ))
        return units

    def _broadcast(self, top: ThreadPost, own: dict[tuple[str, str], int]) -> tuple[object, ...]:
        chain = sorted(
            (p for p in self.posts.values() if self.structural[p.post_id] in ("broadcast", "chain") and not p.deleted),
            key=lambda p: (p.created_at, p.post_id),
        )
        replies = [p for pid, p in self.posts.items() if self.role[pid] == "reply"]
        unanswered = sorted(  # waiting, rather: marked "no reply needed" is not
            p.created_at for p in replies if p.post_id not in self.answered_at and p.post_id not in self.done
        )
        filters = match(
            " ".join(dict.fromkeys(t for p in chain for t in p.hashtags.split())),
            "\n".join(p.links for p in chain if p.links),
            "",
            "\n".join(p.text or "" for p in chain),
        )
        return (
            "broadcast", top.created_at, top.post_id, self.root, top.platform, top.url, filters,
            top.reposts, top.quotes, top.likes,
            own.get((top.post_id, "reposts"), 0),
            own.get((top.post_id, "quotes"), 0),
            own.get((top.post_id, "likes"), 0),
            len(replies),
            sum(self.responses.get(p.post_id, 0) for p in replies),
            sum(1 for p in replies if p.post_id in self.answered_at),
            pack(sorted({p.voice for p in replies})),
            pack(sorted(self.waits[p.post_id] for p in replies if p.post_id in self.waits)),
            pack(unanswered),
            None,
            None,
            unanswered[-1] if unanswered else None,
        )
