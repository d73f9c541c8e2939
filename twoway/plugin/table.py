"""What every tabular importer shares: a CSV, XLSX or XLS sheet read as rows of posts.

Platform exports drift: columns get renamed (`Update title` became `Post title`), added
and reordered, a title line or two sits above the header, a `Total` row sums the rest,
counts come grouped (`1,234`), dates come in the exporter's locale (`Jun 1, 2024 10:00 am`),
ids carry a leading space or apostrophe (Excel's "keep as text"). So an importer names the
columns it reads with their old and new names (`Column`), `open_table` finds the sheet and
the header row holding the required ones, and each `Row` reads a cell as text, an id, a
date or a count, or raises `ImportFailed` naming the file, sheet, row and column. The file
is read whole before anything is returned, so a bad row stores nothing.

Rows are numbered as a spreadsheet shows them (the first row is 1); a CSV row is a record,
so a quoted cell spanning lines is one row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast
from urllib.parse import unquote

from twoway.model import Account, Batch, Counters, Part, Post
from twoway.plugin.importer import ORG_AUTHOR, ImportFailed
from twoway.plugin.text import hashtags_in, links_in

__all__ = [
    "Column",
    "Counted",
    "Row",
    "Table",
    "broadcast",
    "collect",
    "load",
    "open_table",
    "parse_count",
    "parse_date",
    "parse_iso",
    "stable_id",
]

Cell = str | int | float | datetime | date | None
Counted = Literal["replies", "reposts", "quotes", "likes"]
"""A counter an export can have a column for."""

HEADER_SEARCH = 30
"""How many rows from the top may be title lines before the header."""
TOTALS = frozenset({"total", "totals", "grand total"})
_XLSX = b"PK\x03\x04"
_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXACT_FLOAT = 2**53
"""A spreadsheet number this large has lost digits: an id read from it is no id."""


class Column(NamedTuple):
    """A column an importer reads: its name, the names other versions of the export use."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


def _key(header: object) -> str:
    """A header cell as matched: case, surrounding and repeated spaces, BOM ignored."""
    return " ".join(str(header if header is not None else "").replace("\ufeff", " ").split()).casefold()


# -- dates and counts -----------------------------------------------------------------

_TIME = (
    r"(?:,?[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:\s*([AaPp])\.?[Mm]\.?)?)?"
    r"(?:\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}))?"
)
_NUMERIC = (
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME), (2, 0, 1)),  # 05/01/2024: US, month first
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})" + _TIME), (2, 1, 0)),  # 01.05.2024: day first
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_MONTH_FIRST = re.compile(_WEEKDAY + r"([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})" + _TIME, re.IGNORECASE)
_DAY_FIRST = re.compile(_WEEKDAY + r"(\d{1,2})\s+([a-z]{3,9})\.?,?\s+(\d{4})" + _TIME, re.IGNORECASE)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_ISO_SPACED_OFFSET = re.compile(r"(.*\d)\s+([+-]\d{2}:?\d{2}|Z|UTC)")
DATE_FORMS = "2024-05-01, 05/01/2024, 01.05.2024 or Jun 1, 2024"


def _month(name: str) -> int | None:
    """An English month name or its abbreviation (3 letters or more, `Sept` too) as its number."""
    lowered = name.lower()
    if lowered == "sept":
        return 9
    return next((number for number, full in enumerate(_MONTHS, start=1) if full.startswith(lowered)), None)


def _moment(year: int, month: int, day: int, time: Sequence[str | None]) -> datetime | None:
    """A calendar date, an optional time (12-hour with am/pm) and zone, as aware UTC."""
    hour_s, minute_s, second_s, meridiem, zone = time
    hour, minute, second = (int(p) if p else 0 for p in (hour_s, minute_s, second_s))
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.lower() == "p" else 0)
    offset = timedelta(0)
    if zone and zone.upper() not in ("Z", "UTC", "GMT"):
        digits = zone.replace(":", "")
        offset = (1 if digits[0] == "+" else -1) * timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:  # day 31 of a 30-day month, hour 25, an offset of 99 hours

        return None
    return local.astimezone(timezone.utc)


