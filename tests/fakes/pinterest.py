"""A Pinterest business account, played as `api.pinterest.com/v5` answers: bookmark paging,
`pin_metrics`, pin analytics limited to 90 days, `x-ratelimit-*` headers. The shapes follow
Pinterest's published OpenAPI description (pinterest/api-description, v5)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tests.fakes import ALL, SUMMER_TAG, UTC, Ago, Platform, env, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

TOKEN = "pina_s3cret-pinterest-token"
ACCOUNT = "5550001"
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
ago = Ago(NOW)


@dataclass
class FakePinterest:
    """Accounts (one per token) and their pins, in Pinterest's shapes and paging.

    Analytics refuse a start more than 90 days back, as Pinterest does; each answer
    carries `x-ratelimit-*` headers, one request fewer each time.
    """

    server: ReplayServer
    page: int = 4
    accounts: dict[str, str] = field(default_factory=lambda: {TOKEN: ACCOUNT})
    pins: dict[str, dict[str, Any]] = field(default_factory=dict)
    saves: dict[str, int] = field(default_factory=dict)
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(813744226420700000))
    left: Iterator[int] = field(default_factory=lambda: itertools.count(999, -1))

    def __post_init__(self) -> None:
        self.server.route("GET", "/v5/user_account", self._checked(self.user_account))
        self.server.route("GET", "/v5/pins", self._checked(self.list_pins))
        self.server.route("GET", "/v5/pins/*", self._checked(self.analytics))

    def _checked(self, handler: Any) -> Any:
        def serve(request: Request) -> Reply:
            account = self.accounts.get((request.headers.get("authorization") or "").removeprefix("Bearer "))
            if account is None:
                return json_reply({"code": 2, "message": "Authentication failed."}, 401)
            reply: Reply = handler(request, account)
            reply.headers.update({"x-ratelimit-limit": "1000", "x-ratelimit-remaining": str(next(self.left)),
                                  "x-ratelimit-reset": "3600"})
            return reply

        return serve

    def pin(self, at: datetime, title: str = "", description: str = "", *, owner: str = ACCOUNT, saves: int = 0,
            reactions: int = 0, parent: str | None = None, link: str | None = None) -> str:
        pid = str(next(self.seq))
        self.pins[pid] = {
            "id": pid, "created_at": at.strftime("%Y-%m-%dT%H:%M:%S"), "link": link, "title": title,
            "description": description, "dominant_color": "#6E7874", "alt_text": None, "creative_type": "REGULAR",
            "board_id": "549755885175", "board_section_id": None, "board_owner": {"username": "riversidelibrary"},
            "is_owner": True, "is_standard": True, "has_been_promoted": False, "media": {"media_type": "image"},
            "parent_pin_id": parent, "_owner": owner, "_reactions": reactions,
        }
        self.saves[pid] = saves
        return pid

    def user_account(self, request: Request, account: str) -> Reply:
        return json_reply({
            "account_type": "BUSINESS", "id": account, "username": f"library{account}", "business_name": "Library",
            "follower_count": 812, "following_count": 30, "monthly_views": 5000, "board_count": 3, "pin_count": 18,
            "profile_image": "https://i.pinimg.com/x.jpg", "website_url": "https://library.example.org",
        })

    def render(self, pin: dict[str, Any], metrics: bool) -> dict[str, Any]:
        body = {k: v for k, v in pin.items() if not k.startswith("_")}
        if metrics:
            lifetime = {"pin_click": 7, "impression": 40, "clickthrough": 3, "reaction": pin["_reactions"], "comment": 1}
            body["pin_metrics"] = {"90d": {"pin_click": 7, "impression": 40, "clickthrough": 3}, "lifetime_metrics": lifetime}
        return body

    def list_pins(self, request: Request, account: str) -> Reply:
        mine = sorted((p for p in self.pins.values() if p["_owner"] == account), key=lambda p: p["created_at"], reverse=True)
        start = int(request.arg("bookmark") or "0")
        size = min(int(request.arg("page_size") or 25), self.page)
        items = [self.render(p, request.arg("pin_metrics") == "true") for p in mine[start : start + size]]
        more = start + size < len(mine)
        return json_reply({"items": items, "bookmark": str(start + size) if more else None})

    def analytics(self, request: Request, account: str) -> Reply:
        pid = request.path.split("/")[3]
        if not request.path.endswith("/analytics") or pid not in self.pins:
            return json_reply({"code": 404, "message": "Pin not found."}, 404)
        start, end = date.fromisoformat(request.arg("start_date") or ""), date.fromisoformat(request.arg("end_date") or "")
        if start < end - timedelta(days=90) or request.arg("metric_types") != "SAVE":
            return json_reply({"code": 400, "message": "Invalid pins analytics parameters."}, 400)
        return json_reply({
            "all": {
                "daily_metrics": [{"data_status": "READY", "date": end.isoformat(), "metrics": {"SAVE": 0}}],
                "summary_metrics": {"SAVE": self.saves[pid]},
            }
        })


class World:
    """Two months of a library's Pinterest account."""

    def __init__(self, fake: FakePinterest) -> None:
        f = self.fake = fake
        # routine pins every 6 days from 1.5 days ago: 1.5 … 25.5 in the window, 31.5 … 55.5 in the
        # baseline, 61.5 and 67.5 beyond the 60-day horizon (the listing stops there)
        self.routine = [f.pin(ago(days=1.5 + 6 * i), f"Opening hours, week {i}") for i in range(12)]
        self.p1 = f.pin(ago(days=20), "Summer reading list", "Our picks #SummerReading", saves=6, reactions=4,
                        link="https://library.example.org/summer")
        self.p2 = f.pin(ago(days=10), "Craft night", saves=2, reactions=1)  # one of the 2 saves is p4, its own
        self.p3 = f.pin(ago(days=5), parent="999")  # someone else's pin, saved by the library
        self.p4 = f.pin(ago(days=4), parent=self.p2)
        self.p5 = f.pin(ago(days=45), "Spring sale", saves=3, reactions=2)
        self.p6 = f.pin(ago(days=3), "Book club", saves=1)



def source(url: str, sid: str = "pin", token: str = "TEST_PINTEREST_TOKEN") -> str:
    return source_toml(sid, "pinterest", api=url, token=env(token))


def analytics_reads(server: ReplayServer) -> list[str]:
    """The pins whose analytics (their saves) were read: Pinterest's nearest thing to a thread."""
    return [r.path.split("/")[3] for r in server.requests("/v5/pins/")]


GOALS = goals_toml(ALL, SUMMER_TAG)

PINTEREST = Platform(
    "pinterest", "pin", NOW, {"TEST_PINTEREST_TOKEN": TOKEN}, lambda server: World(FakePinterest(server)), source, GOALS
)
