"""The keys, on request: a modal the user opened and closes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

__all__ = ["HelpScreen"]

KEYS = (
    ("arrows, tab", "move between goal panels"),
    ("enter", "open the focused goal: its sources and waiting list"),
    ("o", "on a goal: open the selected link (or copy it, without a display)"),
    ("escape", "back"),
    ("r", "poll every source now"),
    ("w", "cycle the window: each goal's own, 7d, 30d, 90d"),
    ("s", "sources: status, last success, errors, followers"),
    ("t", "toggle light and dark theme"),
    ("ctrl+p", "command palette: goals and actions"),
    ("?", "this help"),
    ("q", "quit"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        report = getattr(self.app, "report", None)
        demo = report.demo if report is not None else bool(getattr(self.app, "demo", False))
        with Vertical(id="help"):
            with Horizontal(id="help-title-row"):
                if demo:
                    yield Label("DEMO", id="demo-badge", classes="demo-badge")
                yield Static(Content("twoway: keys"), id="help-title")
            for key, what in KEYS:
                # Two columns, so a description that wraps stays under itself, not under the keys.
                with Horizontal(classes="key"):
                    yield Static(Content(key), classes="key-name")
                    yield Static(Content(what), classes="key-what")
