"""Pinterest Analytics exports (Analytics → Export CSV, Pin-level tables).

Pinterest documents its metric names (Impressions, Engagements, Pin clicks, Outbound
clicks, Saves, …) but not the export's exact header, which has changed with the analytics
pages; so the pin's columns are matched by the names seen in exports and the API:
`Pin ID` or the pin's address (`Pin URL`, `Pin link`, `URL`: the id is read from `/pin/<id>`;
a link elsewhere is the pin's destination, kept for goals' link filters),
`Pin title`/`Title`, `Pin description`/`Description`, the pin's creation date (`Created
at`, `Pin created at`, `Pin created date`, `Created date`, `Date`, `Published`), and
`Saves`, `Reactions`, `Comments` where the file has them. Title lines above the header
and a `Total` row are skipped.

A save puts the pin on someone's board, so saves are reposts. Reactions are likes and
comments a counter only (the comments are not in the file); impressions and clicks are
not engagement twoway measures.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from twoway.model import Batch, Post
from twoway.plugin import table
from twoway.plugin.table import Column, Counted, Row

__all__ = ["PinterestExportImporter"]

ID, LINK, TITLE, DESCRIPTION, DATE = "Pin ID", "Pin URL", "Pin title", "Pin description", "Created at"
COLUMNS = (
    Column(ID),
    Column(LINK, ("Pin link", "Pin permalink", "Permalink", "URL", "Link")),
    Column(TITLE, ("Title",)),
    Column(DESCRIPTION, ("Description",)),
    Column(DATE, ("Pin created at", "Pin created date", "Pin created", "Created date", "Date", "Published",
                  "Publish date"), required=True),
    Column("Saves"),
    Column("Reactions"),
    Column("Comments"),
)
COUNTED: dict[Counted, str] = {"replies": "Comments", "reposts": "Saves", "likes": "Reactions"}


_PIN = r"pinterest\.[a-z.]+/pin/(\d+)"


def _post(row: Row) -> Post:
    post_id = row.post_id(ID, r"\d+", link=LINK, in_link=_PIN)
    text = "\n".join(t for t in (row.text(TITLE), row.text(DESCRIPTION)) if t)
    link = row.text(LINK)
    if re.search(_PIN, link):
        return table.broadcast(post_id, row.date(DATE), url=link, text=text)
    # a link elsewhere is where the pin leads (the API calls it the pin's `link`): goals match it
    url = f"https://www.pinterest.com/pin/{post_id}/"
    return table.broadcast(post_id, row.date(DATE), url=url, text=text, links=(link,) if link else ())


class PinterestExportImporter:
    FORMAT = "pinterest_export"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        rows = table.open_table(path.name, table.load(path), COLUMNS)
        return table.collect(rows, source_id, platform, now, _post, COUNTED)