def parse_date(value: Cell) -> datetime | None:
    """The cell as aware UTC, or `None` when it is no date of the forms exports use.

    Spreadsheet dates and times without an offset are taken as UTC: the exports say no zone.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    for pattern, order in _NUMERIC:
        match = pattern.fullmatch(text)
        if match:
            parts = match.groups()
            year, month, day = (int(parts[i]) for i in order)
            return _moment(year, month, day, parts[3:])
    for named, (month_at, day_at) in ((_MONTH_FIRST, (1, 2)), (_DAY_FIRST, (2, 1))):
        match = named.fullmatch(text)
        if match:
            number = _month(match[month_at])
            return _moment(int(match[3]), number, int(match[day_at]), match.groups()[3:]) if number else None
    return parse_iso(text)


def parse_iso(text: str) -> datetime | None:
    """ISO 8601 and the variants exports write (`2018-10-09 11:38:31+0000`, `… +0000`,
    `2024-05-01T10:00:00.000Z`) as aware UTC; no offset is UTC. `None` for anything else."""
    text = text.strip()
    if not re.match(r"\d{4}-\d{2}-\d{2}", text):
        return None
    spaced = _ISO_SPACED_OFFSET.fullmatch(text)
    iso = f"{spaced[1]}{spaced[2]}" if spaced else text
    iso = re.sub(r"(?:Z|z|UTC)$", "+00:00", iso)
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)  # what Python 3.10's fromisoformat reads too
    iso = re.sub(r"\.(\d+)", lambda m: "." + m[1][:6].ljust(6, "0"), iso)
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


_COUNT = re.compile(r"\d+|\d{1,3}(?:([,. '_\u00a0\u202f])\d{3})(?:\1\d{3})*")


def parse_count(value: Cell) -> int | None:
    """A whole number (thousands may be grouped: 1,234 or 1.234 or 1 234); `None` for an empty cell.

    Raises:
        ValueError: anything else, a negative or fractional number included.
    """
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (datetime, date)):
        raise ValueError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(value)
        return int(value)
    text = value.strip()
    if not text:
        return None
    if not _COUNT.fullmatch(text):
        raise ValueError(text)
    return int(re.sub(r"\D", "", text))


# -- reading the file -----------------------------------------------------------------


def load(path: Path) -> bytes:
    """The file's bytes, or `ImportFailed` saying why not."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImportFailed(f"{path}: no such file") from None
    except OSError as e:
        raise ImportFailed(f"{path}: cannot read: {e.strerror or e}") from None


class _Sheet(NamedTuple):
    title: str
    """The sheet's name in a workbook; empty for a CSV."""
    rows: list[list[Cell]]


