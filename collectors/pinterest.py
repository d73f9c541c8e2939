"""Pinterest accounts through the API v5 (`/v5`), with the account owner's OAuth token.

Pinterest is broadcast and one-way engagement only: the API has no comments endpoint and
no mentions, so replies, mentions and responses (and every two-way metric built on them)
are unavailable for a Pinterest source, never 0. Quotes do not exist on Pinterest.

What one poll asks (all `GET`, `Authorization: Bearer`):

- `/v5/user_account`: the account's id and `follower_count`.
- `/v5/pins?pin_metrics=true`, newest first, paged with `bookmark`, back to the horizon,
  every cycle: the account's pins (its broadcasts) with their lifetime metrics. A pin saved
  from another pin (`parent_pin_id`) is the account's repost, and its own `Reaction` on the
  pin it saved, so saving its own pin again stays out of that pin's `reposts`.
- `/v5/pins/{id}/analytics?metric_types=SAVE` only for a pin `ThreadWatch` finds due: its
  lifetime metrics moved, it is new, or `thread_refresh` passed. The saves it reports are
  the pin's `reposts` counter: a save is how Pinterest shares a pin onward.

Counters: `reposts` = saves over the last 90 days the analytics API reaches (a pin older
than that is read once, when first seen, for a lower bound, then left as it was);
`likes` = the lifetime `reaction` count of `pin_metrics`, where Pinterest gives it.
Impressions, pin clicks and outbound clicks have no metric in twoway and are not read.
Rate limits: Pinterest's `x-ratelimit-*` headers, where sent, become the source's budget in
the HTTP layer; a Trial app has 1,000 requests a day. Deleted: a pin missing from the
listing inside the horizon, or whose analytics answer 404.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import quote

from twoway.model import Account, Batch, Counters, Part, Post, Reaction
from twoway.plugin.fields import utc
from twoway.plugin.http import FetchError
from twoway.plugin.protocol import Context, CursorState, explain
from twoway.plugin.text import hashtags_in

__all__ = ["PinterestCollector", "parse_pin", "saves"]

DEFAULT_API = "https://api.pinterest.com"
PAGE = 100
MAX_PAGES = 200
ANALYTICS_DAYS = 89
"""How far back pin analytics are asked: Pinterest refuses a start more than 90 days ago."""
ADVICE: dict[int | str, str] = {
    401: "token expired: Pinterest access tokens last 30 days; renew it at https://developers.pinterest.com/apps/",
    403: "not allowed: the token needs the user_accounts:read, boards:read and pins:read scopes, "
    "granted by the account that owns the pins",
}


_time = partial(utc, platform="Pinterest")
"""Pinterest's RFC 3339 times as aware UTC."""


def _lifetime(pin: dict[str, Any]) -> dict[str, Any]:
    metrics = (pin.get("pin_metrics") or {}).get("lifetime_metrics")
    return metrics if isinstance(metrics, dict) else {}


def parse_pin(pin: dict[str, Any], account: str) -> tuple[Post, Reaction | None]:
    """A pin of the account, and for a saved pin the account's repost of the pin it saved."""
    pid = str(pin["id"])
    url = f"https://www.pinterest.com/pin/{pid}/"
    created = _time(pin.get("created_at"))
    parent = pin.get("parent_pin_id")
    if parent:
        return Post(pid, account, created, url, root_id=pid, is_repost=True), Reaction(str(parent), "reposts", account)
    text = "\n".join(str(pin.get(k) or "").strip() for k in ("title", "description") if str(pin.get(k) or "").strip())
    link = str(pin.get("link") or "")
    return Post(
        pid, account, created, url, root_id=pid, text=text, hashtags=hashtags_in(text),
        links=(link,) if link.startswith(("http://", "https://")) else (),
    ), None


