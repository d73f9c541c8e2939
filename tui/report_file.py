"""`R` in the live app: the monthly report's HTML (twoway/publish) written where the user keeps documents.

The folder is platformdirs' documents folder (`~/Documents`, or `XDG_DOCUMENTS_DIR` on
Linux), so a director's file lands where a file manager and a mail client look first.
The name carries the organization's date and time, so a second `R` never overwrites
the first; the file is written whole or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from twoway.tui.render import local

if TYPE_CHECKING:
    from twoway.report import Report

__all__ = ["documents_dir", "report_name", "write_report"]


def documents_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_documents_dir())


def report_name(report: Report) -> str:
    """`twoway-report-2026-11-26-0600.html`, in the organization's time."""
    return f"twoway-report-{local(report.generated_at, report.timezone):%Y-%m-%d-%H%M}.html"


def write_report(report: Report, folder: Path) -> Path:
    """The report's HTML in `folder` (made if missing); raises `OSError` when it cannot be written."""
    from twoway.publish.html import render_html

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / report_name(report)
    partial = path.with_name(path.name + ".part")
    try:
        partial.write_text(render_html(report), encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
