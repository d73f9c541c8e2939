"""X (Twitter) analytics exports: the classic "Tweet activity" CSV and the current "Post analytics" one.

Classic (`tweet_activity_metrics_<account>_<from>_<to>_en.csv`): `Tweet id, Tweet permalink,
Tweet text, time, impressions, engagements, …, retweets, replies, likes, …`, `time` like
`2024-06-01 10:00 +0000`. Current (`account_analytics_content_<from>_<to>.csv`): `Post id,
Date, Post text, Post Link, Impressions, Likes, Engagements, Bookmarks, Shares, …, Replies,
Reposts, …`, `Date` like `"Tue, Jul 14, 2026"`. Both are read by the same names (old and new).

The id is the post id the API uses, so a later poll of an `x` source, or a newer export,
updates the same post. The export lists the account's replies too, told apart only by a
text starting with `@`: those rows are skipped (they answer someone, they are not
broadcasts, and the file does not say to whom), and so are retweets (`RT @…`). `Shares`
(sent by DM, link copied) are not reposts and are not read.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from twoway.model import Batch, Post
from twoway.plugin import table
from twoway.plugin.table import Column, Counted, Row

__all__ = ["XExportImporter"]

ID, LINK, TEXT, DATE = "Tweet id", "Tweet permalink", "Tweet text", "time"
COLUMNS = (
    Column(ID, ("Post id",), required=True),
    Column(LINK, ("Post Link", "Post permalink")),
    Column(TEXT, ("Post text",)),
    Column(DATE, ("Date",), required=True),
    Column("replies"),
    Column("retweets", ("Reposts",)),
    Column("likes"),
)
COUNTED: dict[Counted, str] = {"replies": "replies", "reposts": "retweets", "likes": "likes"}


def _post(row: Row) -> Post | None:
    text = row.text(TEXT)
    if text.startswith(("@", "RT @")):
        return None
    post_id = row.post_id(ID, r"\d+", link=LINK, in_link=r"/status(?:es)?/(\d+)")
    url = row.text(LINK) or f"https://x.com/i/status/{post_id}"
    return table.broadcast(post_id, row.date(DATE), url=url, text=text)


class XExportImporter:
    FORMAT = "x_export"

    def read(self, path: Path, source_id: str, platform: str, now: datetime) -> Batch:
        rows = table.open_table(path.name, table.load(path), COLUMNS)
        return table.collect(rows, source_id, platform, now, _post, COUNTED)
