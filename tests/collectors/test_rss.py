"""The RSS/Atom collector: real feed fixtures, and a blog served by a replay server.

A feed has no mentions, reposts, quotes, likes, self-threads or followers; the scenario
covers what a blog does have: paged entries over 60 days, threaded comment feeds,
staff answers with known delays, an edited and a deleted entry, ETag/304 answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import Stage, collect_once, played, snapshot_json
from tests.fakes import realdata_bytes
from tests.fakes.rss import NOW, RSS, Blog, Comment, ago
from twoway.collectors.rss import (
    comment_feed,
    comment_posts,
    feed_authors,
    feed_posts,
    parse_feed,
    plain_text,
    vanished,
)
from twoway.plugin.http import FetchError

# -- real feed fixtures (feedparser's test suite, BSD-2-Clause) ---------------------------


def test_rss2_item_with_comment_feed() -> None:
    parsed = parse_feed(realdata_bytes("rss", "rss2_with_wfw_commentRss.xml"), "http://feeds.delicious.com/v2/rss/wearehugh")
    [item] = feed_posts(parsed, "feed:x", "http://feeds.delicious.com/v2/rss/wearehugh")
    post = item.post
    assert post.id == "http://delicious.com/url/174603f9d836a1aafac49e28ace1c19e#wearehugh"
    assert post.author_id == "feed:x" and post.parent_id is None
    assert post.created_at == datetime(2009, 12, 25, 3, 30, 22, tzinfo=timezone.utc)
    assert post.text == "rsync and vfat | Geek at Play"
    assert post.hashtags == ("rsync", "vfat", "windows", "linux", "mount")
    assert post.links == ("http://www.kylev.com/2005/03/29/rsync-and-vfat/",)
    assert item.comments == "http://feeds.delicious.com/v2/rss/url/174603f9d836a1aafac49e28ace1c19e"
    assert item.replies is None  # no slash:comments in this feed
    assert feed_authors(parsed) == {"wearehugh"}


def test_atom_comment_with_thread_in_reply_to() -> None:
    parsed = parse_feed(realdata_bytes("rss", "atom_threading_entry.xml"), "http://salmon-test.blogspot.com/feeds/comments")
    root = "tag:blogger.com,1999:blog-893591374313312737.post-3861663258538857954"
    [(comment, updated)] = comment_posts(parsed, root, org_names=set())
    assert comment.id == "tag:blogger.com,1999:blog-893591374313312737.post-4788628857625737701"
    # a community commenter is told apart by name and profile uri
    assert comment.author_id == "name:john <http://www.blogger.com/profile/12344017489797258795>"
    assert (comment.parent_id, comment.root_id) == (root, root)  # thr:in-reply-to ref
    assert comment.created_at == updated == datetime(2009, 12, 9, 0, 59, 2, tzinfo=timezone.utc)  # -08:00 to UTC
    assert comment.text == "bloffo bliff by te..."
    assert comment.links == ("http://example.org/profile/te...",)
    assert comment.url.endswith("#c4788628857625737701")
    # the blog's own author name makes the same comment the organization's
    [(by_org, _)] = comment_posts(parsed, root, org_names={"john"})
    assert by_org.author_id == "name:john"
    assert feed_authors(parsed) == {"John"}


def test_relative_comment_feed_resolves_against_the_feed_url() -> None:
    parsed = parse_feed(realdata_bytes("rss", "rss_item_wfw_commentRSS_relative.xml"), "http://127.0.0.1:8097/blog/feed/")
    assert comment_feed(parsed.entries[0], "http://127.0.0.1:8097/blog/feed/") == "http://127.0.0.1:8097/relative/uri"
    assert comment_feed({"wfw_commentrss": "c/1/feed/"}, "http://h.example/blog/feed/") == (
        "http://h.example/blog/feed/c/1/feed/"
    )
    assert feed_posts(parsed, "feed:x", "http://127.0.0.1:8097/blog/feed/") == []  # undated: cannot be placed


def test_atom_entry_with_replies_link_and_count() -> None:
    body = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
    <title>T</title><id>urn:feed</id><updated>2026-06-02T10:00:00Z</updated><author><name>Riverside Library</name></author>
    <entry><id>urn:e1</id><title type="html">Fish &amp;amp; chips</title>
    <published>2026-06-01T10:00:00+02:00</published><updated>2026-06-02T10:00:00Z</updated>
    <link rel="alternate" href="/e1"/><link rel="replies" type="text/html" href="/e1#comments" thr:count="5"/>
    <link rel="replies" type="application/atom+xml" href="/e1/comments/feed/atom/" thr:count="5"/>
    <category term="Summer Reading"/><content type="html">&lt;p&gt;See &lt;a href="/events"&gt;events&lt;/a&gt;&lt;/p&gt;</content>
    </entry></feed>"""
    parsed = parse_feed(body, "https://b.example/feed/atom/", "application/atom+xml")
    [item] = feed_posts(parsed, "feed:x", "https://b.example/feed/atom/")
    assert item.post.id == "urn:e1" and item.post.text == "Fish & chips\n\nSee events"
    assert item.post.created_at == datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)  # published, in UTC
    assert item.updated == datetime(2026, 6, 2, 10, 0, tzinfo=timezone.utc)
    assert item.post.hashtags == ("SummerReading",)
    assert item.post.links == ("https://b.example/events", "https://b.example/e1")
    assert (item.replies, item.comments) == (5, "https://b.example/e1/comments/feed/atom/")
    assert feed_authors(parsed) == {"Riverside Library"}


def test_plain_text_and_links() -> None:
    text, links = plain_text(
        '<p>Hello <b>world</b> &amp; all</p><p><a href="https://a.example/x">a</a>'
        '<a href="javascript:alert(1)">b</a></p>'
    )
    assert text == "Hello world & all\nab"
    assert links == ("https://a.example/x",)


def test_html_instead_of_a_feed_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="answered an HTML page, not an RSS or Atom feed"):
        parse_feed(b"<!DOCTYPE html><html><body>Maintenance</body></html>", "http://h.example/feed/")


def test_vanished_only_judges_what_the_feed_still_covers() -> None:
    present = {"new": [300.0, 300.0], "old": [100.0, 100.0]}
    known = {"gone": [200.0, 200.0], "fell-off": [50.0, 50.0], "old": [100.0, 100.0]}
    assert vanished(known, present) == ["gone"]
    # ordered by update time: an early post updated late keeps "fell-off" from being judged
    assert vanished({"fell-off": [150.0, 150.0]}, {"new": [300.0, 300.0], "early": [10.0, 400.0]}) == []
    assert vanished(known, {}) == []


# -- the blog scenario, on a replay server (tests/fakes/rss.py) --------------------------------


blog = played(RSS)


def _metrics(config: Path, name: str = "All") -> dict[str, Any]:
    return next(g for g in snapshot_json(config)["goals"] if g["name"] == name)


def test_blog_metrics_from_feed_and_comment_feeds(blog: Stage[Blog]) -> None:
    b, server, config = blog.world, blog.server, blog.config
    assert collect_once(config) == (0, "")
    # every page of the feed back past the 60-day horizon, then every comment feed within it
    assert [r.arg("paged", "1") for r in server.requests("/feed")] == ["1", "2", "3"]
    assert sorted(r.path for r in server.requests("/comments/")) == [
        f"/comments/{n}/feed/" for n in (1, 2, 3, 4, 5, 6, 7)
    ]

    # entry 5 is deleted (it is newer than the oldest entry the feed still shows), entry 4 edited
    b.entries.remove(b.entry(5))
    b.entry(4).title = "Book sale for summer reading"
    assert collect_once(config) == (0, "")

    goal = _metrics(config)
    m = goal["metrics"]
    # window: broadcasts 1-4 (5 deleted with its thread; 6, 7 in the baseline; 8 beyond the horizon)
    assert m["broadcast"] == 4
    # community comments: 11, 13 (a reply to the author's answer), 21, 23 (depth 2), 31, 41
    assert m["replies"] == 6
    # answers: 12 by the entry author to 11 after 2 h, 22 by staff (also) to 21 after 1 h,
    # 24 by the entry author to 23 after 4 h
    assert (m["responses"], m["answered"], m["unanswered"]) == (3, 3, 3)
    assert m["median_response_seconds"] == 2 * 3600
    assert m["p90_response_seconds"] == 4 * 3600  # nearest rank: ceil(0.9 * 3) = 3rd of 1 h, 2 h, 4 h
    assert m["voices"] == 5  # alice (twice), bob, carol, dave, erin
    assert m["mentions"] is None  # a feed cannot show mentions
    assert m["community_messages"] == 6 and m["two_way"] == 6 + 3
    assert m["conversation_rate"] == 6 / 4 and m["response_rate"] == 3 / 6
    assert m["likes"] is None and m["reposts"] is None and m["quotes"] is None
    assert goal["unavailable"]["likes"] == ["blog"] and goal["unavailable"]["mentions"] == ["blog"]
    base = goal["baseline"]
    # baseline: entries 6 and 7; gina's question answered after 9 h - 1 h = 8 h
    assert (base["broadcast"], base["replies"], base["responses"]) == (2, 1, 1)
    assert base["median_response_seconds"] == 8 * 3600

    summer = _metrics(config, "Summer")["metrics"]
    # entry 1 by its category and title, entry 4 by its edited title; their comments: 11, 13, 41
    assert (summer["broadcast"], summer["replies"], summer["responses"]) == (2, 3, 1)
    assert summer["median_response_seconds"] == 2 * 3600
    assert _source(config)["status"] == "ok" and _source(config)["followers"] is None


def test_unthreaded_comment_feeds_measure_replies_but_not_responses(blog: Stage[Blog]) -> None:
    b, config = blog.world, blog.config
    b.threaded = False
    assert collect_once(config) == (0, "")
    goal = _metrics(config)
    # every comment now answers its entry: the seven community comments of entries 1-5 are replies,
    # and no staff comment can be seen answering one
    assert goal["metrics"]["replies"] == 7
    assert goal["metrics"]["responses"] is None and goal["metrics"]["median_response_seconds"] is None
    assert goal["unavailable"]["responses"] == ["blog"]


def _source(config: Path) -> dict[str, Any]:
    source: dict[str, Any] = snapshot_json(config)["sources"][0]
    return source


def test_steady_state_reads_only_moved_or_due_threads(blog: Stage[Blog]) -> None:
    b, server, config, monkeypatch = blog.world, blog.server, blog.config, blog.monkeypatch
    assert collect_once(config) == (0, "")
    before = _metrics(config)["metrics"]

    # a community reply to the author's answer under entry 1 moves its slash:comments
    b.entry(1).comments.append(Comment(14, "henry", ago(1, hours=10), "See you there", parent=12))
    server.reset_log()
    assert collect_once(config) == (0, "")
    assert [r.path for r in server.requests("/comments/")] == ["/comments/1/feed/"]
    after = _metrics(config)["metrics"]
    assert after["replies"] == before["replies"] + 1 and after["unanswered"] == before["unanswered"] + 1

    # a reply deep under entry 3, whose feed item has no counter: nothing moves, nothing is read...
    b.entry(3).comments.append(Comment(32, "ivan", ago(6, hours=5), "Same question", parent=31))
    server.reset_log()
    assert collect_once(config) == (0, "")
    assert server.requests("/comments/") == []
    assert _metrics(config)["metrics"]["replies"] == after["replies"]

    # ...until thread_refresh (1 h) is due: every recent thread is re-read whole, never answered by a 304
    # (WordPress's comment feeds carry the site's newest comment's validators: tests/real/test_wordpress.py)
    monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(hours=2)).isoformat())
    server.reset_log()
    b.statuses.clear()
    assert collect_once(config) == (0, "")
    assert sorted(r.path for r in server.requests("/comments/")) == [
        f"/comments/{n}/feed/" for n in (1, 2, 3, 4, 5, 6, 7)
    ]
    assert ("/comments/3/feed/", 200) in b.statuses and ("/comments/1/feed/", 200) in b.statuses
    assert not any(path.startswith("/comments/") and status == 304 for path, status in b.statuses)
    assert _metrics(config)["metrics"]["replies"] == after["replies"] + 1
