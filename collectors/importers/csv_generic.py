"""The generic CSV: the organization's own records, for any platform without an importer.

The documented format (docs/importers/csv.md): a header row with `date` and any of `url,
text, replies, reposts, likes`, matched whatever the case and surrounding spaces; other
columns are ignored, and title lines above the header are skipped. The delimiter (comma,
semicolon or tab) and quoting are sniffed. Each row is one broadcast by the
organization:

- `date`: ISO (2024-05-01, 2024-05-01T10:00, with `Z` or an offset), `MM/DD/YYYY`,
  `DD.MM.YYYY` or `Jun 1, 2024`, each optionally followed by a time; a time without an
  offset is UTC. Empty rows and a spreadsheet's `Total` row are skipped.
- `url`: the post's address and its id; without one the id is a stable hash of the
  date and the text, so the same row imported again is the same post.
- `replies`, `reposts`, `likes`: whole numbers observed at the import's `now`; an empty
  cell is not observed. Replies are a counter only (the replies themselves are not in
  the file), so the source measures just the `reposts` and `likes` it has columns for.

Reading the file, the columns, dates and counts is `twoway.plugin.table`'s.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from twoway.model import Batch, Post
from twoway.plugin import table
from twoway.plugin.table import Column, Counted, Row

__all__ = ["CsvImporter"]

COLUMNS = (
    Column("date", required=True),
    Column("url"),
    Column("text"),
    Column("replies"),
    Column("reposts"),
    Column("likes"),
)
COUNTED: dict[Counted, str] = {"replies": "replies", "reposts": "reposts", "likes": "likes"}


def _post(row: Row) -> Post:
    created = row.date("date")
    url, text = row.text("url"), row.text("text")
    return table.broadcast(url or table.stable_id("csv", created, text), created, url=url, text=text)


class CsvImporter:
    FORMAT = "csv"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        rows = table.open_table(path.name, table.load(path), COLUMNS)
        return table.collect(rows, source_id, platform, now, _post, COUNTED)
