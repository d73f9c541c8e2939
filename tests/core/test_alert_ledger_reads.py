"""What the live app reads of the alert ledger (SPEC §9): each firing alert's claimed channels,
reached or not and what failed, on SQLite and on PostgreSQL; and the next day's opening a
snooze waits for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.core.test_alerts import HOOK, WAITING, Inbox, Outcome, alerting, run
from tests.scenario import NOW, ORG, Scenario, at, post
from twoway.alerts.model import Channel, Digest, Email, Smtp
from twoway.hours import parse_hours
from twoway.store import AlertDelivery

pytestmark = pytest.mark.usefixtures("backend")

MAIL = Email(("comms@example.org",))
RULE = WAITING._replace(notify=("app", HOOK, MAIL))


class Refusing(Inbox):
    """The webhook accepts; the email refuses while `refuse` is set."""

    async def __call__(self, channel: Channel, digest: Digest, *, smtp: Smtp | None, timeout: float) -> Outcome:
        self.digests.append(digest)
        return Outcome(False, "SMTP 550") if self.refuse and channel == MAIL else Outcome(True, "accepted")


@pytest.fixture
def sc(tmp_path: Path) -> Scenario:
    sc = Scenario(tmp_path)
    sc.config = alerting(sc.config, RULE)
    sc.write(
        post("b", ORG, at(days=2)),
        post("q3", "ben", at(hours=3), parent_id="b", root_id="b"),
        post("q30", "cy", at(hours=30), parent_id="b", root_id="b"),
    )
    return sc


def by_alert(sc: Scenario) -> dict[str, list[AlertDelivery]]:
    urls = {a.key: (a.url or "").rsplit("/", 1)[-1] for a in sc.store.ledger.firing()}
    found: dict[str, list[AlertDelivery]] = {}
    for d in sc.store.ledger.firing_deliveries():
        found.setdefault(urls[d.key], []).append(d)
    return found


def test_each_firing_alerts_channels_reached_or_failing(sc: Scenario) -> None:
    inbox = Refusing()
    inbox.refuse = True
    run(sc, sc.config, NOW, inbox)
    found = by_alert(sc)
    assert sorted(found) == ["q3", "q30"]
    mail, hook = found["q30"]  # sorted by key, then channel: email before webhook
    assert (mail.channel, mail.sent_at, mail.error, mail.tries, mail.failed) == (
        "email comms@example.org", None, "SMTP 550", 1, False
    )
    assert (hook.channel, hook.sent_at, hook.error) == ("webhook env TWOWAY_TEST_HOOK", NOW, None)

    for minute in range(1, 5):  # four more tries: given up
        run(sc, sc.config, NOW + timedelta(minutes=minute), inbox)
    mail = by_alert(sc)["q30"][0]
    assert (mail.tries, mail.failed, mail.error) == (5, True, "SMTP 550")


def test_a_success_after_a_failure_clears_it_and_a_new_firing_starts_over(sc: Scenario) -> None:
    inbox = Refusing()
    inbox.refuse = True
    run(sc, sc.config, NOW, inbox)
    inbox.refuse = False
    run(sc, sc.config, NOW + timedelta(minutes=5), inbox)
    mail = by_alert(sc)["q30"][0]
    assert (mail.sent_at, mail.error, mail.tries) == (NOW + timedelta(minutes=5), None, 0)

    sc.write(post("a30", ORG, NOW + timedelta(minutes=6), parent_id="q30", root_id="b"))
    run(sc, sc.config, NOW + timedelta(minutes=7), inbox)  # answered: resolved, no longer read
    assert sorted(by_alert(sc)) == ["q3"]


def test_the_opening_a_snooze_waits_for() -> None:
    chicago = ZoneInfo("America/Chicago")
    hours = parse_hours("Mon-Fri 09:00-17:00; Sat 10:00-14:00", "America/Chicago")
    thursday_night = datetime(2026, 11, 27, 4, tzinfo=timezone.utc)  # Thu 22:00 in Chicago
    assert hours.opening_after(thursday_night) == datetime(2026, 11, 27, 9, tzinfo=chicago)
    friday = datetime(2026, 11, 27, 15, tzinfo=timezone.utc)  # Fri 09:00, open: tomorrow is Saturday's
    assert hours.opening_after(friday) == datetime(2026, 11, 28, 10, tzinfo=chicago)
    saturday = datetime(2026, 11, 28, 17, tzinfo=timezone.utc)  # Sunday is closed: Monday's
    assert hours.opening_after(saturday) == datetime(2026, 11, 30, 9, tzinfo=chicago)
    assert parse_hours("Mon 09:00-10:00", "UTC").opening_after(datetime(2026, 11, 30, 9, 30, tzinfo=timezone.utc)) == (
        datetime(2026, 12, 7, 9, tzinfo=timezone.utc)  # a week on
    )
