"""The generic CSV: the organization's own records, for any platform without an importer.

The documented format (README, "Importing exports and archives"): a header row with
`date` and any of `url, text, replies, reposts, likes`, matched whatever the case and
surrounding spaces; other columns are ignored. The delimiter (comma, semicolon or tab)
and quoting are sniffed. Each row is one broadcast by the organization:

- `date`: ISO (2024-05-01, 2024-05-01T10:00, with `Z` or an offset), `MM/DD/YYYY` or
  `DD.MM.YYYY`, each optionally followed by a time; a time without an offset is UTC.
  A row whose date cell is `Total` (a spreadsheet's sum row) and empty rows are skipped.
- `url`: the post's address and its id; without one the id is a stable hash of the
  date and the text, so the same row imported again is the same post.
- `replies`, `reposts`, `likes`: whole numbers observed at the import's `now`; an empty
  cell is not observed. Replies are a counter only (the replies themselves are not in
  the file), so the source measures just the `reposts` and `likes` it has columns for.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from collectors.importers.base import ORG_AUTHOR, ImportFailed
from twoway.model import Account, Batch, Counters, Part, Post

__all__ = ["CsvImporter"]

COLUMNS = ("date", "url", "text", "replies", "reposts", "likes")
COUNTS = ("replies", "reposts", "likes")
MEASURED: dict[str, Part] = {"reposts": "reposts", "likes": "likes"}
"""The counter columns that make a part measured; `replies` needs the reply posts themselves."""
SKIPPED_DATES = frozenset({"total", "totals"})

_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME)
_EU = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})" + _TIME)
_COUNT = re.compile(r"\d+|\d{1,3}(?:([,. '_])\d{3})(?:\1\d{3})*")
_HASHTAG = re.compile(r"(?<![\w&#/])#(\w*[^\W\d_]\w*)")
_LINK = re.compile(r"https?://[^\s<>\"']+")


def _parse_date(cell: str) -> datetime | None:
    """The cell as aware UTC, or `None` when it is no date of the documented forms."""
    value = cell.strip()
    for pattern, order in ((_US, (2, 0, 1)), (_EU, (2, 1, 0))):
        match = pattern.fullmatch(value)
        if match:
            parts = match.groups()
            year, month, day = (int(parts[i]) for i in order)
            hour, minute, second = (int(p) if p else 0 for p in parts[3:6])
            try:
                return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
            except ValueError:
                return None
    if not re.match(r"\d{4}-\d{2}-\d{2}", value):
        return None
    iso = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _parse_count(cell: str) -> int | None:
    """A whole number (thousands may be grouped: 1,234 or 1.234); `None` for an empty cell.

    Raises:
        ValueError: anything else.
    """
    value = cell.strip()
    if not value:
        return None
    if not _COUNT.fullmatch(value):
        raise ValueError(value)
    return int(re.sub(r"\D", "", value))


def _dialect(sample: str) -> Any:
    """The sniffed delimiter with standard quoting (the Sniffer guesses `doublequote` badly)."""
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    return type("_Sniffed", (csv.excel,), {"delimiter": delimiter, "skipinitialspace": True})


_SIMPLE = tuple(
    type(f"_Delimited{i}", (csv.excel,), {"delimiter": d, "skipinitialspace": True}) for i, d in enumerate(",;\t")
)
"""Plain dialects tried when the sniffed one finds no `date` column."""


def _first_filled(rows: list[list[str]]) -> tuple[int, list[str]]:
    """The first row with a non-blank cell and its index; `(len(rows), [])` when none."""
    for index, row in enumerate(rows):
        if any(cell.strip() for cell in row):
            return index, row
    return len(rows), []


def _header(row: list[str]) -> dict[str, int]:
    """Known column name → index; the first of duplicates wins."""
    found: dict[str, int] = {}
    for index, name in enumerate(row):
        key = name.strip().strip("\ufeff").strip().lower()
        if key in COLUMNS and key not in found:
            found[key] = index
    return found


class CsvImporter:
    FORMAT = "csv"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        name = path.name
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ImportFailed(f"{path}: no such file") from None
        except UnicodeDecodeError as e:
            raise ImportFailed(f"{name}: not UTF-8 text (byte {e.start})") from None
        except OSError as e:
            raise ImportFailed(f"{path}: cannot read: {e.strerror or e}") from None
        rows = self._rows(name, text)
        start, header = _first_filled(rows)
        if not header:
            raise ImportFailed(f"{name}: empty file, expected a header row with a 'date' column")
        columns = self._columns(name, start + 1, header)
        posts: dict[str, Post] = {}
        counters: dict[str, Counters] = {}
        for number, row in enumerate(rows[start + 1 :], start=start + 2):
            if not any(c.strip() for c in row):
                continue
            post, observed = self._row(name, number, row, columns, now)
            if post is None:
                continue
            posts[post.id] = post  # the last row of a post wins
            if observed is not None:
                counters[post.id] = observed
            else:
                counters.pop(post.id, None)
        measures = frozenset(MEASURED[c] for c in MEASURED if c in columns)
        return Batch(
            source_id=source_id,
            platform=platform,
            polled_at=now,
            posts=tuple(posts.values()),
            counters=tuple(counters.values()),
            accounts=(Account(ORG_AUTHOR, source_id),),
            measures=measures,
        )

    def _rows(self, name: str, text: str) -> list[list[str]]:
        """Every record, read with the sniffed dialect, or else the delimiter whose header has a date column."""
        dialects = [_dialect(text[:8192]), *_SIMPLE]
        first: list[list[str]] | None = None
        for dialect in dialects:
            try:
                rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
            except csv.Error as e:
                raise ImportFailed(f"{name}: not a readable CSV file: {e}") from None
            if first is None:
                first = rows
            if "date" in _header(_first_filled(rows)[1]):
                return rows
        return first or []

    def _columns(self, name: str, number: int, header: list[str]) -> dict[str, int]:
        columns = _header(header)
        if "date" not in columns:
            shown = ", ".join(repr(h.strip()) for h in header[:8])
            raise ImportFailed(
                f"{name}: row {number}: no 'date' column (the header has {shown}); "
                f"expected columns {', '.join(COLUMNS)}"
            )
        return columns

    def _row(
        self, name: str, number: int, row: list[str], columns: dict[str, int], now: datetime
    ) -> tuple[Post | None, Counters | None]:
        def cell(column: str) -> str:
            index = columns.get(column)
            return row[index].strip() if index is not None and index < len(row) else ""

        date_cell = cell("date")
        if date_cell.lower() in SKIPPED_DATES:
            return None, None
        if not date_cell:
            raise ImportFailed(f"{name}: row {number}, column 'date': empty, expected a date like 2024-05-01")
        created = _parse_date(date_cell)
        if created is None:
            raise ImportFailed(
                f"{name}: row {number}, column 'date': {date_cell!r} is not a date like 2024-05-01"
                " (or 05/01/2024, 01.05.2024)"
            )
        values: dict[str, int | None] = {}
        for column in COUNTS:
            try:
                values[column] = _parse_count(cell(column))
            except ValueError:
                raise ImportFailed(
                    f"{name}: row {number}, column {column!r}: {cell(column)!r} is not a whole number like 12"
                ) from None
        url, body = cell("url"), cell("text")
        if url:
            post_id = url
        else:
            digest = hashlib.sha256(f"{created.isoformat()}\n{body}".encode()).hexdigest()[:24]
            post_id = f"csv:{digest}"
        hashtags: dict[str, str] = {}
        for tag in _HASHTAG.findall(body):
            hashtags.setdefault(tag.casefold(), tag)
        links = tuple(dict.fromkeys(link.rstrip(".,;:!?)]}") for link in _LINK.findall(body)))
        post = Post(
            id=post_id,
            author_id=ORG_AUTHOR,
            created_at=created,
            url=url,
            text=body,
            hashtags=tuple(hashtags.values()),
            links=links,
        )
        if all(v is None for v in values.values()):
            return post, None
        return post, Counters(post_id, now, replies=values["replies"], reposts=values["reposts"], likes=values["likes"])
