"""Packing a day of units into a `Page`: columns that a snapshot decodes at C speed.

Reading a value from SQLite into Python costs far more than summing it, so metrics
read one row per source and day and unpack whole columns at once. Pure Python, no SQL.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = ["MATCH_SEPARATOR", "PAGE_COUNTS", "RECORD_SEPARATOR", "Page", "match", "pack", "page", "unpack", "voice"]

RECORD_SEPARATOR = "\x1e"
"""Between units in a page's text columns."""
MATCH_SEPARATOR = "\x1f"
"""Between the fields of a unit's match."""

class Page(NamedTuple):
    """One day of a source's broadcasts, or of its mentions, packed in columns for metrics.

    Reading a value from SQLite into Python costs far more than summing it, so a
    snapshot reads one row per day and decodes whole columns at C speed (`unpack`).
    Per unit, oldest first: `ats`, `ids`, `urls` and lowercase `matches` (joined by
    `RECORD_SEPARATOR`; `match` says what a match holds) with their `lengths`, and
    which units carry which hashtag (`tag_index`); `counts`, the columns of
    `PAGE_COUNTS` one after the other; and three variable-length lists stored flat
    with each unit's length: the community members who took part (`voices`), the
    response waits of the answered messages (`waits`) and the times of the messages
    waiting for a response (`unanswered`: nobody answered them, and no one marked them
    "no reply needed", SPEC §9).
    """

    day: int
    ats: bytes
    ids: str
    urls: str
    matches: str
    tag_index: str
    """`RECORD_SEPARATOR`, then per hashtag: the tag, `MATCH_SEPARATOR`, the positions holding it
    (comma-separated), `RECORD_SEPARATOR`."""
    lengths: bytes
    counts: bytes
    voice_counts: bytes
    voices: bytes
    wait_counts: bytes
    waits: bytes
    unanswered_counts: bytes
    unanswered: bytes
    last_unanswered: int
    """The latest of the page's unanswered messages, 0 when none: pages without waiting are skipped."""


PAGE_COUNTS = ("reposts", "quotes", "likes", "replies", "responses", "answered", "last_unanswered")
"""Per-unit counts of a page; reposts, quotes and likes net of the organization's own."""
def match(hashtags: str, links: str, keywords: str, text: str) -> str:
    """What goal filters look at, lowercased once here (they all ignore case)."""
    parts = (hashtags.strip(), links, keywords, " ".join(text.split()))
    clean = (p.replace(RECORD_SEPARATOR, " ").replace(MATCH_SEPARATOR, " ") for p in parts)
    return MATCH_SEPARATOR.join(clean).lower()



def voice(author_hash: str) -> int:
    """A community member as a 60-bit integer: cheap to collect into sets across threads."""
    return int(author_hash[:15], 16)


def pack(values: Iterable[int]) -> bytes | None:
    packed = array("q", values)
    if not packed:
        return None
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes | None) -> array[int]:
    values = array("q")
    if blob:
        values.frombytes(blob)
        if sys.byteorder == "big":
            values.byteswap()
    return values


def page(day: int, rows: list[tuple[Any, ...]]) -> tuple[object, ...]:
    """A day's units (rows in the column order of `Store._rebuild_pages`) packed as a `Page`."""
    columns: list[list[int]] = [[] for _ in PAGE_COUNTS]
    flat: tuple[list[int], list[int], list[int]] = ([], [], [])
    sizes: tuple[list[int], list[int], list[int]] = ([], [], [])
    for row in rows:
        for k, column in enumerate(columns):
            column.append(row[3 + k])
        voices, waits, unanswered, member, wait, _ = row[10:]
        if member is not None:  # a mention: one member, at most one wait, itself when unanswered
            lists = ([member], [] if wait is None else [wait], [row[0]] if row[9] else [])
        else:
            lists = (list(unpack(voices)), list(unpack(waits)), list(unpack(unanswered)))
        for values, into, size in zip(lists, flat, sizes):
            into.extend(values)
            size.append(len(values))
    matches = [r[2] for r in rows]
    tagged: dict[str, list[str]] = {}
    for i, match in enumerate(matches):
        for tag in dict.fromkeys(match.partition(MATCH_SEPARATOR)[0].split()):
            tagged.setdefault(tag, []).append(str(i))
    tag_index = "".join(f"{tag}{MATCH_SEPARATOR}{','.join(at)}{RECORD_SEPARATOR}" for tag, at in tagged.items())
    return (
        day,
        pack([r[0] for r in rows]) or b"",
        RECORD_SEPARATOR.join(r[1] for r in rows),
        RECORD_SEPARATOR.join(r[15] for r in rows),
        RECORD_SEPARATOR.join(matches),
        RECORD_SEPARATOR + tag_index,
        pack(map(len, matches)) or b"",
        b"".join(pack(c) or b"" for c in columns),
        pack(sizes[0]) or b"", pack(flat[0]) or b"",
        pack(sizes[1]) or b"", pack(flat[1]) or b"",
        pack(sizes[2]) or b"", pack(flat[2]) or b"",
        max(columns[-1]),
    )
