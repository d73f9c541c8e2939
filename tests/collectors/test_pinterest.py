"""The Pinterest collector: the documented API v5 shapes parsed, then a replay server that
answers like `api.pinterest.com/v5` (bookmark paging, `pin_metrics`, pin analytics limited to
90 days, `x-ratelimit-*` headers), polled through `twoway collect --once`.

No recorded Pinterest responses exist in shared/realdata; the shapes follow Pinterest's
published OpenAPI description (pinterest/api-description, v5). Every expected metric is
worked out by hand in the comments from SPEC §2–§3. Pinterest has no comments API: every
two-way metric must be null and named in `unavailable`, never 0.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from twoway.plugin.protocol import Context
from twoway.plugin.http import Http
from twoway.collectors.pinterest import PinterestCollector, parse_pin, saves
from tests.collecting import collect, collect_once, fake_sleep, goals, run_cli, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.config import Credential, Source
from twoway.model import Batch

UTC = timezone.utc
TOKEN = "pina_s3cret-pinterest-token"
ACCOUNT = "5550001"

# -- (a) the documented shapes --------------------------------------------------------------------

PIN = {  # a Pin of `GET /v5/pins?pin_metrics=true`, as the OpenAPI description documents it
    "id": "813744226420795884",
    "created_at": "2026-06-10T12:00:00",
    "link": "https://library.example.org/summer",
    "title": "Summer reading list",
    "description": "Our picks for #SummerReading and #Kids",
    "dominant_color": "#6E7874",
    "alt_text": None,
    "creative_type": "REGULAR",
    "board_id": "549755885175",
    "board_section_id": None,
    "board_owner": {"username": "riversidelibrary"},
    "is_owner": True,
    "is_standard": True,
    "has_been_promoted": False,
    "media": {"media_type": "image"},
    "parent_pin_id": None,
    "pin_metrics": {
        "90d": {"pin_click": 7, "impression": 2, "clickthrough": 3},
        "lifetime_metrics": {"pin_click": 7, "impression": 2, "clickthrough": 3, "reaction": 10, "comment": 2},
    },
}


def test_a_documented_pin_is_a_broadcast_of_the_account() -> None:
    post, reaction = parse_pin(PIN, ACCOUNT)
    assert reaction is None and not post.is_repost
    assert (post.id, post.author_id, post.root_id, post.parent_id) == (PIN["id"], ACCOUNT, PIN["id"], None)
    assert post.created_at == datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # no zone given: UTC
    assert post.url == "https://www.pinterest.com/pin/813744226420795884/"
    assert post.text == "Summer reading list\nOur picks for #SummerReading and #Kids"
    assert post.hashtags == ("SummerReading", "Kids") and post.links == ("https://library.example.org/summer",)
    assert parse_pin({**PIN, "created_at": "2026-06-10T14:00:00+02:00", "link": "javascript:x"}, ACCOUNT)[0].links == ()
    assert parse_pin({**PIN, "created_at": "2026-06-10T14:00:00+02:00"}, ACCOUNT)[0].created_at == post.created_at


def test_a_saved_pin_is_the_accounts_repost_of_the_pin_it_saved() -> None:
    post, reaction = parse_pin({**PIN, "id": "2", "parent_pin_id": "1"}, ACCOUNT)
    assert post.is_repost and post.text == ""
    assert reaction is not None and tuple(reaction) == ("1", "reposts", ACCOUNT)


def test_saves_come_from_the_summary_of_the_all_group() -> None:
    answer = {
        "all": {
            "daily_metrics": [{"data_status": "READY", "date": "2026-06-29", "metrics": {"SAVE": 2}}],
            "summary_metrics": {"SAVE": 20, "IMPRESSION": 240},
            "lifetime_metrics": {"TOTAL_COMMENTS": 10, "TOTAL_REACTIONS": 12},
        }
    }
    assert saves(answer) == 20
    assert saves({"all": {"summary_metrics": {}}}) is None  # not reported: unknown, never 0
    assert saves({"all": {"summary_metrics": {"SAVE": True}}}) is None and saves([]) is None


# -- (b) a replay server playing api.pinterest.com -------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


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


SOURCE = """
[[sources]]
id = "{id}"
platform = "pinterest"
api = "{url}"
token = {{ env = "{env}" }}
"""
GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]
"""
TWO_WAY = (
    "replies", "mentions", "community_messages", "responses", "answered", "two_way", "conversation_rate",
    "two_way_per_broadcast", "response_rate", "median_response_seconds", "p90_response_seconds", "unanswered",
    "voices",
)
"""Every metric built on replies, mentions or responses: Pinterest has none of them."""


