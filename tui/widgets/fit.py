"""Tables that fit their width: whole numbers or none, text cut with an ellipsis.

A `DataTable` sizes its columns to their content and scrolls sideways when they do
not fit, so at 80 columns the last column (a goal's total) was cut mid-number. Here
the screen lays the columns out for the width it has: `fit_columns` keeps the
columns that must stay (a metric's label, the goal's total) and lets the others go,
whole, from the end; `FitTable` says when its width changed, so the screen lays it
out again.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable

__all__ = ["CELL_PADDING", "FitTable", "column_width", "fit_columns", "more_sources"]

CELL_PADDING = 1
"""A `DataTable`'s padding on each side of a cell (its default `cell_padding`)."""


def column_width(header: str | Text, cells: Sequence[str | Text]) -> int:
    """The cells a column's widest value takes, header included, without padding."""
    widths = [cell_len(c.plain if isinstance(c, Text) else c) for c in (header, *cells)]
    return max(widths)


def fit_columns(available: int, fixed: Sequence[int], optional: Sequence[int], marker: int = 0) -> int:
    """How many of `optional` (in order) fit beside every `fixed` column in `available` cells.

    Widths are content widths; each column adds its padding. When some optional
    columns must go, a `marker` column (that says how many went) is made room for.
    """
    pad = 2 * CELL_PADDING
    used = sum(w + pad for w in fixed)
    widths = [w + pad for w in optional]
    if used + sum(widths) <= available:
        return len(widths)
    room = available - used - (marker + pad if marker else 0)
    shown = 0
    for width in widths:
        if width > room:
            break
        room -= width
        shown += 1
    return shown


def more_sources(hidden: int) -> str:
    """`+1 source`, `+2 sources`: what stands for the columns that did not fit."""
    return f"+{hidden} source{'s' * (hidden != 1)}"


class FitTable(DataTable[Text]):
    """A `DataTable` that tells its screen when its width changes."""

    class Resized(Message):
        """The table's width changed: its columns should be laid out again."""

        def __init__(self, table: FitTable) -> None:
            super().__init__()
            self.table = table

    _laid_out_width = -1

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._laid_out_width:
            self._laid_out_width = event.size.width
            self.post_message(self.Resized(self))
