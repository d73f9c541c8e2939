"""The command line as a user runs it: real processes, the demo, a fixed clock."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import FakeSleep, collect_once, fake_sleep  # noqa: F401
from tests.json_schema import check_report_json
from twoway.cli import main
from twoway.report import METRICS

NOW = "2026-11-26T12:00:00Z"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TWOWAY_NOW": NOW, **(env or {})}
    environment.pop("COLUMNS", None)
    return subprocess.run(
        [sys.executable, "-m", "twoway", *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=120
    )


@pytest.fixture(scope="module")
def demo_json() -> dict[str, Any]:
    result = run("snapshot", "--demo", "--format", "json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_demo_snapshot_json_shows_every_goal(demo_json: dict[str, Any]) -> None:
    assert demo_json["demo"] is True
    assert demo_json["generated_at"] == NOW
    statuses = {g["status"] for g in demo_json["goals"]}
    assert {"met", "missed"} <= statuses  # the demo shows both
    assert len(demo_json["goals"]) >= 3 and len(demo_json["sources"]) >= 3
    assert len({s["platform"] for s in demo_json["sources"]}) >= 3
    assert any(g["waiting_total"] > 0 for g in demo_json["goals"])
    assert any("likes" in g["unavailable"] for g in demo_json["goals"])  # the blog cannot count likes


def test_demo_is_deterministic_for_a_fixed_now(demo_json: dict[str, Any]) -> None:
    again = json.loads(run("snapshot", "--demo", "--format", "json").stdout)
    assert again == demo_json


def test_demo_flag_after_or_before_the_command() -> None:
    before = run("--demo", "snapshot", "--format", "csv")
    after = run("snapshot", "--format", "csv", "--demo")
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout


def test_text_snapshot_says_demo_and_fits_80_columns() -> None:
    result = run("snapshot", "--demo", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("DEMO")
    assert "\x1b" not in result.stdout  # not a terminal: plain text
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_snapshot_under_the_c_locale_and_an_ascii_stream_is_clean(fmt: str) -> None:
    """`LANG=C`/`LC_ALL=C`: Python still writes UTF-8, the same text as in a UTF-8 locale (no mojibake);
    `PYTHONIOENCODING=ascii`, alone or with `C`: the plain fallback, exactly what `--ascii` asks for."""
    utf8 = run("snapshot", "--demo", "--format", fmt, env={"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    c_locale = run("snapshot", "--demo", "--format", fmt, env={"LANG": "C", "LC_ALL": "C"})
    asked = run("snapshot", "--demo", "--format", fmt, "--ascii", env={"LANG": "C", "LC_ALL": "C"})
    ascii_streams = [
        run("snapshot", "--demo", "--format", fmt, env={"PYTHONIOENCODING": "ascii"}),
        run("snapshot", "--demo", "--format", fmt, env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"}),
    ]
    for result in (utf8, c_locale, asked, *ascii_streams):
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert not utf8.stdout.isascii()  # arrows and boxes where the stream holds them
    assert c_locale.stdout == utf8.stdout
    assert asked.stdout.isascii() and "DEMO" in asked.stdout
    assert "\ufffd" not in asked.stdout and "?" * 3 not in asked.stdout  # nothing replaced: written as ASCII
    for result in ascii_streams:
        assert result.stdout == asked.stdout


def test_csv_has_one_row_per_goal_and_metric(demo_json: dict[str, Any]) -> None:
    result = run("snapshot", "--demo", "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert "DEMO" in result.stderr
    assert rows[0] == [
        "goal", "status", "metric", "value", "baseline", "delta", "target", "met", "window_start", "window_end",
        "generated_at",
    ]
    assert len(rows) - 1 == len(demo_json["goals"]) * len(METRICS)
    assert rows[1][8:] == [demo_json["goals"][0]["start"], demo_json["goals"][0]["end"], demo_json["generated_at"]]


def test_markdown_report_says_demo() -> None:
    result = run("snapshot", "--demo", "--format", "markdown")
    assert result.returncode == 0 and "DEMO" in result.stdout and "|" in result.stdout


def test_goal_and_window_options(demo_json: dict[str, Any]) -> None:
    name = demo_json["goals"][0]["name"]
    data = json.loads(run("snapshot", "--demo", "--format", "json", "--goal", name, "--window", "7d").stdout)
    assert [g["name"] for g in data["goals"]] == [name]
    assert data["window"] == "7d" and data["goals"][0]["window"] == "7d"
    assert demo_json["window"] is None


def test_unknown_goal_is_a_usage_error() -> None:
    result = run("snapshot", "--demo", "--goal", "Nope")
    assert result.returncode == 2
    assert "Nope" in result.stderr and "Traceback" not in result.stderr


def test_check_exit_code_follows_goal_status(demo_json: dict[str, Any]) -> None:
    result = run("snapshot", "--demo", "--check", "--format", "json")
    assert result.returncode == 1  # the demo misses a goal
    met = next(g["name"] for g in demo_json["goals"] if g["status"] == "met")
    assert run("snapshot", "--demo", "--check", "--goal", met).returncode == 0
    no_targets = next(g["name"] for g in demo_json["goals"] if g["status"] == "no-targets")
    assert run("snapshot", "--demo", "--check", "--goal", no_targets).returncode == 0


def test_check_config_demo_and_example() -> None:
    demo = run("check-config", "--demo")
    assert demo.returncode == 0 and demo.stdout.startswith("ok")
    example = Path(__file__).parents[2] / "config.toml"
    env = {k: "" for k in os.environ if k.startswith("TWOWAY_") and k != "TWOWAY_NOW"}
    result = run("--config", str(example), "check-config", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_collect_demo_once_simulates_new_activity() -> None:
    result = run("collect", "--demo", "--once")
    assert result.returncode == 0, result.stderr


def feed_config(tmp_path: Path) -> Path:
    """A real configuration with one RSS source whose server is down (a closed loopback port)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[organization]\nname = "T"\n[dashboard]\ndatabase = "{tmp_path / "t.db"}"\n'
        f'[[sources]]\nid = "blog"\nplatform = "rss"\nurl = "http://127.0.0.1:{port}/feed"\n'
    )
    return config


