"""Metrics on small hand-built scenarios; every expected value is worked out here from SPEC §2–§3."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.scenario import DAY, NOW, ORG, Scenario, at, goal, make_config, post
from twoway.config import Target
from twoway.metrics import build_report
from twoway.model import Account, Counters, Reaction
from twoway.report import METRICS
from twoway.store import Store

pytestmark = pytest.mark.usefixtures("backend")
"""Every test on SQLite and on PostgreSQL (tests/pg.py)."""


@pytest.fixture
def sc(tmp_path: Path) -> Scenario:
    return Scenario(tmp_path)


def test_broadcast_replies_responses_and_identities(sc: Scenario) -> None:
    sc.write(
        post("b1", ORG, at(days=5)),
        post("r1", "alice", at(days=5, hours=-1), parent_id="b1", root_id="b1"),
        post("a1", ORG, at(days=5, hours=-3), parent_id="r1", root_id="b1"),
        post("r2", "bob", at(days=4), parent_id="b1", root_id="b1"),
        post("r3", "bob", at(days=4, hours=-1), parent_id="r2", root_id="b1"),
    )
    m = sc.report().metrics
    # r1, r2, r3 are community replies; a1 answers r1, two hours after it
    assert (m["broadcast"], m["replies"], m["mentions"]) == (1, 3, 0)
    assert m["replies"] is not None and m["mentions"] is not None
    assert m["community_messages"] == m["replies"] + m["mentions"] == 3
    assert m["responses"] == 1 and m["answered"] == 1 and m["unanswered"] == 2
    assert m["two_way"] == m["community_messages"] + m["responses"] == 4
    assert m["voices"] == 2
    assert m["conversation_rate"] == 3.0 and m["two_way_per_broadcast"] == 4.0
    assert m["response_rate"] == pytest.approx(1 / 3)
    assert m["median_response_seconds"] == 2 * 3600


def test_self_thread_counts_once_and_its_later_hashtags_match(tmp_path: Path) -> None:
    config = make_config(goals=[goal(hashtags=("summerreading",))])
    sc = Scenario(tmp_path, config)
    sc.write(
        post("b1", ORG, at(days=3), text="Kickoff party on Friday"),
        post("b2", ORG, at(days=3, minutes=-1), parent_id="b1", root_id="b1", hashtags=("SummerReading",)),
        post("b3", ORG, at(days=3, minutes=-2), parent_id="b2", root_id="b1"),
        post("r1", "alice", at(days=2), parent_id="b3", root_id="b1"),
    )
    m = sc.report().metrics
    # the chain b1 <- b2 <- b3 is one broadcast; a reply under b3 belongs to b1's thread
    assert m["broadcast"] == 1
    assert m["replies"] == 1


def test_mention_that_is_also_a_reply_counts_once_as_a_reply(sc: Scenario) -> None:
    sc.write(
        post("b1", ORG, at(days=3)),
        post("r1", "alice", at(days=2), parent_id="b1", root_id="b1", mentions_source=True),
        post("m1", "bob", at(days=2), mentions_source=True),
    )
    m = sc.report().metrics
    assert (m["replies"], m["mentions"], m["community_messages"]) == (1, 1, 2)


def test_mention_named_by_two_sources_counts_once_for_the_first_in_config_order(tmp_path: Path) -> None:
    config = make_config(sources=(("a", "mastodon"), ("b", "mastodon")), goals=[goal(sources=("a", "b"))])
    sc = Scenario(tmp_path, config)
    mention = post("m1", "bob", at(days=2), mentions_source=True)
    sc.write(mention, source="b")
    sc.write(mention, source="a")
    report = sc.report()
    assert report.metrics["mentions"] == 1
    assert report.by_source["a"]["mentions"] == 1 and report.by_source["b"]["mentions"] == 0


def test_cohort_attribution_and_waiting(sc: Scenario) -> None:
    sc.write(
        post("old", ORG, at(days=40)),  # previous 30-day window
        post("late", "alice", at(days=2), parent_id="old", root_id="old"),  # arrives in this window
        post("new", ORG, at(days=10)),
    )
    report = sc.report()
    assert report.metrics["broadcast"] == 1 and report.metrics["replies"] == 0
    assert report.baseline["broadcast"] == 1 and report.baseline["replies"] == 1
    # ... but it is waiting for an answer now, whatever the age of its broadcast
    assert report.waiting_total == 1
    assert report.waiting[0].url.endswith("/late")
    assert report.waiting[0].waiting_seconds == 2 * DAY
    assert report.deltas["replies"] == -1


def test_zero_broadcasts_gives_null_ratios(sc: Scenario) -> None:
    sc.write(post("m1", "bob", at(days=2), mentions_source=True))
    m = sc.report().metrics
    assert m["broadcast"] == 0
    for ratio in ("conversation_rate", "amplification_rate", "applause_rate", "two_way_per_broadcast"):
        assert m[ratio] is None
    assert m["response_rate"] == 0.0  # one message, not answered: a real 0, not a missing one
    assert m["median_response_seconds"] is None


def test_source_that_cannot_measure_is_left_out_of_sum_and_denominator(tmp_path: Path) -> None:
    config = make_config(sources=(("social", "mastodon"), ("blog", "rss")), goals=[goal(sources=("social", "blog"))])
    sc = Scenario(tmp_path, config)
    sc.write(post("s1", ORG, at(days=1)), post("s2", ORG, at(days=2)),
             counters=[Counters("s1", NOW, likes=10), Counters("s2", NOW, likes=4)], source="social")
    sc.write(post("p1", ORG, at(days=1)), post("p2", ORG, at(days=3)), post("p3", ORG, at(days=4)),
             post("c1", "carol", at(days=1), parent_id="p1", root_id="p1"),
             measures=frozenset({"replies", "responses"}), source="blog")
    report = sc.report()
    m = report.metrics
    assert m["broadcast"] == 5
    assert m["likes"] == 14
    assert m["applause_rate"] == 14 / 2  # only the broadcasts of the source that counts likes
    assert m["replies"] == 1 and m["conversation_rate"] == 1 / 5  # both measure replies
    assert m["mentions"] == 0  # measured by "social" alone
    assert report.by_source["blog"]["likes"] is None
    assert report.by_source["blog"]["mentions"] is None
    assert report.unavailable["likes"] == ("blog",)
    assert "replies" not in report.unavailable


def test_no_source_measures_a_part_gives_null(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    sc.write(post("b1", ORG, at(days=1)), measures=frozenset({"reposts", "likes"}))
    m = sc.report().metrics
    assert m["replies"] is None and m["mentions"] is None and m["responses"] is None
    assert m["community_messages"] is None and m["two_way"] is None and m["voices"] is None
    assert m["conversation_rate"] is None and m["response_rate"] is None
    assert m["likes"] == 0 and m["broadcast"] == 1


def test_organizations_own_likes_and_reposts_are_excluded(tmp_path: Path) -> None:
    sc = Scenario(tmp_path, make_config(also=["mastodon:@jane"]))
    sc.write(
        post("b1", ORG, at(days=1)),
        counters=[Counters("b1", NOW, reposts=3, likes=5)],
        reactions=[Reaction("b1", "likes", "jane"), Reaction("b1", "likes", "zed"), Reaction("b1", "reposts", ORG)],
        accounts=[Account(ORG, "@org"), Account("jane", "@jane", "mastodon:@jane")],
    )
    m = sc.report().metrics
    assert m["likes"] == 5 - 1  # jane is staff; zed is community
    assert m["reposts"] == 3 - 1


def test_two_staff_answering_one_message(tmp_path: Path) -> None:
    sc = Scenario(tmp_path, make_config(also=["mastodon:@jane"]))
    sc.write(
        post("b1", ORG, at(days=3)),
        post("q", "alice", at(days=2), parent_id="b1", root_id="b1"),
        post("a1", ORG, at(days=2, hours=-1), parent_id="q", root_id="b1"),
        post("a2", "jane", at(days=2, hours=-2), parent_id="q", root_id="b1"),
        accounts=[Account(ORG, "@org"), Account("jane", "@jane", "mastodon:@jane")],
    )
    m = sc.report().metrics
    assert m["responses"] == 2 and m["answered"] == 1 and m["unanswered"] == 0
    assert m["median_response_seconds"] == 3600  # the first answer counts


def test_changing_also_rederives_stored_data(tmp_path: Path) -> None:
    sc = Scenario(tmp_path, make_config())
    sc.write(
        post("b1", ORG, at(days=3)),
        post("q", "alice", at(days=2), parent_id="b1", root_id="b1"),
        post("a2", "jane", at(days=2, hours=-2), parent_id="q", root_id="b1"),
        accounts=[Account(ORG, "@org"), Account("jane", "@jane", "mastodon:@jane")],
    )
    assert sc.report().metrics["replies"] == 2  # jane is community while not in `also`
    sc.store.close()
    sc.config = make_config(also=["mastodon:@jane"])
    sc.store = Store.open(sc.path, sc.policy)
    m = sc.report().metrics
    assert m["replies"] == 1 and m["responses"] == 1


def test_deleted_response_reopens_its_message(sc: Scenario) -> None:
    sc.write(
        post("b1", ORG, at(days=3)),
        post("q", "alice", at(days=2), parent_id="b1", root_id="b1"),
        post("a", ORG, at(days=2, hours=-1), parent_id="q", root_id="b1"),
    )
    assert sc.report().metrics["answered"] == 1
    sc.write(deleted=("a",))
    report = sc.report()
    assert report.metrics["answered"] == 0 and report.metrics["responses"] == 0
    assert report.metrics["unanswered"] == 1 and report.waiting_total == 1


def test_deleted_broadcast_takes_its_thread(sc: Scenario) -> None:
    sc.write(post("b1", ORG, at(days=3)), post("q", "alice", at(days=2), parent_id="b1", root_id="b1"))
    sc.write(deleted=("b1",))
    report = sc.report()
    assert report.metrics["broadcast"] == 0 and report.metrics["replies"] == 0 and report.waiting_total == 0


def test_latest_counter_wins_even_when_lower(sc: Scenario) -> None:
    sc.write(post("b1", ORG, at(days=3)), counters=[Counters("b1", at(hours=5), likes=9, reposts=2)])
    sc.write(counters=[Counters("b1", at(hours=1), likes=7)])
    sc.write(counters=[Counters("b1", at(hours=3), likes=12)])  # older observation arriving late
    m = sc.report().metrics
    assert m["likes"] == 7
    assert m["reposts"] == 2  # not observed since: the last known value stands


def test_voices_count_each_member_once(sc: Scenario) -> None:
    sc.write(
        post("b1", ORG, at(days=3)),
        post("b2", ORG, at(days=3)),
        post("r1", "alice", at(days=2), parent_id="b1", root_id="b1"),
        post("r2", "alice", at(days=2), parent_id="b2", root_id="b2"),
        post("r3", "bob", at(days=2), parent_id="b2", root_id="b2"),
        post("m1", "alice", at(days=1), mentions_source=True),
    )
    assert sc.report().metrics["voices"] == 2


@pytest.mark.parametrize("delays_minutes", [[10, 30, 20], [10, 40, 20, 30], [5], list(range(1, 21))])
def test_median_and_p90(sc: Scenario, delays_minutes: list[int]) -> None:
    posts = [post("b", ORG, at(days=10))]
    for i, delay in enumerate(delays_minutes):
        posts.append(post(f"q{i}", f"member{i}", at(days=5), parent_id="b", root_id="b"))
        posts.append(post(f"a{i}", ORG, at(days=5, minutes=-delay), parent_id=f"q{i}", root_id="b"))
    sc.write(*posts)
    m = sc.report().metrics
    seconds = sorted(d * 60 for d in delays_minutes)
    n = len(seconds)
    median = seconds[n // 2] if n % 2 else (seconds[n // 2 - 1] + seconds[n // 2]) / 2
    assert m["median_response_seconds"] == median
    assert m["p90_response_seconds"] == seconds[math.ceil(0.9 * n) - 1]


def test_goal_filters(tmp_path: Path) -> None:
    goals = [
        goal("tag", hashtags=("books",)),
        goal("kw", keywords=("summer reading",)),
        goal("link", links=("example.org/events",)),
    ]
    sc = Scenario(tmp_path, make_config(goals=goals))
    sc.write(
        post("t1", ORG, at(days=1), hashtags=("Books",)),
        post("t2", ORG, at(days=1), text="books without a hashtag"),
        post("k1", ORG, at(days=1), text="Our Summer  Reading list"),
        post("k2", ORG, at(days=1), text="summer readings are not the phrase"),
        post("l1", ORG, at(days=1), links=("https://www.example.org/events/x",)),
        post("l2", ORG, at(days=1), links=("http://example.org/eventsx",)),
        post("l3", ORG, at(days=1), links=("https://example.org/events",)),
        post("l4", ORG, at(days=1), links=("https://other.example/example.org/events/y",)),
        post("m1", "alice", at(days=1), mentions_source=True, text="loving summer reading!"),
    )
    assert sc.report("tag").metrics["broadcast"] == 1
    kw = sc.report("kw").metrics
    assert kw["broadcast"] == 1 and kw["mentions"] == 1  # the mention's keyword is kept without its text
    assert sc.report("link").metrics["broadcast"] == 2


@pytest.mark.parametrize(
    ("targets", "status"),
    [
        ((Target("replies", ">=", 1),), "met"),
        ((Target("replies", ">=", 5),), "missed"),
        ((Target("replies", ">=", 1), Target("median_response_seconds", "<=", 3600)), "no-data"),
        ((Target("replies", ">=", 5), Target("median_response_seconds", "<=", 3600)), "missed"),
        ((), "no-targets"),
    ],
)
def test_goal_status_from_targets(tmp_path: Path, targets: tuple[Target, ...], status: str) -> None:
    sc = Scenario(tmp_path, make_config(goals=[goal(targets=targets)]))
    sc.write(post("b", ORG, at(days=2)), post("q", "alice", at(days=1), parent_id="b", root_id="b"))
    report = sc.report()
    assert report.status == status
    for result in report.targets:
        assert result.actual == report.metrics[result.metric]


def test_storing_the_same_batch_twice_changes_nothing(sc: Scenario) -> None:
    batch = sc.batch(
        [
            post("b1", ORG, at(days=3), hashtags=("x",)),
            post("r1", "alice", at(days=2), parent_id="b1", root_id="b1"),
            post("a1", ORG, at(days=2, hours=-1), parent_id="r1", root_id="b1"),
            post("m1", "bob", at(days=1), mentions_source=True),
        ],
        counters=[Counters("b1", NOW, likes=3, reposts=1)],
        reactions=[Reaction("b1", "likes", "alice")],
    )
    sc.store.write(batch)
    first = sc.report()
    rows = [sc.store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone() for t in ("posts", "counters", "reactions")]
    sc.store.write(batch)
    second = sc.report()
    assert first == second
    assert rows == [sc.store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone() for t in ("posts", "counters", "reactions")]


def test_every_metric_present_with_the_right_type(sc: Scenario) -> None:
    sc.write(post("b", ORG, at(days=2)), post("q", "alice", at(days=1), parent_id="b", root_id="b"))
    report = sc.report()
    for metrics in (report.metrics, report.baseline, report.deltas, *report.by_source.values()):
        assert list(metrics) == list(METRICS)
    assert isinstance(report.metrics["replies"], int) and isinstance(report.metrics["conversation_rate"], float)


def test_community_text_kept_only_when_configured(sc: Scenario) -> None:
    sc.write(post("b", ORG, at(days=2), text="org text"), post("q", "alice", at(days=1), text="secret", parent_id="b", root_id="b"))
    texts = dict(sc.store.conn.execute("SELECT post_id, text FROM posts").fetchall())
    assert texts == {"b": "org text", "q": None}
    authors = [r[0] for r in sc.store.conn.execute("SELECT author_hash FROM posts")]
    assert "alice" not in authors and all(len(a) == 24 for a in authors)



def test_opening_hours_clock_counts_open_time_only(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from twoway.hours import parse_hours

    config = make_config()
    hours = parse_hours("Mon-Fri 09:00-17:00", "UTC")
    config = config._replace(organization=config.organization._replace(hours=hours))
    sc = Scenario(tmp_path, config)
    utc = timezone.utc
    friday_4pm = datetime(2026, 6, 26, 16, tzinfo=utc)
    monday_10am = datetime(2026, 6, 29, 10, tzinfo=utc)
    monday_430pm = datetime(2026, 6, 29, 16, 30, tzinfo=utc)
    assert NOW == datetime(2026, 6, 30, 12, tzinfo=utc)  # a Tuesday
    sc.write(
        post("b", ORG, at(days=10)),
        post("q", "alice", friday_4pm, parent_id="b", root_id="b"),
        post("a", ORG, monday_10am, parent_id="q", root_id="b"),
        post("w", "bob", monday_430pm, parent_id="b", root_id="b"),
    )
    report = build_report(sc.store, sc.config, NOW)
    assert report.clock == "opening-hours"
    goal_report = report.goals[0]
    assert goal_report.metrics["median_response_seconds"] == 2 * 3600  # Fri 16–17 and Mon 9–10
    assert goal_report.waiting[0].waiting_seconds == 3.5 * 3600  # Mon 16:30–17 and Tue 9–12


def test_waiting_list_of_a_filtered_goal_oldest_first_whatever_the_broadcasts_age(tmp_path: Path) -> None:
    sc = Scenario(tmp_path, make_config(goals=[goal(hashtags=("books",))]))
    sc.write(
        post("old", ORG, at(days=100), hashtags=("books",)),  # older than the goal's span
        post("w1", "alice", at(days=3), parent_id="old", root_id="old"),
        post("w2", "bob", at(days=1), parent_id="old", root_id="old"),
        post("new", ORG, at(days=5), hashtags=("Books",)),
        post("w3", "carol", at(days=2), parent_id="new", root_id="new"),
        post("a3", ORG, at(days=2, hours=-1), parent_id="w3", root_id="new"),  # answered
        post("w4", "dan", at(days=4), parent_id="new", root_id="new"),
        post("other", ORG, at(days=5)),  # not in the goal
        post("w5", "erin", at(days=1), parent_id="other", root_id="other"),
        post("gone", "zed", at(days=40), parent_id="old", root_id="old"),  # before the window
    )
    report = sc.report()
    assert report.waiting_total == 3
    assert [w.url.rsplit("/", 1)[1] for w in report.waiting] == ["w4", "w1", "w2"]


def test_a_post_seen_again_after_deletion_counts_again(sc: Scenario) -> None:
    sc.write(post("b1", ORG, at(days=3)))
    sc.write(deleted=("b1",))
    assert sc.report().metrics["broadcast"] == 0
    sc.write(post("b1", ORG, at(days=3)))  # republished, re-approved
    assert sc.report().metrics["broadcast"] == 1


def test_daily_series_counts_engagement_on_the_day_of_its_broadcast(sc: Scenario) -> None:
    sc.write(
        post("b1", ORG, at(days=3)),
        post("r1", "alice", at(days=1), parent_id="b1", root_id="b1"),  # counted on b1's day
        post("a1", ORG, at(days=1, hours=-1), parent_id="r1", root_id="b1"),
        post("b2", ORG, at(days=3, hours=2)),
        post("m1", "bob", at(days=2), mentions_source=True),
    )
    report = build_report(sc.store, sc.config, NOW, daily=True).goals[0]
    days = report.daily
    assert len(days) == 31  # 30 days reach back from 12:00 UTC: 31 calendar days touched
    assert days[-4] == (2, 2)  # b1 and b2 on June 27; r1 and a1 follow b1 there
    assert days[-3] == (0, 1)  # the mention, on its own day
    assert sum(b for b, _ in days) == report.metrics["broadcast"]
    assert sum(t for _, t in days) == report.metrics["two_way"]
    assert build_report(sc.store, sc.config, NOW).goals[0].daily == ()


def test_goal_broadcasts_newest_first_with_their_counts(sc: Scenario) -> None:
    sc.write(
        post("b1", ORG, at(days=3), text="Storytime Saturday"),
        post("r1", "alice", at(days=2), parent_id="b1", root_id="b1"),
        post("a1", ORG, at(days=2, hours=-1), parent_id="r1", root_id="b1"),
        post("b2", ORG, at(days=1), text="New Books"),
        post("old", ORG, at(days=40), text="too old"),
        counters=[Counters("b1", NOW, reposts=2, likes=5)],
    )
    rows = build_report(sc.store, sc.config, NOW, daily=True).goals[0].broadcasts
    assert [(r.excerpt, r.replies, r.responses, r.reposts, r.likes) for r in rows] == [
        ("New Books", 0, 0, 0, 0),
        ("Storytime Saturday", 1, 1, 2, 5),
    ]
    assert rows[0].url.endswith("/b2") and rows[0].source == "src"


# -- coverage (SPEC §3): a window older than a source's data is not counted as 0 ------------------


def _begins_45_days_ago(tmp_path: Path, **config: object) -> Scenario:
    """A store whose one source's first backfill reached back 45 days (a 22.5-day longest window)."""
    sc = Scenario(tmp_path, make_config(**config))  # type: ignore[arg-type]
    sc.store.close()
    sc.store = Store.open(sc.path, sc.policy._replace(horizon=45 * DAY))
    sc.write(post("b1", ORG, at(days=40)), post("b2", ORG, at(days=10)), post("r1", "alice", at(days=9),
             parent_id="b2", root_id="b2"))
    return sc


