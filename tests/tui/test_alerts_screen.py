"""Alerts in the live app (SPEC §9), on a demo store where the real evaluation fired them: the
header's count, the panel's and overview's marker, each alert told once (notification, bell,
the terminal's desktop notification), the alerts screen, its snooze and links, the sources
screen's channels."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from textual.widgets import Label, Static

from tests.tui.alerting import QUESTIONS, alerting_app, evaluate_now
from tests.tui.test_app import WEEKDAYS, demo_app, screen_text, settle, sources_text
from twoway.hours import parse_hours
from twoway.tui.alert_feed import desktop_sequence
from twoway.tui.app import TwowayApp
from twoway.tui.screens.alerts import AlertsScreen, SnoozeChoice, snooze_choices
from twoway.tui.screens.home import HomeScreen
from twoway.tui.widgets.fit import FitTable
from twoway.tui.widgets.goal_panel import GoalDetails, GoalPanel
from twoway.tui.widgets.keys_footer import KeysFooter
from twoway.tui.widgets.overview import Overview

CHICAGO = ZoneInfo("America/Chicago")
AT = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
"""`NOW`: a Thursday, 06:00 in Chicago."""


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from alerting_app(monkeypatch, tmp_path)


def firing(app: TwowayApp) -> list[str]:
    return [a.key for a in app.store.ledger.firing()]


def rendered(renderable: object, width: int = 200) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def details(app: TwowayApp, goal: str) -> str:
    panel = next(p for p in app.screen.query(GoalPanel).results(GoalPanel) if p.goal_name == goal)
    return rendered(panel.query_one(GoalDetails).render())


async def test_the_header_counts_what_fires_in_the_error_colour(app: TwowayApp) -> None:
    count = len(firing(app))
    assert count > 1  # the demo has questions waiting longer than a day
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        label = app.screen.query_one("#alerts-firing", Label)
        assert app.screen.query_one("#alerts-row").display
        assert str(label.render()) == f"{count} alerts firing"
        assert label.has_class("-error")


async def test_no_alert_no_count(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for app in demo_app(monkeypatch, tmp_path):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert not app.screen.query_one("#alerts-row").display
            assert "firing" not in screen_text(app)
            assert "⚑" not in details(app, "Answer every question")
            await pilot.press("v")
            assert "⚑" not in screen_text(app)


async def test_the_panel_and_the_overview_row_whose_waiting_list_fires_show_it(app: TwowayApp) -> None:
    count = len(firing(app))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        assert f"⚑ {count} alerts" in details(app, "Answer every question")
        assert "⚑" not in details(app, "Summer reading")  # the rule watches one goal
        await pilot.press("v")
        overview = app.screen.query_one(Overview)
        assert overview.ordered_columns[-1].label.plain == "⚑"
        assert [overview.get_row_at(i)[-1].plain for i in range(overview.row_count)] == ["", f"{count}", "", ""]


async def test_a_new_alert_is_told_once_with_the_bell_and_the_desktop_notification(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    written: list[str] = []
    monkeypatch.setattr("textual.drivers.headless_driver.HeadlessDriver.write", lambda self, data: written.append(data))
    rule = QUESTIONS._replace(notify=("app", "bell", "desktop"))
    for app in alerting_app(monkeypatch, tmp_path, rule):
        bells: list[None] = []
        monkeypatch.setattr(app, "bell", lambda: bells.append(None))
        before = set(firing(app))
        count = len(before)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            told = [n for n in app._notifications if "new alert" in n.title]
            assert [n.title for n in told] == [f"Questions waiting: {count} new alerts"]
            lines = told[0].message.splitlines()
            assert lines[0] == "waiting 29d 21h on library-mastodon (Answer every question)"  # its link under `a`
            assert lines[3:] == [f"… and {count - 3} more", "a: every alert"]
            assert len(bells) == 1
            osc = [w for w in written if w.startswith("\x1b]9;")]
            assert len(osc) == 1 and f"\x1b]777;notify;Questions waiting: {count} new alerts;waiting 29d 21h" in osc[0]

            await pilot.press("r")  # a poll and a new read: nothing new
            await settle(app, pilot)
            assert len([n for n in app._notifications if "new alert" in n.title]) == 1 and len(bells) == 1

            monkeypatch.setenv("TWOWAY_NOW", "2026-11-27T12:00:00Z")  # a day later: more have waited a day
            evaluate_now(app)
            later = len(set(firing(app)) - before)
            assert later > 0
            app.refresh_report(app.window)
            await settle(app, pilot)
            told = [n for n in app._notifications if "new alert" in n.title]
            assert told[-1].title == f"Questions waiting: {later} new alert{'s' * (later != 1)}"
            assert len(told) == 2 and len(bells) == 2 and len([w for w in written if w.startswith("\x1b]9;")]) == 2


async def test_app_alone_neither_rings_nor_writes_a_desktop_notification(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    written: list[str] = []
    monkeypatch.setattr("textual.drivers.headless_driver.HeadlessDriver.write", lambda self, data: written.append(data))
    for app in alerting_app(monkeypatch, tmp_path, QUESTIONS._replace(notify=("bell",))):
        bells: list[None] = []
        monkeypatch.setattr(app, "bell", lambda: bells.append(None))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert not [n for n in app._notifications if "new alert" in n.title]  # no `app` in notify
            assert len(bells) == 1
            assert not [w for w in written if "\x1b]9;" in w or "\x1b]777;" in w]


def test_the_desktop_notification_cannot_be_ended_or_split_by_its_text() -> None:
    hostile = "https://x.example/\x07\x1b]0;owned\x07\x1b[31mred\x9c\nBcc: x\r\n;more"
    sequence = desktop_sequence("Rule; with semicolons\x07", hostile)
    nine, seven = sequence.split("\x07")[:2]
    assert sequence.count("\x07") == 2 and sequence.count("\x1b") == 2  # only its own two sequences
    assert nine.startswith("\x1b]9;") and seven.startswith("\x1b]777;notify;")
    assert seven.count(";") == 3  # `777;notify;title;body`: the text's own semicolons are commas
    assert "\n" not in sequence and "\r" not in sequence and "\x9c" not in sequence
    assert "owned" not in sequence and "[31m" not in sequence


async def test_a_opens_what_fires_with_each_channel_and_what_failed(app: TwowayApp) -> None:
    keys = firing(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        table = screen.query_one(FitTable)
        assert table.row_count == len(keys)
        assert [c.label.plain for c in table.ordered_columns] == ["for", "since", "source", "link", "sent"]
        first = table.get_row_at(0)
        assert [first[0].plain, first[1].plain, first[2].plain, first[-1].plain] == [
            "29d 21h",
            "10-27 09:30",  # in the organization's clock
            "library-mastodon",
            "1/2",
        ]
        detail = rendered(screen.query_one("#alert-detail", Static).content)
        assert "Questions waiting (waiting > 1d) · Answer every question · library-mastodon · fired 06:00" in detail
        assert "shown here: app" in detail
        assert "webhook env TWOWAY_TEST_HOOK sent 06:00" in detail
        assert "email comms@riverside.example: SMTP 550 mailbox unavailable (try 1 of 5)" in detail
        text = screen_text(app)
        assert text.splitlines()[0].split()[:4] == ["DEMO", "alerts", f"{len(keys)}", "firing"]
        footer = screen.query_one(KeysFooter)
        assert footer.show_command_palette and "? Help" in text.splitlines()[-1]  # whole, at 80 columns
        await pilot.press("down")
        assert rendered(screen.query_one("#alert-detail", Static).content) != detail  # follows the cursor
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


async def test_enter_and_o_open_the_alerts_link(app: TwowayApp, monkeypatch: pytest.MonkeyPatch) -> None:
    url = app.store.ledger.firing()[0].url
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("o")  # no display: copied
        assert app.clipboard == url
        monkeypatch.setenv("DISPLAY", ":0")
        opened: list[str] = []
        monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url))
        await pilot.press("enter")
        assert opened == [url]


async def test_z_snoozes_the_selected_alert(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press("down", "z")
        assert isinstance(app.screen, SnoozeChoice)
        await pilot.press("2")
        await settle(app, pilot)
        assert isinstance(app.screen, AlertsScreen)
        snoozed = [(a.key, a.snoozed_until) for a in app.store.ledger.firing() if a.snoozed_until is not None]
        assert snoozed == [(app.store.ledger.firing()[1].key, AT + timedelta(hours=4))]
        assert "1 snoozed" in screen_text(app).splitlines()[0]
        await pilot.press("z", "escape")  # changed their mind
        await settle(app, pilot)
        assert len([a for a in app.store.ledger.firing() if a.snoozed_until is not None]) == 1
        await pilot.press("escape")
        await settle(app, pilot)
        assert "(1 snoozed)" in str(app.screen.query_one("#alerts-snoozed", Label).render())


async def test_until_tomorrows_opening_follows_the_organizations_hours(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for app in alerting_app(monkeypatch, tmp_path, hours=WEEKDAYS):
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("a")
            await settle(app, pilot)
            await pilot.press("z")
            await settle(app, pilot)
            assert "3  until tomorrow's opening (Fri 09:00)" in screen_text(app)
            await pilot.press("3")
            await settle(app, pilot)
            (alert, *_) = app.store.ledger.firing()
            assert alert.snoozed_until == datetime(2026, 11, 27, 9, tzinfo=CHICAGO)


def test_the_snooze_choices() -> None:
    hours = parse_hours(WEEKDAYS, "America/Chicago")
    friday = datetime(2026, 11, 27, 22, tzinfo=timezone.utc)  # 16:00 in Chicago
    assert snooze_choices(friday, "America/Chicago", hours) == [
        ("1 hour (17:00)", friday + timedelta(hours=1)),
        ("4 hours (20:00)", friday + timedelta(hours=4)),
        ("until the next opening (Mon 09:00)", datetime(2026, 11, 30, 9, tzinfo=CHICAGO)),
    ]
    assert snooze_choices(AT, "America/Chicago", None)[2] == ("until this time tomorrow (Fri 06:00)", AT + timedelta(days=1))


async def test_without_rules_the_alerts_screen_says_how_to_add_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for app in demo_app(monkeypatch, tmp_path):
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await pilot.press("a")
            await settle(app, pilot)
            assert "No alert rules: [[alerts.rules]] in the config" in screen_text(app)
            await pilot.press("z")
            assert isinstance(app.screen, AlertsScreen)  # nothing to snooze


async def test_the_sources_screen_shows_each_channels_last_delivery_and_failure(app: TwowayApp) -> None:
    count = len(firing(app))
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        text = sources_text(app)
        hook = next(line for line in text.splitlines() if line.startswith("webhook env"))
        assert hook.split()[-3:] == ["11-26", "06:00", "—"]
        mail = next(line for line in text.splitlines() if line.startswith("email"))
        assert mail.split()[-3:] == ["—", f"{count}", "retrying"]
        assert "email comms@riverside.example (Questions waiting): 11-26 06:00 SMTP 550 mailbox unavailable" in text


async def test_the_palette_opens_the_alerts(app: TwowayApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"alerts")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, AlertsScreen)

