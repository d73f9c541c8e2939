"""The Pinterest collector: the documented API v5 shapes parsed, then a replay server that
answers like `api.pinterest.com/v5` (bookmark paging, `pin_metrics`, pin analytics limited to
90 days, `x-ratelimit-*` headers), polled through `twoway collect --once`.

No recorded Pinterest responses exist in shared/realdata; the shapes follow Pinterest's
published OpenAPI description (pinterest/api-description, v5). Every expected metric is
worked out by hand in the comments from SPEC §2–§3. Pinterest has no comments API: every
two-way metric must be null and named in `unavailable`, never 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.collecting import FakeSleep, Stage, collect, goals, health, played, write_config
from tests.fakes import UTC, goal_toml
from tests.fakes.pinterest import ACCOUNT, NOW, PINTEREST, TOKEN, FakePinterest, World, ago, analytics_reads, source
from tests.replay import replay_server
from twoway.collectors.pinterest import parse_pin, saves

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


# -- (b) the scenario, on a replay server playing api.pinterest.com (tests/fakes/pinterest.py) -----

TWO_WAY = (
    "replies", "mentions", "community_messages", "responses", "answered", "two_way", "conversation_rate",
    "two_way_per_broadcast", "response_rate", "median_response_seconds", "p90_response_seconds", "unanswered",
    "voices",
)
"""Every metric built on replies, mentions or responses: Pinterest has none of them."""


world = played(PINTEREST)


def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    server = w.fake.server
    world.collect(NOW)
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
    assert health(config) == ("ok", 812)


def test_steady_state_changes_and_deletions(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    world.collect(NOW)

    # p1 gets a reaction and a save: its lifetime metrics move, so its analytics alone are read
    f.pins[w.p1]["_reactions"], f.saves[w.p1] = 5, 7
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert analytics_reads(server) == [w.p1]
    m = goals(config)["All"]["metrics"]
    assert (m["reposts"], m["likes"]) == (9, 6)

    # p6 deleted: it leaves the listing, its save and the broadcast go
    del f.pins[w.p6]
    world.collect(NOW + timedelta(minutes=20))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["reposts"], m["likes"]) == (7, 8, 6)

    # two more saves of p2 move none of its listed metrics: seen when thread_refresh (1 h) is due
    f.saves[w.p2] = 4
    world.collect(NOW + timedelta(minutes=30))
    assert goals(config)["All"]["metrics"]["reposts"] == 8
    server.reset_log()
    world.collect(NOW + timedelta(hours=2))
    assert sorted(analytics_reads(server)) == sorted([*w.routine[:10], w.p1, w.p2, w.p5])
    assert goals(config)["All"]["metrics"]["reposts"] == 8 + 2  # p2: 4 saves less its own


def test_a_pin_older_than_the_analytics_reach_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    monkeypatch.setenv("TEST_PINTEREST_TOKEN", TOKEN)
    with replay_server() as server:
        fake = FakePinterest(server)
        old = fake.pin(ago(days=100), "Winter reading", saves=5)
        young = fake.pin(ago(days=2), "Storytime", saves=1)
        goal = goal_toml("Season", window="60d")  # a 120-day horizon, past the 90 analytics days
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
