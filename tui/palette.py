"""The terminal colours Rich's named colours (`green`, `red`, `yellow`) take in the app, per theme.

Rich text from `twoway.tui.render` colours met and better numbers `green`, missed and
worse `red`, waiting `yellow`; Textual draws those through an ANSI palette of its
theme. Its defaults put the light theme's green at 3:1 and yellow at 2:1 on the pale
background, and the dark theme's red just under 4.5:1; these keep Textual's palettes
and change only what falls short of WCAG AA (4.5:1) in the 256-colour rendering,
which tests/tui/test_contrast.py measures.
"""

from __future__ import annotations

from rich.terminal_theme import TerminalTheme
from textual._ansi_theme import ALABASTER, MONOKAI

__all__ = ["DARK", "LIGHT"]

RED, GREEN, YELLOW, BLUE = 1, 2, 3, 4


def _with(theme: TerminalTheme, changes: dict[int, tuple[int, int, int]]) -> TerminalTheme:
    """`theme` with the standard colours in `changes` (index → RGB) replaced, their bright ones too."""
    colors: list[tuple[int, int, int]] = [changes.get(i % 8, theme.ansi_colors[i]) for i in range(16)]
    return TerminalTheme(theme.background_color, theme.foreground_color, colors[:8], colors[8:])


DARK = _with(MONOKAI, {RED: (255, 95, 135)})
LIGHT = _with(ALABASTER, {RED: (135, 0, 0), GREEN: (0, 95, 0), YELLOW: (95, 95, 0), BLUE: (0, 95, 175)})
