"""The WordPress collector: real recorded payloads, then a fake site in WordPress's REST
shapes (paging headers, `after=` in site-local time, `_embed=wp:term`, approved comments
only) polled through `twoway collect --once`, with every expected metric worked out here
from the scenario by hand (SPEC §2–§3)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from twoway.plugin.text import html_to_text
from twoway.collectors.wordpress import comment_author, comment_post, post_record
from tests.collecting import collect_once, fake_sleep, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "wordpress"
UTC = timezone.utc


def _realdata(name: str) -> Any:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"recorded WordPress payload {path} is absent (shared/realdata not checked out)")
    return json.loads(path.read_text(encoding="utf-8"))


# -- real recorded payloads ---------------------------------------------------------------


def test_posts_list_from_a_real_site() -> None:
    posts = [post_record(p) for p in _realdata("posts-list.json")]
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
    post = post_record(_realdata("post-60.json"))
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
    by_id = {c.id: c for c in map(comment_post, _realdata("post-60-comments.json"))}
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
    single = comment_post(_realdata("comment-5.json"))
    listed = next(c for c in _realdata("post-60-comments.json") if c["id"] == 5)
    assert single == comment_post(listed)
    assert single.created_at == datetime(2017, 1, 13, 16, 10, 43, tzinfo=UTC)


def test_guests_without_an_avatar_hash_and_html_details() -> None:
    embedded = _realdata("posts-list.json")[0]["_embedded"]["replies"][0][0]  # avatars disabled: `avatar/?s=24`
    assert comment_author(embedded) == "guest:A WordPress Commenter:"
    text, links = html_to_text(
        '<p>See <a href="/events/">events</a> &amp; #SummerReading<script>x()</script></p>',
        "https://blog.example/post/",
    )
    assert (text, links) == ("See events & #SummerReading", ("https://blog.example/events/",))


# -- a fake WordPress site ------------------------------------------------------------------

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
SITE_OFFSET = timedelta(hours=2)
"""The site's local time is UTC+2: `date` and `after=` are local, `date_gmt` is UTC."""
LIBRARY, MARIA, JANE, SAM = 1, 2, 7, 9
"""Listed authors: library, maria. Jane is staff (`also`) without posts; Sam a subscriber."""
NAMES = {LIBRARY: "Riverside Library", MARIA: "Maria", JANE: "Jane", SAM: "Sam"}


