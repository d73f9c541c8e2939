"""The keys and what every number means, on request: a modal the user opened and closes.

Opened from a goal's screen, it names that goal's baseline dates (what `(−38)` compares
against); from home, every goal's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from twoway.report import METRICS
from twoway.tui.explanations import EXPLAINED, GENERAL, baseline_dates
from twoway.tui.render import LABELS, clean

if TYPE_CHECKING:
    from collections.abc import Iterable

    from twoway.report import GoalReport

__all__ = ["HelpScreen"]

KEYS = (
    ("arrows, tab", "move between goals"),
    ("enter", "open the selected goal: its sources and waiting list; on a waiting message, open it"),
    ("v", "switch between the goal panels and the compact overview, one row per goal"),
    ("o", "on a goal or an alert: open the selected link (or copy it, without a display)"),
    ("x", "on a goal's waiting list: no reply needed (a “thanks!”): it leaves the list, its counts stay"),
    ("u", "on a goal: take back the last x"),
    ("escape", "back"),
    ("r", "poll every source now"),
    ("w", "cycle the window: each goal's own, 7d, 30d, 90d"),
    ("s", "sources: status, last success, errors, followers"),
    ("a", "alerts: what fires, since when, which channels it reached and what failed"),
    ("z", "on an alert: snooze it (not repeated for 1 h, 4 h, or until the next day's opening)"),
    ("R", "write the report (HTML) of this window, or of this goal on its screen, into your documents folder"),
    ("t", "toggle light and dark theme (remembered)"),
    ("ctrl+p", "command palette: goals and actions"),
    ("?", "this help"),
    ("q", "quit"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, goal_name: str | None = None) -> None:
        super().__init__()
        self.goal_name = goal_name
        """The goal whose screen opened the help, `None` from home."""

    def _goals(self) -> list[GoalReport]:
        report = getattr(self.app, "report", None)
        goals = list(report.goals) if report is not None else []
        return [g for g in goals if self.goal_name is None or g.name == self.goal_name]

    def compose(self) -> ComposeResult:
        report = getattr(self.app, "report", None)
        demo = report.demo if report is not None else bool(getattr(self.app, "demo", False))
        with VerticalScroll(id="help"):
            with Horizontal(id="help-title-row"):
                if demo:
                    yield Label("DEMO", id="demo-badge", classes="demo-badge")
                yield Static(Content("twoway: keys, and what the numbers mean"), id="help-title")
            yield from self._rows(KEYS)
            yield Static(Content("what the numbers mean"), classes="help-section")
            yield from self._rows(GENERAL)
            for goal in self._goals():
                window = clean(goal.window)
                before = f"changes compare with the {window} before: {baseline_dates(goal)}"
                yield from self._rows([(clean(goal.name), before)])
            yield Static(Content("metrics (docs/metrics.md)"), classes="help-section")
            yield from self._rows([(LABELS[m], f"= {EXPLAINED[m][0]}: {EXPLAINED[m][1]}") for m in METRICS])

    @staticmethod
    def _rows(rows: Iterable[tuple[str, str]]) -> ComposeResult:
        # Two columns, so a description that wraps stays under itself, not under the keys.
        for key, what in rows:
            with Horizontal(classes="key"):
                yield Static(Content(key), classes="key-name")
                yield Static(Content(what), classes="key-what")