def test_a_baseline_older_than_the_data_is_null_not_zero(tmp_path: Path) -> None:
    sc = _begins_45_days_ago(tmp_path)
    report = sc.report()
    assert report.metrics["broadcast"] == 1 and report.metrics["replies"] == 1  # the window is covered
    assert all(report.baseline[m] is None for m in METRICS), report.baseline  # b1 alone would read as 1
    assert all(report.deltas[m] is None for m in METRICS)  # never a gain from nothing
    since = at(days=45)
    assert report.coverage["metrics"].covered and report.coverage["metrics"].covered_from == since
    assert report.coverage["baseline"].sources == ("src",) and report.coverage["baseline"].covered_from == since
    assert report.to_json()["coverage"] == {
        "metrics": {"covered_from": "2026-05-16T12:00:00Z", "sources": []},
        "baseline": {"covered_from": "2026-05-16T12:00:00Z", "sources": ["src"]},
    }
    # a 60-day window starts before the data too: its own numbers are null, not a count of what is there
    wide = sc.report(window=60 * DAY)
    assert wide.metrics["broadcast"] is None and wide.by_source["src"]["broadcast"] is None
    assert wide.coverage["metrics"].sources == ("src",)
    # a 20-day window and its baseline lie inside the data: counted and compared as always
    narrow = sc.report(window=20 * DAY)
    assert (narrow.metrics["broadcast"], narrow.baseline["broadcast"], narrow.deltas["broadcast"]) == (1, 1, 0)
    assert narrow.coverage["baseline"].covered


