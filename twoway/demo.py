"""Wires the built-in demo organization: its config and a fresh temporary store.

The demo never touches the user's store: each run writes the generated history
into a temporary directory that is removed at exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from collectors.demo import DEMO_CONFIG, demo_history
from twoway.config import Config, load_config
from twoway.store import Store

__all__ = ["demo_config", "demo_config_path", "fill_demo_store"]


@lru_cache(maxsize=1)
def _workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="twoway-demo-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def demo_config_path() -> Path:
    path = _workdir() / "demo-config.toml"
    path.write_text(DEMO_CONFIG, encoding="utf-8")
    return path


def demo_config() -> Config:
    config = load_config(demo_config_path())
    return config._replace(dashboard=config.dashboard._replace(database=_workdir() / "demo.db"))


def fill_demo_store(store: Store, now: datetime) -> None:
    """Write the demo history once; a store that already has it is left alone."""
    if store.source_states():
        return
    for batch in demo_history(now):
        store.write(batch)
    store.analyze()