def saves(analytics: Any) -> int | None:
    """The SAVE total of a pin analytics answer (`{"all": {"summary_metrics": {...}}}`)."""
    group = analytics.get("all") if isinstance(analytics, dict) else None
    value = (group.get("summary_metrics") or {}).get("SAVE") if isinstance(group, dict) else None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class PinterestCollector:
    """One Pinterest account: its pins, their saves and reactions, and its followers."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.api = str(context.option("api", DEFAULT_API)).rstrip("/") + "/v5"
        self.token: str | None = None

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        self.token = self.context.secret("token")
        try:
            return await self._poll(CursorState.load(cursor), now)
        except FetchError as error:
            raise explain(error, ADVICE) from None

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        data = (await self.context.http.get(f"{self.api}{path}", params=params, token=self.token)).json()
        if not isinstance(data, dict):
            raise FetchError(f"{self.api}{path}: answered {type(data).__name__} where an object was expected")
        return data

    async def _pins(self, since: datetime) -> list[dict[str, Any]]:
        """The account's pins younger than `since`, newest first."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"page_size": PAGE, "pin_metrics": "true"}
        for _ in range(MAX_PAGES):
            data = await self._get("/pins", params)
            items = data.get("items")
            if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i for i in items):
                raise FetchError(f"{self.api}/pins: answered something other than a list of pins")
            recent = [pin for pin in items if _time(pin.get("created_at")) >= since]
            found += recent
            bookmark = data.get("bookmark")
            if len(recent) < len(items) or not items or not bookmark:
                return found
            if bookmark == params.get("bookmark"):
                raise FetchError(f"{self.api}/pins: the bookmark repeats the same page")
            params = {**params, "bookmark": bookmark}
        raise FetchError(f"{self.api}/pins: more than {MAX_PAGES} pages")

    async def _poll(self, state: CursorState, now: datetime) -> Batch:
        since = state.since(now, self.context.horizon)
        me = await self._get("/user_account")
        account = str(me.get("id") or "")
        if not account:
            raise FetchError(f"{self.api}/user_account: answered no account id")
        listing = await self._pins(since)

        posts: dict[str, Post] = {}
        reactions: list[Reaction] = []
        signatures: dict[str, str] = {}
        likes: dict[str, int] = {}
        for pin in listing:
            post, reaction = parse_pin(pin, account)
            posts[post.id] = post
            if reaction is not None:
                reactions.append(reaction)
                continue
            lifetime = _lifetime(pin)
            signatures[post.id] = json.dumps(lifetime, sort_keys=True)
            if isinstance(lifetime.get("reaction"), int):
                likes[post.id] = lifetime["reaction"]
        deleted = {pid for pid, ts in state.data.get("own", {}).items() if pid not in posts and ts >= since.timestamp()}
        state.data["own"] = {pid: int(post.created_at.timestamp()) for pid, post in posts.items()}

        watch = state.threads()
        reposts: dict[str, int | None] = {}
        for pid, signature in signatures.items():
            recent = (now - posts[pid].created_at).days < ANALYTICS_DAYS
            if (recent or pid not in watch.state) and watch.due(pid, signature, now, self.context.thread_refresh):
                analytics = await self._analytics(pid, posts[pid].created_at, now)
                if analytics is None:
                    deleted.add(pid)
                    continue
                reposts[pid] = saves(analytics)
                watch.read(pid, signature, now)
        watch.forget_older(set(signatures))
        if listing:
            state.data["likes"] = bool(likes)
        counters = [
            Counters(pid, now, reposts=reposts.get(pid), likes=likes.get(pid))
            for pid in signatures
            if pid not in deleted and (pid in reposts or pid in likes)
        ]
        measures: set[Part] = {"reposts", "likes"} if state.data.get("likes") else {"reposts"}
        follower_count = me.get("follower_count")
        return Batch(
            source_id=self.context.source.id,
            platform="pinterest",
            polled_at=now,
            posts=tuple(p for pid, p in posts.items() if pid not in deleted),
            counters=tuple(counters),
            reactions=tuple(reactions),
            accounts=(Account(account, str(me.get("username") or account), "source"),),
            deleted=tuple(sorted(deleted)),
            followers=follower_count if isinstance(follower_count, int) else None,
            measures=frozenset(measures),
            cursor=state.dump(),
        )

    async def _analytics(self, pid: str, created: datetime, now: datetime) -> dict[str, Any] | None:
        """The pin's saves since it was made (at most 90 days back); None when the pin is gone."""
        today = now.astimezone(timezone.utc).date()
        start = max(created.date(), today - timedelta(days=ANALYTICS_DAYS))
        params = {"start_date": start.isoformat(), "end_date": today.isoformat(), "metric_types": "SAVE"}
        try:
            return await self._get(f"/pins/{quote(pid, safe='')}/analytics", params)
        except FetchError as error:
            if error.status in (404, 410):
                return None
            raise