def test_one_uncovering_source_nulls_the_deltas_and_keeps_the_others_counts(tmp_path: Path) -> None:
    config = make_config(sources=(("old", "mastodon"), ("new", "bluesky")), goals=[goal(sources=("old", "new"))])
    sc = Scenario(tmp_path, config)
    sc.write(post("o1", ORG, at(days=50)), post("o2", ORG, at(days=5)), source="old")
    sc.store.conn.execute("UPDATE sources SET covers_from = ? WHERE source_id = 'old'", (int(at(days=200).timestamp()),))
    sc.write(post("n1", ORG, at(days=2)), source="new")  # added later: its first backfill reached back 40 days
    sc.store.conn.execute("UPDATE sources SET covers_from = ? WHERE source_id = 'new'", (int(at(days=40).timestamp()),))
    report = sc.report()
    assert report.metrics["broadcast"] == 2  # both cover the window
    assert report.baseline["broadcast"] == 1  # o1: only the source that covers the baseline counts
    assert report.coverage["baseline"].sources == ("new",)
    assert report.deltas["broadcast"] is None
    assert report.coverage["baseline"].covered_from == at(days=40)


def test_a_source_that_never_polled_covers_nothing(tmp_path: Path) -> None:
    config = make_config(sources=(("a", "mastodon"), ("b", "mastodon")), goals=[goal(sources=("a", "b"))])
    sc = Scenario(tmp_path, config)
    sc.write(post("a1", ORG, at(days=5)), source="a")
    report = sc.report()
    assert report.metrics["broadcast"] == 1 and report.by_source["b"]["broadcast"] is None
    assert report.coverage["metrics"] == report.coverage["baseline"]
    assert report.coverage["metrics"].sources == ("b",) and report.coverage["metrics"].covered_from is None