def test_collect_once_with_a_failing_source_says_so_in_one_line(tmp_path: Path, fake_sleep: FakeSleep) -> None:  # noqa: F811
    config = feed_config(tmp_path)
    code, stderr = collect_once(config)
    assert code == 1
    assert stderr.startswith("twoway: blog: ") and "cannot connect" in stderr
    assert len(stderr.strip().splitlines()) == 1
    snapshot = run("--config", str(config), "snapshot", "--no-poll", "--format", "json")
    assert snapshot.returncode == 0, snapshot.stderr
    source = json.loads(snapshot.stdout)["sources"][0]
    assert source["status"] == "error" and source["error"]


def test_snapshot_no_poll_without_a_store_is_one_clear_line(tmp_path: Path) -> None:
    config = feed_config(tmp_path)
    result = run("--config", str(config), "snapshot", "--no-poll")
    assert result.returncode == 1
    assert "no store yet" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_twoway_now_is_a_usage_error() -> None:
    result = run("snapshot", "--demo", env={"TWOWAY_NOW": "yesterday"})
    assert result.returncode == 2 and "TWOWAY_NOW" in result.stderr


def test_snapshot_leaves_textual_and_httpx_unimported() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from twoway.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['snapshot', '--demo']) == 0\n"
        "bad = [m for m in ('textual', 'httpx') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "TWOWAY_NOW": NOW}
    )
    assert result.returncode == 0, result.stderr


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", "--format", "yaml"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_demo_json_matches_the_schema(demo_json: dict[str, Any]) -> None:
    check_report_json(demo_json)
    for goal in demo_json["goals"]:
        m = goal["metrics"]
        assert m["community_messages"] == m["replies"] + m["mentions"]
        assert m["two_way"] == m["community_messages"] + m["responses"]
        assert m["answered"] <= m["community_messages"] and m["voices"] <= m["community_messages"]


@pytest.mark.parametrize("window", ["1000000d", "3651d", "59m", "99999999999999999999d"])
def test_a_window_out_of_bounds_is_a_usage_error_not_a_traceback(window: str) -> None:
    result = run("snapshot", "--demo", "--format", "json", "--window", window)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        f"twoway: --window: window {window!r} is out of range: windows run from 1h to 3650d"
    ), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("window", ["1h", "3650d"])
def test_windows_at_the_bounds_work(window: str) -> None:
    result = run("snapshot", "--demo", "--format", "json", "--window", window)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["goals"][0]["window"] == window


def test_a_missing_twoway_config_is_an_error_even_with_a_config_here(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[organization]\nname = "Here"\n', encoding="utf-8")
    (tmp_path / "config.toml").chmod(0o644)
    missing = tmp_path / "missing.toml"
    result = run("check-config", env={"TWOWAY_CONFIG": str(missing)}, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.strip() == f"twoway: {missing}: does not exist (named by TWOWAY_CONFIG)" or (
        str(missing) in result.stderr and "does not exist" in result.stderr and "TWOWAY_CONFIG" in result.stderr
    )


def test_goal_is_matched_case_insensitively() -> None:
    result = run("snapshot", "--demo", "--format", "json", "--goal", "summer READING")
    assert result.returncode == 0, result.stderr
    assert [g["name"] for g in json.loads(result.stdout)["goals"]] == ["Summer reading"]


def test_csv_no_header_appends_rows_only() -> None:
    whole = run("snapshot", "--demo", "--format", "csv").stdout.splitlines()
    rows = run("snapshot", "--demo", "--format", "csv", "--no-header").stdout.splitlines()
    assert whole[0].endswith(",window_start,window_end,generated_at") and rows == whole[1:]


def test_waiting_all_lists_every_waiting_message_in_text_markdown_and_json() -> None:
    args = ("snapshot", "--demo", "--window", "90d", "--goal", "Answer every question")
    data = json.loads(run(*args, "--format", "json", "--waiting", "all").stdout)
    (goal,) = data["goals"]
    assert goal["waiting_total"] > 5 and len(goal["waiting"]) == goal["waiting_total"]
    urls = [w["url"] for w in goal["waiting"]]
    text = run(*args, "--waiting", "all").stdout  # 80 columns: a link is never cut
    markdown = run(*args, "--format", "markdown", "--waiting", "all").stdout
    assert all(url in text and url in markdown for url in urls)
    assert "more" not in markdown.split("Waiting for a response")[1].split("###")[0]
    default = run(*args, "--format", "markdown").stdout
    assert sum(url in default for url in urls) == 5 and f"and {len(urls) - 5:,} more" in default


def test_waiting_n_lists_the_n_oldest() -> None:
    args = ("snapshot", "--demo", "--goal", "Answer every question", "--waiting", "3")
    listed = json.loads(run(*args, "--format", "json").stdout)["goals"][0]["waiting"]
    assert len(listed) == 3
    markdown = run(*args, "--format", "markdown").stdout
    assert all(w["url"] in markdown for w in listed)


@pytest.mark.parametrize("value", ["x", "-1", "", "3.5"])
def test_a_bad_waiting_count_is_a_usage_error(value: str) -> None:
    result = run("snapshot", "--demo", "--waiting", value)
    assert result.returncode == 2 and "--waiting" in result.stderr and "Traceback" not in result.stderr
