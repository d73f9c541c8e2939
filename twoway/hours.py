"""Opening hours: the response clock runs only while the organization is open.

Hours are wall-clock times in the organization's timezone, so a day's opening is
turned into UTC instants day by day: a DST change moves the instants, never the
hours, and a span of months costs one step per day, not per second.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = ["DAYS", "OpeningHours", "parse_hours"]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_INDEX = {d.casefold(): i for i, d in enumerate(DAYS)}
_GROUP = re.compile(r"^(?P<days>[^\d]+?)\s+(?P<times>\d.*)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")

Interval = tuple[int, int]
"""Minutes after local midnight, start inclusive, end exclusive (end may be 1440)."""


class OpeningHours(NamedTuple):
    text: str
    """As written in the config, for display."""
    timezone: str
    """IANA name; wall-clock hours are read in it."""
    week: tuple[tuple[Interval, ...], ...]
    """Seven entries, Monday first: that day's sorted, merged opening intervals."""

    def __str__(self) -> str:
        return f"{self.text} ({self.timezone})"

    @property
    def zone(self) -> ZoneInfo:
        from zoneinfo import ZoneInfo  # only a configuration with opening hours pays for it

        return ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        _require_aware(at)
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return any(start <= minute < end for start, end in self.week[local.weekday()])

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds between `start` and `end` that fall inside opening hours."""
        _require_aware(start)
        _require_aware(end)
        if end <= start:
            return 0.0
        zone = self.zone
        start_utc, end_utc = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        # One day either side: a local day's opening can reach across a UTC boundary.
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date() + timedelta(days=1)
        total = 0.0
        while day <= last:
            for open_min, close_min in self.week[day.weekday()]:
                lo = max(_instant(day, open_min, zone), start_utc)
                hi = min(_instant(day, close_min, zone), end_utc)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def opening_after(self, at: datetime) -> datetime | None:
        """The first opening on a day after `at`'s (its local date), within a week: "until tomorrow's
        opening" (the alerts screen's snooze). `None` when no day of the week opens."""
        _require_aware(at)
        zone = self.zone
        today = at.astimezone(zone).date()
        for offset in range(1, 8):
            day = today + timedelta(days=offset)
            if self.week[day.weekday()]:
                return _instant(day, self.week[day.weekday()][0][0], zone)
        return None


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock minute (1440 is the next midnight)."""
    if minute >= 1440:
        day, minute = day + timedelta(days=1), minute - 1440
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(timezone.utc)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"opening hours need an aware datetime, got naive {moment.isoformat()}")


def _parse_time(text: str, *, end: bool) -> int:
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"bad time {text!r}: write HH:MM, like 09:00")
    hour, minute = int(match[1]), int(match[2])
    if hour == 24 and minute == 0 and end:
        return 1440
    if hour > 23 or minute > 59:
        raise ValueError(f"bad time {text!r}: hours run 00:00 to 23:59 (24:00 only as a closing time)")
    return hour * 60 + minute


def _parse_day(text: str) -> int:
    index = _DAY_INDEX.get(text.strip().casefold())
    if index is None:
        raise ValueError(f"unknown day {text.strip()!r}: use {', '.join(DAYS)}")
    return index


def _parse_days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty day in {text!r}")
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _parse_day(first), _parse_day(last)
            # A wrapping range (Fri-Mon) runs through the weekend.
            span = (b - a) % 7
            days.extend((a + i) % 7 for i in range(span + 1))
        else:
            days.append(_parse_day(part))
    return days


def _parse_ranges(text: str) -> list[Interval]:
    ranges: list[Interval] = []
    for part in text.split(","):
        part = part.strip()
        opens, dash, closes = part.partition("-")
        if not dash:
            raise ValueError(f"bad time range {part!r}: write HH:MM-HH:MM, like 09:00-17:00")
        start, end = _parse_time(opens.strip(), end=False), _parse_time(closes.strip(), end=True)
        if end <= start:
            raise ValueError(f"bad time range {part!r}: closing time must be after opening time")
        ranges.append((start, end))
    return ranges


def _merge(intervals: list[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def parse_hours(text: str, tz: str) -> OpeningHours:
    """Parse `Mon-Fri 09:00-17:00; Sat 10:00-14:00` in timezone `tz`.

    Raises:
        ValueError: a short message saying what is wrong, for the config error line.
    """
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(tz)
    except Exception:
        raise ValueError(f"unknown timezone {tz!r}") from None
    week: list[list[Interval]] = [[] for _ in DAYS]
    groups = [g.strip() for g in text.split(";")]
    if not any(groups):
        raise ValueError("no opening hours given: write e.g. \"Mon-Fri 09:00-17:00\"")
    for group in groups:
        if not group:
            continue
        match = _GROUP.match(group)
        if not match:
            raise ValueError(f"bad opening hours {group!r}: write days then times, like \"Mon-Fri 09:00-17:00\"")
        ranges = _parse_ranges(match["times"])
        for day in _parse_days(match["days"]):
            week[day].extend(ranges)
    return OpeningHours(text=text.strip(), timezone=tz, week=tuple(_merge(day) for day in week))
