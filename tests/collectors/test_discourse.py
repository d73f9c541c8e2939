"""The Discourse collector: recorded real answers (the discourse_api gem's fixtures) parsed,
then a fake forum in Discourse's JSON shapes (topic lists by latest activity with
`more_topics_url`, topic views with a post stream read in chunks, `user_actions`,
`Api-Key`/`Api-Username`, 429 with `Retry-After`) polled through `twoway collect --once`.
Every expected metric is worked out by hand from the scenario in the comments next to it
(SPEC §2–§3); nothing is copied from what the code computed.
"""

from __future__ import annotations

import contextlib
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.collecting import FakeSleep, Stage, collect_once, context, goals, health, played, write_config
from tests.fakes import UTC, realdata
from tests.fakes.discourse import DISCOURSE, KEY, NOW, World, ago, hashtag_link, paths, source
from tests.replay import ReplayServer, json_reply, replay_server
from twoway.cli import main
from twoway.collectors.discourse import DiscourseCollector, _Cycle, _likes, linked_hashtags, parse_post
from twoway.plugin.protocol import CursorState

# -- recorded real answers ---------------------------------------------------------------


def test_real_topic_view_posts_and_parents() -> None:
    topic = realdata("discourse", "topic.json")
    posts = {p["post_number"]: (p, parse_post(p, "https://meta.example", topic)) for p in topic["post_stream"]["posts"]}
    _, first = posts[1]
    assert (first.id, first.author_id, first.parent_id, first.root_id) == ("57/1", "samsaffron", None, "57/1")
    assert first.text.startswith("THIS SITE IS A SANDBOX -- it is reset every day\nWelcome!\nTry is a sandbox")
    assert first.created_at == datetime(2013, 2, 4, 20, 26, 26, 278000, tzinfo=UTC)  # -05:00 in the answer
    assert first.url == "https://meta.example/t/this-site-is-a-sandbox-it-is-reset-every-day/57/1"
    # post 2 is a moderator action ("now pinned"), which the collector skips; 3 answers the topic, 14 post 1
    assert posts[2][0]["post_type"] == 2
    assert posts[3][1].parent_id == "57/1" and posts[3][1].author_id == "stienman"
    assert posts[14][1].parent_id == "57/1" and posts[14][1].text == "What? So I have to post this every day?"
    assert [_likes(p) for p, _ in posts.values()] == [0, 0, 5, 5]  # actions_summary id 2 is the like
    assert topic["post_stream"]["stream"] == [83, 84, 86, 226]


def test_real_posts_read_by_id_and_across_the_site() -> None:
    (extra,) = realdata("discourse", "topic_posts.json")["post_stream"]["posts"]
    post = parse_post(extra, "https://meta.example")
    assert (post.id, post.author_id, post.parent_id, post.text) == ("57/2", "some-username", "57/1", "Some text.")
    assert _likes(extra) == 3
    latest = [parse_post(p, "https://forum.example") for p in realdata("discourse", "posts_latest.json")["latest_posts"]]
    assert [p.id for p in latest] == ["11/2", "11/1", "7/1", "2/1"]
    assert latest[0].parent_id == "11/1" and latest[1].parent_id is None
    assert latest[0].url == "https://forum.example/t/this-is-an-uncategorized-title/11/2"
    assert latest[2].text.startswith("The first paragraph of this pinned topic will be visible")
    assert all(p.created_at.tzinfo is UTC and "<" not in p.text for p in latest)


