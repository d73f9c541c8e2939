"""Meta Business Suite content exports (Insights → Content → Export data), Facebook and Instagram.

Facebook: `Post ID, Page ID, Page name, Title, Description, Duration (sec), Publish time,
Caption type, Permalink, Post type, …, Date, Views, Reach, Reactions, Comments and Shares,
Reactions, Comments, Shares, Total clicks, …` (one header holds commas: read as one cell).
Instagram: `Post ID, Account ID, Account username, Account name, Description, Duration
(sec), Publish time, Permalink, Post type, …, Views, Reach, Likes, Shares, Follows,
Comments, Saves`. `Publish time` is like `11/10/2025 21:00`, month first, in the exporting
account's time zone, which the file does not say: it is read as UTC.

Ids are the Graph API's, so a later poll of a `facebook` or `instagram` source, or a newer
export, updates the same post: a Facebook post is `<Page ID>_<Post ID>`, an Instagram
post its media id. The author is the page or account the file names. Reactions (Facebook)
or likes (Instagram) are likes, shares are reposts; an Instagram save is a private
bookmark, not a repost, and is not read. Comments are a counter only.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from twoway.model import Batch, Post
from twoway.plugin import table
from twoway.plugin.importer import ORG_AUTHOR
from twoway.plugin.table import Column, Counted, Row

__all__ = ["MetaExportImporter"]

ID, PAGE, ACCOUNT, NAME, LINK, TEXT, DATE = (
    "Post ID", "Page ID", "Account ID", "Page name", "Permalink", "Description", "Publish time"
)
COLUMNS = (
    Column(ID, required=True),
    Column(PAGE),
    Column(ACCOUNT),
    Column(NAME, ("Account username",)),
    Column(LINK),
    Column(TEXT),
    Column(DATE, required=True),
    Column("Reactions", ("Likes",)),
    Column("Comments"),
    Column("Shares"),
)
COUNTED: dict[Counted, str] = {"replies": "Comments", "reposts": "Shares", "likes": "Reactions"}


def _post(row: Row) -> Post:
    post_id = row.post_id(ID, r"\d+(?:_\d+)?")
    page = row.ident(PAGE)
    if page and "_" not in post_id:
        post_id = f"{page}_{post_id}"
    author = page or row.ident(ACCOUNT) or ORG_AUTHOR
    return table.broadcast(post_id, row.date(DATE), url=row.text(LINK), text=row.text(TEXT), author=author)


class MetaExportImporter:
    FORMAT = "meta_export"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        rows = table.open_table(path.name, table.load(path), COLUMNS)
        return table.collect(rows, source_id, platform, now, _post, COUNTED, handle=lambda row: row.text(NAME))
