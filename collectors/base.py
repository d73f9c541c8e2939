"""The plugin protocol every collector follows, built-in or third-party.

A collector is built for one source and asked, once per cycle, for everything new
since its stored cursor. It knows nothing of goals, windows or views (SPEC §1): it
only turns one platform's answers into `twoway.model` records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from twoway.model import Batch

__all__ = ["Collector"]


class Collector(Protocol):
    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        """One cycle: the records seen since `cursor` and the new cursor, in one `Batch`.

        Raises:
            Exception: any failure; the scheduler records its one-line message as the
                source's error and keeps the source's stored data untouched.
        """
        ...
