"""Running `twoway collect` and `twoway snapshot` in-process against replay servers,
with a fixed clock and a fake sleep: no test waits on real time."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from twoway.cli import main


class FakeSleep:
    """Records every pause the HTTP layer asks for, and returns at once."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


@pytest.fixture
def fake_sleep(monkeypatch: pytest.MonkeyPatch) -> FakeSleep:
    sleep = FakeSleep()
    monkeypatch.setattr("twoway.plugin.http.wait", sleep)
    return sleep


def write_config(tmp_path: Path, sources: str, goals: str = "", organization: str = "", dashboard: str = "") -> Path:
    """A config with the given `[[sources]]` (and goals, and `[dashboard]` keys) and a store in `tmp_path`."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[organization]\nname = "Test Library"\n{organization}\n'
        f'[dashboard]\ndatabase = "{tmp_path / "store.db"}"\ntimeout = "2s"\n{dashboard}\n\n{sources}\n{goals}\n',
        encoding="utf-8",
    )
    return config


def run_cli(*args: str) -> tuple[int, str, str]:
    """`twoway ARGS` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def collect_once(config: Path, capsys: pytest.CaptureFixture[str] | None = None) -> tuple[int, str]:
    """`twoway collect --once`: (exit code, what it printed on stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--config", str(config), "collect", "--once"])
    return code, err.getvalue()


def collect(config: Path, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    """`twoway collect --once` at `at` (through `TWOWAY_NOW`), which must succeed silently."""
    monkeypatch.setenv("TWOWAY_NOW", at.isoformat())
    assert collect_once(config) == (0, "")


def goals(config: Path) -> dict[str, dict[str, Any]]:
    """The snapshot's goals by name."""
    return {g["name"]: g for g in snapshot_json(config)["goals"]}


def measured(config: Path) -> dict[str, tuple[Any, Any]]:
    """Each goal's metrics and baseline: what must not move when nothing changed."""
    return {name: (g["metrics"], g["baseline"]) for name, g in goals(config).items()}


def snapshot_json(config: Path) -> dict[str, Any]:
    """`twoway snapshot --no-poll --format json`, parsed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--config", str(config), "snapshot", "--no-poll", "--format", "json"]) == 0
    report: dict[str, Any] = json.loads(out.getvalue())
    return report
