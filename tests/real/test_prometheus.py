"""twoway's `/metrics` scraped by a real Prometheus (Debian's `prometheus`, tests/real/prometheus.py)
and read back through its HTTP API: the store's series equal `snapshot --format json`, a hostile
goal name survives Prometheus' own parser as one label value, the documented rules evaluate on
them, and every query of the Grafana dashboard runs. Also `promtool` on docs/prometheus/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collecting import FakeSleep, collect_once, snapshot_json, write_config
from tests.core.test_prometheus import HOSTILE_GOAL, expected_from_json
from tests.fakes import goal_toml
from tests.fakes.mastodon import MASTODON
from tests.real.prometheus import Prometheus, install, prometheus_server, promtool
from tests.replay import replay_server
from twoway import wiring
from twoway.config import load_config
from twoway.text import neutralize
from twoway.tui.prometheus import ProcessSeries

pytestmark = pytest.mark.real_server

DOCS = Path(__file__).parents[2] / "docs"
BRANCH = "test-branch"
"""The `organization` label the scrape config puts on the target, as docs/prometheus/prometheus.yml does."""


def test_promtool_checks_the_documented_config_and_rules() -> None:
    install()
    for args in (("check", "config", "prometheus.yml"), ("check", "rules", "rules.yml"), ("test", "rules", "rules.test.yml")):
        done = promtool(*args, cwd=DOCS / "prometheus")
        assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"
        assert "SUCCESS" in done.stdout + done.stderr


@dataclass(frozen=True)
class Scraped:
    prometheus: Prometheus
    json: dict[str, Any]
    """`snapshot --format json` of the same store at the same `TWOWAY_NOW`."""


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    """The Mastodon scenario collected into a store (a goal with a hostile name added), served with
    `--metrics`' own server on 127.0.0.1, and a real Prometheus scraping it every second."""
    install()
    tmp = tmp_path_factory.mktemp("prometheus")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in MASTODON.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TWOWAY_NOW", MASTODON.now.isoformat())
        monkeypatch.setattr("twoway.plugin.http.wait", FakeSleep())
        with replay_server() as server:
            MASTODON.build(server)
            goals = MASTODON.goals + goal_toml(HOSTILE_GOAL)
            config_path = write_config(tmp, MASTODON.sources(server.url), goals, MASTODON.organization)
            assert collect_once(config_path) == (0, "")
        config = load_config(config_path)
        metrics = wiring.serve_metrics(config, False, "127.0.0.1", 0, ProcessSeries([s.id for s in config.sources]))
        try:
            rules = f"rule_files: [{json.dumps(str(DOCS / 'prometheus' / 'rules.yml'))}]\n"
            with prometheus_server(tmp, f"127.0.0.1:{metrics.port}", {"organization": BRANCH}, rules) as prometheus:
                yield Scraped(prometheus, snapshot_json(config_path))
        finally:
            metrics.stop()


def _values(result: list[dict[str, Any]], *labels: str) -> dict[Any, float]:
    """Instant vector → {label value(s): value}."""
    key = (lambda m: m[labels[0]]) if len(labels) == 1 else (lambda m: tuple(m[label] for label in labels))
    return {key(r["metric"]): float(r["value"][1]) for r in result}


def test_prometheus_holds_what_the_json_says(scraped: Scraped) -> None:
    prometheus, expected = scraped.prometheus, expected_from_json(scraped.json)
    metric = _values(prometheus.wait_for("twoway_goal_metric"), "goal", "metric", "window")
    assert metric == expected["twoway_goal_metric"]
    assert neutralize(HOSTILE_GOAL) in {goal for goal, _, _ in metric}  # Prometheus' own parser: one label value
    assert _values(prometheus.query("twoway_goal_met"), "goal") == expected["twoway_goal_met"]
    assert _values(prometheus.query("twoway_goal_waiting"), "goal") == expected["twoway_goal_waiting"]
    assert _values(prometheus.query("twoway_source_up"), "source", "platform") == expected["twoway_source_up"]
    last = _values(prometheus.query("twoway_source_last_success_timestamp_seconds"), "source")
    assert {source: float(int(at)) for source, at in last.items()} == expected["twoway_source_last_success_timestamp_seconds"]
    assert _values(prometheus.query('up{job="twoway"}'), "organization") == {BRANCH: 1.0}
    assert set(_values(prometheus.query("twoway_source_requests_total"), "source")) == {MASTODON.sid}


def test_the_documented_rules_evaluate_on_twoways_series(scraped: Scraped) -> None:
    prometheus, expected = scraped.prometheus, expected_from_json(scraped.json)
    per_broadcast = prometheus.wait_for("goal:twoway_two_way_per_broadcast:current")
    assert _values(per_broadcast, "goal") == {
        goal: value for (goal, metric, window), value in expected["twoway_goal_metric"].items()
        if (metric, window) == ("two_way_per_broadcast", "current")
    }
    waiting = prometheus.wait_for("organization:twoway_goal_waiting:max")
    assert _values(waiting, "organization") == {BRANCH: max(expected["twoway_goal_waiting"].values())}


def test_every_query_of_the_grafana_dashboard_runs_on_it(scraped: Scraped) -> None:
    prometheus = scraped.prometheus
    prometheus.wait_for("twoway_goal_metric")
    dashboard = json.loads((DOCS / "grafana" / "twoway.json").read_text(encoding="utf-8"))
    every = {v["name"]: v["allValue"] for v in dashboard["templating"]["list"] if "allValue" in v}  # "All" selected

    def promql(expr: str) -> str:
        return re.sub(r"\$(organization|goal)\b", lambda m: every[m.group(1)], expr).replace("$__rate_interval", "1m")

    answered: dict[str, list[dict[str, Any]]] = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            query = promql(target["expr"])
            assert "$" not in query, (panel["title"], query)
            answered.setdefault(panel["title"], []).extend(prometheus.query(query))
    assert len(answered) == sum(1 for p in dashboard["panels"] if p["type"] != "row")
    broadcast_panel = next(t for t in answered if t.startswith("$goal: broadcast and two-way"))
    assert {r["metric"]["metric"] for r in answered[broadcast_panel]} == {"broadcast", "two_way"}
    assert {r["metric"]["goal"] for r in answered[broadcast_panel]} == {g["name"] for g in scraped.json["goals"]}
    for variable in dashboard["templating"]["list"][1:]:  # label_values(SERIES, LABEL): Grafana's, through the API
        series, label = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"]).groups()  # type: ignore[union-attr]
        values = f"{prometheus.url}/api/v1/label/{label}/values"
        answer = httpx.get(values, params={"match[]": promql(series)}, timeout=10).json()
        assert answer["status"] == "success" and answer["data"], (variable["name"], answer)