def _wp_time(moment: datetime, local: bool = False) -> str:
    return (moment + SITE_OFFSET if local else moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _avatar(name: str) -> dict[str, str]:
    digest = hashlib.md5(name.encode()).hexdigest()  # Gravatar hashes the e-mail; a name stands in
    return {s: f"https://secure.gravatar.com/avatar/{digest}?s={s}&d=mm&r=g" for s in ("24", "48", "96")}


@dataclass
class Site:
    """Published posts and approved comments, served with WordPress's paging and filters."""

    base: str = ""
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    broken: Reply | None = None

    def post(self, pid: int, author: int, at: datetime, title: str, html: str = "", tags: tuple[str, ...] = ()) -> None:
        self.posts[pid] = {
            "id": pid,
            "date": _wp_time(at, local=True),
            "date_gmt": _wp_time(at),
            "status": "publish",
            "type": "post",
            "link": f"{self.base}/?p={pid}",
            "title": {"rendered": title},
            "content": {"rendered": html or f"<p>{title}</p>\n", "protected": False},
            "author": author,
            "tags": [100 + i for i, _ in enumerate(tags)],
            "comment_status": "open",
            "_tags": tags,
        }

    def comment(self, cid: int, pid: int, parent: int, who: str | int, at: datetime, html: str = "<p>Hi</p>") -> None:
        name = NAMES[who] if isinstance(who, int) else who
        self.comments[cid] = {
            "id": cid,
            "post": pid,
            "parent": parent,
            "author": who if isinstance(who, int) else 0,
            "author_name": name,
            "author_url": "",
            "date": _wp_time(at, local=True),
            "date_gmt": _wp_time(at),
            "content": {"rendered": html},
            "link": f"{self.base}/?p={pid}#comment-{cid}",
            "status": "approved",
            "type": "comment",
            "author_avatar_urls": _avatar(str(name)),
        }

    def _page(self, items: list[dict[str, Any]], request: Request) -> Reply:
        if self.broken is not None:
            return self.broken
        per_page = int(request.arg("per_page", "10") or 10)
        page = int(request.arg("page", "1") or 1)
        if per_page > 100:
            return json_reply(
                {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page", "data": {"status": 400}},
                400,
            )
        pages = max(1, -(-len(items) // per_page))
        if page > pages:
            return json_reply(
                {
                    "code": "rest_post_invalid_page_number",
                    "message": "The page number requested is larger than the number of pages available.",
                    "data": {"status": 400},
                },
                400,
            )
        headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
        return json_reply(items[(page - 1) * per_page : page * per_page], headers=headers)

    def users(self, request: Request) -> Reply:
        listed = [(LIBRARY, "library", "Riverside Library"), (MARIA, "maria", "Maria")]  # authors of published posts
        return self._page(
            [{"id": i, "name": n, "slug": s, "link": f"{self.base}/author/{s}/"} for i, s, n in listed], request
        )

    def list_posts(self, request: Request) -> Reply:
        after = request.arg("after") or ""
        chosen = sorted((p for p in self.posts.values() if p["date"] > after), key=lambda p: p["date"], reverse=True)
        items = []
        for raw in chosen:
            item = {k: v for k, v in raw.items() if k != "_tags"}
            if request.arg("_embed") is not None:
                terms = [
                    {"id": 100 + i, "name": t, "slug": t.lower().replace(" ", "-"), "taxonomy": "post_tag"}
                    for i, t in enumerate(raw["_tags"])
                ]
                item["_embedded"] = {
                    "wp:term": [[{"id": 1, "name": "News", "slug": "news", "taxonomy": "category"}], terms]
                }
            items.append(item)
        return self._page(items, request)

    def list_comments(self, request: Request) -> Reply:
        posts = {int(p) for p in (request.arg("post") or "").split(",") if p}
        after = request.arg("after") or ""
        chosen = [c for c in self.comments.values() if c["post"] in posts and c["date"] > after]
        return self._page(sorted(chosen, key=lambda c: c["date"], reverse=True), request)


def _serve(server: ReplayServer, site: Site) -> None:
    site.base = server.url
    server.route("GET", "/wp-json/wp/v2/users", site.users)
    server.route("GET", "/wp-json/wp/v2/posts", site.list_posts)
    server.route("GET", "/wp-json/wp/v2/comments", site.list_comments)


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def build(site: Site) -> None:
    """The scenario; comments are placed in hours after their post (`t`)."""
    # 110 routine posts, one every 12 hours from 1.25 to 55.75 days ago: two pages of posts
    for i in range(110):
        site.post(2000 + i, LIBRARY, ago(days=1.25 + 0.5 * i), f"Opening hours update {i}")

    t = ago(days=20)
    site.post(
        501,
        LIBRARY,
        t,
        "Summer Reading kickoff",
        '<p>Log your books at <a href="https://library.example.org/summer/">our page</a>.</p>',
        tags=("Summer Reading",),
    )
    site.comment(1000, 501, 0, LIBRARY, t + timedelta(minutes=10), "<p>Update: prizes announced!</p>")  # self-thread
    site.comment(1001, 501, 0, "Ann", t + timedelta(hours=1), "<p>Can kids join?</p>")
    site.comment(1002, 501, 1001, LIBRARY, t + timedelta(hours=3), "<p>Yes, all ages!</p>")
    site.comment(1003, 501, 1002, "Ann", t + timedelta(hours=4), "<p>And audiobooks?</p>")
    site.comment(1004, 501, 1003, JANE, t + timedelta(hours=5), "<p>They count too.</p>")
    site.comment(1005, 501, 0, SAM, t + timedelta(hours=6), "<p>Where do I sign up?</p>")
    site.comment(1006, 501, 1005, "Bob", t + timedelta(hours=7), "<p>Same question</p>")
    site.comment(1007, 501, 1006, MARIA, t + timedelta(hours=10), "<p>At the front desk.</p>")
    site.comment(1008, 501, 1006, LIBRARY, t + timedelta(hours=12), "<p>Or online.</p>")
    site.comment(1009, 501, 1000, "Dee", t + timedelta(days=1), "<p>What prizes?</p>")

    t = ago(days=10)
    site.post(502, MARIA, t, "Teen summer reading picks")
    site.comment(1010, 502, 0, "Cara", t + timedelta(minutes=30), "<p>Any manga?</p>")
    site.comment(1011, 502, 1010, MARIA, t + timedelta(hours=1, minutes=30), "<p>Plenty!</p>")
    site.comment(1012, 502, 1011, "Cara", t + timedelta(hours=2), "<p>Thanks</p>")

    site.post(503, LIBRARY, ago(days=5), "Summer reading raffle")
    site.comment(1020, 503, 0, "Gus", ago(days=5, hours=-1))
    site.post(504, LIBRARY, ago(days=3), "Book sale")

    t = ago(days=45)  # the baseline window
    site.post(505, LIBRARY, t, "Summer reading last year", tags=("SummerReading",))
    site.comment(1030, 505, 0, "Hal", t + timedelta(hours=1))
    site.comment(1031, 505, 1030, LIBRARY, t + timedelta(hours=2))


SOURCES = """thread_refresh = "1h"

[[sources]]
id = "blog"
platform = "wordpress"
url = "{url}"
"""
GOALS = """
[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]
keywords = ["summer reading"]
window = "30d"

[[goals]]
name = "Everything"
window = "30d"
"""


def _goal(snapshot: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in snapshot["goals"] if g["name"] == name)


def _thread_reads(server: ReplayServer) -> list[Request]:
    """Full comment reads; the recent-comments query always carries `after`."""
    return [r for r in server.requests("/wp-json/wp/v2/comments") if r.arg("after") is None]


def test_scenario_backfill_steady_state_and_changes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_sleep: Any,  # noqa: F811
) -> None:
    site = Site()
    with replay_server() as server:
        _serve(server, site)
        build(site)
        config = write_config(tmp_path, SOURCES.format(url=server.url), GOALS, organization='also = ["wordpress:jane"]')
        monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())

        # (b) the backfill
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

        # (c) nothing changed: the fixed calls and the recent pages, no thread
        server.reset_log()
        assert collect_once(config) == (0, "")
        assert _thread_reads(server) == []
        assert len(server.requests("/wp-json/wp/v2/posts")) == 2
        assert len(server.requests("/wp-json/wp/v2/users")) == 1
        assert len(server.requests("/wp-json/wp/v2/comments")) == 2  # 115 recent posts, 100 ids a query
        assert snapshot_json(config)["goals"] == first["goals"]

        # changes: a new reply to Jane's response, a post deleted, a post edited, a deep
        # reply under Ann's community reply approved late (dated two days ago)
        site.comment(1050, 501, 1004, "Finn", NOW + timedelta(minutes=10))
        del site.posts[503]
        site.posts[504]["title"]["rendered"] = "Book sale for #SummerReading"
        site.comment(1040, 501, 1003, "Eve", ago(days=2))
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=30)).isoformat())
        server.reset_log()
        assert collect_once(config) == (0, "")
        assert _thread_reads(server) == []  # the new reply came with the recent-comments query
        m = _goal(snapshot_json(config), "Summer reading")["metrics"]
        # 503 and Gus gone; 504 matches now; Finn waits; Eve not seen yet
        assert (m["broadcast"], m["replies"], m["responses"], m["answered"], m["unanswered"]) == (3, 8, 5, 4, 4)
        assert _goal(snapshot_json(config), "Everything")["metrics"]["broadcast"] == 58 + 3  # 503 is gone
        assert m["voices"] == 6  # Ann, Sam, Bob, Dee, Cara, Finn

        # a response trashed; thread_refresh (1h) is due two hours after the backfill
        del site.comments[1008]
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(hours=2)).isoformat())
        server.reset_log()
        assert collect_once(config) == (0, "")
        assert len(_thread_reads(server)) == 2  # every recent thread, 100 posts a query
        last = snapshot_json(config)
        m = _goal(last, "Summer reading")["metrics"]
        # Eve found; 1008 gone: Bob is still answered by 1007 (3h), one response fewer
        assert (m["replies"], m["responses"], m["answered"], m["unanswered"]) == (9, 4, 4, 5)
        assert m["voices"] == 7 and m["median_response_seconds"] == 5400

        # (d) a broken site: the source turns error, the stored data stays
        for broken in (
            Reply(500, b"oops"),
            Reply(200, b"<!DOCTYPE html><html>Just a moment...</html>", {"Content-Type": "text/html"}),
        ):
            site.broken = broken
            code, err = collect_once(config)
            assert code == 1
            assert len(err.strip().splitlines()) == 1 and err.startswith("twoway: blog: ")
            after = snapshot_json(config)
            assert after["goals"] == last["goals"]
            assert after["sources"][0]["status"] == "error"
        assert "HTML" in err