def _decode(name: str, data: bytes) -> str:
    """CSV text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 (older Excel)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise ImportFailed(f"{name}: not UTF-16 text (byte {e.start})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportFailed(f"{name}: not UTF-8, UTF-16 or Windows-1252 text (byte {utf8.start})") from None


def _sniffed(sample: str) -> Any:
    """The sniffed delimiter with standard quoting (the Sniffer guesses `doublequote` badly)."""
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    return type("_Sniffed", (csv.excel,), {"delimiter": delimiter, "skipinitialspace": True})


_PLAIN = tuple(
    type(f"_Delimited{i}", (csv.excel,), {"delimiter": d, "skipinitialspace": True}) for i, d in enumerate(",;\t")
)
"""Plain dialects tried when the sniffed one finds no header."""


def _csv_readings(name: str, data: bytes) -> Iterator[_Sheet]:
    """The text read with the sniffed dialect, then with each plain delimiter."""
    text = _decode(name, data)
    for dialect in (_sniffed(text[:8192]), *_PLAIN):
        try:
            rows = cast("list[list[Cell]]", list(csv.reader(io.StringIO(text, newline=""), dialect)))
        except csv.Error as e:
            raise ImportFailed(f"{name}: not a readable CSV file: {e}") from None
        yield _Sheet("", rows)


def _xlsx_sheets(name: str, data: bytes) -> list[_Sheet]:
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporters' workbooks lack styles openpyxl expects
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                # openpyxl's other cell types (times, rich text, formulas) are read as text by `_text`
                sheets = []
                for ws in book.worksheets:
                    rows = [cast("list[Cell]", list(r)) for r in ws.iter_rows(values_only=True)]
                    sheets.append(_Sheet(ws.title, rows))
                return sheets
            finally:
                book.close()
    except Exception as e:  # openpyxl raises whatever its zip and XML readers raise
        raise ImportFailed(f"{name}: not a readable XLSX workbook: {e}") from None


def _xls_sheets(name: str, data: bytes) -> list[_Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, logfile=io.StringIO())  # its warnings are not ours to print
    except Exception as e:  # xlrd raises its own errors and struct/index errors on damaged files
        raise ImportFailed(f"{name}: not a readable XLS workbook: {e}") from None
    sheets = []
    for sheet in book.sheets():
        rows: list[list[Cell]] = []
        for r in range(sheet.nrows):
            row: list[Cell] = []
            for cell in sheet.row(r):
                if cell.ctype == xlrd.XL_CELL_DATE:
                    try:
                        row.append(xlrd.xldate.xldate_as_datetime(float(cell.value), book.datemode))
                    except xlrd.xldate.XLDateError:
                        row.append(cell.value)  # no date: the importer names its row and column
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(None)
                elif cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_BOOLEAN):
                    row.append(str(cell.value))
                else:
                    row.append(cell.value)
            rows.append(row)
        sheets.append(_Sheet(sheet.name, rows))
    return sheets


# -- the table ------------------------------------------------------------------------


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def _filled(row: Sequence[Cell]) -> bool:
    return any(_text(c) for c in row)


class Row:
    """One data row; every reader names the file, sheet, row and column when the cell is wrong."""

    def __init__(self, table: Table, number: int, cells: Sequence[Cell]) -> None:
        self.table = table
        self.number = number
        self.cells = cells

    def raw(self, column: str) -> Cell:
        index = self.table.columns.get(column)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def fail(self, column: str, problem: str) -> ImportFailed:
        """The error for this row's `column` cell, to raise."""
        return ImportFailed(f"{self.table.where(f'row {self.number}, column {self.table.label(column)!r}')}: {problem}")

    def text(self, column: str) -> str:
        return _text(self.raw(column))

    def ident(self, column: str) -> str:
        """An id kept as the string it is: a leading space or apostrophe (Excel's text mark) dropped."""
        value = self.raw(column)
        if isinstance(value, float) and abs(value) >= _EXACT_FLOAT:
            raise self.fail(column, f"{value!r} lost digits as a spreadsheet number: export the ids as text")
        return _text(value).lstrip("'\u2019 ").strip()

    def post_id(self, column: str, shape: str, *, link: str | None = None, in_link: str | None = None) -> str:
        """The platform's post id: the id cell when it has the platform's shape, else read from the link.

        Args:
            shape: a regular expression the whole id matches (digits for most platforms).
            link: the permalink column, whose `in_link` pattern's first group is the id.
        """
        cell = self.ident(column)
        if re.fullmatch(shape, cell):
            return cell
        if link is not None and in_link is not None:
            found = re.search(in_link, unquote(self.text(link)))
            if found:
                return found[1]
        if cell:
            raise self.fail(column, f"{cell!r} is not a post id (a spreadsheet may have rounded it: "
                                    "import the file as it was exported)")
        raise self.fail(column, "empty" + (f", and no {self.table.label(link)!r} to read the id from" if link else ""))

    def date(self, column: str) -> datetime:
        value = self.raw(column)
        if not _text(value):
            raise self.fail(column, f"empty, expected a date like {DATE_FORMS}")
        moment = parse_date(value)
        if moment is None:
            raise self.fail(column, f"{_text(value)!r} is not a date like {DATE_FORMS}")
        return moment

    def count(self, column: str) -> int | None:
        try:
            return parse_count(self.raw(column))
        except ValueError:
            raise self.fail(column, f"{_text(self.raw(column))!r} is not a whole number like 12") from None

    def counters(self, post_id: str, now: datetime, counted: Mapping[Counted, str]) -> Counters | None:
        """The row's counters observed at `now`; `None` when none of its counter cells is filled."""
        values = {part: self.count(column) for part, column in counted.items()}
        if all(v is None for v in values.values()):
            return None
        return Counters(post_id, now, **values)


