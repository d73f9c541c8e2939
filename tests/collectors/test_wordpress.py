"""The WordPress collector: real recorded payloads, then a fake site in WordPress's REST
shapes (paging headers, `after=` in site-local time, `_embed=wp:term`, approved comments
only) polled through `twoway collect --once`, with every expected metric worked out here
from the scenario by hand (SPEC §2–§3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import Stage, collect_once, played, snapshot_json, write_config
from tests.fakes import UTC, realdata
from tests.fakes.wordpress import GOALS, LIBRARY, NOW, WORDPRESS, Site, ago, serve, source, thread_reads
from tests.replay import replay_server
from twoway.collectors.wordpress import comment_author, comment_post, post_record
from twoway.plugin.text import html_to_text

# -- real recorded payloads ---------------------------------------------------------------


def test_posts_list_from_a_real_site() -> None:
    posts = [post_record(p) for p in realdata("wordpress", "posts-list.json")]
    assert [p.id for p in posts] == ["1", "83", "112"]
    assert {p.author_id for p in posts} == {"user:1"}
    first = posts[0]
    assert first.created_at == datetime(2019, 3, 11, 11, 46, 53, tzinfo=UTC)
    assert first.url == "http://frontity.test/hello-world/"
    assert first.text == (
        "Hello world!\nWelcome to WordPress. This is your first post. Edit or delete it, then start writing!"
    )
    assert (first.parent_id, first.root_id, first.hashtags, first.links) == (None, None, (), ())
    # tags 17, 13, 19 come from `_embedded["wp:term"]`: the name without spaces, then the slug
    assert posts[1].hashtags[:2] == ("Aidautemetesseidadipisci", "a-id-autem-et-esse-id-adipisci")
    assert len(posts[1].hashtags) == 6
    assert posts[1].text.startswith("Veniam reiciendis esse aliquid\nOdio tenetur qui veniam.")
    assert "<" not in posts[2].text and posts[2].created_at == datetime(2019, 1, 9, 13, 14, 41, tzinfo=UTC)


def test_single_post_with_embedded_terms_and_links() -> None:
    post = post_record(realdata("wordpress", "post-60.json"))
    assert (post.id, post.author_id) == ("60", "user:4")
    assert post.created_at == datetime(2016, 11, 25, 18, 31, 11, tzinfo=UTC)  # date_gmt, not the local `date`
    assert post.text.startswith("The Beauties of Gullfoss\nGullfoss is a waterfall located in the canyon of the Hvítá")
    assert "“staircase”" in post.text and "<a" not in post.text and "&#8220;" not in post.text
    assert post.hashtags[:4] == ("Gullfoss", "Iceland", "Nature", "Waterfall")  # name and slug differ only in case
    assert post.links[:3] == (
        "https://en.wikipedia.org/wiki/Gullfoss",
        "https://demo.worona.org/iceland/",
        "https://demo.worona.org/sample-page/",
    )
    assert not any("youtube.com/embed" in link for link in post.links)  # an iframe is not a link


def test_comments_of_post_60_staff_answering_a_guest() -> None:
    by_id = {c.id: c for c in map(comment_post, realdata("wordpress", "post-60-comments.json"))}
    answer, guest, member = by_id["comment-129"], by_id["comment-124"], by_id["comment-5"]
    assert (answer.author_id, answer.parent_id, answer.root_id) == ("user:4", "comment-124", "60")
    assert answer.created_at == datetime(2019, 2, 8, 15, 28, 33, tzinfo=UTC)
    assert answer.text == "Hola Mario"
    assert (guest.author_id, guest.parent_id, guest.root_id) == (
        "guest:Mario:a850f5724ad7ea03941081972841a04a",
        "60",
        "60",
    )
    assert guest.url == "https://test.frontity.org/2016/the-beauties-of-gullfoss/comment-page-1/#comment-124"
    assert (member.author_id, member.parent_id) == ("user:2", "60")
    assert member.text == "Nice post, Alan! Iceland must be amazing. Thanks for sharing 🙂"


def test_single_comment_matches_the_listed_one() -> None:
    single = comment_post(realdata("wordpress", "comment-5.json"))
    listed = next(c for c in realdata("wordpress", "post-60-comments.json") if c["id"] == 5)
    assert single == comment_post(listed)
    assert single.created_at == datetime(2017, 1, 13, 16, 10, 43, tzinfo=UTC)


def test_guests_without_an_avatar_hash_and_html_details() -> None:
    embedded = realdata("wordpress", "posts-list.json")[0]["_embedded"]["replies"][0][0]  # avatars disabled: `avatar/?s=24`
    assert comment_author(embedded) == "guest:A WordPress Commenter:"
    text, links = html_to_text(
        '<p>See <a href="/events/">events</a> &amp; #SummerReading<script>x()</script></p>',
        "https://blog.example/post/",
    )
    assert (text, links) == ("See events & #SummerReading", ("https://blog.example/events/",))


# -- the scenario, on a fake WordPress site (tests/fakes/wordpress.py) -------------------------


site = played(WORDPRESS)


def _goal(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in snapshot["goals"] if g["name"] == name)


def test_scenario_backfill_and_changes(site: Stage[Site]) -> None:
    server, config, monkeypatch = site.server, site.config, site.monkeypatch

    # the backfill
    assert collect_once(config) == (0, "")
    assert len(server.requests("/wp-json/wp/v2/posts")) == 2  # 115 posts, 100 a page
    first = snapshot_json(config)
    m = _goal(first, "Summer reading")["metrics"]
    # broadcasts in the last 30 days: 501 (tag), 502 and 503 (keyword); 504 "Book sale" does not match
    assert m["broadcast"] == 3
    # community: 501 Ann x2, Sam, Bob, Dee (under the self-thread comment 1000); 502 Cara x2; 503 Gus
    assert m["replies"] == 8
    assert m["mentions"] is None and m["community_messages"] == 8
    # 1002→Ann, 1004 (Jane, staff by `also`)→Ann, 1007 and 1008→Bob, 1011→Cara; 1000 is the self-thread
    assert (m["responses"], m["answered"], m["unanswered"]) == (5, 4, 4)
    assert m["two_way"] == 13
    assert m["voices"] == 6  # Ann, Sam, Bob, Dee, Cara, Gus
    # first responses: Ann 2h, Ann 1h, Bob 3h (1007, not 1008), Cara 1h → 1h 1h 2h 3h
    assert m["median_response_seconds"] == (3600 + 7200) / 2
    assert m["p90_response_seconds"] == 10800
    assert m["conversation_rate"] == pytest.approx(8 / 3) and m["response_rate"] == 0.5
    assert (m["likes"], m["reposts"], m["quotes"]) == (None, None, None)
    unavailable = _goal(first, "Summer reading")["unavailable"]
    assert unavailable["mentions"] == ["blog"] and unavailable["likes"] == ["blog"]
    b = _goal(first, "Summer reading")["baseline"]
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"]) == (1, 1, 1, 3600)
    # routine posts at 1.25 + 0.5 i days: i = 0..57 are inside 30 days, i = 58..109 in the baseline
    everything = _goal(first, "Everything")
    assert everything["metrics"]["broadcast"] == 58 + 4  # + 501..504
    assert everything["baseline"]["broadcast"] == 52 + 1  # + 505
    assert first["sources"][0]["status"] == "ok" and first["sources"][0]["followers"] is None

    # changes: a new reply to Jane's response, a post deleted, a post edited, a deep
    # reply under Ann's community reply approved late (dated two days ago)
    site.world.comment(1050, 501, 1004, "Finn", NOW + timedelta(minutes=10))
    del site.world.posts[503]
    site.world.posts[504]["title"]["rendered"] = "Book sale for #SummerReading"
    site.world.comment(1040, 501, 1003, "Eve", ago(days=2))
    monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=30)).isoformat())
    server.reset_log()
    assert collect_once(config) == (0, "")
    assert thread_reads(server) == []  # the new reply came with the recent-comments query
    m = _goal(snapshot_json(config), "Summer reading")["metrics"]
    # 503 and Gus gone; 504 matches now; Finn waits; Eve not seen yet
    assert (m["broadcast"], m["replies"], m["responses"], m["answered"], m["unanswered"]) == (3, 8, 5, 4, 4)
    assert _goal(snapshot_json(config), "Everything")["metrics"]["broadcast"] == 58 + 3  # 503 is gone
    assert m["voices"] == 6  # Ann, Sam, Bob, Dee, Cara, Finn

    # a response trashed; thread_refresh (1h) is due two hours after the backfill
    del site.world.comments[1008]
    monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(hours=2)).isoformat())
    server.reset_log()
    assert collect_once(config) == (0, "")
    assert len(thread_reads(server)) == 2  # every recent thread, 100 posts a query
    m = _goal(snapshot_json(config), "Summer reading")["metrics"]
    # Eve found; 1008 gone: Bob is still answered by 1007 (3h), one response fewer
    assert (m["replies"], m["responses"], m["answered"], m["unanswered"]) == (9, 4, 4, 5)
    assert m["voices"] == 7 and m["median_response_seconds"] == 5400


def test_a_comment_answering_one_never_seen_reads_that_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site()
    with replay_server() as server:
        serve(server, site)
        site.post(1, LIBRARY, ago(days=3), "Storytime")
        site.comment(10, 1, 0, "Ann", ago(days=3, hours=-1))
        config = write_config(tmp_path, source(server.url), GOALS, dashboard='thread_refresh = "6h"')
        monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
        assert collect_once(config) == (0, "")
        # Bob's question is approved late (dated two days ago); the answer to it is new
        site.comment(11, 1, 10, "Bob", ago(days=2))
        site.comment(12, 1, 11, LIBRARY, NOW + timedelta(minutes=5))
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=10)).isoformat())
        server.reset_log()
        assert collect_once(config) == (0, "")
        assert [r.arg("post") for r in thread_reads(server)] == ["1"]
        m = _goal(snapshot_json(config), "Everything")["metrics"]
        assert (m["replies"], m["responses"], m["answered"]) == (2, 1, 1)  # Ann, Bob; Bob answered
