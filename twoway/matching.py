"""How goal filters match text, hashtags and links (SPEC §3, Filters).

Shared by the store (which keeps a community message's matched keywords when its
text is not kept) and by metrics (which filters broadcasts and mentions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "has_prefix",
    "keywords_pattern",
    "link_matches",
    "matched_keywords",
    "normalize_hashtag",
    "normalize_link",
]


def normalize_hashtag(tag: str) -> str:
    return tag.strip().lstrip("#").casefold()


def normalize_link(url: str) -> str:
    """Drop the scheme and a leading `www.`, and ignore case, so prefixes compare on host and path.

    Paths are compared without case too: staff type `Library.org/Events` for
    `library.org/events`, and no library runs two pages that differ only in case.
    """
    url = url.strip()
    url = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", url)
    url = re.sub(r"^www\.", "", url, flags=re.IGNORECASE)
    return url.lower()


def link_matches(link: str, prefix: str) -> bool:
    """Prefix match ending at a path boundary: `a.org/ev` matches `a.org/ev/x`, not `a.org/evx`."""
    return has_prefix(normalize_link(link), normalize_link(prefix).rstrip("/"))


def has_prefix(link: str, prefix: str) -> bool:
    """`link_matches` for links and a prefix already normalized (as the store and config keep them)."""
    return link.startswith(prefix) and (len(link) == len(prefix) or link[len(prefix)] in "/?#")


@lru_cache(maxsize=256)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def keywords_pattern(keywords: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of the keywords (whole words or phrases, any case)."""
    parts = [_keyword_pattern(k.strip()).pattern for k in keywords if k.strip()]
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE) if parts else None


def matched_keywords(text: str, keywords: Iterable[str]) -> tuple[str, ...]:
    """The keywords (whole words or phrases, any case) that occur in `text`."""
    return tuple(k for k in keywords if k.strip() and _keyword_pattern(k.strip()).search(text))
