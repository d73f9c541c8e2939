"""Calendar periods (SPEC §10): their edges in the organization's timezone, their baselines,
the weeks inside them, and the metrics of a hand-built store over them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.core.test_cli import run
from tests.json_schema import check_report_json
from tests.scenario import DAY, NOW, ORG, Scenario, goal, post
from twoway.config import load_config
from twoway.metrics import build_report
from twoway.periods import Period, iso_weeks, last_complete_month, parse_period
from twoway.report import METRICS, Report

UTC = timezone.utc
CHICAGO = "America/Chicago"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- the periods themselves ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "period", "label"),
    [
        ("2026-11", Period("month", 2026, 11), "2026-11"),
        ("2026-Q4", Period("quarter", 2026, 4), "2026-Q4"),
        (" 2026-q1 ", Period("quarter", 2026, 1), "2026-Q1"),
        ("2026", Period("year", 2026), "2026"),
    ],
)
def test_a_period_is_a_month_a_quarter_or_a_year(given: str, period: Period, label: str) -> None:
    assert parse_period(given) == period and period.label == label


@pytest.mark.parametrize("given", ["2026-13", "2026-00", "2026-Q5", "26-11", "2026-11-01", "November", "", "1900"])
def test_anything_else_is_refused(given: str) -> None:
    with pytest.raises(ValueError):
        parse_period(given)


def test_a_month_that_starts_in_daylight_saving_time_and_ends_outside_it() -> None:
    # Chicago leaves daylight saving time on 1 November 2026 at 02:00: the month is an hour longer
    start, end = Period("month", 2026, 11).bounds(CHICAGO)
    assert start == utc(2026, 11, 1, 5) and end == utc(2026, 12, 1, 6)  # local midnight, CDT then CST
    assert end - start == timedelta(days=30, hours=1)
    assert Period("month", 2026, 11).previous().bounds(CHICAGO) == (utc(2026, 10, 1, 5), start)


def test_the_first_quarter_is_compared_with_the_last_quarter_of_the_year_before() -> None:
    q1 = Period("quarter", 2026, 1)
    assert q1.previous() == Period("quarter", 2025, 4) and q1.previous().title == "Q4 2025"
    start, end = q1.bounds("UTC")
    base_start, base_end = q1.previous().bounds("UTC")
    assert base_end == start and (end - start, base_end - base_start) == (timedelta(days=90), timedelta(days=92))
    assert Period("month", 2026, 1).previous() == Period("month", 2025, 12)
    assert Period("year", 2026).previous() == Period("year", 2025)
    assert Period("quarter", 2026, 4).year_before() == Period("quarter", 2025, 4)


def test_the_last_complete_month_is_the_organizations() -> None:
    # 03:00 UTC on 1 December is still 30 November in Chicago
    assert last_complete_month(utc(2026, 12, 1, 3), CHICAGO) == Period("month", 2026, 10)
    assert last_complete_month(utc(2026, 12, 1, 7), CHICAGO) == Period("month", 2026, 11)
    assert last_complete_month(utc(2026, 1, 15), "UTC") == Period("month", 2025, 12)


def test_weeks_are_iso_weeks_cut_to_the_period() -> None:
    start, end = Period("month", 2026, 11).bounds(CHICAGO)
    weeks = iso_weeks(start, end, CHICAGO)
    # 1 November 2026 is a Sunday and 30 November a Monday: both ends are weeks of one day
    assert weeks[0] == (start, utc(2026, 11, 2, 6)) and weeks[-1] == (utc(2026, 11, 30, 6), end)
    assert len(weeks) == 6
    assert all(a[1] == b[0] for a, b in zip(weeks, weeks[1:]))  # no gap, no overlap
    assert sum((e - s for s, e in weeks), timedelta()) == end - start
    assert weeks[0][1] - weeks[0][0] == timedelta(hours=25)  # the Sunday daylight saving time ended
    assert all(s.astimezone(ZoneInfo(CHICAGO)).weekday() == 0 for s, _ in weeks[1:])  # Mondays


# -- metrics over a calendar period ---------------------------------------------------------


def _may(day: int, hour: int = 12) -> datetime:
    return utc(2026, 5, day, hour)


@pytest.fixture
def sc(tmp_path: Path) -> Scenario:
    """One source covering from 2025-01-01, with broadcasts in April, May and June 2026 and May 2025."""
    sc = Scenario(tmp_path)
    sc.write(
        post("apr", ORG, utc(2026, 4, 30, 23, 59)),
        post("b1", ORG, _may(1, 0)),  # the period's first second
        post("r1", "alice", _may(1, 2), parent_id="b1", root_id="b1"),
        post("a1", ORG, _may(1, 3), parent_id="r1", root_id="b1"),  # answered in an hour
        post("b2", ORG, _may(12)),
        post("r2", "bob", _may(13), parent_id="b2", root_id="b2"),  # waiting, written in May
        post("r3", "carol", utc(2026, 6, 2), parent_id="b2", root_id="b2"),  # May's cohort, written in June
        post("b3", ORG, _may(31, 23)),
        post("jun", ORG, utc(2026, 6, 1)),  # the next period's first second
        post("old", ORG, utc(2025, 5, 20)),
        post("old-r", "dan", utc(2025, 5, 21), parent_id="old", root_id="old"),
    )
    sc.store.conn.execute("UPDATE sources SET covers_from = ?", (int(utc(2025, 1, 1).timestamp()),))
    return sc


def _period(sc: Scenario, label: str, now: datetime = NOW) -> Report:
    return build_report(sc.store, sc.config, now, period=parse_period(label), weekly=True)


def test_a_month_counts_what_was_made_inside_it_and_compares_with_the_month_before(sc: Scenario) -> None:
    report = _period(sc, "2026-05")
    g = report.goals[0]
    assert (g.start, g.end, g.window) == (_may(1, 0), utc(2026, 6, 1), "2026-05")
    m = g.metrics
    assert (m["broadcast"], m["replies"], m["responses"], m["answered"], m["unanswered"]) == (3, 3, 1, 1, 2)
    assert m["median_response_seconds"] == 3600 and m["two_way"] == 4
    assert g.baseline["broadcast"] == 1 and g.deltas["broadcast"] == 2  # April: one broadcast, no replies
    assert report.period is not None and (report.period.ended, report.period.name) == (True, "May 2026")
    assert report.period.baseline == "April 2026"
    # waiting: the messages written in May and still unanswered; r3 was written in June
    assert g.waiting_total == 1 and [w.url for w in g.waiting] == ["https://x.example/r2"]
    assert g.waiting[0].waiting_seconds == (NOW - _may(13)).total_seconds()  # it still waits now


def test_the_same_month_a_year_before_is_compared_where_the_store_covers_it(sc: Scenario) -> None:
    g = _period(sc, "2026-05").goals[0]
    assert g.year_before is not None and g.year_before.title == "May 2025"
    assert (g.year_before.metrics["broadcast"], g.year_before.metrics["replies"]) == (1, 1)
    assert g.year_before.deltas["broadcast"] == 2 and g.year_before.deltas["replies"] == 2
    sc.store.conn.execute("UPDATE sources SET covers_from = ?", (int(utc(2025, 6, 1).timestamp()),))
    assert _period(sc, "2026-05").goals[0].year_before is None  # not covered: no comparison from nothing


def test_the_weeks_of_a_period_add_up_to_it(sc: Scenario) -> None:
    g = _period(sc, "2026-05").goals[0]
    # 1 May 2026 is a Friday: the first ISO week is cut to three days, the last (25-31 May) is whole
    assert [w.start.day for w in g.weekly] == [1, 4, 11, 18, 25]
    assert (g.weekly[0].start, g.weekly[-1].end) == (g.start, g.end)
    assert [w.broadcast for w in g.weekly] == [1, 0, 1, 0, 1]
    assert [w.two_way for w in g.weekly] == [2, 0, 2, 0, 0]  # b1: r1 and a1; b2: r2 and r3 (cohort)
    assert sum(w.broadcast or 0 for w in g.weekly) == g.metrics["broadcast"]
    assert sum(w.two_way or 0 for w in g.weekly) == g.metrics["two_way"]
    assert g.weekly[0].median_response_seconds == g.weekly[0].p90_response_seconds == 3600
    assert g.weekly[1].median_response_seconds is None  # nothing answered that week: no time, not 0
    assert [b.url.rsplit("/", 1)[1] for b in g.busiest] == ["b2", "b1", "b3"]  # most two-way first


def test_a_period_not_ended_reaches_up_to_now_and_says_so(sc: Scenario) -> None:
    report = _period(sc, "2026-06")
    g = report.goals[0]
    assert (g.start, g.end) == (utc(2026, 6, 1), NOW)
    assert report.period is not None and not report.period.ended and report.period.name == "June 2026 so far"
    assert g.metrics["broadcast"] == 1 and g.baseline["broadcast"] == 3  # the whole of May
    assert g.waiting_total == 1  # r3, written in June
    assert report.to_json()["period"] == {"label": "2026-06", "start": "2026-06-01T00:00:00Z", "end": "2026-06-30T12:00:00Z"}


def test_a_period_before_any_data_is_null_and_says_from_when_data_exists(sc: Scenario) -> None:
    g = _period(sc, "2024-11").goals[0]
    assert all(g.metrics[m] is None for m in METRICS) and all(g.deltas[m] is None for m in METRICS)
    assert g.coverage["metrics"].sources == ("src",) and g.coverage["metrics"].covered_from == utc(2025, 1, 1)
    assert all(w.broadcast is None for w in g.weekly) and g.year_before is None


def test_the_first_quarter_against_the_fourth_of_the_year_before(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    sc.write(
        post("sep", ORG, utc(2025, 9, 30, 23, 59)),  # Q3: before the baseline
        post("oct", ORG, utc(2025, 10, 1)),  # the baseline's first second
        post("dec", ORG, utc(2025, 12, 31, 23, 59)),
        post("jan", ORG, utc(2026, 1, 1)),
        post("mar", ORG, utc(2026, 3, 31, 23, 59)),
        post("apr", ORG, utc(2026, 4, 1)),  # Q2: after the period
    )
    sc.store.conn.execute("UPDATE sources SET covers_from = ?", (int(utc(2025, 7, 1).timestamp()),))
    g = _period(sc, "2026-Q1").goals[0]
    assert (g.start, g.end) == (utc(2026, 1, 1), utc(2026, 4, 1))
    assert (g.metrics["broadcast"], g.baseline["broadcast"], g.deltas["broadcast"]) == (2, 2, 0)
    assert g.period is not None and g.period.baseline == "Q4 2025"


def test_text_and_markdown_name_the_period_and_the_one_before(sc: Scenario) -> None:
    from tests.core.test_snapshot_formats import _rendered

    report = _period(sc, "2026-06")
    text, markdown = _rendered(report, "text"), _rendered(report, "markdown")
    assert "June 2026 so far for every goal" in text and "compared with May 2026" in text
    assert "June 2026 so far, 2026-06-01 00:00 to 2026-06-30 12:00, compared with May 2026." in markdown
    before_data = _period(sc, "2024-11")
    assert "not counted in November 2024 nor compared with October 2024" in _rendered(before_data, "text")


def test_the_json_of_a_period_follows_the_schema(sc: Scenario) -> None:
    doc = _period(sc, "2026-05").to_json()
    check_report_json(doc)
    goal_doc = doc["goals"][0]  # type: ignore[index]
    assert goal_doc["year_before"]["metrics"]["broadcast"] == 1
    assert "weekly" not in goal_doc  # the charts' series are the report's, not part of the schema


# -- the command line -----------------------------------------------------------------------


def _configured(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[organization]\nname = "T"\ntimezone = "UTC"\n'
        f'[dashboard]\ndatabase = "{tmp_path / "store.db"}"\n'
        '[[sources]]\nid = "src"\nplatform = "mastodon"\ninstance = "https://m.example"\naccount = "lib"\n'
        '[[goals]]\nname = "G"\ndescription = "Answer what people ask."\n'
    )
    return config


def test_snapshot_with_a_period_gives_the_engines_numbers(tmp_path: Path) -> None:
    config_path = _configured(tmp_path)
    config = load_config(config_path)
    sc = Scenario(tmp_path, config)
    sc.write(post("b1", ORG, _may(3)), post("r1", "alice", _may(4), parent_id="b1", root_id="b1"))
    sc.store.conn.execute("UPDATE sources SET covers_from = ?", (int(utc(2026, 3, 1).timestamp()),))
    expected = build_report(sc.store, config, NOW, period=parse_period("2026-05")).to_json()
    sc.store.close()
    result = run("--config", str(config_path), "snapshot", "--no-poll", "--format", "json", "--period", "2026-05",
                 env={"TWOWAY_NOW": "2026-06-30T12:00:00Z"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected
    assert expected["goals"][0]["metrics"]["replies"] == 1  # type: ignore[index]


def test_a_period_in_the_future_is_a_usage_error() -> None:
    result = run("snapshot", "--demo", "--format", "json", "--period", "2026-12")  # now is 26 November
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "twoway: --period: 2026-12 has not begun: it starts 2026-12-01 00:00 America/Chicago\n"
    assert run("snapshot", "--demo", "--period", "2027").returncode == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-13"], "twoway: --period: '2026-13' is not a month like 2026-11"),
        (["--period", "2026-10", "--window", "7d"], "twoway: --window and --period: give one or the other"),
    ],
)
def test_a_bad_period_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run("snapshot", "--demo", *args)
    assert result.returncode == 2 and result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1


def test_the_demo_over_its_last_complete_month() -> None:
    from twoway.wiring import demo_config

    result = run("snapshot", "--demo", "--format", "json", "--period", "2026-10")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    check_report_json(doc)
    assert doc["period"] == {"label": "2026-10", "start": "2026-10-01T05:00:00Z", "end": "2026-11-01T05:00:00Z"}
    assert all(g["metrics"]["broadcast"] is not None for g in doc["goals"])
    assert all(g["deltas"]["broadcast"] is not None for g in doc["goals"])  # September is covered too
    assert [g["name"] for g in doc["goals"]] == [g.name for g in demo_config().goals]


def test_a_goal_of_its_own_window_keeps_it_without_a_period(sc: Scenario) -> None:
    sc.config = sc.config._replace(goals=(goal("G", window=7 * DAY),))
    assert build_report(sc.store, sc.config, NOW).goals[0].window == "7d"
