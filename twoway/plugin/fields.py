"""The typed fields every platform's JSON carries, read by one rule each: a counter is an
integer or unknown (never 0, never a bool), and a time is aware UTC or the platform's
answer is refused in one line."""

from __future__ import annotations

from datetime import datetime, timezone

from twoway.plugin.http import FetchError

__all__ = ["utc", "whole"]


def whole(value: object) -> int | None:
    """A counter as the platform sent it; anything but an integer is not observed."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def utc(value: object, platform: str) -> datetime:
    """An ISO 8601 time (`Z`, `+00:00` or Graph's `+0000`; no zone means UTC) as aware UTC.

    Raises:
        FetchError: `"<platform> answered an unreadable time '...'"`.
    """
    text = str(value or "")
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise FetchError(f"{platform} answered an unreadable time {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