def test_hashtags_are_the_topics_tags_and_the_words_written_raw_or_cooked() -> None:
    """SPEC §3: a post's hashtags are its topic's tags and every `#word` written in it. Discourse cooks a
    `#word` naming a known tag or category into a link with no `#` left, so its `data-slug` is read;
    an unknown one stays as text; `raw`, where sent, is read too."""
    topic = {"id": 7, "title": "Summer #ReadAlong", "slug": "summer-readalong", "tags": ["summer-reading"]}
    first = {"post_number": 1, "username": "riverside", "created_at": "2026-06-01T10:00:00.000Z",
             "cooked": f"<p>Week one: {hashtag_link('chapter-one')} and <a href=\"https://x.example/a#frag\">notes</a></p>"}
    post = parse_post(first, "https://forum.example", topic)
    assert post.hashtags == ("summer-reading", "chapter-one", "ReadAlong")  # the tag, the link, the title's #word
    assert post.text == "Summer #ReadAlong\nWeek one: chapter-one and notes"  # the link's text has no `#`
    reply = {"post_number": 2, "topic_id": 7, "username": "alice", "created_at": "2026-06-01T11:00:00.000Z",
             "cooked": "<p>I'm in! #ReadAlong &amp; #42</p>"}
    assert parse_post(reply, "https://forum.example").hashtags == ("ReadAlong",)  # not the number, not from a tag
    by_id = {**reply, "cooked": "<p>See you</p>", "raw": "See you\n\n#teens"}
    assert parse_post(by_id, "https://forum.example").hashtags == ("teens",)
    assert parse_post({**by_id, "raw": [{"type": "paragraph"}]}, "https://forum.example").hashtags == ()
    assert linked_hashtags('<a class="hashtag-cooked" href="/c/events/5" data-type="category" data-slug="events">') == ("events",)


def _cycle(server: ReplayServer, now: datetime, usernames: list[str]) -> _Cycle:
    made = context("discourse", {"url": server.url, "usernames": usernames}, sid="forum")
    return _Cycle(DiscourseCollector(made), CursorState(), now, None)


async def test_real_topic_lists_give_topics_and_counters() -> None:
    created_by, latest = realdata("discourse", "topics_created_by.json"), realdata("discourse", "latest_topics.json")
    with replay_server() as server:
        server.route("GET", "/topics/created-by/test_user.json", lambda r: json_reply(created_by))
        cycle = _cycle(server, datetime(2013, 7, 25, tzinfo=UTC), ["test_user"])
        try:
            (topic,) = await cycle.topics()
        finally:
            await cycle.context.http.client.aclose()
    (counters,) = cycle.counters([topic])
    # posts_count 1: no replies; this old forum sends no op_like_count, and the topic's like_count
    # counts every post's likes, so the broadcast's likes are unknown until its topic is read
    assert (counters.post_id, counters.replies, counters.likes) == ("1/1", 0, None)
    assert latest["topic_list"]["more_topics_url"] == "/latest.json?page=1"
    assert {t["like_count"] for t in latest["topic_list"]["topics"]} == {14, 0, 10}


async def test_real_replies_of_a_user_in_other_topics() -> None:
    replies = realdata("discourse", "user_actions_replies.json")
    with replay_server() as server:
        server.route("GET", "/user_actions.json", lambda r: json_reply(replies if not r.arg("offset") else {"user_actions": []}))
        cycle = _cycle(server, datetime(2016, 7, 1, tzinfo=UTC), ["testuser"])
        try:
            await cycle.answers(set())
        finally:
            await cycle.context.http.client.aclose()
        assert [(r.arg("filter"), r.arg("offset")) for r in server.requests()] == [("5", None), ("5", "1")]
    (post,) = cycle.posts.values()
    assert (post.id, post.author_id, post.parent_id, post.root_id) == ("39/3", "testuser", "39/2", "39/1")
    assert post.text == "Test Reply #1" and post.created_at == datetime(2016, 6, 29, 20, 27, 55, 767000, tzinfo=UTC)


# -- the scenario, on a fake forum (tests/fakes/discourse.py) --------------------------------------


world = played(DISCOURSE)


