"""A footer whose keys are never cut: compact when the full one does not fit,
without the command palette's key when even that does not, and then only the keys
that fit, whole.

Textual's `Footer` docks the palette key on the right over the last keys, so at 80
columns the goal screen's `? Help` showed as `? Hel`. The width is estimated from the
screen's shown bindings, with the paddings of `Footer`'s own stylesheet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.events import Resize
    from textual.screen import Screen

__all__ = ["KeysFooter", "keys_width"]


def keys_width(keys: list[tuple[str, str]], *, compact: bool) -> int:
    """Cells the (key, description) pairs take in a footer: `Footer`'s paddings and margins."""
    if compact:  # key, a space, the description, a margin
        return sum(cell_len(k) + 1 + cell_len(d) + 1 for k, d in keys)
    return sum(cell_len(k) + 2 + cell_len(d) + 1 for k, d in keys)  # key padded both sides, description right


class KeysFooter(Footer):
    _keys_shown: int | None = None
    """How many keys fit, whole, when even the compact footer is too wide; `None` when all do."""

    def compose(self) -> ComposeResult:
        shown = 0
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                shown += 1
                if self._keys_shown is not None and shown > self._keys_shown:
                    continue
            yield widget

    def on_resize(self, event: Resize) -> None:
        self.fit(event.size.width)

    def bindings_changed(self, screen: Screen[object]) -> None:
        super().bindings_changed(screen)
        self.fit(self.size.width)

    def fit(self, width: int) -> None:
        if width <= 0 or not self.is_attached:
            return
        app = self.app
        shown: dict[str, tuple[str, str]] = {}
        palette: tuple[str, str] | None = None
        for key, (_, binding, _, _) in self.screen.active_bindings.items():
            if key == app.COMMAND_PALETTE_BINDING:
                palette = (app.get_key_display(binding), binding.description)
            elif binding.show:
                shown.setdefault(binding.action, (app.get_key_display(binding), binding.description))
        keys = list(shown.values())
        palette_w = 0
        if palette is not None and app.ENABLE_COMMAND_PALETTE:
            palette_w = 1 + keys_width([palette], compact=False) + 1  # its border on the left, padding on the right
        compact = keys_width(keys, compact=False) + palette_w > width
        with_palette = keys_width(keys, compact=True) + palette_w <= width
        if self.compact != compact:
            self.compact = compact
        palette_shown = not compact or with_palette
        keys_shown: int | None = None
        if not palette_shown and keys_width(keys, compact=True) > width:
            keys_shown = 0
            while keys_width(keys[: keys_shown + 1], compact=True) <= width:
                keys_shown += 1
        if self.show_command_palette != palette_shown or self._keys_shown != keys_shown:
            self.show_command_palette = palette_shown
            self._keys_shown = keys_shown
            self.refresh(recompose=True)
