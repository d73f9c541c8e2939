"""What the user chose in the app and expects to find again: the theme.

A small JSON file in the user's state folder (platformdirs: `~/.local/state/twoway` on
Linux), separate from the configuration, which staff may keep in git or share. A
missing, unreadable or foreign file is as good as none: a preference never stops
the dashboard from opening, and failing to save one never interrupts it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

__all__ = ["load_theme", "preferences_path", "save_theme"]


def preferences_path() -> Path:
    import platformdirs

    return platformdirs.user_state_path("twoway") / "preferences.json"


def _read() -> dict[str, object]:
    try:
        data = json.loads(preferences_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_theme() -> str | None:
    """The theme last chosen, or `None` when none was saved."""
    theme = _read().get("theme")
    return theme if isinstance(theme, str) else None


def save_theme(theme: str) -> None:
    """Remember `theme`, replacing the file whole so a crash never leaves half of it."""
    path = preferences_path()
    data = {**_read(), "theme": theme}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
