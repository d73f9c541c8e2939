"""The Prometheus series (SPEC §11): `snapshot --format prometheus` and a live `/metrics`
scrape, parsed back with `prometheus_client.parser`, hold exactly what `snapshot --format
json` says; hostile names stay one valid label value; `/healthz` and `--metrics` values."""

from __future__ import annotations

import io
import json
import math
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.collecting import run_cli, snapshot_json, write_config
from tests.core.fresh_python import NEITHER_RICH_NOR_TEXTUAL, ROOT, run_python
from tests.fakes import goal_toml
from tests.fakes.mastodon import MASTODON
from tests.fakes.rss import RSS
from tests.replay import ReplayServer, replay_server
from tests.scenario import Scenario, at, make_config
from twoway import wiring
from twoway.report import METRICS, GoalReport, GoalStatus, Metrics, Report, SourceReport
from twoway.text import neutralize
from twoway.tui.prometheus import ProcessSeries
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


@pytest.fixture
def fresh_demo() -> Iterator[None]:
    """A demo store of its own, filled at this test's `TWOWAY_NOW`, not one an earlier test of the process filled."""
    wiring._demo_workdir.cache_clear()
    yield
    wiring._demo_workdir.cache_clear()


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


def test_the_snapshot_holds_what_the_json_says(monkeypatch: pytest.MonkeyPatch, fresh_demo: None) -> None:
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


# -- --metrics HOST:PORT: /metrics and /healthz --------------------------------------------