class Table:
    """One sheet's data rows under the header row that holds the importer's required columns."""

    def __init__(self, name: str, part: str | None, rows: list[list[Cell]], header: int, columns: dict[str, int],
                 spelled: dict[str, str]) -> None:
        self.name = name
        self.part = part
        """The sheet (or archive member) as messages name it, e.g. `sheet 'All posts'`."""
        self.columns = columns
        """Column name → index of the found columns (see `_match` for which wins among several)."""
        self._rows = rows
        self._header = header
        self._spelled = spelled

    def where(self, detail: str) -> str:
        return _where(self.name, self.part, detail)

    def label(self, column: str) -> str:
        """The column as the file spells it (the importer's name when only case or spaces differ)."""
        spelled = self._spelled.get(column, column)
        return column if _key(spelled) == _key(column) else spelled.strip()

    def rows(self) -> Iterator[Row]:
        """Data rows, without blank rows and a spreadsheet's `Total` rows."""
        for index in range(self._header + 1, len(self._rows)):
            cells = self._rows[index]
            first = next((t for t in (_text(c) for c in cells) if t), None)
            if first is None or first.casefold() in TOTALS:
                continue
            yield Row(self, index + 1, cells)


def _match(row: Sequence[Cell], columns: Sequence[Column]) -> tuple[dict[str, int], dict[str, str]]:
    """Column name → index in `row`; a column's own name before its aliases, in their order, then the leftmost."""
    names = {_key(n): (c.name, rank) for c in columns for rank, n in enumerate((c.name, *c.aliases))}
    best: dict[str, tuple[int, int]] = {}
    spelled: dict[str, str] = {}
    for index, cell in enumerate(row):
        column, rank = names.get(_key(cell), ("", 0))
        if column and (column not in best or rank < best[column][0]):
            best[column], spelled[column] = (rank, index), _text(cell)
    return {column: index for column, (_, index) in best.items()}, spelled


def _locate(sheet: _Sheet, columns: Sequence[Column]) -> tuple[int, dict[str, int], dict[str, str]] | None:
    """The first row near the top holding every required column, with the columns it holds."""
    required = {c.name for c in columns if c.required}
    for index, row in enumerate(sheet.rows[:HEADER_SEARCH]):
        found, spelled = _match(row, columns)
        if found and required <= found.keys():
            return index, found, spelled
    return None


def _where(name: str, part: str | None, detail: str) -> str:
    return f"{name}: " + ", ".join(p for p in (part, detail) if p)


def _missing(name: str, part: str | None, rows: list[list[Cell]], columns: Sequence[Column]) -> ImportFailed:
    """What is wrong with the likeliest header: the filled row near the top matching the most columns."""
    top = [(i, r) for i, r in enumerate(rows[:HEADER_SEARCH]) if _filled(r)]
    if not top:
        expected = next(c.name for c in columns if c.required)
        what = f"{part} is empty" if part else "empty file"
        return ImportFailed(f"{name}: {what}, expected a header row with a {expected!r} column")
    index, header = max(top, key=lambda t: (len(_match(t[1], columns)[0]), -t[0]))
    found = _match(header, columns)[0]
    absent = " and no ".join(repr(c.name) for c in columns if c.required and c.name not in found)
    shown = ", ".join(repr(_text(h)) for h in header[:8] if _text(h))
    return ImportFailed(
        f"{_where(name, part, f'row {index + 1}')}: no {absent} column (the header has {shown}); "
        f"expected columns {', '.join(c.name for c in columns)}"
    )