def test_a_store_from_before_coverage_covers_from_its_earliest_post(tmp_path: Path) -> None:
    """Without a recorded horizon (as a store migrated from schema 2), a polled source covers from
    its earliest stored post."""
    sc = Scenario(tmp_path)
    sc.write(post("b1", ORG, at(days=50)), post("b2", ORG, at(days=5)))
    sc.store.conn.execute("UPDATE sources SET covers_from = NULL")
    report = sc.report()
    assert report.coverage["baseline"].covered_from == at(days=50) and not report.coverage["baseline"].covered
    assert report.metrics["broadcast"] == 1 and report.baseline["broadcast"] is None


def _many_waiting(sc: Scenario, count: int) -> None:
    """`count` unanswered replies on one broadcast, a minute apart, the oldest first."""
    sc.write(
        post("b", ORG, at(days=20), text="Summer reading starts now"),
        *(post(f"w{i:03}", f"member{i}", at(days=10, minutes=-i), parent_id="b", root_id="b") for i in range(count)),
    )


def test_waiting_lists_100_by_default_and_all_or_n_when_asked(sc: Scenario) -> None:
    _many_waiting(sc, 130)
    default = build_report(sc.store, sc.config, NOW).goals[0]
    assert default.waiting_total == 130 and len(default.waiting) == 100
    every = build_report(sc.store, sc.config, NOW, waiting_listed=None).goals[0]
    assert [w.url for w in every.waiting[:100]] == [w.url for w in default.waiting]  # the same oldest first
    assert len(every.waiting) == 130 and len({w.url for w in every.waiting}) == 130
    assert [w.at for w in every.waiting] == sorted(w.at for w in every.waiting)
    assert len(build_report(sc.store, sc.config, NOW, waiting_listed=7).goals[0].waiting) == 7


