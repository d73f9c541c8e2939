"""Opening a link from a screen (SPEC §8): only http(s), and in a browser only where there is a display.

Over SSH a text browser would take over the terminal, so without a display the link
is shown and copied with OSC 52 instead. The goal screen's waiting list and
broadcasts and the alerts screen open their links through `open_link`.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from twoway.tui.render import clean

if TYPE_CHECKING:
    from textual.widget import Widget

__all__ = ["has_display", "is_web_url", "open_link"]


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def has_display() -> bool:
    """A graphical browser can open here: a local desktop, not a bare SSH session."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_link(node: Widget, url: str | None) -> None:
    """Open `url` (or copy it without a display), saying which in a notification; `None`: nothing selected."""
    if url is None:
        node.notify("Nothing selected.", severity="warning")
        return
    shown = clean(url)
    if not is_web_url(url):
        node.notify(shown, title="Not opened: only http(s) links open", severity="warning", markup=False)
        return
    if has_display():
        webbrowser.open(url, new=2)
        node.notify(shown, title="Opened in the browser", markup=False)
    else:
        node.app.copy_to_clipboard(url)
        node.notify(shown, title="No display: link copied to the clipboard", markup=False)
