"""Python code run in a new interpreter from the repo root: what only a fresh process shows
(which modules an import pulls in, the stdio encoding it was started with)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NEITHER_RICH_NOR_TEXTUAL = (
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'textual'))\n"
    "assert not bad, bad\n"
)
"""Code that fails the process when `rich` or `textual` has been imported (it needs `import sys`)."""


def run_python(code: str, env: dict[str, str] | None = None) -> bytes:
    """The standard output of `python -c code`, after checking the process exited 0."""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout
