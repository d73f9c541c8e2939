"""LinkedIn Page analytics, Content export (XLS or XLSX): the "All posts" sheet.

Page admin → Analytics → Content → Export gives a workbook with a daily "Metrics" sheet
(totals by day: no posts, ignored) and "All posts": a description line, then `Post title,
Post link, Post type, Campaign name, Posted by, Created date, …, Impressions, Views, Clicks,
…, Likes, Comments, Reposts, Follows, Engagement rate, Content type`. Older files say
`Update title, Update link, Update type` and `Shares`; both are read.

A post's id is the URN in its link (`urn:li:activity:…`, `urn:li:ugcPost:…`,
`urn:li:share:…`), else the link itself, else a hash of the date and the title, so a newer
export updates the same post. `Post title` is the start of the post's text. Comments are
a counter only: the comments are not in the file.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from twoway.model import Batch, Post
from twoway.plugin import table
from twoway.plugin.table import Column, Counted, Row

__all__ = ["LinkedInExportImporter"]

SHEETS = ("All posts", "All updates")
TITLE, LINK, DATE = "Post title", "Post link", "Created date"
COLUMNS = (
    Column(TITLE, ("Update title",)),
    Column(LINK, ("Update link",), required=True),
    Column(DATE, ("Date created", "Created"), required=True),
    Column("Likes", ("Reactions",)),
    Column("Comments"),
    Column("Reposts", ("Shares",)),
)
COUNTED: dict[Counted, str] = {"replies": "Comments", "reposts": "Reposts", "likes": "Likes"}
_URN = re.compile(r"urn:li:(?:activity|ugcPost|share):\d+")


def _post(row: Row) -> Post:
    created, link, title = row.date(DATE), row.text(LINK), row.text(TITLE)
    urn = _URN.search(unquote(link))
    post_id = urn[0] if urn else link or table.stable_id("linkedin", created, title)
    return table.broadcast(post_id, created, url=link, text=title)


class LinkedInExportImporter:
    FORMAT = "linkedin_export"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        rows = table.open_table(path.name, table.load(path), COLUMNS, sheets=SHEETS)
        return table.collect(rows, source_id, platform, now, _post, COUNTED)
