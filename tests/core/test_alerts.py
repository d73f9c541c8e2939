"""Alert evaluation (SPEC §9) in-process: the conditions, the ledger's once, repeat, quiet hours,
retries, on a hand-built store, with a recording channel and an injected clock. Every test runs
on SQLite and on PostgreSQL (`backend`, tests/pg.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.scenario import NOW, ORG, Scenario, at, goal, make_config, post
from twoway.alerts.evaluate import Evaluation, alerts_report, evaluate, firing
from twoway.alerts.model import Alerts, Channel, Digest, Rule, Smtp, Webhook
from twoway.config import Config, Credential, Organization
from twoway.hours import parse_hours
from twoway.store import Store

pytestmark = pytest.mark.usefixtures("backend")

HOOK = Webhook(Credential(env="TWOWAY_TEST_HOOK"))
WAITING = Rule("Questions waiting", "waiting > 2h", "waiting", 7200, (), ("app", HOOK))


class Outcome(NamedTuple):
    ok: bool
    detail: str


class Inbox:
    """A channel that records every digest it is given, accepting them unless told otherwise."""

    def __init__(self) -> None:
        self.digests: list[Digest] = []
        self.refuse = False

    async def __call__(self, channel: Channel, digest: Digest, *, smtp: Smtp | None, timeout: float) -> Outcome:
        self.digests.append(digest)
        return Outcome(False, "HTTP 500") if self.refuse else Outcome(True, "HTTP 200")

    def states(self) -> list[list[tuple[str, str]]]:
        """Each digest as (message, state) pairs."""
        return [[((a.url or a.source or a.goal or "").rsplit("/", 1)[-1], a.state) for a in d.alerts] for d in self.digests]


def alerting(config: Config, *rules: Rule, repeat: int | None = None, quiet: str = "never") -> Config:
    return config._replace(alerts=Alerts(repeat, quiet, None, rules))  # type: ignore[arg-type]


def run(sc: Scenario, config: Config, now: datetime, inbox: Inbox, store: Store | None = None) -> Evaluation:
    store = store or sc.store
    return asyncio.run(evaluate(store, config, alerts_report(store, config, now), inbox))


@pytest.fixture
def waiting(tmp_path: Path) -> Scenario:
    """Three questions under one broadcast, waiting 1 h, 3 h and 30 h at NOW."""
    sc = Scenario(tmp_path)
    sc.config = alerting(sc.config, WAITING)
    sc.write(
        post("b", ORG, at(days=2)),
        post("q1", "ann", at(hours=1), parent_id="b", root_id="b"),
        post("q3", "ben", at(hours=3), parent_id="b", root_id="b"),
        post("q30", "cy", at(hours=30), parent_id="b", root_id="b"),
    )
    return sc


def test_the_two_older_reach_the_channel_in_one_digest_and_only_once(waiting: Scenario) -> None:
    inbox = Inbox()
    result = run(waiting, waiting.config, NOW, inbox)
    assert inbox.states() == [[("q30", "firing"), ("q3", "firing")]]
    (digest,) = inbox.digests
    assert (digest.rule, digest.when, digest.more, digest.organization) == ("Questions waiting", "waiting > 2h", 0, "Test Library")
    assert [a.waiting_seconds for a in digest.alerts] == [30 * 3600, 3 * 3600]
    assert digest.alerts[0].goal == "All" and digest.alerts[0].source == "src"
    assert digest.text.splitlines() == [
        "Test Library: Questions waiting (waiting > 2h): 2 firing",
        "- waiting 1d 6h on src (All): https://x.example/q30",
        "- waiting 3h on src (All): https://x.example/q3",
    ]
    assert [a.url for a in result.firing] == ["https://x.example/q30", "https://x.example/q3"]
    assert [(s.rule, s.channel, s.alerts, s.ok) for s in result.sent] == [
        ("Questions waiting", "webhook env TWOWAY_TEST_HOOK", 2, True)
    ]

    again = run(waiting, waiting.config, NOW + timedelta(minutes=5), inbox)
    assert len(inbox.digests) == 1 and again.sent == ()  # nothing new
    assert len(again.firing) == 2  # still firing


def test_a_message_crossing_the_threshold_later_fires_then(waiting: Scenario) -> None:
    inbox = Inbox()
    run(waiting, waiting.config, NOW, inbox)
    run(waiting, waiting.config, NOW + timedelta(hours=1), inbox)
    assert len(inbox.digests) == 1  # q1 has waited 2h: not longer
    run(waiting, waiting.config, NOW + timedelta(hours=1, seconds=1), inbox)
    assert inbox.states() == [[("q30", "firing"), ("q3", "firing")], [("q1", "firing")]]


def test_an_answer_sends_its_resolved_in_the_next_digest(waiting: Scenario) -> None:
    inbox = Inbox()
    run(waiting, waiting.config, NOW, inbox)
    waiting.write(post("a3", ORG, NOW + timedelta(minutes=2), parent_id="q3", root_id="b"))
    run(waiting, waiting.config, NOW + timedelta(minutes=5), inbox)
    assert inbox.states()[1:] == [[("q3", "resolved")]]
    resolved = inbox.digests[1]
    assert resolved.alerts[0].waiting_seconds is None
    assert resolved.text.splitlines()[1] == "- no longer waiting on src (All): https://x.example/q3"
    run(waiting, waiting.config, NOW + timedelta(minutes=10), inbox)
    assert len(inbox.digests) == 2


def test_repeat_resends_what_still_fires_only_after_its_interval(waiting: Scenario) -> None:
    config = alerting(waiting.config, WAITING, repeat=4 * 3600)
    inbox = Inbox()
    run(waiting, config, NOW, inbox)
    waiting.write(post("a3", ORG, NOW + timedelta(hours=1), parent_id="q3", root_id="b"))
    run(waiting, config, NOW + timedelta(hours=3, minutes=59), inbox)  # q1 has waited 4h 59m, q3 is answered
    assert inbox.states()[1] == [("q1", "firing"), ("q3", "resolved")]
    run(waiting, config, NOW + timedelta(hours=3, minutes=59, seconds=59), inbox)
    assert len(inbox.digests) == 2  # q30 was sent 3h 59m 59s ago: not yet
    run(waiting, config, NOW + timedelta(hours=4), inbox)
    assert inbox.states()[2] == [("q30", "firing")]  # its reminder, and only its
    assert inbox.digests[2].alerts[0].waiting_seconds == 34 * 3600
    run(waiting, config, NOW + timedelta(hours=5), inbox)
    assert len(inbox.digests) == 3


def test_a_snoozed_alert_is_not_repeated_until_then(waiting: Scenario) -> None:
    config = alerting(waiting.config, WAITING, repeat=3600)
    inbox = Inbox()
    run(waiting, config, NOW, inbox)
    q30 = next(a for a in waiting.store.ledger.firing() if a.url and a.url.endswith("/q30"))
    waiting.store.ledger.snooze(q30.key, NOW + timedelta(hours=4))
    run(waiting, config, NOW + timedelta(hours=1, minutes=1), inbox)
    assert inbox.states()[1] == [("q3", "firing"), ("q1", "firing")]  # q3 reminded, q1 new, q30 snoozed
    run(waiting, config, NOW + timedelta(hours=4), inbox)
    assert ("q30", "firing") in inbox.states()[2]


def test_quiet_outside_hours_holds_a_saturday_night_alert_until_the_opening(tmp_path: Path) -> None:
    hours = parse_hours("Mon-Fri 09:00-17:00", "America/Chicago")
    base = make_config()
    config = alerting(
        base._replace(organization=Organization("Test Library", hours=hours, timezone="America/Chicago")),
        WAITING,
        quiet="outside-hours",
    )
    sc = Scenario(tmp_path, config)
    friday = datetime(2026, 7, 3, 14, 0, tzinfo=hours.zone)  # 3 opening hours before the weekend
    sc.write(post("b", ORG, friday - timedelta(days=1)), post("q", "ann", friday, parent_id="b", root_id="b"))
    inbox = Inbox()
    saturday_night = datetime(2026, 7, 4, 22, 0, tzinfo=hours.zone)
    held = run(sc, config, saturday_night.astimezone(timezone.utc), inbox)
    assert held.held and [a.waiting_seconds for a in held.firing] == [3 * 3600]
    assert inbox.digests == []
    run(sc, config, datetime(2026, 7, 6, 8, 59, tzinfo=hours.zone).astimezone(timezone.utc), inbox)
    assert inbox.digests == []
    opened = run(sc, config, datetime(2026, 7, 6, 9, 0, tzinfo=hours.zone).astimezone(timezone.utc), inbox)
    assert not opened.held and inbox.states() == [[("q", "firing")]]
    assert inbox.digests[0].generated_at == datetime(2026, 7, 6, 14, 0, tzinfo=timezone.utc)


def test_a_refused_delivery_is_retried_five_times_then_marked_failed(waiting: Scenario) -> None:
    inbox = Inbox()
    inbox.refuse = True
    for minute in range(7):
        run(waiting, waiting.config, NOW + timedelta(minutes=minute), inbox)
    assert len(inbox.digests) == 5  # the first try and four retries, then given up
    (channel,) = waiting.store.ledger.deliveries()
    assert (channel.rule, channel.channel, channel.failed, channel.last_sent) == (
        "Questions waiting", "webhook env TWOWAY_TEST_HOOK", 2, None
    )
    assert channel.last_error == "HTTP 500" and channel.last_error_at == NOW + timedelta(minutes=4)
    inbox.refuse = False
    waiting.write(post("a3", ORG, NOW + timedelta(minutes=8), parent_id="q3", root_id="b"))
    run(waiting, waiting.config, NOW + timedelta(minutes=9), inbox)
    assert len(inbox.digests) == 5  # q3 never reached it: its resolution is not news there


def test_a_failure_then_a_success_on_the_retry(waiting: Scenario) -> None:
    inbox = Inbox()
    inbox.refuse = True
    run(waiting, waiting.config, NOW, inbox)
    (channel,) = waiting.store.ledger.deliveries()
    assert (channel.retrying, channel.failed) == (2, 0)
    inbox.refuse = False
    run(waiting, waiting.config, NOW + timedelta(minutes=5), inbox)
    assert inbox.states() == [[("q30", "firing"), ("q3", "firing")]] * 2
    (channel,) = waiting.store.ledger.deliveries()
    assert (channel.retrying, channel.failed, channel.last_sent) == (0, 0, NOW + timedelta(minutes=5))


def test_a_second_connection_finds_every_delivery_claimed(waiting: Scenario) -> None:
    """Two evaluations interleaved on two connections: the second wins no claim the first holds."""
    other = Store.open(waiting.path, waiting.policy)
    report = alerts_report(waiting.store, waiting.config, NOW)
    ledger, rival = waiting.store.ledger, other.ledger
    ledger.settle(firing(waiting.config, report), {WAITING.name: ["webhook env TWOWAY_TEST_HOOK"]}, NOW)
    due = ledger.due(WAITING.name, "webhook env TWOWAY_TEST_HOOK", NOW, None)
    seen_by_rival = rival.due(WAITING.name, "webhook env TWOWAY_TEST_HOOK", NOW, None)
    assert len(due) == len(seen_by_rival) == 2
    until = NOW + timedelta(seconds=20)
    assert len(ledger.claim(due, "a", NOW, until)) == 2
    assert rival.claim(seen_by_rival, "b", NOW, until) == []  # changed since it read them
    assert rival.claim(rival.due(WAITING.name, "webhook env TWOWAY_TEST_HOOK", NOW, None), "b", NOW, until) == []
    later = until + timedelta(seconds=1)  # "a" died: its claims expire
    taken = rival.claim(rival.due(WAITING.name, "webhook env TWOWAY_TEST_HOOK", later, None), "b", later, later)
    assert len(taken) == 2
    rival.delivered(taken, later)
    assert ledger.claim(due, "a", later, later + timedelta(seconds=20)) == []  # sent meanwhile: never again
    other.close()


def test_missed_and_source_down(tmp_path: Path) -> None:
    from twoway.config import Target

    rules = (
        Rule("Missed", "missed", "missed", None, (), (HOOK,)),
        Rule("Down", "source down > 30m", "source_down", 1800, (), (HOOK,)),
    )
    base = make_config(goals=[goal("G", targets=[Target("broadcast", ">=", 2)])])
    config = alerting(base, *rules)
    sc = Scenario(tmp_path, config)
    sc.write(post("b", ORG, at(days=2)))
    inbox = Inbox()
    run(sc, config, NOW, inbox)
    assert inbox.states() == [[("G", "firing")]]
    assert inbox.digests[0].text.splitlines()[1] == "- goal G is missed"

    sc.store.record_error("src", "mastodon", NOW + timedelta(minutes=5), "HTTP 503")
    sc.store.record_error("src", "mastodon", NOW + timedelta(minutes=10), "HTTP 503")
    run(sc, config, NOW + timedelta(minutes=35), inbox)
    assert len(inbox.digests) == 1  # down 30 minutes, not more
    run(sc, config, NOW + timedelta(minutes=36), inbox)
    assert inbox.states()[1] == [("src", "firing")]
    assert inbox.digests[1].alerts[0].at == NOW + timedelta(minutes=5)
    assert inbox.digests[1].text.splitlines()[1] == "- source src is down"

    sc.write(post("b2", ORG, at(days=1)))  # polls again, and meets its target
    run(sc, config, NOW + timedelta(minutes=40), inbox)
    assert sorted(map(sorted, inbox.states()[2:])) == [[("G", "resolved")], [("src", "resolved")]]


def test_one_alert_per_message_per_rule_for_the_first_goal_in_config_order(tmp_path: Path) -> None:
    config = alerting(make_config(goals=[goal("First"), goal("Second")]), WAITING)
    sc = Scenario(tmp_path, config)
    sc.write(post("b", ORG, at(days=2)), post("q", "ann", at(hours=5), parent_id="b", root_id="b"))
    found = firing(config, alerts_report(sc.store, config, NOW))
    assert [(f.goal, f.url) for f in found] == [("First", "https://x.example/q")]
    only_second = alerting(config, WAITING._replace(goals=("Second",)))
    assert [f.goal for f in firing(only_second, alerts_report(sc.store, only_second, NOW))] == ["Second"]


def test_more_than_twenty_are_counted(tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    config = alerting(sc.config, WAITING)
    sc.write(post("b", ORG, at(days=3)), *(post(f"q{i}", f"m{i}", at(hours=3 + i), parent_id="b", root_id="b") for i in range(25)))
    inbox = Inbox()
    run(sc, config, NOW, inbox)
    (digest,) = inbox.digests
    assert (len(digest.alerts), digest.more) == (20, 5)
    assert digest.text.splitlines()[-1] == "… and 5 more"
    assert digest.to_json()["more"] == 5
    run(sc, config, NOW + timedelta(minutes=1), inbox)
    assert len(inbox.digests) == 1  # the 5 counted were sent too


def test_prune_drops_alerts_resolved_before_the_cutoff_and_their_deliveries(waiting: Scenario) -> None:
    inbox = Inbox()
    run(waiting, waiting.config, NOW, inbox)
    waiting.write(post("a3", ORG, NOW + timedelta(minutes=2), parent_id="q3", root_id="b"))
    run(waiting, waiting.config, NOW + timedelta(minutes=5), inbox)

    def rows() -> tuple[int, int]:
        conn = waiting.store.conn
        return conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0], conn.execute(
            "SELECT COUNT(*) FROM alert_deliveries"
        ).fetchone()[0]

    assert rows() == (2, 2)
    waiting.store.ledger.prune(NOW + timedelta(minutes=5))
    assert rows() == (2, 2)  # resolved at the cutoff: kept
    waiting.store.ledger.prune(NOW + timedelta(minutes=6))
    assert rows() == (1, 1) and [a.url for a in waiting.store.ledger.firing()] == ["https://x.example/q30"]


def test_network_text_in_a_digest_is_inert_and_stays_on_its_line() -> None:
    from twoway.alerts.digest import make_digest
    from twoway.alerts.model import Alert

    url = "https://x.example/q\r\nBcc: x@evil.example\x1b]8;;https://evil.example\x07\x1b[31mred\u202e"
    alert = Alert("waiting-1", WAITING.name, "firing", "G\x1b[2J", "src", url, NOW, 3 * 3600.0)
    digest = make_digest("Test \x1b]52;c;ZXZpbA==\x07Library", WAITING, [alert], NOW)
    assert digest.text.splitlines() == [
        "Test Library: Questions waiting (waiting > 2h): 1 firing",
        "- waiting 3h on src (G): https://x.example/q Bcc: x@evil.examplered\\u202e",  # the OSC 8 and SGR gone
    ]
    assert digest.alerts == (alert,)  # the JSON carries the values; JSON escapes them, a view neutralises them
