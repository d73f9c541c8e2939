"""The live app driven with Pilot on the demo: a fixed clock, a fresh store per test, no network."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Label, Static
from textual.worker import WorkerState

from tests.collecting import FakeSleep, write_config
from tests.replay import Handler, ReplayServer, Reply, replay_server
from twoway.config import load_config
from twoway.hours import parse_hours
from twoway.tui.app import WINDOWS, SourcePlan, TwowayApp
from twoway.tui.screens.goal import GoalScreen
from twoway.tui.screens.help import HelpScreen
from twoway.tui.screens.home import HomeScreen
from twoway.tui.screens.sources import SourcesScreen
from twoway.tui.widgets.daily_chart import DailyChart, bar_line, screen_scales
from twoway.tui.widgets.goal_panel import GoalDetails, GoalPanel
from twoway.tui.widgets.header import clock_state, next_change
from twoway.wiring import build_app, demo_config

NOW = "2026-11-26T12:00:00Z"
SUNDAY = "2026-11-29T18:00:00Z"
"""Noon on a Sunday in Chicago, the demo organization's timezone."""
WEEKDAYS = "Mon-Fri 09:00-17:00"


def demo_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, now: str = NOW, hours: str | None = None, alerts: bool = False
) -> Iterator[TwowayApp]:
    """The app as `twoway --demo` builds it, on a store of its own, at a fixed now, with no display.

    `hours` gives the demo organization opening hours (in its timezone). Without `alerts`, the
    demo's alert rule is left out, so what fires (a notification over the screen, the header's
    count) stays out of the tests of everything else.
    """
    monkeypatch.setenv("TWOWAY_NOW", now)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    config = demo_config()
    config = config._replace(dashboard=config.dashboard._replace(database=tmp_path / "demo.db"))
    if not alerts:
        config = config._replace(alerts=config.alerts._replace(rules=()))
    if hours is not None:
        organization = config.organization
        config = config._replace(organization=organization._replace(hours=parse_hours(hours, organization.timezone)))
    app = build_app(config, demo=True)
    yield app
    app.store.close()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


async def settle(app: TwowayApp, pilot: Pilot[int]) -> None:
    """Until no worker runs: a poll starts a report read when it ends."""
    for _ in range(100):
        await pilot.pause()
        if not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
            await pilot.pause()
            return
        await app.workers.wait_for_complete()
    raise AssertionError("workers never settled")


def panel_names(app: TwowayApp) -> list[str]:
    return [p.goal_name for p in app.screen.query(GoalPanel).results(GoalPanel)]


