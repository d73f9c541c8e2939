"""`twoway snapshot` formats on a hand-built Report: shapes, safety, and readability."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.core.fresh_python import NEITHER_RICH_NOR_TEXTUAL, run_python
from tests.json_schema import check_report_json
from twoway.report import (
    METRICS,
    GoalReport,
    GoalStatus,
    Metrics,
    Report,
    SourceReport,
    TargetResult,
    Waiting,
)
from twoway.tui.snapshot import CSV_HEADER, render

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)

HOSTILE_MARKUP = "https://glammr.us/@pat/1?q=[bold red]x[/]"
HOSTILE_URLS = (
    "https://glammr.us/@pat/1?q=\x1b[31m[bold red]x[/]\x1b[0m",
    "https://bsky.app/profile/a/post/2\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "https://blog.riverside.example/?p=3\u202egpj.exe|pipe",
    "https://glammr.us/@sam/4\x1b]52;c;ZXZpbA==\x07\x9b2J\u200b",
)
BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _metrics(**values: float | None) -> dict[str, float | None]:
    return {m: values.get(m) for m in METRICS}


def _deltas(now: dict[str, float | None], before: dict[str, float | None]) -> dict[str, float | None]:
    return {
        m: None if now[m] is None or before[m] is None else now[m] - before[m]  # type: ignore[operator]
        for m in METRICS
    }


def _goal(name: str, status: GoalStatus, days: int, now: Metrics, before: Metrics, **rest: Any) -> GoalReport:
    """A goal over the `days` up to NOW, compared with `before`."""
    return GoalReport(
        name=name,
        status=status,
        window=f"{days}d",
        start=NOW - timedelta(days=days),
        end=NOW,
        metrics=now,
        baseline=before,
        deltas=_deltas(now, before),
        **rest,
    )


SUMMER_READING: dict[str, tuple[float | None, float | None]] = {  # metric: (this window, the one before)
    "broadcast": (24, 20),
    "replies": (25, 14),
    "mentions": (4, 3),
    "community_messages": (29, 17),
    "responses": (12, 10),
    "answered": (11, 9),
    "two_way": (41, 27),
    "reposts": (52, 49),
    "quotes": (4, 4),
    "likes": (310, 322),
    "conversation_rate": (25 / 24, 0.7),
    "amplification_rate": (56 / 24, 53 / 20),
    "applause_rate": (310 / 24, 322 / 20),
    "two_way_per_broadcast": (41 / 24, 27 / 20),
    "response_rate": (11 / 29, 9 / 17),
    "median_response_seconds": (12000.0, None),
    "p90_response_seconds": (93600.0, None),
    "unanswered": (18, 8),
    "voices": (17, 12),
}


def _summer_reading() -> GoalReport:
    now = _metrics(**{m: pair[0] for m, pair in SUMMER_READING.items()})
    before = _metrics(**{m: pair[1] for m, pair in SUMMER_READING.items()})
    waiting = tuple(
        Waiting(source=src, url=url, at=NOW - timedelta(seconds=secs), waiting_seconds=secs)
        for src, url, secs in (
            ("library-mastodon", HOSTILE_URLS[0], 187_200.0),
            ("library-bluesky", HOSTILE_URLS[1], 90_000.0),
            ("library-blog", HOSTILE_URLS[2], 7_260.0),
            ("library-mastodon", HOSTILE_URLS[3], 300.0),
        )
    )
    return _goal(
        "Summer reading",
        "missed",
        30,
        now,
        before,
        unavailable={"likes": ("library-blog",), "mentions": ("library-blog",)},
        targets=(
            TargetResult("conversation_rate", ">=", 0.5, now["conversation_rate"], True),
            TargetResult("response_rate", ">=", 0.9, now["response_rate"], False),
            TargetResult("median_response_seconds", "<=", 14400.0, 12000.0, True),
        ),
        by_source={
            "library-mastodon": _metrics(broadcast=14, replies=20, likes=200, conversation_rate=20 / 14),
            "library-bluesky": _metrics(broadcast=8, replies=5, likes=110, conversation_rate=5 / 8),
            "library-blog": _metrics(broadcast=2, replies=0, likes=None, conversation_rate=0.0),
        },
        waiting_total=18,
        waiting=waiting,
    )


def _ask_a_librarian() -> GoalReport:
    counts = ("broadcast", "replies", "mentions", "community_messages", "responses", "answered", "two_way")
    now = _metrics(**dict.fromkeys((*counts, "reposts", "quotes", "unanswered", "voices"), 0))  # likes unmeasured
    return _goal(
        "=HYPERLINK(\"http://evil\") [i]Ask[/i] a | librarian",
        "met",
        7,
        now,
        dict(now),
        unavailable={"likes": ("library-blog",)},
        targets=(TargetResult("unanswered", "<=", 5, 0, True),),
        by_source={"library-blog": dict(now)},
        waiting_total=0,
        waiting=(),
    )


def make_report() -> Report:
    """Two goals (one missed, one met), three sources (ok, stale, error), hostile text."""
    return Report(
        organization="Riverside Library",
        generated_at=NOW,
        demo=True,
        window=None,
        clock="opening-hours",
        goals=(_summer_reading(), _ask_a_librarian()),
        sources=(
            SourceReport("library-mastodon", "mastodon", "ok", NOW - timedelta(minutes=5), None, 1234),
            SourceReport("library-bluesky", "bluesky", "stale", NOW - timedelta(hours=7, minutes=3), None, 567),
            SourceReport(
                "library-blog",
                "wordpress",
                "error",
                None,
                "HTTP 503 from https://blog.riverside.example/wp-json \x1b[2J[red]boom[/red] \u202eevil",
                None,
            ),
        ),
    )


@pytest.fixture
def report() -> Report:
    return make_report()


def _flat(text: str) -> str:
    """The words of a rendering with panel borders gone, so wrapped phrases can be found."""
    return " ".join(re.sub("[│╭╮╰╯]", " ", text).split())


def _text(report: Report, width: int = 80, **kwargs: object) -> str:
    out = io.StringIO()
    render(report, "text", out, width=width, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


# -- JSON -------------------------------------------------------------------------


def test_json_matches_the_schema(report: Report) -> None:
    out = io.StringIO()
    render(report, "json", out)
    text = out.getvalue()
    assert text.endswith("}\n")
    doc = json.loads(text)
    check_report_json(doc)
    assert doc["demo"] is True
    assert len(doc["goals"]) == 2 and len(doc["sources"]) == 3


def test_json_keeps_data_exact_but_escapes_what_could_steer_a_terminal(report: Report) -> None:
    out = io.StringIO()
    render(report, "json", out)
    text = out.getvalue()
    assert not BAD_CHARS.search(text)
    assert "\x1b" not in text and "\u202e" not in text and "\x9b" not in text
    doc = json.loads(text)
    assert doc == json.loads(json.dumps(report.to_json()))
    assert doc["goals"][0]["waiting"][0]["url"] == HOSTILE_URLS[0]


def test_json_to_an_ascii_stream_escapes_instead_of_crashing(report: Report) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    render(report, "json", out)
    out.flush()
    check_report_json(json.loads(raw.getvalue().decode("ascii")))


def test_json_path_imports_neither_rich_nor_textual() -> None:
    code = (
        "import io, sys\n"
        "import twoway.tui.snapshot\n"
        "from datetime import datetime, timezone\n"
        "from twoway.report import METRICS, GoalReport, Report, SourceReport, Waiting\n"
        "now = datetime(2025, 6, 1, tzinfo=timezone.utc)\n"
        "m = dict.fromkeys(METRICS, 1)\n"
        "g = GoalReport('G', 'no-targets', '30d', now, now, m, m, m, {}, (), {'s': m}, 1,\n"
        "               (Waiting('s', 'https://x/\\x1b[1m', now, 5.0),))\n"
        "s = SourceReport('s', 'rss', 'ok', now, None, None)\n"
        "r = Report('Riverside', now, True, None, 'always', (g,), (s,))\n"
        "out = io.StringIO()\n"
        "twoway.tui.snapshot.render(r, 'json', out)\n"
        "twoway.tui.snapshot.render(r, 'csv', out)\n"
        "assert out.getvalue().startswith('{')\n"
        "assert 'prometheus_client' not in sys.modules\n"
    )
    run_python(code + NEITHER_RICH_NOR_TEXTUAL)


# -- CSV --------------------------------------------------------------------------


def _csv_rows(report: Report) -> list[list[str]]:
    out = io.StringIO()
    render(report, "csv", out)
    text = out.getvalue()
    assert text.splitlines()[0] == ",".join(CSV_HEADER)
    return list(csv.reader(io.StringIO(text)))


def test_csv_header_and_one_row_per_goal_and_metric(report: Report) -> None:
    rows = _csv_rows(report)
    assert rows[0] == [
        "goal", "status", "metric", "value", "baseline", "delta", "target", "met", "window_start", "window_end",
        "generated_at",
    ]  # SPEC §4: the three columns added at the end, so files appended to before stay aligned
    body = rows[1:]
    assert len(body) == len(report.goals) * len(METRICS)
    assert [r[2] for r in body[: len(METRICS)]] == list(METRICS)
    assert all(len(r) == 11 for r in body)
    first = report.goals[0]
    assert body[0][8:] == [f"{first.start:%Y-%m-%dT%H:%M:%S}Z", "2025-06-01T12:00:00Z", "2025-06-01T12:00:00Z"]


def test_csv_without_its_header_appends(report: Report) -> None:
    out = io.StringIO()
    render(report, "csv", out, header=False)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == _csv_rows(report)[1:]


def test_markdown_gives_dates_and_hours_never_just_now(report: Report) -> None:
    report = report._replace(
        sources=tuple(s._replace(last_success=NOW - timedelta(seconds=10)) for s in report.sources),
        timezone="America/Chicago",
    )
    out = io.StringIO()
    render(report, "markdown", out)
    text = out.getvalue()
    assert "just now" not in text and " ago" not in text
    assert "| 2025-06-01 06:59 |" in text  # 11:59:50 UTC, in Chicago (CDT)
    assert "Generated 2025-06-01 07:00 America/Chicago" in text


def test_csv_values_targets_and_nulls(report: Report) -> None:
    rows = {(r[0], r[2]): r for r in _csv_rows(report)[1:]}
    broadcast = rows[("Summer reading", "broadcast")]
    assert broadcast[1:8] == ["missed", "broadcast", "24", "20", "4", "", ""]
    rate = rows[("Summer reading", "response_rate")]
    assert rate[3] == "0.3793" and rate[6] == ">= 0.9" and rate[7] == "false"
    assert rows[("Summer reading", "conversation_rate")][7] == "true"
    median = rows[("Summer reading", "median_response_seconds")]
    assert median[3] == "12000" and median[4] == "" and median[5] == "" and median[6] == "<= 14400"
    # a negative delta is a number, not a formula
    assert rows[("Summer reading", "likes")][5] == "-12"
    assert rows[("Summer reading", "applause_rate")][5].startswith("-")


def test_csv_guards_formulas_in_text_cells(report: Report) -> None:
    rows = _csv_rows(report)[1:]
    names = {r[0] for r in rows}
    assert "'=HYPERLINK(\"http://evil\") [i]Ask[/i] a | librarian" in names
    for row in rows:
        for cell in (row[0], row[1], row[2], row[6]):
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            assert not (cell.startswith("-") and not re.fullmatch(r"-[\d.]+", cell)), row


def test_csv_negative_numbers_stay_numbers() -> None:
    from twoway.tui.snapshot import _csv_number, _csv_text

    assert _csv_number(-3) == "-3"
    assert _csv_number(-0.25) == "-0.25"
    assert _csv_number(1 / 3) == "0.3333"
    assert _csv_number(-0.00001) == "0"
    assert _csv_number(None) == ""
    assert _csv_text("-3") == "'-3"  # a string that looks like a number is still text
    assert _csv_text("@SUM(A1)") == "'@SUM(A1)"
    assert _csv_text("\tx") == " x"  # neutralized to a space first: nothing left to run


# -- text -------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 120])
def test_text_fits_the_width(report: Report, width: int) -> None:
    from rich.cells import cell_len

    text = _text(report, width)
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert text.splitlines()[0].startswith("DEMO")


def test_text_is_plain_and_shows_the_essentials(report: Report) -> None:
    text = _text(report)
    assert "\x1b" not in text and "\x07" not in text
    assert not BAD_CHARS.search(text)
    flat = _flat(text)
    for needed in (
        "DEMO",
        "Riverside Library",
        "Summer reading",
        "missed",
        "met",
        "broadcast",
        "two-way",
        "one-way",
        "reposts 52 (+3)",
        "likes — (not measured)",
        "library-blog cannot measure mentions, likes",
        "18 waiting, longest 2d 4h",
        "3h 20m",
        "5m ago",
        "7h 3m ago",
        "never",
        "1,234",
        "response rate",
        "wanted ≥ 0.90",
        "✗",
        "✓",
        "library-bluesky",
        "stale",
    ):
        assert needed in flat, needed
    assert "—" in text  # null baseline and deltas


def test_text_shows_hostile_network_text_literally(report: Report) -> None:
    text = _text(report, 120)
    flat = _flat(text)
    assert "[bold red]x[/]" in flat
    assert "[red]boom[/red]" in flat
    assert "[i]Ask[/i]" in flat
    assert "\\u202e" in flat  # the bidi override is shown, not obeyed
    assert "evil.example" not in text  # the OSC 8 target is dropped with the sequence
    assert "ZXZpbA==" not in text  # and the OSC 52 payload


def test_text_with_color_on_a_tty_styles_and_no_color_strips_colour(
    report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Tty()
    render(report, "text", out, width=100)
    assert "\x1b[" in out.getvalue()
    assert re.search(r"\x1b\[[0-9;]*3[1-2]m", out.getvalue())  # red or green
    monkeypatch.setenv("NO_COLOR", "1")
    out = Tty()
    render(report, "text", out, width=100)
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", out.getvalue())
    assert "\x1b]" not in out.getvalue()  # no hyperlinks either


def test_text_honours_columns(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "100")
    out = io.StringIO()
    render(report, "text", out)
    widths = [cell_len(line) for line in out.getvalue().splitlines()]
    assert max(widths) == 100  # goal panels span the whole width


def test_text_to_an_ascii_stream_does_not_raise(report: Report) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    render(report, "text", out, width=80)
    out.flush()
    text = raw.getvalue().decode("ascii")
    assert "DEMO" in text and "Summer reading" in text
    assert "#" in text  # ASCII bars
    assert max(len(line) for line in text.splitlines()) <= 80


def test_waiting_and_unanswered_are_named_where_both_show(report: Report) -> None:
    from twoway.tui.render import WAITING_NOTE

    goal = report.goals[0]
    assert goal.waiting_total and goal.metrics["unanswered"] is not None
    out = io.StringIO()
    render(report, "markdown", out)
    assert f"_{WAITING_NOTE[0].upper()}{WAITING_NOTE[1:]}._" in out.getvalue().splitlines()
    text = " ".join(line.strip("│ ") for line in _text(report, width=200).splitlines())
    assert " ".join(WAITING_NOTE.split()) in " ".join(text.split())


@pytest.mark.parametrize("width", [60, 80, 120])
def test_waiting_links_are_never_cut(report: Report, width: int) -> None:
    from rich.cells import cell_len

    from twoway.tui.render import clean
    from twoway.tui.snapshot import WAITING_LISTED

    lines = _text(report, width=width).splitlines()
    assert max(cell_len(line) for line in lines) <= width
    flowing = "".join(line.strip("│ ") for line in lines)  # a link longer than the panel folds on
    for item in report.goals[0].waiting[:WAITING_LISTED]:
        assert clean(item.url) in flowing


def test_text_times_are_the_organizations_named_once(report: Report) -> None:
    chicago = report._replace(
        timezone="America/Chicago", goals=tuple(g._replace(timezone="America/Chicago") for g in report.goals)
    )
    text = _text(chicago)
    assert "2025-06-01 07:00 America/Chicago" in text  # 12:00 UTC, CDT
    assert "UTC" not in text and text.count("America/Chicago") == 1
    assert "2025-06-01 12:00 UTC" in _text(report)  # no timezone configured: UTC, named


def test_text_without_goals_or_sources() -> None:
    empty = Report("Riverside", NOW, False, "7d", "always", (), ())
    text = _text(empty)
    assert "DEMO" not in text
    assert "No goals configured" in text


# -- Markdown ---------------------------------------------------------------------


def test_markdown_is_a_pasteable_report(report: Report) -> None:
    out = io.StringIO()
    render(report, "markdown", out)
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0].startswith("> **DEMO**")
    assert any(line.startswith("# Riverside Library") for line in lines)
    assert "### Summer reading — missed" in lines
    assert "| metric | now | before | change |" in lines
    assert "| broadcast | 24 | 20 | +4 |" in lines
    assert "### Sources" in lines
    assert "**Waiting for a response:** 18, longest 2d 4h." in lines


def test_markdown_escapes_pipes_and_markup(report: Report) -> None:
    out = io.StringIO()
    render(report, "markdown", out)
    text = out.getvalue()
    assert not BAD_CHARS.search(text)
    assert "a \\| librarian" in text
    assert "\\[i\\]Ask\\[/i\\]" in text
    assert "\\[red\\]boom\\[/red\\]" in text
    assert "%7Cpipe" in text  # a pipe in a URL is percent-encoded, the link still works
    # every table row has exactly its columns: no unescaped pipe split a cell
    for line in text.splitlines():
        if line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) - 2 in (4, 6), line


def test_markdown_shows_a_goals_description_as_literal_text(report: Report) -> None:
    purpose = "Families *talk* with us | not <b>only</b> [listen](javascript:alert(1))\u202e\nabout #books"
    described = report._replace(goals=(report.goals[0]._replace(description=purpose),))
    lines = _rendered(described, "markdown").splitlines()
    heading = lines.index("### Summer reading — missed")
    assert lines[heading + 2] == (
        "Families \\*talk\\* with us \\| not \\<b\\>only\\</b\\> \\[listen\\](javascript:alert(1))\\\\u202e about \\#books"
    )  # the bidi override shown as a visible escape (SPEC §8), its backslash escaped
    assert not BAD_CHARS.search("\n".join(lines))


def test_unknown_format_is_a_clear_error(report: Report) -> None:
    with pytest.raises(ValueError, match="text, json, csv, markdown"):
        render(report, "yaml", io.StringIO())


@pytest.mark.parametrize("fmt", ["text", "json", "csv", "markdown", "prometheus"])
def test_every_format_survives_an_ascii_stream(report: Report, fmt: str) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    render(report, fmt, out, width=80)
    out.flush()
    assert raw.getvalue().decode("ascii")


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_ascii_asks_for_the_plain_fallback_on_a_unicode_stream(report: Report, fmt: str) -> None:
    """`--ascii`, for proportional fonts and old mail clients: what an ASCII-only stream would get."""
    raw = io.BytesIO()
    ascii_only = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    render(report, fmt, ascii_only, width=80)
    ascii_only.flush()
    asked = io.StringIO()  # a UTF-8 capable stream
    render(report, fmt, asked, width=80, ascii=True)
    assert asked.getvalue() == raw.getvalue().decode("ascii")
    assert asked.getvalue().isascii()
    unicode = io.StringIO()
    render(report, fmt, unicode, width=80)
    assert not unicode.getvalue().isascii()


def test_text_under_pythonioencoding_ascii_in_a_real_process() -> None:
    code = (
        "import sys\n"
        "from tests.core.test_snapshot_formats import make_report\n"
        "from twoway.tui.snapshot import render\n"
        "render(make_report(), 'text', sys.stdout)\n"
    )
    text = run_python(code, env={"PYTHONIOENCODING": "ascii", "PATH": "/usr/bin:/bin", "COLUMNS": "80"}).decode("ascii")
    assert text.startswith("DEMO - built-in demo organization")
    assert "\x1b" not in text


def test_human_readable_numbers() -> None:
    from twoway.tui.render import ASCII, format_delta, format_target, format_value, human_duration, relative_time

    assert [human_duration(s) for s in (0, 45, 60, 3600, 12000, 86400, 187200)] == [
        "0s",
        "45s",
        "1m",
        "1h",
        "3h 20m",
        "1d",
        "2d 4h",
    ]
    assert relative_time(NOW - timedelta(minutes=5), NOW) == "5m ago"
    assert relative_time(NOW - timedelta(seconds=10), NOW) == "just now"
    assert relative_time(None, NOW) == "never"
    assert format_delta("broadcast", 12) == "+12"
    assert format_delta("response_rate", -0.05) == "−0.05"
    assert format_delta("response_rate", -0.05, ASCII) == "-0.05"
    assert format_delta("median_response_seconds", 1500.0) == "+25m"
    assert format_delta("likes", 0) == "±0"
    assert format_delta("likes", None) == "—"
    assert format_value("conversation_rate", None, ASCII) == "-"
    assert format_value("followers", 12345) == "12,345"
    assert format_target("median_response_seconds", "<=", 14400) == "≤ 4h"
    assert format_target("response_rate", ">=", 0.9, ASCII) == ">= 0.90"


# -- coverage (SPEC §3): from when data exists, said in every format --------------------------


def _uncovered_report(tmp_path: Any) -> Report:
    """A real store whose data begins 45 days before the report, 30-day windows, Chicago time."""
    from tests.scenario import NOW as SCENE_NOW
    from tests.scenario import ORG, Scenario, at, make_config, post
    from twoway.metrics import build_report
    from twoway.store import Store

    config = make_config()
    config = config._replace(organization=config.organization._replace(timezone="America/Chicago"))
    sc = Scenario(tmp_path, config)
    sc.store.close()
    sc.store = Store.open(sc.path, sc.policy._replace(horizon=45 * 86400))
    sc.write(post("b1", ORG, at(days=40)), post("b2", ORG, at(days=10)))
    return build_report(sc.store, sc.config, SCENE_NOW)


def test_every_format_says_from_when_data_exists(tmp_path: Any) -> None:
    report = _uncovered_report(tmp_path)
    out = io.StringIO()
    render(report, "json", out)
    goal = json.loads(out.getvalue())["goals"][0]
    check_report_json({**json.loads(out.getvalue())})
    assert goal["baseline"]["broadcast"] is None and goal["deltas"]["broadcast"] is None
    # 45 days before 2026-06-30 12:00 UTC is 2026-05-16 12:00 UTC: 07:00 in Chicago, the same day
    assert goal["coverage"]["baseline"] == {"covered_from": "2026-05-16T12:00:00Z", "sources": ["src"]}
    for fmt in ("text", "markdown"):
        out = io.StringIO()
        render(report, fmt, out, width=120)
        assert "no data before 2026-05-16 (src)" in out.getvalue().lower(), out.getvalue()


def test_the_date_is_the_organizations_day(tmp_path: Any) -> None:
    from twoway.report import Coverage
    from twoway.tui.render import coverage_note

    late = datetime(2026, 5, 16, 3, 0, tzinfo=timezone.utc)  # still May 15 in Chicago
    goal = _uncovered_report(tmp_path).goals[0]
    goal = goal._replace(coverage={**goal.coverage, "baseline": Coverage(late, ("src",))})
    assert (coverage_note(goal) or "").startswith("no data before 2026-05-15 (src)")
    assert coverage_note(goal._replace(coverage={})) is None


# -- waiting when a source has not polled or fails (SPEC §4): unknown is never good news ------------


def _two_sources(tmp_path: Any) -> Any:
    from tests.scenario import ORG, Scenario, at, goal, make_config, post

    config = make_config(sources=(("library-mastodon", "mastodon"), ("library-blog", "wordpress")),
                         goals=[goal(sources=("library-mastodon", "library-blog"))])
    sc = Scenario(tmp_path, config)
    batch = sc.batch([post("b1", ORG, at(days=3)), post("r1", "alice", at(days=2), parent_id="b1", root_id="b1"),
                      post("r2", "bob", at(days=1), parent_id="b1", root_id="b1")], source="library-blog")
    sc.store.write(batch._replace(polled_at=at(hours=2, minutes=-42)))  # 10:42 UTC
    return sc


def _rendered(report: Report, fmt: str) -> str:
    out = io.StringIO()
    render(report, fmt, out, width=120)
    return out.getvalue()


def test_waiting_is_unknown_while_a_source_has_not_polled(tmp_path: Any) -> None:
    from tests.scenario import NOW as SCENE_NOW
    from tests.scenario import at
    from twoway.metrics import build_report

    sc = _two_sources(tmp_path)
    sc.store.record_error("library-mastodon", "mastodon", at(hours=1), "HTTP 503")
    report = build_report(sc.store, sc.config, SCENE_NOW)
    goal = report.goals[0]
    assert goal.not_polled == ("library-mastodon",)
    doc = json.loads(_rendered(report, "json"))
    check_report_json(doc)
    assert doc["goals"][0]["waiting_total"] is None and len(doc["goals"][0]["waiting"]) == 2  # what is known
    assert "waiting: unknown, library-mastodon has not polled yet" in _rendered(report, "text")
    assert "**Waiting for a response:** unknown, library-mastodon has not polled yet." in _rendered(report, "markdown")
    assert "nothing waiting" not in _rendered(report, "text")


def test_a_count_from_a_failing_source_says_as_of_when(tmp_path: Any) -> None:
    from tests.scenario import NOW as SCENE_NOW
    from tests.scenario import ORG, at, post
    from twoway.metrics import build_report

    sc = _two_sources(tmp_path)
    sc.write(post("m1", ORG, at(days=4)), source="library-mastodon")
    sc.store.record_error("library-blog", "wordpress", at(hours=1), "HTTP 503")
    report = build_report(sc.store, sc.config, SCENE_NOW)
    goal = report.goals[0]
    assert (goal.not_polled, goal.failing, goal.as_of) == ((), ("library-blog",), at(hours=1, minutes=18))
    assert json.loads(_rendered(report, "json"))["goals"][0]["waiting_total"] == 2
    assert "2 waiting as of 10:42, library-blog failing" in _rendered(report, "text")
    assert "**Waiting for a response:** 2 as of 10:42, library-blog failing, longest" in _rendered(report, "markdown")
    sc.write(source="library-blog")  # it polls again: the count is current
    assert "2 waiting, longest" in _rendered(build_report(sc.store, sc.config, SCENE_NOW), "text")