def test_scenario_metrics(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    world.collect(NOW)
    # riverside's topics by latest activity, two a page: [T6, T1], [T3, T4], T4 older than the horizon
    assert [r.arg("page") for r in server.requests("/topics/created-by/riverside.json")] == [None, "1"]
    assert len(server.requests("/topics/created-by/Maria.json")) == 1
    # every topic inside the horizon read once; T1's posts 6-10 in one more request
    assert paths(server, "/t/") == ["/t/10.json", "/t/10/posts.json", "/t/20.json", "/t/30.json", "/t/60.json"]
    (more,) = server.requests("/t/10/posts.json")
    assert more.query["post_ids[]"] == [str(f.number(10, n)["id"]) for n in range(6, 11)]
    # the two mentions outside the organization's topics are read for their text; jane's is staff
    assert paths(server, "/posts/") == sorted(f"/posts/{f.number(t, n)['id']}.json" for t, n in ((50, 2), (70, 1)))
    assert all(r.headers["api-key"] == KEY and r.headers["api-username"] == "riverside" for r in server.requests())

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in the last 30 days: T1, T2, T6 (T3 in the baseline, T4 older still)
    assert m["broadcast"] == 3
    # T1: alice 3, bob 5, carol 6, dave 9 (2 is the self-thread, 4 and jane's 7 the organization's, 8 a
    # small action, eve's 10 withdrawn); T2: alice 2, carol 3
    assert m["replies"] == 6
    # bob in topic 50 and carol in topic 70; carol's T2/3 is a reply; jane is staff; dave's is too old
    assert m["mentions"] == 2 and m["community_messages"] == 8
    # T1/4→3 after 3 h, jane's T1/7→6 after 30 min, T2/4→3 after 1 day, 50/3→bob's 50/2 after 2 h
    assert (m["responses"], m["answered"], m["unanswered"], m["two_way"]) == (4, 4, 4, 12)
    assert m["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2
    assert m["p90_response_seconds"] == 86400
    # the first posts' likes: 7 + 3 + 0 (alice's 2 likes on T1/3 are hers, not the broadcast's)
    assert (m["likes"], m["reposts"], m["quotes"]) == (10, None, None)
    assert m["voices"] == 4  # alice, bob, carol, dave
    assert m["conversation_rate"] == 2.0
    # Discourse has neither reposts nor quotes, so no amplification either
    assert report["All"]["unavailable"] == {"reposts": ["forum"], "quotes": ["forum"], "amplification_rate": ["forum"]}
    b = report["All"]["baseline"]
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"], b["likes"]) == (1, 1, 1, 3600, 5)

    s = report["Summer reading"]["metrics"]
    # T1 (its title), its four replies, and bob's mention asking for summer reading kits
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 4, 1, 3)
    assert s["median_response_seconds"] == 2 * 3600  # 30 min, 2 h, 3 h
    assert report["Tagged"]["metrics"]["broadcast"] == 1  # T1's tag
    assert health(config) == ("ok", None)


def test_steady_state_and_changes(world: Stage[World]) -> None:
    w, config = world.world, world.config
    f, server = w.fake, w.fake.server
    world.collect(NOW)

    # a reply in T2 moves its posts_count: T2 alone is read, in one request (4 + 1 posts fit a chunk)
    f.post(20, "frank", NOW + timedelta(minutes=8), "<p>Thanks!</p>", reply_to=4)
    server.reset_log()
    world.collect(NOW + timedelta(minutes=10))
    assert paths(server, "/t/") == ["/t/20.json"]
    assert goals(config)["All"]["metrics"]["replies"] == 6 + 1

    # a new post at the end of T1: only that post is fetched beyond the first chunk
    n = f.post(10, "grace", NOW + timedelta(minutes=12), "<p>Me too</p>")
    server.reset_log()
    world.collect(NOW + timedelta(minutes=15))
    assert paths(server, "/t/") == ["/t/10.json", "/t/10/posts.json"]
    assert server.requests("/t/10/posts.json")[0].query["post_ids[]"] == [str(f.number(10, n)["id"])]
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["unanswered"], m["voices"]) == (8, 4 + 2, 4 + 2)

    # the newest mention is now in T2: read once (its posts_count moved too), then a quiet cycle
    # reads neither the topic nor the post again
    f.post(20, "hank", NOW + timedelta(minutes=16), "<p>@riverside same question</p>", reply_to=2, mentions=("riverside",))
    world.collect(NOW + timedelta(minutes=17))
    server.reset_log()
    world.collect(NOW + timedelta(minutes=18))
    assert server.requests("/t/") == [] and server.requests("/posts/") == []
    m = goals(config)["All"]["metrics"]
    assert (m["replies"], m["mentions"], m["unanswered"]) == (9, 2, 7)  # hank's is a reply in T2, counted once

    # deletions: T6 leaves riverside's list; a moderator removes alice's T2/2, which moves T2's
    # posts_count, so T2 is read and the post is found gone from its stream
    f.topics[60]["deleted"] = True
    f.number(20, 2)["_removed"] = True
    world.collect(NOW + timedelta(minutes=25))
    m = goals(config)["All"]["metrics"]
    assert (m["broadcast"], m["replies"], m["voices"]) == (2, 8, 7)  # hank joined; alice still speaks in T1


