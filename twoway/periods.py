"""Calendar periods: a month, a quarter or a year in the organization's timezone (SPEC §10).

A period is a window with fixed ends: local midnight of its first day up to local
midnight of the day after its last, whatever daylight saving does in between, so
November in Chicago is 30 days and an hour. Its baseline is the period before it,
whatever its length (Q1 is 90 days, Q4 before it 92); a period that has not ended
reaches up to now.

`zoneinfo` is imported when a period is computed, so a snapshot of rolling windows never pays for it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Literal, NamedTuple

__all__ = ["Period", "iso_weeks", "last_complete_month", "parse_period"]

Kind = Literal["month", "quarter", "year"]
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("month", re.compile(r"(\d{4})-(\d{2})")),
    ("quarter", re.compile(r"(\d{4})-[Qq]([1-4])")),
    ("year", re.compile(r"(\d{4})")),
)


class Period(NamedTuple):
    kind: Kind
    year: int
    number: int = 1
    """The month (1-12) or the quarter (1-4); 1 for a year."""

    @property
    def label(self) -> str:
        """As `--period` takes it: `2026-11`, `2026-Q4`, `2026`."""
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.number}"
        return str(self.year)

    @property
    def title(self) -> str:
        """For people: `November 2026`, `Q4 2026`, `2026`."""
        if self.kind == "month":
            return f"{_MONTH_NAMES[self.number - 1]} {self.year}"
        if self.kind == "quarter":
            return f"Q{self.number} {self.year}"
        return str(self.year)

    def _first_month(self) -> int:
        """Months since year 0 of the period's first month."""
        return self.year * 12 + (self.number - 1) * _MONTHS[self.kind]

    def _shifted(self, months: int) -> Period:
        first = self._first_month() + months
        return Period(self.kind, first // 12, (first % 12) // _MONTHS[self.kind] + 1)

    def previous(self) -> Period:
        """The calendar period just before: October before November, Q3 before Q4, 2025 before 2026."""
        return self._shifted(-_MONTHS[self.kind])

    def year_before(self) -> Period:
        return self._shifted(-12)

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """[start, end) as aware UTC: local midnight of the first day and of the day after the last."""
        first = self._first_month()
        return _month_start(first, zone), _month_start(first + _MONTHS[self.kind], zone)


def _month_start(months: int, zone: str) -> datetime:
    """Local midnight of the first day of the month `months` after January of year 0."""
    return _midnight(date(months // 12, months % 12 + 1, 1), zone)


def _midnight(day: date, zone: str) -> datetime:
    from zoneinfo import ZoneInfo

    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    return local.astimezone(timezone.utc)


def parse_period(text: str) -> Period:
    """`2026-11`, `2026-Q4` or `2026`.

    Raises:
        ValueError: anything else, or a month outside 01-12.
    """
    given = text.strip()
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(given)
        if match is None:
            continue
        year = int(match[1])
        number = int(match[2]) if kind != "year" else 1
        if kind == "month" and not 1 <= number <= 12:
            break
        if not 1971 <= year <= 9998:
            raise ValueError(f"{text!r}: the year is out of range (1971 to 9998)")
        return Period(kind, year, number)
    raise ValueError(f"{text!r} is not a month like 2026-11, a quarter like 2026-Q4 or a year like 2026")


def last_complete_month(now: datetime, zone: str) -> Period:
    """The month before the one `now` falls in, on the organization's calendar."""
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(zone))
    return Period("month", local.year, local.month).previous()


def iso_weeks(start: datetime, end: datetime, zone: str) -> list[tuple[datetime, datetime]]:
    """The ISO weeks (Monday to Monday, local midnight) that [start, end) touches, each cut to it."""
    from zoneinfo import ZoneInfo

    monday = start.astimezone(ZoneInfo(zone)).date()
    monday -= timedelta(days=monday.weekday())
    weeks = []
    while True:
        week_start, week_end = _midnight(monday, zone), _midnight(monday + timedelta(days=7), zone)
        if week_start >= end:
            break
        weeks.append((max(week_start, start), min(week_end, end)))
        monday += timedelta(days=7)
    return weeks
