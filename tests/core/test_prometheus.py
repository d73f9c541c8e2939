"""The Prometheus series (SPEC §11): `snapshot --format prometheus`, parsed back with
`prometheus_client.parser`, holds exactly what `snapshot --format json` says, and hostile
names stay one valid label value."""

from __future__ import annotations

import io
import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.collecting import run_cli
from tests.core.fresh_python import NEITHER_RICH_NOR_TEXTUAL, run_python
from twoway.report import METRICS, GoalReport, GoalStatus, Metrics, Report, SourceReport
from twoway.text import neutralize
from twoway.tui.snapshot import render

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HOSTILE_NAMES = (
    'say "hi"',
    "back\\slash\\",
    "two\nlines",
    '} 1\ntwoway_goal_met{goal="forged"} 1\n# x',
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \u202eevil \x9b2J zero\u200bwidth",
)
# what must never reach a terminal or a log reader: ESC, BEL, C1 controls, bidi overrides, zero-width characters
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u202a-\u202e\u2066-\u2069\ufeff]")


def samples(text: str) -> dict[str, list[Sample]]:
    """Every family's samples, by family name, as Prometheus' own parser reads them."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def goal_metrics(families: dict[str, list[Sample]]) -> dict[tuple[str, str, str], float]:
    """(goal, metric, window) → value."""
    return {
        (s.labels["goal"], s.labels["metric"], s.labels["window"]): s.value for s in families["twoway_goal_metric"]
    }


def expected_from_json(doc: dict[str, Any]) -> dict[str, dict[Any, float]]:
    """What the series must hold, worked out from `snapshot --format json`."""
    return {
        "twoway_goal_metric": {
            (g["name"], metric, window): float(value)
            for g in doc["goals"]
            for window, key in (("current", "metrics"), ("baseline", "baseline"))
            for metric, value in g[key].items()
            if value is not None
        },
        "twoway_goal_met": {
            g["name"]: 1.0 if g["status"] == "met" else 0.0 for g in doc["goals"] if g["status"] in ("met", "missed")
        },
        "twoway_goal_waiting": {g["name"]: float(g["waiting_total"]) for g in doc["goals"] if g["waiting_total"] is not None},
        "twoway_source_up": {(s["id"], s["platform"]): 1.0 if s["status"] == "ok" else 0.0 for s in doc["sources"]},
        "twoway_source_last_success_timestamp_seconds": {
            s["id"]: datetime.fromisoformat(s["last_success"].replace("Z", "+00:00")).timestamp()
            for s in doc["sources"]
            if s["last_success"]
        },
    }


def store_series(families: dict[str, list[Sample]]) -> dict[str, dict[Any, float]]:
    """The same shape as `expected_from_json`, read from parsed samples (timestamps to the second, as JSON has them)."""
    return {
        "twoway_goal_metric": goal_metrics(families),
        "twoway_goal_met": {s.labels["goal"]: s.value for s in families["twoway_goal_met"]},
        "twoway_goal_waiting": {s.labels["goal"]: s.value for s in families["twoway_goal_waiting"]},
        "twoway_source_up": {(s.labels["source"], s.labels["platform"]): s.value for s in families["twoway_source_up"]},
        "twoway_source_last_success_timestamp_seconds": {
            s.labels["source"]: float(math.floor(s.value))
            for s in families["twoway_source_last_success_timestamp_seconds"]
        },
    }


def test_the_snapshot_holds_what_the_json_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    code, text, err = run_cli("--demo", "snapshot", "--format", "prometheus")
    assert code == 0 and err == "twoway: DEMO: built-in demo organization, not real data\n"
    code, out, _ = run_cli("--demo", "snapshot", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    expected = expected_from_json(doc)
    assert store_series(samples(text)) == expected
    assert {goal for goal, _, _ in expected["twoway_goal_metric"]} == {g["name"] for g in doc["goals"]}
    assert len(expected["twoway_goal_met"]) < len(doc["goals"])  # the demo has a goal without targets: no sample


def _goal(name: str, status: GoalStatus, metrics: Metrics, **rest: Any) -> GoalReport:
    return GoalReport(
        name=name,
        status=status,
        window="30d",
        start=NOW - timedelta(days=30),
        end=NOW,
        metrics=metrics,
        baseline=metrics,
        deltas=dict.fromkeys(METRICS),
        unavailable={},
        targets=(),
        by_source={},
        waiting_total=rest.pop("waiting_total", 0),
        waiting=(),
        **rest,
    )


def _report(goals: tuple[GoalReport, ...], sources: tuple[SourceReport, ...] = ()) -> Report:
    return Report("Riverside Library", NOW, False, None, "always", goals, sources)


def _exposed(report: Report) -> str:
    out = io.StringIO()
    render(report, "prometheus", out)
    return out.getvalue()


def test_hostile_names_stay_one_label_value_each() -> None:
    counts: Metrics = dict.fromkeys(METRICS, 1)
    goals = tuple(_goal(name, "met", counts, waiting_total=i) for i, name in enumerate(HOSTILE_NAMES))
    sources = tuple(
        SourceReport(name, f'plat"form\\{i}\n', "ok", NOW, None, None) for i, name in enumerate(HOSTILE_NAMES)
    )
    text = _exposed(_report(goals, sources))
    assert not FORBIDDEN.search(text.replace("\n", ""))
    families = samples(text)
    assert {s.labels["goal"]: s.value for s in families["twoway_goal_met"]} == {
        neutralize(name): 1.0 for name in HOSTILE_NAMES
    }
    assert {s.labels["goal"]: s.value for s in families["twoway_goal_waiting"]} == {
        neutralize(name): float(i) for i, name in enumerate(HOSTILE_NAMES)
    }
    assert len(families["twoway_goal_metric"]) == 2 * len(METRICS) * len(HOSTILE_NAMES)
    assert {(s.labels["source"], s.labels["platform"]) for s in families["twoway_source_up"]} == {
        (neutralize(name), f'plat"form\\{i}\n') for i, name in enumerate(HOSTILE_NAMES)
    }
    assert 'two\\nlines' in text and 'say \\"hi\\"' in text  # escaped by prometheus_client, not by us


def test_null_and_unknown_have_no_sample() -> None:
    partial: Metrics = {m: (None if m in ("likes", "applause_rate", "median_response_seconds") else 2) for m in METRICS}
    goals = (
        _goal("No data", "no-data", partial, not_polled=("library-blog",)),
        _goal("No targets", "no-targets", partial, waiting_total=4),
        _goal("Missed", "missed", partial),
    )
    sources = (
        SourceReport("library-blog", "wordpress", "stale", None, None, None),
        SourceReport("library-feed", "rss", "error", NOW - timedelta(hours=3), "HTTP 503", None),
    )
    families = samples(_exposed(_report(goals, sources)))
    measured = [m for m in METRICS if partial[m] is not None]
    assert goal_metrics(families) == {
        (g.name, m, w): 2.0 for g in goals for m in measured for w in ("current", "baseline")
    }
    assert {s.labels["goal"]: s.value for s in families["twoway_goal_met"]} == {"Missed": 0.0}
    assert {s.labels["goal"]: s.value for s in families["twoway_goal_waiting"]} == {"No targets": 4.0, "Missed": 0.0}
    assert {s.labels["source"]: s.value for s in families["twoway_source_up"]} == {
        "library-blog": 0.0,
        "library-feed": 0.0,
    }
    assert {s.labels["source"]: s.value for s in families["twoway_source_last_success_timestamp_seconds"]} == {
        "library-feed": (NOW - timedelta(hours=3)).timestamp()
    }


def test_the_prometheus_path_imports_neither_rich_nor_textual() -> None:
    code = (
        "import io, sys\n"
        "import twoway.tui.snapshot\n"
        "from datetime import datetime, timezone\n"
        "from twoway.report import METRICS, GoalReport, Report\n"
        "now = datetime(2025, 6, 1, tzinfo=timezone.utc)\n"
        "m = dict.fromkeys(METRICS, 1)\n"
        "g = GoalReport('G', 'met', '30d', now, now, m, m, m, {}, (), {}, 0, ())\n"
        "out = io.StringIO()\n"
        "twoway.tui.snapshot.render(Report('R', now, False, None, 'always', (g,), ()), 'prometheus', out)\n"
        "assert out.getvalue().startswith('# HELP twoway_goal_metric'), out.getvalue()\n"
    )
    run_python(code + NEITHER_RICH_NOR_TEXTUAL)
