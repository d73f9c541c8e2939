"""YouTube Studio analytics exports: Advanced mode → Export current view → CSV, a ZIP.

The archive holds `Table data.csv` (one row per video: `Content, Video title, Video
publish time, Duration, …` then the chosen metrics, e.g. `Views, …, Likes, Comments
added, Shares, …`, with a `Total` row first), `Chart data.csv` and `Totals.csv` (daily
and overall sums: no videos, ignored). `Table data.csv` on its own, unzipped, is read too.

`Content` is the video id the API uses (sometimes after a space), so a later poll of a
`youtube` source, or a newer export, updates the same video. The metrics count what
happened in the date range of the view exported: choose "Lifetime" to have the videos'
counters. Likes are likes, shares reposts, comments added a counter only (the comments
are not in the file).
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path, PurePosixPath

from twoway.model import Batch, Post
from twoway.plugin import table
from twoway.plugin.importer import ImportFailed
from twoway.plugin.table import Column, Counted, Row

__all__ = ["YouTubeExportImporter"]

MEMBER = "Table data.csv"
MAX_MEMBER_BYTES = 64_000_000
"""A table of a few thousand videos is well under this; a larger member is no Studio export."""
ID, TITLE, DATE = "Content", "Video title", "Video publish time"
COLUMNS = (
    Column(ID, ("Video",), required=True),
    Column(TITLE),
    Column(DATE, ("Publish time",), required=True),
    Column("Likes"),
    Column("Comments added", ("Comments",)),
    Column("Shares"),
)
COUNTED: dict[Counted, str] = {"replies": "Comments added", "reposts": "Shares", "likes": "Likes"}


def _post(row: Row) -> Post:
    video = row.post_id(ID, r"[A-Za-z0-9_-]{11}")
    return table.broadcast(video, row.date(DATE), url=f"https://www.youtube.com/watch?v={video}",
                           text=row.text(TITLE))


def _table_data(path: Path, data: bytes) -> tuple[bytes, str]:
    """`Table data.csv` from the archive, and how messages name it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise ImportFailed(f"{path.name}: not a readable ZIP archive: {e}") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        member = next((m for m in members if PurePosixPath(m.filename).name.casefold() == MEMBER.casefold()), None)
        if member is None:
            listed = ", ".join(repr(m.filename) for m in members[:8]) or "nothing"
            raise ImportFailed(f"{path.name}: no {MEMBER!r} in the archive (it holds {listed})")
        if member.file_size > MAX_MEMBER_BYTES:
            raise ImportFailed(f"{path.name}: {member.filename!r} is {member.file_size} bytes, too large for an export")
        try:
            return archive.read(member), f"file {member.filename!r}"
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ImportFailed(f"{path.name}: cannot read {member.filename!r}: {e}") from None


class YouTubeExportImporter:
    FORMAT = "youtube_export"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        data = table.load(path)
        part = None
        if zipfile.is_zipfile(io.BytesIO(data)):
            data, part = _table_data(path, data)
        rows = table.open_table(path.name, data, COLUMNS, part=part)
        return table.collect(rows, source_id, platform, now, _post, COUNTED)