async def test_home_shows_every_goal_with_its_status(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert panel_names(app) == [g.name for g in app.config.goals]
        panels = list(app.screen.query(GoalPanel).results(GoalPanel))
        assert all(p.goal is not None for p in panels)
        classes = {p.goal_name: {c for c in p.classes if c.startswith("-")} for p in panels}
        assert "-missed" in classes["Summer reading"]
        assert "-met" in classes["Events"]
        assert app.report is not None and app.report.demo
        assert app.screen.query_one("#demo-badge").display


async def test_arrows_and_tab_move_between_panels(app: TwowayApp) -> None:
    async with app.run_test(size=(160, 48)) as pilot:  # two columns
        await settle(app, pilot)
        names = panel_names(app)

        def focused() -> str:
            assert isinstance(app.focused, GoalPanel)
            return app.focused.goal_name

        assert focused() == names[0]
        await pilot.press("right")
        assert focused() == names[1]
        await pilot.press("down")
        assert focused() == names[3]
        await pilot.press("left")
        assert focused() == names[2]
        await pilot.press("up")
        assert focused() == names[0]
        await pilot.press("up")  # the edge: stays
        assert focused() == names[0]
        await pilot.press("tab")
        assert focused() == names[1]
        await pilot.press("shift+tab")
        assert focused() == names[0]


async def test_arrows_follow_one_column_on_a_narrow_terminal(app: TwowayApp) -> None:
    async with app.run_test(size=(80, 40)) as pilot:  # below 32 rows, the overview shows instead
        await settle(app, pilot)
        assert app.screen.has_class("-narrow")
        await pilot.press("down")
        assert isinstance(app.focused, GoalPanel) and app.focused.goal_name == panel_names(app)[1]


async def test_w_cycles_the_window(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.report is not None and app.report.window is None
        seen: list[str | None] = []
        for _ in range(len(WINDOWS)):
            await pilot.press("w")
            await settle(app, pilot)
            assert app.report is not None
            seen.append(app.report.window)
            if app.report.window:
                assert {g.window for g in app.report.goals} == {app.report.window}
        assert seen == ["7d", "30d", "90d", None]


async def test_enter_opens_the_goal_and_escape_goes_back(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("right", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GoalScreen)
        assert screen.goal_name == panel_names_from(app.config)[1]
        waiting = screen.query_one("#waiting")
        goal = next(g for g in app.report.goals if g.name == screen.goal_name)  # type: ignore[union-attr]
        assert waiting.row_count == len(goal.waiting) > 0  # type: ignore[attr-defined]
        ages = [w.waiting_seconds for w in goal.waiting]
        assert ages == sorted(ages, reverse=True)  # oldest first
        by_source = screen.query_one("#by-source")
        assert len(by_source.columns) == len(goal.by_source) + 2  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        assert isinstance(app.focused, GoalPanel) and app.focused.goal_name == screen.goal_name


def panel_names_from(config: object) -> list[str]:
    return [g.name for g in config.goals]  # type: ignore[attr-defined]


async def test_o_copies_the_link_without_a_display(app: TwowayApp, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    copied: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url))
    async with app.run_test(size=(120, 40)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("down", "o")
        goal = next(g for g in app.report.goals if g.name == app.screen.goal_name)  # type: ignore[union-attr,attr-defined]
        assert copied == [goal.waiting[1].url] and not opened
        monkeypatch.setenv("DISPLAY", ":0")
        await pilot.press("o")
        assert opened == [goal.waiting[1].url]


async def test_o_never_opens_what_is_not_http(app: TwowayApp, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, GoalScreen)
        monkeypatch.setattr(screen, "selected_url", lambda: "javascript:alert(1)")
        await pilot.press("o")
        assert opened == []
        assert any("only http(s)" in n.title for n in app._notifications)


def last_success(app: TwowayApp, source_id: str) -> datetime | None:
    return app.store.source_states()[source_id].last_success


async def test_r_polls_every_source_now(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.polls == 0  # the demo store is fresh: nothing due yet
        cursors = {sid: s.cursor for sid, s in app.store.source_states().items()}
        before = app.report
        await pilot.press("r")
        await settle(app, pilot)
        assert app.polls == 1
        after = {sid: s.cursor for sid, s in app.store.source_states().items()}
        assert all(after[sid] != cursors[sid] for sid in cursors)  # every source polled once
        assert after["library-mastodon"] == "1"
        assert app.report is not before  # the report was read again
        assert set(app._next_poll) == {s.id for s in app.config.sources}  # the next polls are armed
        mastodon = next(s for s in app.report.sources if s.id == "library-mastodon")  # type: ignore[union-attr]
        assert mastodon.status == "ok"


async def test_a_failing_source_turns_error_and_recovers(app: TwowayApp, monkeypatch: pytest.MonkeyPatch) -> None:
    # the demo collector's fault hook
    monkeypatch.setenv("TWOWAY_DEMO_FAIL", "library-bluesky=503 from https://bsky.example: [bold]try later[/bold]")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        status = {s.id: s for s in app.report.sources}  # type: ignore[union-attr]
        assert status["library-bluesky"].status == "error"
        assert "[bold]try later[/bold]" in (status["library-bluesky"].error or "")
        assert status["library-mastodon"].status == "ok"
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and "library-bluesky" in errors[0].title
        chip = app.screen.query(".source").results()
        assert any(label.has_class("-error") for label in chip)
        panel = app.screen.query_one("#goal-0", GoalPanel)
        assert panel.has_class("-stale")  # its numbers may be behind

        await pilot.press("r")  # still failing: no second notification
        await settle(app, pilot)
        assert len([n for n in app._notifications if n.severity == "error"]) == 1

        # The clock moves on, the platform comes back.
        later = datetime(2026, 11, 26, 12, 1, tzinfo=timezone.utc) + timedelta(seconds=5)
        monkeypatch.setenv("TWOWAY_NOW", later.isoformat())
        monkeypatch.delenv("TWOWAY_DEMO_FAIL")
        await pilot.press("r")
        await settle(app, pilot)
        status = {s.id: s for s in app.report.sources}  # type: ignore[union-attr]
        assert status["library-bluesky"].status == "ok"
        assert last_success(app, "library-bluesky") == later
        assert any("recovered" in n.title for n in app._notifications)
        assert not app.screen.query_one("#goal-0", GoalPanel).has_class("-stale")


async def test_s_shows_sources_and_question_mark_shows_help(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, SourcesScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_t_toggles_light_and_dark(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        dark = app.theme
        await pilot.press("t")
        assert app.theme != dark and app.current_theme.dark is False
        await pilot.press("t")
        assert app.current_theme.dark is True


async def test_the_theme_is_remembered_between_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from twoway.tui.preferences import preferences_path

    for app in demo_app(monkeypatch, tmp_path):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("t")
            light = app.theme
            assert app.current_theme.dark is False
    assert json.loads(preferences_path().read_text())["theme"] == light
    for app in demo_app(monkeypatch, tmp_path / "again"):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert app.theme == light
    preferences_path().write_text("{not json")  # a broken file is as good as none
    for app in demo_app(monkeypatch, tmp_path / "broken"):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert app.current_theme.dark is True


async def test_the_palette_lists_goals_and_opens_one(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Goal: Events")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, GoalScreen) and app.screen.goal_name == "Events"


async def test_the_palette_lists_our_commands_before_textuals(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles == [
            "Cycle window",
            "Sources",
            "Alerts",
            "Poll now",
            "Write the report",
            "Toggle light/dark",
            "Help",
            "Quit",
            "Screenshot",
        ]


async def test_each_panel_charts_its_window_day_by_day(app: TwowayApp) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        for panel in app.screen.query(GoalPanel).results(GoalPanel):
            assert panel.goal is not None and len(panel.goal.daily) == 31  # 30 days, both ends partial
            chart = panel.query_one(DailyChart)
            assert chart.display and chart.region.height == 3  # broadcast, two-way, the dates
            assert app.report is not None and chart.scales == screen_scales(app.report.goals)  # one per screen
            lines = chart.render().plain.splitlines()  # type: ignore[union-attr]
            assert lines[2].split() == ["10-27", "11-26"]  # the window's first and last day, Chicago time
            assert f"top {chart.scales.broadcast}/day" in lines[0]
            bars = lines[0][10:].split(" top")[0].rstrip()
            assert len(bars) <= chart.content_size.width and bars  # every day as wide as every other
            assert sum(b for b, _ in panel.goal.daily) == panel.goal.metrics["broadcast"]
        await pilot.press("w")  # 7d: the chart follows the window
        await settle(app, pilot)
        panel = app.screen.query_one("#goal-0", GoalPanel)
        assert panel.goal is not None and len(panel.goal.daily) == 8


@pytest.mark.parametrize("size", [(80, 24), (44, 40)])
async def test_the_chart_gives_way_on_a_small_screen(app: TwowayApp, size: tuple[int, int]) -> None:
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for panel in app.screen.query(GoalPanel).results(GoalPanel):
            assert panel.goal is not None and panel.goal.daily
            assert not panel.query_one(DailyChart).display


def sources_text(app: TwowayApp) -> str:
    """The sources screen's tables as plain text, as wide as they like."""
    from rich.console import Console

    console = Console(width=120, record=True, file=io.StringIO())
    console.print(app.screen.query_one("#sources-table", Static).content)
    return console.export_text()


async def test_sources_show_the_next_poll_and_the_budget(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        expected = datetime(2026, 11, 26, 12, 5, tzinfo=timezone.utc)  # the demo store's data is fresh: 5m
        assert app.schedule == {s.id: SourcePlan(expected, False, None) for s in app.config.sources}
        await pilot.press("s")
        await settle(app, pilot)
        text = sources_text(app)
        assert "next poll (America/Chicago)" in text and "budget" in text  # the organization's clock
        local = f"{expected.astimezone(ZoneInfo('America/Chicago')):%H:%M}"
        for source in app.config.sources:
            row = next(line for line in text.splitlines() if line.startswith(source.id) and "5m" in line)
            assert local in row and row.rstrip().endswith("—")  # the demo has no rate limits


async def test_the_header_says_when_the_clock_is_paused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for app in demo_app(monkeypatch, tmp_path, now=SUNDAY, hours=WEEKDAYS):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert app.report is not None and app.report.clock == "opening-hours"
            label = app.screen.query_one("#clock", Label)
            assert label.display and label.has_class("-paused")
            assert str(label.content) == " · clock paused: closed until Mon 09:00"
            now = app.screen.query_one("#now", Label)  # the zone named once, beside its time
            assert str(now.content) == "Sun 12:00 America/Chicago"  # 18:00 UTC


async def test_no_hours_no_response_clock(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert not app.screen.query_one("#clock").display
        assert str(app.screen.query_one("#now", Label).content) == "Thu 06:00 America/Chicago"  # 12:00 UTC
        last_poll = str(app.screen.query_one("#last-poll", Label).content)
        assert "06:00" in last_poll and "UTC" not in last_poll


def test_clock_state_runs_and_pauses_with_the_hours() -> None:
    hours = parse_hours("Mon-Fri 09:00-17:00; Sat 22:00-24:00; Sun 00:00-02:00", "America/Chicago")
    chicago = hours.zone
    friday_noon = datetime(2026, 11, 27, 12, tzinfo=chicago)
    assert clock_state(hours, friday_noon) == (False, "response clock running: open until Fri 17:00")
    friday_night = datetime(2026, 11, 27, 18, tzinfo=chicago)
    assert clock_state(hours, friday_night) == (True, "clock paused: closed until Sat 22:00")
    saturday_late = datetime(2026, 11, 28, 23, tzinfo=chicago)  # 24:00 runs on into Sunday 00:00-02:00
    assert next_change(hours, saturday_late) == datetime(2026, 11, 29, 2, tzinfo=chicago)
    never = parse_hours("Mon-Sun 00:00-24:00", "America/Chicago")
    assert clock_state(never, friday_noon) == (False, "response clock running: open")


FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Library news</title><link>https://library.example</link>
<item><title>Storytime on Saturday</title><link>https://library.example/storytime</link>
<guid>https://library.example/storytime</guid><pubDate>Mon, 29 Jun 2026 10:00:00 GMT</pubDate></item>
<item><title>Book sale</title><link>https://library.example/sale</link>
<guid>https://library.example/sale</guid><pubDate>Sat, 27 Jun 2026 15:00:00 GMT</pubDate></item>
</channel></rss>"""


@contextlib.contextmanager
def news_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, feed: Handler, goals: str
) -> Iterator[tuple[TwowayApp, ReplayServer, FakeSleep]]:
    """The app on a real (non-demo) config with one RSS source, `news`, whose feed `feed` serves from a
    local replay server; the clock is fixed and the HTTP layer's sleep is fake."""
    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:00Z")
    sleep = FakeSleep()
    monkeypatch.setattr("twoway.plugin.http.wait", sleep)
    with replay_server() as server:
        server.route("GET", "/feed.xml", feed)
        source = f'[[sources]]\nid = "news"\nplatform = "rss"\nurl = "{server.url}/feed.xml"\n'
        app = build_app(load_config(write_config(tmp_path, source, goals)), demo=False)
        try:
            yield app, server, sleep
        finally:
            app.store.close()


async def test_a_real_source_polls_fails_and_recovers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    failing = False

    def feed(_: object) -> Reply:
        if failing:
            return Reply(500, b"internal error")
        headers = {"Content-Type": "application/rss+xml", "X-RateLimit-Remaining": "287", "X-RateLimit-Limit": "300"}
        return Reply(200, FEED.encode(), headers)

    with news_app(monkeypatch, tmp_path, feed, '[[goals]]\nname = "News"\nsources = ["news"]\n') as (
        app,
        server,
        sleep,
    ):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)  # the source was never polled: it is due at start
            assert app.polls == 1 and server.requests("/feed.xml")
            assert app.report is not None and not app.report.demo
            panel = app.screen.query_one("#goal-0", GoalPanel)
            assert panel.goal is not None and panel.goal.metrics["broadcast"] == 2
            assert sum(b for b, _ in panel.goal.daily) == 2
            assert app.report.sources[0].status == "ok"
            assert not app.screen.query_one("#demo-badge").display
            assert app.schedule["news"].budget == (287, 300)  # read off the feed's rate-limit headers

            failing = True
            await pilot.press("r")
            await settle(app, pilot)
            assert app.is_running
            source = app.report.sources[0]
            assert source.status == "error" and "500" in (source.error or "")
            assert sleep.pauses  # the 5xx was retried, without waiting
            assert panel.has_class("-stale") and panel.goal.metrics["broadcast"] == 2  # the stored data stays
            errors = [n for n in app._notifications if n.severity == "error"]
            assert len(errors) == 1 and "news" in errors[0].title
            await pilot.press("s")
            await settle(app, pilot)
            text = sources_text(app)
            assert "error" in text and "287/300" in text

            failing = False
            await pilot.press("escape", "r")
            await settle(app, pilot)
            assert app.report.sources[0].status == "ok"
            assert not panel.has_class("-stale")
            assert any("recovered" in n.title for n in app._notifications)


def _details_text(app: TwowayApp) -> str:
    details = app.screen.query_one(GoalDetails)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(details.render())
    return console.export_text()


async def test_unknown_is_never_shown_as_nothing_waiting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    state = {"status": 500}

    def feed(_: object) -> Reply:
        if state["status"] != 200:
            return Reply(state["status"], b"down")
        return Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"})

    with news_app(monkeypatch, tmp_path, feed, '[[goals]]\nname = "News"\n') as (app, _, _):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)  # the first poll fails: nothing is known yet
            text = _details_text(app)
            assert "waiting: unknown, news has not polled yet" in text and "nothing waiting" not in text
            assert "no data yet from news" in text
            state["status"] = 200
            await pilot.press("r")
            await settle(app, pilot)
            assert "nothing waiting for a response" in _details_text(app)
            state["status"] = 503
            await pilot.press("r")
            await settle(app, pilot)
            text = _details_text(app)
            assert "as of 12:00, news failing" in text and "nothing waiting for a response as of" in text


FAULTS = {
    "503": Reply(503, b"busy"),
    "html-200": Reply(200, b"<!DOCTYPE html><html>Maintenance</html>", {"Content-Type": "text/html"}),
    "429": Reply(429, b"", {"Retry-After": "30"}),
    "garbage": Reply(200, b"\x00\xff not a feed \x1b[2J", {"Content-Type": "application/rss+xml"}),
    "huge": Reply(200, b"x" * 6_000_000, {"Content-Type": "application/rss+xml"}),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_the_app_stays_up_through_every_fault(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fault: str
) -> None:
    state = {"fault": False}

    def feed(_: object) -> Reply:
        return FAULTS[fault] if state["fault"] else Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"})

    with news_app(monkeypatch, tmp_path, feed, '[[goals]]\nname = "News"\n') as (app, _, _):
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            state["fault"] = True
            await pilot.press("r")
            await settle(app, pilot)
            assert app.is_running and app.report is not None
            failed = app.report
            assert failed.sources[0].status == "error"
            assert failed.goals[0].metrics["broadcast"] == 2  # the stored data stays
            state["fault"] = False
            await pilot.press("r")
            await settle(app, pilot)
            assert app.report is not failed and app.report.sources[0].status == "ok"


async def test_q_quits(app: TwowayApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM"])
async def test_a_hangup_or_a_kill_quits_like_q(app: TwowayApp, name: str) -> None:
    """Closing the terminal or `kill` quits cleanly, so the store closes and the demo's temporary files go."""
    sig = getattr(signal, name)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert signal.getsignal(sig) is not signal.SIG_DFL  # the default would end the test run itself
        signal.raise_signal(sig)
        await pilot.pause()
        assert not app.is_running
    assert app.return_code in (0, None)


async def test_imported_numbers_say_so_and_an_import_source_is_never_polled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from twoway.cli import main

    monkeypatch.setenv("TWOWAY_NOW", NOW)
    path = write_config(tmp_path, '[[sources]]\nid = "myspace"\nplatform = "csv"\n', '[[goals]]\nname = "Old posts"\n')
    export = tmp_path / "myspace-2026.csv"
    export.write_text("date,url,likes\n2026-11-20,https://myspace.com/r/1,7\n", encoding="utf-8")
    exported = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc).timestamp()
    os.utime(export, (exported, exported))
    assert main(["--config", str(path), "import", str(export), "--source", "myspace"]) == 0
    app = build_app(load_config(path), demo=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.polls == 0  # nothing to poll: the only source is filled by imports
        details = app.screen.query_one("#goal-0", GoalPanel).query_one(GoalDetails)
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(details.render())
        assert "imported: myspace-2026.csv into myspace, exported 2026-11-25 (1 posts)" in console.export_text()
        await pilot.press("s")
        await settle(app, pilot)
        text = sources_text(app)
        assert "imported: myspace-2026.csv into myspace" in text
        row = next(line for line in text.splitlines() if line.startswith("myspace") and "import" in line)
        assert row.split()[1:] == ["import", "—"]


def screen_text(app: TwowayApp) -> str:
    """The screen as the terminal shows it."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_demo_is_said_on_every_screen(app: TwowayApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert "DEMO" in screen_text(app).splitlines()[0]
        for keys, screen in (
            (("enter",), GoalScreen),
            (("escape", "s"), SourcesScreen),
            (("escape", "question_mark"), HelpScreen),
        ):
            await pilot.press(*keys)
            await settle(app, pilot)
            assert isinstance(app.screen, screen)
            assert "DEMO" in screen_text(app), f"no DEMO on {screen.__name__}"


async def test_no_demo_badge_on_a_real_organization(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def feed(_: object) -> Reply:
        return Reply(200, FEED.encode(), {"Content-Type": "application/rss+xml"})

    with news_app(monkeypatch, tmp_path, feed, '[[goals]]\nname = "News"\n') as (app, _, _):
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, GoalScreen)
            first = screen_text(app).splitlines()[0]
            assert "News" in first and "DEMO" not in first


def test_bar_line_gives_each_day_the_same_width_against_the_screens_scale() -> None:
    assert bar_line([0, 4, 8], 6, 8) == "  ▄▄██"
    assert bar_line([1, 8], 2, 80) == "▁▁"  # a quiet day is never drawn as none
    assert bar_line([1, 2, 3, 4], 2, 4) == "▄█"  # more days than cells: each its busiest


async def test_a_short_terminal_opens_on_the_overview_and_v_switches(app: TwowayApp) -> None:
    from twoway.tui.widgets.overview import Overview

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        overview = app.screen.query_one(Overview)
        assert overview.display and overview.has_focus and overview.cursor_row == 0
        assert overview.row_count == len(app.config.goals)  # every goal fits on 80×24
        await pilot.press("down", "enter")
        assert app.screen.goal_name == app.config.goals[1].name  # type: ignore[attr-defined]
        await pilot.press("escape", "v")
        assert not overview.display and isinstance(app.focused, GoalPanel)
        assert app.focused.goal_name == app.config.goals[1].name  # the same goal stays selected


def backfilling_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    """The demo app on an empty store (not the demo's history), so every polled source backfills;
    library-bluesky fails until `TWOWAY_DEMO_FAIL` is unset. Without the demo's alert rule."""
    from functools import partial

    from twoway.store import Store, store_location, store_policy
    from twoway.wiring import collector_factory

    monkeypatch.setenv("TWOWAY_NOW", NOW)
    monkeypatch.setenv("TWOWAY_DEMO_FAIL", "library-bluesky=HTTP 503")
    config = demo_config()
    config = config._replace(dashboard=config.dashboard._replace(database=tmp_path / "empty.db"))
    config = config._replace(alerts=config.alerts._replace(rules=()))  # as `demo_app`: no alert over the screen
    store = Store.open(store_location(config), store_policy(config))
    yield TwowayApp(config, store, partial(collector_factory, config, True), demo=True)
    store.close()


async def test_the_header_counts_the_sources_in_their_first_backfill(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On an empty store every polled source backfills; one that fails stays counted until a poll succeeds."""
    from twoway.scheduler import polled_sources

    for app in backfilling_app(monkeypatch, tmp_path):
        polled = len(polled_sources(app.config))
        # every count the app makes, from its start: a watch set after run_test began missed the first
        # one when the first poll ended before the test ran (a loaded machine)
        seen: list[tuple[int, int]] = []
        count = TwowayApp._count_backfilling

        def recording(self: TwowayApp) -> None:
            count(self)
            seen.append(self.backfilling)

        monkeypatch.setattr(TwowayApp, "_count_backfilling", recording)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            row = app.screen.query_one("#backfill-row")
            assert seen[0] == (polled, polled)  # before the first poll ends: every source
            assert app.backfilling == (1, polled)
            assert row.display
            assert f"backfilling 1/{polled} sources" in screen_text(app)

            monkeypatch.delenv("TWOWAY_DEMO_FAIL")
            await pilot.press("r")
            await settle(app, pilot)
            assert app.backfilling == (0, polled)
            assert not row.display
            assert "backfilling" not in screen_text(app)


async def test_the_goal_screen_shows_its_description_wrapped_and_inert(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Under the first line, the goal's purpose from the config: wrapped, markup and escapes shown as text."""
    hostile = "Answer [bold red]every[/] question\x1b[2J within a day, " + "so families come back " * 6 + "\u202eevil"
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    config = demo_config()
    goals = (config.goals[0]._replace(description=hostile), *config.goals[1:])
    config = config._replace(goals=goals, dashboard=config.dashboard._replace(database=tmp_path / "demo.db"))
    app = build_app(config, demo=True)
    try:
        async with app.run_test(size=(80, 30)) as pilot:
            await settle(app, pilot)
            await pilot.press("v", "enter")  # the panels, then the first goal
            await settle(app, pilot)
            assert isinstance(app.screen, GoalScreen)
            label = app.screen.query_one("#description", Label)
            assert label.display and label.region.y == 1 and label.region.height >= 2  # under the first line, wrapped
            lines = screen_text(app).splitlines()[1 : 1 + label.region.height]
            shown = " ".join(line.strip() for line in lines)
            assert shown.startswith("Answer [bold red]every[/] question")
            assert "\x1b" not in shown and "\u202e" not in shown
            assert "so families come back" in shown
    finally:
        app.store.close()
