"""What the three Meta Graph APIs (Facebook Pages, Instagram, Threads) share.

- The base URL: the `api` key (or the platform's host) with a Graph version appended
  unless the URL already names one (`https://graph.facebook.com/v21.0`).
- Paging: Graph lists newest first (comments: oldest first) in pages that carry
  `paging.cursors.after` and, while more follow, `paging.next`. The `next` URL repeats
  the access token in its query, so it is never requested as such: the next page is
  our own URL with `after=` (or, for an edge paged by time, the `next` URL's own query
  without the token). Threads leaves `next` out altogether, so its lists page on the
  cursor until a page comes back empty.
- Times: `2024-05-01T10:00:00+0000` (no colon in the offset) → aware UTC.
- Errors: Graph's `{"error": {"code", "error_subcode", ...}}` mapped to one line of
  advice (`explain`): an expired token, a missing permission, a rate limit.
- The token goes in the `Authorization: Bearer` header, never in a URL.

Rate limits are the HTTP layer's: Meta's usage headers (`X-App-Usage`,
`X-Business-Use-Case-Usage`) become the host's budget there, and a spent budget waits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from twoway.plugin.fields import utc
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import CursorState, explain
from twoway.plugin.text import hashtags_in, links_in

if TYPE_CHECKING:
    from twoway.plugin.protocol import Context

__all__ = [
    "DEFAULT_VERSION",
    "Graph",
    "Rereads",
    "UNKNOWN_AUTHOR",
    "advice",
    "base_url",
    "graph_time",
    "is_refusal",
    "text_parts",
    "vanished",
]

DEFAULT_VERSION = "v21.0"
"""The Graph API version Facebook and Instagram sources use unless `api_version` (or `api`) names another."""
PAGE = 100
"""Items a page: the most Graph hands out on the edges we read."""
MAX_PAGES = 500
"""A list longer than this is a server paging forever, not a library's history."""
UNKNOWN_AUTHOR = "unknown"
"""The author of a comment or post whose author Meta withholds: one anonymous community member."""

_VERSION = re.compile(r"/v\d+(\.\d+)?$")
_RATE_LIMITED = "Meta's rate limit for this app or Page is reached; twoway polls again when it allows"
_PERMISSION_CODES = ("10", *(str(code) for code in range(200, 300)))
"""Graph's permission errors: code 10 and the 2xx range."""


def base_url(api: object, default_host: str, version: object = None) -> str:
    """`api` (or `default_host`) with `/{version}` appended unless the URL already ends in one."""
    root = str(api or default_host).rstrip("/")
    if _VERSION.search(root):
        return root
    wanted = str(version or DEFAULT_VERSION).strip()
    if not re.fullmatch(r"v?\d+\.\d+", wanted):
        raise FetchError(f"api_version {wanted[:20]!r} is not a Graph API version like {DEFAULT_VERSION!r}")
    return f"{root}/{wanted if wanted.startswith('v') else 'v' + wanted}"


graph_time = partial(utc, platform="Meta")
"""Graph's `2024-05-01T10:00:00+0000` (or RFC 3339) as aware UTC."""


