"""The files docs/library-system.md hands to IT: the Grafana dashboard is JSON whose queries
name only series twoway exposes, and the systemd unit is one systemd accepts, running a
command line twoway accepts. (promtool and a real Prometheus check the rest: tests/real.)"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.core.test_prometheus import NOW, _exposed, _goal, _report
from twoway.cli import _parser
from twoway.report import METRICS, SourceReport
from twoway.tui.prometheus import ProcessSeries

DOCS = Path(__file__).parents[2] / "docs"
UNIT = DOCS / "systemd" / "twoway-collect.service"
SERIES = re.compile(r"(?<![\w:])(twoway_\w+|up)(?![\w:])")
"""A series name in PromQL, not part of a recording rule's `level:metric:operations` name."""


def _exposed_series() -> set[str]:
    """Every series name twoway's /metrics can show, from the code's own families."""
    goal = _goal("G", "met", dict.fromkeys(METRICS, 1))
    text = _exposed(_report((goal,), (SourceReport("s", "rss", "ok", NOW, None, None),)))
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    names |= {s.name for f in ProcessSeries(["s"]).collect() for s in f.samples}
    return names | {"up"}


def test_the_grafana_dashboard_is_json_over_twoways_series() -> None:
    dashboard = json.loads((DOCS / "grafana" / "twoway.json").read_text(encoding="utf-8"))
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    queries += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    named = {name for q in queries for name in SERIES.findall(q)}
    assert {"twoway_goal_metric", "twoway_goal_waiting", "twoway_source_up"} <= named
    assert named <= _exposed_series()
    assert {v["name"] for v in dashboard["templating"]["list"]} == {"datasource", "organization", "goal"}
    shown = json.dumps(dashboard)
    assert 'metric=\\"broadcast\\"' in shown and 'metric=\\"two_way\\"' in shown  # broadcast next to two-way


def test_the_rules_name_only_twoways_series() -> None:
    import yaml

    rules = yaml.safe_load((DOCS / "prometheus" / "rules.yml").read_text(encoding="utf-8"))
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    named = {name for expr in exprs for name in SERIES.findall(expr)}
    assert {"twoway_goal_waiting", "twoway_source_up", "twoway_source_poll_seconds_bucket", "up"} <= named
    assert named <= _exposed_series()


def _unit() -> ConfigParser:
    unit = ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    return unit


def test_the_collector_unit_restarts_reads_its_credentials_and_runs_a_valid_command() -> None:
    service = _unit()["Service"]
    assert service["Restart"] == "on-failure" and service["RestartPreventExitStatus"] == "2"
    assert service["EnvironmentFile"] == "/etc/twoway/credentials.env"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/twoway")
    args = _parser().parse_args(argv[1:])
    assert (args.command, args.once, args.metrics) == ("collect", False, ("127.0.0.1", 9464))
    credentials = (DOCS / "systemd" / "credentials.env").read_text(encoding="utf-8").splitlines()
    assert all(re.fullmatch(r"#.*|[A-Z][A-Z0-9_]*=", line) for line in credentials)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_collector_unit(tmp_path: Path) -> None:
    twoway = str(Path(sys.executable).parent / "twoway")  # the console script of this environment
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/twoway/.venv/bin/twoway", twoway), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