def test_a_hashtag_typed_in_a_topic_matches_a_hashtag_goal(world: Stage[World]) -> None:
    """Issue 12: Discourse has no hashtags but the topics' tags, yet staff type `#ReadAlong` there as
    everywhere (SPEC §3), so the goal filtered on `hashtags = ["ReadAlong"]` finds those posts."""
    w, config = world.world, world.config
    f = w.fake
    # T7 by riverside, no tags: `#readalong` names the forum's tag, so Discourse cooked it into a link
    f.topic(75, "riverside", ago(2), "Book club", f"<p>Join our {hashtag_link('readalong')} on Monday</p>")
    f.post(75, "grace", ago(2, hours=-1), "<p>Count me in</p>")
    f.post(75, "riverside", ago(2, hours=-3), "<p>See you there!</p>", reply_to=2)
    # hank mentions riverside in his own topic, read by id (with its raw); nobody answers
    f.topic(76, "hank", ago(1), "Teens?", f'<p><a class="mention" href="/u/riverside">@riverside</a> is the '
            f"{hashtag_link('readalong')} open to teens?</p>", mentions=("riverside",),
            raw="@riverside is the #ReadAlong open to teens?")
    # T8 by maria says ReadAlong without the `#`: no hashtag
    f.topic(77, "maria", ago(1, hours=2), "Our ReadAlong list")
    world.collect(NOW)

    m = goals(config)["Read along"]["metrics"]
    # T7 alone of the organization's topics (the scenario's have no `#ReadAlong`, T8 no `#`). Before issue 12: 0
    assert m["broadcast"] == 1
    # grace's post, answered after 2 h; hank's mention (0 before issue 12 too)
    assert (m["replies"], m["mentions"], m["responses"], m["answered"], m["unanswered"]) == (1, 1, 1, 1, 1)
    assert m["median_response_seconds"] == 2 * 3600
    assert goals(config)["All"]["metrics"]["broadcast"] == 3 + 2  # T1 T2 T6 and T7 T8


def test_without_an_api_key_mentions_are_unavailable(world: Stage[World], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world.world, world.config
    monkeypatch.delenv("TEST_DISCOURSE_KEY")
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["--config", str(config), "check-config"]) == 0  # optional: a warning, not an error
    world.collect(NOW)
    server = w.fake.server
    assert server.requests("/user_actions.json") == [] and server.requests("/posts/") == []
    assert all("api-key" not in r.headers for r in server.requests())
    report = goals(config)["All"]
    assert report["metrics"]["mentions"] is None
    assert report["unavailable"] == {
        "mentions": ["forum"], "reposts": ["forum"], "quotes": ["forum"], "amplification_rate": ["forum"]
    }
    # the topics are read all the same: carol's T2/3 is still a reply, and answered
    assert (report["metrics"]["replies"], report["metrics"]["responses"]) == (6, 3)


def test_check_config_warns_about_a_missing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DISCOURSE_KEY", raising=False)
    config = write_config(tmp_path, source("https://forum.example"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["--config", str(config), "check-config"]) == 0
    assert "sources[0].api_key: TEST_DISCOURSE_KEY is not set: no mentions and only public categories" in out.getvalue()


def test_a_rate_limited_request_waits_for_retry_after(world: Stage[World], fake_sleep: FakeSleep) -> None:
    w, config = world.world, world.config
    w.fake.limited = 1
    world.collect(NOW)
    assert fake_sleep.pauses[0] == pytest.approx(7.0, abs=0.1)  # Retry-After, before the HTTP layer's retry
    assert goals(config)["All"]["metrics"]["broadcast"] == 3


def test_an_unknown_user_fails_in_one_line(world: Stage[World]) -> None:
    config = world.config
    world.collect(NOW)
    config.write_text(config.read_text(encoding="utf-8").replace('"Maria"', '"nobody"'), encoding="utf-8")
    code, err = collect_once(config)
    assert code == 1 and "forum: user 'nobody' not found on http://127.0.0.1" in err


def test_a_key_that_may_not_read_a_users_mentions_says_so(world: Stage[World]) -> None:
    w, config = world.world, world.config
    w.fake.admin = False  # a Single User key of riverside: maria's mentions are hers and the admins'
    code, err = collect_once(config)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "user_actions.json: the API key cannot read this user's mentions: act as an admin (api_username)" in err