HOSTILE_GOAL = 'Say "hi" \\ to\nthe library'
STARTUP = 60.0
"""Seconds a collector subprocess may take to answer and finish its first poll (a bound, never a measurement)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _served(tmp_path: Path, mastodon: ReplayServer, rss: ReplayServer) -> Path:
    """Mastodon's and a blog feed's scenarios on their own servers, and a goal with a hostile name over both."""
    goals = MASTODON.goals + goal_toml(HOSTILE_GOAL, sources=[MASTODON.sid, RSS.sid])
    return write_config(tmp_path, MASTODON.sources(mastodon.url) + RSS.sources(rss.url), goals, MASTODON.organization)


@contextmanager
def _collector(config: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`twoway collect --metrics 127.0.0.1:PORT` in its own process, stopped with SIGTERM at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "twoway", "--config", str(config), "collect", "--metrics", f"127.0.0.1:{port}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _scrape_until(url: str, done: Callable[[dict[str, list[Sample]]], bool], process: subprocess.Popen[bytes]) -> str:
    """`/metrics` once `done` holds for it; fails when the collector exits or takes longer than STARTUP."""
    deadline = time.monotonic() + STARTUP
    while True:
        assert process.poll() is None, process.communicate()
        try:
            text = httpx.get(f"{url}/metrics").text
        except httpx.TransportError:
            text = ""
        if text and done(samples(text)):
            return text
        assert time.monotonic() < deadline, f"no complete scrape within {STARTUP} s: {text[-2000:]}"
        time.sleep(0.1)


def test_a_collectors_scrape_holds_what_the_json_says_and_what_it_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in MASTODON.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TWOWAY_NOW", MASTODON.now.isoformat())
    sources = (MASTODON.sid, RSS.sid)
    with replay_server() as mastodon, replay_server() as rss:
        MASTODON.build(mastodon)
        RSS.build(rss)
        config = _served(tmp_path, mastodon, rss)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with _collector(config, port) as process:

            def polled(families: dict[str, list[Sample]]) -> bool:
                stored = {s.labels["source"] for s in families["twoway_source_last_success_timestamp_seconds"]}
                counts = {s.labels["source"]: s.value for s in families["twoway_source_poll_seconds"]
                          if s.name == "twoway_source_poll_seconds_count"}
                return stored == set(sources) and counts == dict.fromkeys(sources, 1.0)

            text = _scrape_until(url, polled, process)
            health = httpx.get(f"{url}/healthz")
            assert (health.status_code, health.text) == (200, "ok: 2 sources, 0 in error\n")
            assert httpx.get(f"{url}/other").status_code == 404
            sent = {MASTODON.sid: len(mastodon.requests()), RSS.sid: len(rss.requests())}
        assert process.returncode == 0
        out, err = process.communicate()
        assert err == b""  # no failure, no traceback from the server's threads
        assert sorted(line.split(":")[0] for line in out.decode().splitlines()) == sorted(sources)  # the backfills' lines
    families = samples(text)
    doc = snapshot_json(config)
    assert store_series(families) == expected_from_json(doc)
    assert neutralize(HOSTILE_GOAL) in {g for g, _, _ in goal_metrics(families)}
    assert all(sent.values())
    assert {s.labels["source"]: s.value for s in families["twoway_source_requests"]
            if s.name == "twoway_source_requests_total"} == sent


def test_the_snapshot_has_no_series_of_a_process(monkeypatch: pytest.MonkeyPatch, fresh_demo: None) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    _, text, _ = run_cli("--demo", "snapshot", "--format", "prometheus")
    assert not {"twoway_source_requests", "twoway_source_poll_seconds"} & set(samples(text))


@pytest.fixture
def failing(tmp_path: Path) -> Scenario:
    """Two sources, both in error."""
    config = make_config(sources=(("library-mastodon", "mastodon"), ("library-blog", "wordpress")))
    sc = Scenario(tmp_path, config._replace(dashboard=config.dashboard._replace(database=tmp_path / "store.db")))
    sc.store.record_error("library-mastodon", "mastodon", at(hours=1), "HTTP 503 \x1b[31mfrom\nthe server")
    sc.store.record_error("library-blog", "wordpress", at(hours=1), "cannot connect")
    return sc


@contextmanager
def _serving(sc: Scenario) -> Iterator[str]:
    server = wiring.serve_metrics(sc.config, False, "127.0.0.1", 0, ProcessSeries([s.id for s in sc.config.sources]))
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_healthz_is_503_when_every_source_is_in_error_and_200_once_one_polls(
    failing: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", at().isoformat())
    with _serving(failing) as url:
        down = httpx.get(f"{url}/healthz")
        assert down.status_code == 503
        assert down.text == "every source is in error: library-mastodon: HTTP 503 from the server; library-blog: cannot connect\n"
        failing.write(source="library-blog")  # a poll that worked
        up = httpx.get(f"{url}/healthz")
        assert (up.status_code, up.text) == (200, "ok: 2 sources, 1 in error\n")
        scraped = samples(httpx.get(f"{url}/metrics").text)
    assert {s.labels["source"]: s.value for s in scraped["twoway_source_up"]} == {
        "library-mastodon": 0.0, "library-blog": 1.0
    }


def test_an_unreadable_store_fails_the_scrape_in_one_line(failing: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOWAY_NOW", at().isoformat())
    with _serving(failing) as url:
        failing.store.close()
        for path in failing.file.parent.glob("store.db*"):
            path.unlink()
        for page, status in (("metrics", 500), ("healthz", 503)):
            answer = httpx.get(f"{url}/{page}")
            assert answer.status_code == status
            assert answer.text.startswith("cannot read the store: ") and answer.text.count("\n") == 1


def test_the_server_stops_with_its_command(failing: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOWAY_NOW", at().isoformat())
    with _serving(failing) as url:
        assert httpx.get(f"{url}/healthz").status_code == 503
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")


@pytest.mark.parametrize(
    "value",
    ["abc", ":9464", "9464:", "0", "65536", "127.0.0.1:http", "::1:9464", "[::1:9464", "[example.org]:9464",
     "bad host:9464", "x-:9464", "127.0.0.1:9464:1"],
)
def test_a_malformed_metrics_address_is_exit_2_in_one_line(value: str) -> None:
    code, out, err = run_cli("--demo", "collect", "--once", "--metrics", value)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "--metrics" in err and repr(value) in err


def test_metrics_is_refused_where_nothing_polls() -> None:
    code, out, err = run_cli("--metrics", "9464", "--demo", "snapshot")
    assert (code, out) == (2, "")
    assert err == "twoway snapshot: --metrics is for the live dashboard and collect only\n"


def test_an_address_in_use_is_exit_2_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli("--demo", "collect", "--once", "--metrics", f"127.0.0.1:{port}")
    assert (code, out) == (2, "")
    assert err.startswith(f"twoway: --metrics 127.0.0.1:{port}: cannot listen there (") and err.count("\n") == 1


def test_a_port_alone_means_loopback_and_a_host_is_taken_as_given() -> None:
    from twoway.cli import _listen_address

    assert _listen_address("9464") == ("127.0.0.1", 9464)
    assert _listen_address("[::1]:9464") == ("::1", 9464)
    assert _listen_address("0.0.0.0:9464") == ("0.0.0.0", 9464)
    assert _listen_address("metrics.library.example:9464") == ("metrics.library.example", 9464)


def test_the_live_app_serves_while_it_runs_and_times_its_polls(
    monkeypatch: pytest.MonkeyPatch, fresh_demo: None
) -> None:
    """`twoway --demo --metrics PORT`: on loopback, from before the dashboard to after it; `r` polls are timed."""
    import asyncio

    from twoway import cli
    from twoway.tui import app as tui_app

    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    seen: dict[str, Any] = {}

    def headless(app: tui_app.TwowayApp) -> int:
        async def drive() -> None:
            async with app.run_test() as pilot:
                await app.workers.wait_for_complete()
                seen["before"] = samples(await asyncio.to_thread(lambda: httpx.get(f"{url}/metrics").text))
                await pilot.press("r")
                await pilot.pause()
                await app.workers.wait_for_complete()
                seen["after"] = samples(await asyncio.to_thread(lambda: httpx.get(f"{url}/metrics").text))
                seen["health"] = await asyncio.to_thread(lambda: httpx.get(f"{url}/healthz").status_code)

        try:
            asyncio.run(drive())
        finally:
            app.store.close()
        return 0

    monkeypatch.setattr(tui_app, "run_dashboard", headless)
    assert cli.main(["--demo", "--metrics", str(port)]) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")

    def polls(families: dict[str, list[Sample]]) -> dict[str, float]:
        return {s.labels["source"]: s.value for s in families["twoway_source_poll_seconds"]
                if s.name == "twoway_source_poll_seconds_count"}

    demo_sources = {s.labels["source"] for s in seen["before"]["twoway_source_up"]}
    assert polls(seen["before"]) == dict.fromkeys(demo_sources, 0.0)  # the demo store is fresh at first: nothing due
    assert polls(seen["after"]) == dict.fromkeys(demo_sources, 1.0)
    assert seen["health"] == 200
    assert goal_metrics(seen["before"])  # the store's series too


def test_the_alerts_a_process_delivered_per_rule_and_channel() -> None:
    """SPEC §11: `twoway_alerts_sent_total{rule,channel}`, at 0 from the start for each claimed channel;
    only what a channel accepted counts."""
    from prometheus_client.registry import CollectorRegistry

    from twoway.alerts.evaluate import Sent

    series = ProcessSeries(["src"], [("Questions waiting", "webhook"), (HOSTILE_GOAL, "email")])
    registry = CollectorRegistry()
    registry.register(series)

    def sent() -> dict[tuple[str, str], float]:
        from prometheus_client.exposition import generate_latest

        families = samples(generate_latest(registry).decode())
        return {(s.labels["rule"], s.labels["channel"]): s.value for s in families["twoway_alerts_sent"]
                if s.name == "twoway_alerts_sent_total"}

    assert sent() == {("Questions waiting", "webhook"): 0, (neutralize(HOSTILE_GOAL), "email"): 0}
    series.delivered([
        Sent("Questions waiting", "webhook env TWOWAY_ALERT_WEBHOOK", 2, True, "HTTP 204"),
        Sent("Questions waiting", "webhook env TWOWAY_ALERT_WEBHOOK", 3, False, "HTTP 500"),
        Sent(HOSTILE_GOAL, "email comms@example.org", 1, True, "250 OK"),
    ])
    assert sent() == {("Questions waiting", "webhook"): 2, (neutralize(HOSTILE_GOAL), "email"): 1}
