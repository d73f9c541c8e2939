""""Now", injectable: `TWOWAY_NOW` fixes it for tests, the demo and reproducible reports."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from twoway.errors import UsageError

__all__ = ["now"]


def now() -> datetime:
    """The current time as aware UTC, or `TWOWAY_NOW` (ISO-8601; naive means UTC)."""
    fixed = os.environ.get("TWOWAY_NOW", "").strip()
    if not fixed:
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(fixed.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"TWOWAY_NOW: {fixed!r} is not an ISO-8601 time like 2026-06-01T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
