"""The first line of a screen other than home: DEMO in demo mode, what the screen shows, and its status.

Docked at the top, so it stays in view however far the screen below it scrolls. The
detail after the status (a goal's window and dates) is shown whole or not at all:
it goes when the line is too narrow for it, so no date is ever cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label

if TYPE_CHECKING:
    from rich.text import Text
    from textual.events import Resize

__all__ = ["TitleBar"]

BADGE = len(" DEMO ") + 1
"""The DEMO badge's cells: its padding and its margin."""
GAP = 2
"""Cells between the title, the status and the detail."""


class TitleBar(Horizontal):
    """`DEMO  Summer reading  ✗ missed  30d · …`: the badge, the title, the status, then what describes it."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = title
        self._demo = False

    def compose(self) -> ComposeResult:
        badge = Label("DEMO", id="demo-badge", classes="demo-badge")
        badge.display = False
        yield badge
        yield Label(Content(self._title), classes="title")
        yield Label("loading…", classes="status")
        yield Label("", classes="detail")

    def show(self, *, demo: bool, status: Text | str, detail: Text | str = "") -> None:
        self._demo = demo
        self.query_one(".demo-badge", Label).display = demo
        self.query_one(".status", Label).update(status)
        self.query_one(".detail", Label).update(detail)
        self._fit(self.size.width)

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        title, status, detail = (self.query_one(f".{n}", Label) for n in ("title", "status", "detail"))
        used = (BADGE if self._demo else 0) + 2  # the bar's padding
        used += min(cell_len(self._title), width // 2) + GAP + cell_len(_plain(status)) + GAP
        detail.display = used + cell_len(_plain(detail)) <= width


def _plain(label: Label) -> str:
    return str(label.render())