def test_a_comment_answering_one_never_seen_reads_that_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site()
    with replay_server() as server:
        _serve(server, site)
        site.post(1, LIBRARY, ago(days=3), "Storytime")
        site.comment(10, 1, 0, "Ann", ago(days=3, hours=-1))
        config = write_config(tmp_path, SOURCES.format(url=server.url).replace('"1h"', '"6h"'), GOALS)
        monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
        assert collect_once(config) == (0, "")
        # Bob's question is approved late (dated two days ago); the answer to it is new
        site.comment(11, 1, 10, "Bob", ago(days=2))
        site.comment(12, 1, 11, LIBRARY, NOW + timedelta(minutes=5))
        monkeypatch.setenv("TWOWAY_NOW", (NOW + timedelta(minutes=10)).isoformat())
        server.reset_log()
        assert collect_once(config) == (0, "")
        assert [r.arg("post") for r in _thread_reads(server)] == ["1"]
        m = _goal(snapshot_json(config), "Everything")["metrics"]
        assert (m["replies"], m["responses"], m["answered"]) == (2, 1, 1)  # Ann, Bob; Bob answered


def test_a_site_that_repeats_a_page_forever_fails_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_sleep: object,  # noqa: F811
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:00Z")
    post = {
        "id": 1,
        "date_gmt": "2026-06-29T10:00:00",
        "link": "https://blog.example/?p=1",
        "author": 1,
        "title": {"rendered": "Hello"},
        "content": {"rendered": "<p>Hi</p>"},
        "status": "publish",
    }
    with replay_server() as server:
        server.route("GET", "/wp-json/wp/v2/users", lambda r: json_reply([{"id": 1, "slug": "lib", "name": "Library"}]))
        server.route("GET", "/wp-json/wp/v2/posts", lambda r: json_reply([post], headers={"X-WP-TotalPages": "999999"}))
        server.route("GET", "/wp-json/wp/v2/comments", lambda r: json_reply([]))
        config = write_config(tmp_path, f'[[sources]]\nid = "blog"\nplatform = "wordpress"\nurl = "{server.url}"\n')
        code, stderr = collect_once(config)
        assert len(server.requests("/wp-json/wp/v2/posts")) == 2
    assert code == 1 and "repeats an earlier page" in stderr and stderr.count("\n") == 1