def source(url: str, id: str = "pin", env: str = "TEST_PINTEREST_TOKEN") -> str:
    return SOURCE.format(id=id, url=url, env=env)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: object) -> Iterator[tuple[World, Path]]:  # noqa: F811
    monkeypatch.setenv("TEST_PINTEREST_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with replay_server() as server:
        w = World(FakePinterest(server))
        yield w, write_config(tmp_path, source(server.url), GOALS, dashboard='thread_refresh = "1h"')


def analytics_reads(server: ReplayServer) -> list[str]:
    return [r.path.split("/")[3] for r in server.requests("/v5/pins/")]


def test_scenario_metrics(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    server = w.fake.server
    collect(config, monkeypatch, NOW)
    # 16 pins inside the horizon, 4 a page: the fifth page holds the two older ones and ends the listing
    assert [r.arg("bookmark") for r in server.requests("/v5/pins") if r.path == "/v5/pins"] == [None, "4", "8", "12", "16"]
    # saves are read for every pin of the account's own; p3 and p4 are saved pins: reposts, nothing to read
    assert sorted(analytics_reads(server)) == sorted([*w.routine[:10], w.p1, w.p2, w.p5, w.p6])
    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in 30 days: routine 1.5 7.5 13.5 19.5 25.5, p1, p2, p6
    assert m["broadcast"] == 8
    # reposts are saves: p1 6, p2 2 less the library's own save p4, p6 1; likes are reactions: 4 + 1
    assert (m["reposts"], m["likes"], m["quotes"]) == (8, 5, None)
    assert m["amplification_rate"] == 8 / 8 and m["applause_rate"] == 5 / 8
    for metric in TWO_WAY:  # unavailable, not 0
        assert m[metric] is None, metric
    assert report["All"]["unavailable"] == {metric: ["pin"] for metric in (*TWO_WAY, "quotes")}
    assert report["All"]["waiting_total"] == 0
    b = report["All"]["baseline"]
    # baseline: routine 31.5 … 55.5 and p5 (3 saves, 2 reactions)
    assert (b["broadcast"], b["reposts"], b["likes"], b["replies"]) == (6, 3, 2, None)
    s = report["Summer reading"]["metrics"]
    assert (s["broadcast"], s["reposts"], s["likes"], s["two_way"]) == (1, 6, 4, None)
    (state,) = snapshot_json(config)["sources"]
    assert (state["status"], state["followers"]) == ("ok", 812)


def test_steady_state_changes_and_deletions(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    f, server = w.fake, w.fake.server
    collect(config, monkeypatch, NOW)
    before = {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}

    # nothing changed: the account and the five listing pages, no analytics
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=5))
    assert sorted(r.path for r in server.requests()) == ["/v5/pins"] * 5 + ["/v5/user_account"]
    assert {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()} == before

    # p1 gets a reaction and a save: its lifetime metrics move, so its analytics alone are read
    f.pins[w.p1]["_reactions"], f.saves[w.p1] = 5, 7
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(minutes=10))
    assert analytics_reads(server) == [w.p1]
    m = goals(config)["All"]["metrics"]
    assert (m["reposts"], m["likes"]) == (9, 6)

    # p6 deleted: it leaves the listing, its save and the broadcast go
    del f.pins[w.p6]
    collect(config, monkeypatch, NOW + timedelta(minutes=20))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["reposts"], m["likes"]) == (7, 8, 6)

    # two more saves of p2 move none of its listed metrics: seen when thread_refresh (1 h) is due
    f.saves[w.p2] = 4
    collect(config, monkeypatch, NOW + timedelta(minutes=30))
    assert goals(config)["All"]["metrics"]["reposts"] == 8
    server.reset_log()
    collect(config, monkeypatch, NOW + timedelta(hours=2))
    assert sorted(analytics_reads(server)) == sorted([*w.routine[:10], w.p1, w.p2, w.p5])
    assert goals(config)["All"]["metrics"]["reposts"] == 8 + 2  # p2: 4 saves less its own


