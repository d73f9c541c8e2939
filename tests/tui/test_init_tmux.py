"""`twoway init` in a real terminal (tmux): the questions, Ctrl-C writing nothing, and a
configuration written with `--yes` that the dashboard then opens, against the local fakes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.test_init import Fakes, fakes
from tests.tui.test_tmux import TMUX, Terminal

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed: the end-to-end terminal test needs it")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    yield term
    term.kill()


@pytest.fixture
def sites() -> Iterator[Fakes]:
    with fakes() as served:
        yield served


def test_ctrl_c_during_the_questions_writes_nothing(terminal: Terminal, sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    # the shell stays a while after init exits, so the screen can still be read
    init = f"trap : INT; '{sys.executable}' -m twoway init --config '{config}'; echo \"[exit $?]\"; sleep 30"
    terminal.start(["sh", "-c", init], size=(80, 24))
    terminal.wait_for(lambda s: "Organization name" in s, "the first question")
    terminal.keys("Riverside Library", "Enter")
    terminal.wait_for(lambda s: "Address" in s, "the address question")
    terminal.keys(sites.wordpress.url, "Enter")
    terminal.wait_for(lambda s: "✓ WordPress" in s and s.count("Address") >= 2, "the probe's line, then the next question")
    terminal.keys(sites.mastodon_address, "Enter")
    screen = terminal.wait_for(lambda s: "✓ Mastodon" in s and s.count("Address") >= 3, "the second probe")
    assert "Ctrl-C stops at any time, writing nothing." in screen
    terminal.keys("C-c")
    after = terminal.wait_for(lambda s: "[exit " in s, "init exiting")
    assert "interrupted: nothing written" in after and "[exit 1]" in after
    assert not config.exists() and list(tmp_path.iterdir()) == []


def test_init_yes_then_the_dashboard_paints(terminal: Terminal, sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    twoway = f"{sys.executable} -m twoway"
    addresses = " ".join(f"'{a}'" for a in sites.addresses())
    terminal.start(["sh", "-c", f"{twoway} init --yes --config '{config}' {addresses} && {twoway} --config '{config}'"])
    home = terminal.wait_for(
        lambda s: "Riverside Library" in s and "Everything" in s and "#SummerReading" in s, "the dashboard's first paint"
    )
    assert "broadcast" in home
    terminal.keys("q")
    assert terminal.exit_code() == 0
    assert config.is_file()
