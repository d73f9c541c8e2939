"""Shared fixtures. Tests never touch the network and never wait on real time."""

from __future__ import annotations

import os

import pytest

# Textual drops colour under NO_COLOR, which would change every SVG snapshot.
os.environ.pop("NO_COLOR", None)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's own config, store or credentials."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("TWOWAY_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