def test_a_pin_older_than_the_analytics_reach_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object  # noqa: F811
) -> None:
    monkeypatch.setenv("TEST_PINTEREST_TOKEN", TOKEN)
    with replay_server() as server:
        fake = FakePinterest(server)
        old = fake.pin(ago(days=100), "Winter reading", saves=5)
        young = fake.pin(ago(days=2), "Storytime", saves=1)
        goal = '[[goals]]\nname = "Season"\nwindow = "60d"\n'  # a 120-day horizon, past the 90 analytics days
        config = write_config(tmp_path, source(server.url), goal, dashboard='thread_refresh = "1h"')
        collect(config, monkeypatch, NOW)
        starts = {r.path.split("/")[3]: r.arg("start_date") for r in server.requests("/v5/pins/")}
        # 89 days back from 2026-06-30 for the old pin; the young one from the day it was made
        assert starts == {old: "2026-04-02", young: "2026-06-28"}
        server.reset_log()
        collect(config, monkeypatch, NOW + timedelta(hours=2))
        assert analytics_reads(server) == [young]  # the old pin keeps the saves read once
        m = goals(config)["Season"]["metrics"]
    assert (m["broadcast"], m["reposts"]) == (1, 1)  # 100 days ago is the baseline's
    assert goals(config)["Season"]["baseline"]["reposts"] == 5


def test_a_missing_token_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PINTEREST_TOKEN", raising=False)
    code, _, err = run_cli("--config", str(write_config(tmp_path, source("https://api.pinterest.com"))), "check-config")
    assert code == 2
    assert "sources[0].token" in err and "TEST_PINTEREST_TOKEN is not set" in err and "'pin'" in err


def test_a_refused_token_fails_its_source_in_one_line_and_the_other_is_collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: object  # noqa: F811
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    monkeypatch.setenv("TEST_PINTEREST_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_PINTEREST_EXPIRED", "pina_expired-token-value")
    with replay_server() as server:
        fake = FakePinterest(server)
        fake.pin(ago(days=1), "Hello", saves=2)
        config = write_config(tmp_path, source(server.url) + source(server.url, "pin-old", "TEST_PINTEREST_EXPIRED"))
        code, err = collect_once(config)
        states = {s["id"]: s["status"] for s in snapshot_json(config)["sources"]}
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("twoway: pin-old: ")
    assert "token expired: Pinterest access tokens last 30 days; renew it at https://developers.pinterest.com/apps/" in line
    assert "pina_expired-token-value" not in err and TOKEN not in err
    assert states == {"pin": "ok", "pin-old": "error"}


def test_the_rate_limit_headers_are_the_sources_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PINTEREST_TOKEN", TOKEN)
    with replay_server() as server:
        fake = FakePinterest(server)
        fake.pin(ago(days=1), "Hello", saves=2)
        options: dict[str, object] = {"api": server.url, "token": Credential(env="TEST_PINTEREST_TOKEN")}
        context = Context(Source("pin", "pinterest", 300, options), Http(httpx.AsyncClient()), 60 * 86400, 3600)
        batch = poll(context, NOW)
        host = server.url.removeprefix("http://")
    # three requests (account, pins, one pin's analytics), each one fewer left: 999, 998, 997
    budget = context.http.budgets[host]
    assert (budget.remaining, budget.limit) == (997, 1000)
    assert batch.measures == frozenset({"reposts", "likes"})
    assert [(c.reposts, c.likes) for c in batch.counters] == [(2, 0)]
    assert batch.accounts[0].author_id == ACCOUNT and batch.followers == 812


def poll(context: Context, now: datetime) -> Batch:
    async def run() -> Batch:
        try:
            return await PinterestCollector(context).poll(None, now)
        finally:
            await context.http.client.aclose()

    return asyncio.run(run())
