"""End to end: the live dashboard in a real terminal (tmux), driven by keys, read off the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed: the end-to-end terminal test needs it")

NOW = "2026-11-26T12:00:00Z"


class Terminal:
    """One tmux server of our own (`-L`), so no user session or config is touched."""

    def __init__(self, tmp: Path) -> None:
        self.socket = f"twoway-test-{uuid.uuid4().hex[:8]}"
        self.exit_file = tmp / "exit-code"
        self.env = {**os.environ, "TWOWAY_NOW": NOW, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        for name in ("NO_COLOR", "DISPLAY", "WAYLAND_DISPLAY", "TMUX", "COLUMNS", "LINES"):
            self.env.pop(name, None)
        self.cwd = Path(__file__).resolve().parents[2]

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        return subprocess.run(
            [TMUX, "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=30,
        )

    def start(self, argv: list[str], size: tuple[int, int] = (100, 30)) -> None:
        command = " ".join(_quote(a) for a in argv) + f"; echo $? > {_quote(str(self.exit_file))}"
        result = self.tmux("new-session", "-d", "-s", "t", "-x", str(size[0]), "-y", str(size[1]), command)
        assert result.returncode == 0, result.stderr
        self.tmux("set-option", "-s", "escape-time", "0")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t").stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            if self.exit_file.exists():
                raise AssertionError(f"exited before showing {what}; the screen was:\n{screen}")
            time.sleep(0.2)
        raise AssertionError(f"never saw {what}; the screen was:\n{screen}")

    def exit_code(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exit_file.exists() and self.exit_file.read_text().strip():
                return int(self.exit_file.read_text())
            time.sleep(0.2)
        raise AssertionError(f"the dashboard did not exit; the screen was:\n{self.screen()}")

    def kill(self) -> None:
        self.tmux("kill-server")


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    yield term
    term.kill()


def _drive(terminal: Terminal, argv: list[str]) -> None:
    terminal.start(argv)
    # the header paints row by row as the first report lands: wait for its last poll and its clock
    home = terminal.wait_for(
        lambda s: "Summer reading" in s and "last poll" in s and "America/Chicago" in s, "the home screen with its report"
    )
    assert "DEMO" in home and "Riverside Public Library" in home
    assert "last poll 06:00, just now" in home and "America/Chicago" in home  # the organization's clock

    terminal.keys("r")  # poll now: the UI stays responsive and says so
    terminal.wait_for(lambda s: "polling every source now" in s, "the poll notification")

    terminal.keys("s")
    terminal.wait_for(lambda s: "followers" in s and "library-bluesky" in s, "the sources screen")
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "Summer reading" in s and "followers" not in s, "the home screen again")

    terminal.keys("Enter")
    terminal.wait_for(lambda s: "waiting for a response" in s and "by source" in s, "the goal screen")
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "waiting for a response" not in s, "the home screen after the goal")

    terminal.keys("w")
    terminal.wait_for(lambda s: "window 7d for every goal" in s, "the 7d window")

    terminal.keys("q")
    assert terminal.exit_code() == 0


def test_twoway_demo_opens_the_dashboard(terminal: Terminal) -> None:
    _drive(terminal, [sys.executable, "-m", "twoway", "--demo"])
