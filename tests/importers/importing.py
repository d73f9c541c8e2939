"""What the importer tests share: `twoway import` run in-process, and a store's rows to compare
before and after an import that must change nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from twoway.cli import main


def import_file(config: Path, path: Path, source: str, *extra: str) -> int:
    """The exit code of `twoway --config CONFIG import PATH --source SOURCE [EXTRA…]`."""
    return main(["--config", str(config), "import", str(path), "--source", source, *extra])


def dump(db: Path) -> list[str]:
    """Every row of the store as SQL, but the `meta` table's (its salt and bookkeeping)."""
    conn = sqlite3.connect(db)
    try:
        return [line for line in conn.iterdump() if not line.startswith('INSERT INTO "meta"')]
    finally:
        conn.close()