def test_waiting_lists_all_of_a_filtered_goal_too(tmp_path: Path) -> None:
    sc = Scenario(tmp_path, make_config(goals=[goal(hashtags=("books",))]))
    sc.write(post("b", ORG, at(days=20), hashtags=("books",)))
    sc.write(*(post(f"w{i:03}", f"m{i}", at(days=10, minutes=-i), parent_id="b", root_id="b") for i in range(120)))
    every = build_report(sc.store, sc.config, NOW, waiting_listed=None).goals[0]
    assert every.waiting_total == 120 and len(every.waiting) == 120


def test_the_goal_screen_knows_what_each_waiting_message_answers(sc: Scenario) -> None:
    sc.write(
        post("b", ORG, at(days=5), text="Storytime on Saturday"),
        post("q", "alice", at(days=2), parent_id="b", root_id="b", text="Is it for toddlers?"),
        post("m", "bob", at(days=1), mentions_source=True, text="@org are you open on Monday?"),
    )
    waiting = build_report(sc.store, sc.config, NOW, daily=True).goals[0].waiting
    assert [(w.broadcast, w.broadcast_at) for w in waiting] == [("Storytime on Saturday", at(days=5)), ("", None)]
    assert [w.text for w in waiting] == ["", ""]  # community text is not kept by default
    assert build_report(sc.store, sc.config, NOW).goals[0].waiting[0].broadcast == ""  # only for the goal screen