def open_table(name: str, data: bytes, columns: Sequence[Column], *, sheets: Sequence[str] = (),
               part: str | None = None) -> Table:
    """The table in `data` (a CSV, an XLSX or an XLS workbook, told apart by their first bytes).

    In a workbook, the sheets named in `sheets` are searched first (any case), then the
    others in order; the first holding the required columns is read.

    Args:
        name: the file as messages name it.
        part: where in the file, when `data` is a member of an archive (`file 'Table data.csv'`).
    """
    if data.startswith(_XLSX):
        workbook = _xlsx_sheets(name, data)
    elif data.startswith(_XLS):
        workbook = _xls_sheets(name, data)
    else:
        readings = []
        for reading in _csv_readings(name, data):
            located = _locate(reading, columns)
            if located is not None:
                return Table(name, part, reading.rows, *located)
            readings.append(reading)
        raise _missing(name, part, readings[0].rows, columns)
    wanted = [s.casefold() for s in sheets]
    ordered = sorted(workbook, key=lambda s: wanted.index(s.title.casefold()) if s.title.casefold() in wanted
                     else len(wanted))
    for sheet in ordered:
        located = _locate(sheet, columns)
        if located is not None:
            return Table(name, f"sheet {sheet.title!r}", sheet.rows, *located)
    if not ordered:
        raise ImportFailed(f"{name}: the workbook has no sheet")
    if len(ordered) == 1 or ordered[0].title.casefold() in wanted:
        raise _missing(name, f"sheet {ordered[0].title!r}", ordered[0].rows, columns)
    required = ", ".join(repr(c.name) for c in columns if c.required)
    titles = ", ".join(repr(s.title) for s in workbook)
    raise ImportFailed(f"{name}: no sheet has the columns {required} (sheets: {titles})")


# -- the records ----------------------------------------------------------------------



def stable_id(prefix: str, created: datetime, text: str) -> str:
    """An id for a row without one: the same row imported again is the same post."""
    digest = hashlib.sha256(f"{created.isoformat()}\n{text}".encode()).hexdigest()[:24]
    return f"{prefix}:{digest}"


def broadcast(post_id: str, created: datetime, *, url: str = "", text: str = "", author: str = ORG_AUTHOR,
              links: Sequence[str] = ()) -> Post:
    """The organization's post, its hashtags and links read from its text (after `links`)."""
    return Post(id=post_id, author_id=author, created_at=created, url=url, text=text,
                hashtags=hashtags_in(text), links=links_in(text, links))


def collect(table: Table, source_id: str, platform: str, now: datetime, post: Callable[[Row], Post | None],
            counted: Mapping[Counted, str], *, handle: Callable[[Row], str] | None = None) -> Batch:
    """Every row `post` makes a post of, with its counters, as one batch polled at `now`.

    The last row of a post wins. A counter part is measured when its column is in the file,
    except replies: a reply counter is not the replies, so there is nothing to count
    conversations, responses or response times with (the metrics show them unavailable).

    Args:
        post: the row's post, or `None` for a row that is not the organization's broadcast.
        counted: counter part → column.
        handle: the author's handle where the file names the account (else the source id).
    """
    posts: dict[str, Post] = {}
    counters: dict[str, Counters] = {}
    accounts: dict[str, Account] = {}
    for row in table.rows():
        made = post(row)
        if made is None:
            continue
        posts[made.id] = made
        observed = row.counters(made.id, now, counted)
        if observed is None:
            counters.pop(made.id, None)
        else:
            counters[made.id] = observed
        if made.author_id not in accounts:
            named = handle(row) if handle is not None else ""
            accounts[made.author_id] = Account(made.author_id, named or source_id)
    measures: frozenset[Part] = frozenset(p for p, c in counted.items() if p != "replies" and c in table.columns)
    return Batch(
        source_id=source_id,
        platform=platform,
        polled_at=now,
        posts=tuple(posts.values()),
        counters=tuple(counters.values()),
        accounts=tuple(accounts.values()) or (Account(ORG_AUTHOR, source_id),),
        measures=measures,
    )
