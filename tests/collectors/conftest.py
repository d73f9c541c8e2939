"""Fixtures of every collector test: the HTTP layer's sleep made a no-op that records its pauses,
and no Bluesky login session carried from one test into the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.collecting import fake_sleep  # noqa: F401  (the fixture, for every test here)
from twoway.collectors.bluesky import BlueskyCollector


@pytest.fixture(autouse=True)
def _no_shared_sessions() -> Iterator[None]:
    """Bluesky keeps its sessions for the process; each test starts without one."""
    BlueskyCollector._sessions.clear()
    yield
    BlueskyCollector._sessions.clear()
