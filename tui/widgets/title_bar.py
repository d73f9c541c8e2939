"""The first line of a screen other than home: DEMO in demo mode, what the screen shows, and its status.

Docked at the top, so it stays in view however far the screen below it scrolls. The
detail after the status (a goal's window, dates and timezone) is shown whole or not at
all: the longest of its forms that fits, none when the line is too narrow for the
shortest, so no date is ever cut.
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
        self._details: tuple[Text | str, ...] = ()

    def compose(self) -> ComposeResult:
        badge = Label("DEMO", id="demo-badge", classes="demo-badge")
        badge.display = False
        yield badge
        yield Label(Content(self._title), classes="title")
        yield Label("loading…", classes="status")
        yield Label("", classes="detail")

    def show(self, *, demo: bool, status: Text | str, details: tuple[Text | str, ...] = ()) -> None:
        """`details`: the forms of the detail, longest first."""
        self._demo = demo
        self._details = details
        self.query_one(".demo-badge", Label).display = demo
        self.query_one(".status", Label).update(status)
        self._fit(self.size.width)

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        status, detail = (self.query_one(f".{n}", Label) for n in ("status", "detail"))
        used = (BADGE if self._demo else 0) + 2  # the bar's padding
        used += min(cell_len(self._title), width // 2) + GAP + cell_len(_plain(status)) + GAP
        fits = [d for d in self._details if used + cell_len(str(d)) <= width]
        detail.display = bool(fits)
        detail.update(fits[0] if fits else "")


def _plain(label: Label) -> str:
    return str(label.render())