def test_a_waiting_message_shows_its_words_when_community_text_is_kept(tmp_path: Path) -> None:
    from twoway.store import StorePolicy

    config = make_config()
    config = config._replace(dashboard=config.dashboard._replace(store_community_text=True))
    sc = Scenario(tmp_path, config)
    sc.store.close()
    sc.store = Store.open(sc.path, StorePolicy(keywords=config.keywords, keep_community_text=True, horizon=config.horizon))
    sc.write(
        post("b", ORG, at(days=5), text="Storytime on Saturday"),
        post("q", "alice", at(days=2), parent_id="b", root_id="b", text="Is it for toddlers?"),
    )
    (waiting,) = build_report(sc.store, sc.config, NOW, daily=True).goals[0].waiting
    assert (waiting.text, waiting.broadcast) == ("Is it for toddlers?", "Storytime on Saturday")


def test_a_message_marked_done_leaves_the_waiting_list_and_nothing_else(tmp_path: Path) -> None:
    """SPEC §9: `waiting` and `waiting_total` lose it; answered, response_rate, unanswered, the response
    times and every other number stay as they were (it was not answered). Unfiltered goals list from the
    posts, filtered ones from the pages; a twin written at the same second in the same thread stays."""
    config = make_config(goals=[goal("all"), goal("books", hashtags=("books",))])
    sc = Scenario(tmp_path, config)
    sc.write(
        post("old", ORG, at(days=100), hashtags=("books",)),  # its page is read only for what still waits
        post("w1", "alice", at(days=3), parent_id="old", root_id="old"),
        post("w2", "bob", at(days=1), parent_id="old", root_id="old"),
        post("new", ORG, at(days=5), hashtags=("books",)),
        post("w3", "carol", at(days=2), parent_id="new", root_id="new"),
        post("a3", ORG, at(days=2, hours=-1), parent_id="w3", root_id="new"),
        post("w4", "dan", at(days=4), parent_id="new", root_id="new"),
        post("twin", "erin", at(days=4), parent_id="new", root_id="new"),
        post("other", ORG, at(days=5)),
        post("w5", "fay", at(days=1), parent_id="other", root_id="other"),
        post("m1", "gus", at(days=2), mentions_source=True, hashtags=("books",)),
        post("m2", "hal", at(days=2, hours=-1), mentions_source=True),
        post("b0", ORG, at(days=40)),
        post("w0", "ida", at(days=39), parent_id="b0", root_id="b0"),
    )

    def snapshot(listed: int | None = None) -> dict[str, object]:
        return build_report(sc.store, sc.config, NOW, waiting_listed=listed).to_json()

    before, before_two = snapshot(), snapshot(2)
    marked = {f"https://x.example/{pid}" for pid in ("w1", "w4", "m1")}
    for url in sorted(marked):
        assert sc.store.mark_done(url, NOW)
    after, after_two = snapshot(), snapshot(2)
    for old, new, new_two in zip(before["goals"], after["goals"], after_two["goals"]):  # type: ignore[call-overload]
        kept = [w for w in old["waiting"] if w["url"] not in marked]
        assert len(kept) < len(old["waiting"]) == old["waiting_total"]  # every goal lost some
        assert new["waiting"] == kept and new["waiting_total"] == len(kept)
        assert new_two["waiting"] == kept[:2] and new_two["waiting_total"] == len(kept)
        assert {k: v for k, v in new.items() if not k.startswith("waiting")} == {
            k: v for k, v in old.items() if not k.startswith("waiting")
        }
        assert (new["metrics"]["answered"], new["metrics"]["unanswered"]) == (1, old["metrics"]["unanswered"])
        assert new["metrics"]["response_rate"] == old["metrics"]["response_rate"] is not None
    assert after["sources"] == before["sources"]
    twins = [w["url"] for w in after["goals"][1]["waiting"]]  # type: ignore[index]
    assert "https://x.example/twin" in twins and "https://x.example/w4" not in twins
    for url in sorted(marked):
        sc.store.unmark_done(url)
    assert snapshot() == before and snapshot(2) == before_two