def text_parts(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The `#hashtags` and http(s) links written in a plain-text message or caption."""
    return hashtags_in(text), links_in(text)


def advice(expired: str, permissions: str) -> dict[int | str, str]:
    """The advice table for `explain`: what a refused token, a missing permission and a rate limit mean.

    Codes: 190 (and 102, 463, 467) an invalid or expired token; 10 and 200–299 a
    permission the token lacks; 4, 17, 32, 613 and 80001–80014 rate limits.
    """
    table: dict[int | str, str] = {401: expired, "190": expired, "102": expired, "463": expired, "467": expired}
    table.update(dict.fromkeys(_PERMISSION_CODES, permissions))
    table.update(dict.fromkeys(("4", "17", "32", "613", *(str(c) for c in range(80001, 80015))), _RATE_LIMITED))
    return table


def is_refusal(error: FetchError) -> bool:
    """Whether Graph refused for want of a permission (not a broken token or server)."""
    detail = error.data.get("error") if isinstance(error.data, dict) else None
    return isinstance(detail, dict) and str(detail.get("code")) in _PERMISSION_CODES


class Graph:
    """One source's Graph calls: its base URL, its token, its advice for refusals."""

    def __init__(self, context: Context, base: str, token: str | None, table: dict[int | str, str]) -> None:
        self.http = context.http
        self.base = base
        self.token = token
        self.table = table

    async def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One object; a refusal comes back as one line of advice."""
        try:
            response = await self.http.get(f"{self.base}{path}", params=params, token=self.token)
        except FetchError as error:
            raise explain(error, self.table) from None
        data = response.json()
        if not isinstance(data, dict):
            raise FetchError(f"{self.base}{path}: answered {type(data).__name__} where a Graph object was expected")
        return data

    async def items(
        self,
        path: str,
        params: dict[str, Any],
        *,
        since: datetime | None = None,
        time_key: str = "created_time",
        cursor_only: bool = False,
    ) -> list[dict[str, Any]]:
        """Every item of a list edge, following its pages; with `since`, a newest-first list stops there.

        `cursor_only`: the edge never says `next` (Threads), so paging goes on while a page has items.
        """
        found: list[dict[str, Any]] = []
        params = {"limit": PAGE, **params}
        cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            page = await self.get(path, params)
            data = page.get("data")
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise FetchError(f"{self.base}{path}: answered something other than a list of Graph objects")
            for item in data:
                if "id" in item:  # Graph withholds comment ids from some apps (see twoway.collectors.facebook)
                    item["id"] = str(item["id"])
            fresh = [item for item in data if since is None or graph_time(item.get(time_key)) >= since]
            found += fresh
            following = _following(page.get("paging"), cursor_only)
            if len(fresh) < len(data) or not data or following is None:
                return found
            marker = repr(sorted(following.items()))
            if marker in cursors:
                raise FetchError(f"{self.base}{path}: the paging cursor repeats itself")
            cursors.add(marker)
            params = {**params, **following}
        raise FetchError(f"{self.base}{path}: more than {MAX_PAGES} pages")


def _following(paging: Any, cursor_only: bool) -> dict[str, str] | None:
    """The parameters of the next page: its `after` cursor, else the `next` URL's query without the token."""
    if not isinstance(paging, dict) or not (cursor_only or paging.get("next")):
        return None
    after = (paging.get("cursors") or {}).get("after") if isinstance(paging.get("cursors"), dict) else None
    if after:
        return {"after": str(after)}
    following = paging.get("next")
    if not isinstance(following, str):
        return None
    query = {k: v for k, v in parse_qsl(urlsplit(following).query) if k != "access_token"}
    return {k: query[k] for k in ("until", "since", "__paging_token", "offset") if k in query} or None


def vanished(previous: dict[str, float], listed: Iterable[str], since: datetime) -> set[str]:
    """Posts listed before, still younger than `since`, and missing from the list now: deleted."""
    present = set(listed)
    cutoff = since.timestamp()
    return {pid for pid, created in previous.items() if created >= cutoff and pid not in present}


class Rereads:
    """Which conversations this cycle reads (`ThreadWatch`), and the replies gone since their last read.

    Kept in the cursor: the watch's signatures, and each conversation's reply ids.
    """

    def __init__(self, state: CursorState, now: datetime, refresh: int) -> None:
        self.watch = state.threads()
        self.seen: dict[str, list[str]] = state.data.setdefault("seen", {})
        self.now = now
        self.refresh = refresh

    def due(self, root: str, signature: str) -> bool:
        return self.watch.due(root, signature, self.now, self.refresh)

    def done(self, root: str, signature: str, ids: Iterable[str]) -> set[str]:
        """Records a full read; returns the replies the last read had and this one has not."""
        now_ids = set(ids)
        gone = set(self.seen.get(root, ())) - now_ids
        self.seen[root] = sorted(now_ids)
        self.watch.read(root, signature, self.now)
        return gone

    def keep(self, roots: set[str]) -> None:
        """Forgets conversations no longer re-read (older than the horizon, or deleted)."""
        self.watch.forget_older(roots)
        for root in list(self.seen):
            if root not in roots:
                del self.seen[root]
