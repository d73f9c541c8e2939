"""The protocol every importer follows, built-in or third-party (SPEC §6).

An importer reads one file into one `twoway.model.Batch` for one source. It reads the
whole file before returning, so a broken file raises `ImportFailed` and nothing is
stored; its message is one line naming the file and, where one is wrong, the row and
the column.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from twoway.errors import TwowayError

if TYPE_CHECKING:
    from twoway.model import Batch

__all__ = ["ORG_AUTHOR", "ImportFailed", "Importer"]

ORG_AUTHOR = "import:org"
"""The author id of the organization's own records when a file names no account."""


class ImportFailed(TwowayError):
    """The file cannot be imported; the message is the whole story, on one line."""

    exit_code = 1


class Importer(Protocol):
    FORMAT: str
    """The name `--format` and the entry point use."""

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        """The file's records as one `Batch` polled at `now` (counters observed then).

        Raises:
            ImportFailed: the file is unreadable or a row is wrong; nothing is returned.
        """
        ...
