"""SVG snapshots of alerts in the live app at 80×24: the alerts screen, the header's count with
the overview's marker and the new alerts' notification, and a goal panel's marker. The store's
alerts are fired by the real evaluation (`tests.tui.alerting`).

Update with `pytest tests/tui/test_alert_snapshots.py --snapshot-update`, then read the SVGs
under `tests/tui/__snapshots__/` before accepting them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.alerting import alerting_app
from tests.tui.test_app_snapshots import settled
from twoway.tui.app import TwowayApp

Compare = Callable[..., bool]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from alerting_app(monkeypatch, tmp_path)


def quiet(*keys: str) -> Callable[[Pilot[Any]], Any]:
    """As `settled`, then the notification of what is new gone, so the screen under it shows."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(*keys)(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    return run_before


def test_alerts_screen_80x24(snap_compare: Compare, app: TwowayApp) -> None:
    """What fires, since when, how many channels it reached, and the first one in full: a webhook sent, an email failed."""
    assert snap_compare(app, terminal_size=(80, 24), run_before=quiet("a"))


def test_header_count_and_notification_80x24(snap_compare: Compare, app: TwowayApp) -> None:
    """`26 alerts firing` under the clock, the overview's ⚑ column, and the notification of what is new."""
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled())


def test_panel_marker_80x24(snap_compare: Compare, app: TwowayApp) -> None:
    """The goal whose waiting list fires: `⚑ 26 alerts` on its panel (the notification gone)."""
    assert snap_compare(app, terminal_size=(80, 24), run_before=quiet("v", "down"))
