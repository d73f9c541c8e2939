"""The alert ledger (SPEC §9): what fires, and what each channel was sent, in the store.

Every alert is one row of `alerts`, keyed by its stable key: firing from `fired_at`
until `resolved_at`. Each channel of its rule that is claimed (webhook, email, command,
Apprise) has one row of `alert_deliveries`: the state the channel last accepted
(`sent_state`, `sent_at`) and the delivery being made now. Whoever evaluates claims
a delivery before sending with a conditional UPDATE on the row's `version` and on
its claim having expired, so of two processes evaluating at once only one wins each
delivery, on SQLite (one `BEGIN IMMEDIATE`) as on PostgreSQL (the second UPDATE
waits for the first and then matches no row). A claim expires at `claimed_until`
(twice `[dashboard] timeout`): a process killed before sending leaves it to the next
evaluation. A failed try is retried at the next evaluation, `MAX_TRIES` in all, then
the delivery is marked failed and left alone until the alert changes state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from twoway.store.database import _dt, _ts  # the store's one conversion of times; it imports this module lazily

if TYPE_CHECKING:
    from twoway.store.database import Store

__all__ = ["MAX_TRIES", "AlertDelivery", "AlertLedger", "ChannelDeliveries", "Due", "Firing", "LedgerAlert"]

MAX_TRIES = 5
"""Tries of one delivery before it is marked failed (SPEC §9)."""

State = Literal["firing", "resolved"]


class Firing(NamedTuple):
    """An alert that fires now, as an evaluation found it."""

    key: str
    rule: str
    kind: str
    goal: str | None = None
    source: str | None = None
    url: str | None = None
    at: datetime | None = None
    """When its cause began: the message written, the source down; `None` for a goal missed."""


class LedgerAlert(NamedTuple):
    key: str
    rule: str
    kind: str
    goal: str | None
    source: str | None
    url: str | None
    at: datetime | None
    """When its cause began; `None` for a goal missed."""
    fired_at: datetime
    resolved_at: datetime | None
    snoozed_until: datetime | None

    @property
    def firing(self) -> bool:
        return self.resolved_at is None


class Due(NamedTuple):
    """One delivery to make: `alert`'s `state` to `channel`, at the row's `version` when read."""

    alert: LedgerAlert
    channel: str
    state: State
    version: int


class ChannelDeliveries(NamedTuple):
    """A channel of a rule as the sources screen shows it: its last delivery and failure."""

    rule: str
    channel: str
    last_sent: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failed: int
    """Deliveries given up after `MAX_TRIES`."""
    retrying: int
    """Deliveries that failed and are tried again at the next evaluation."""


class AlertDelivery(NamedTuple):
    """A claimed channel of one firing alert, as the alerts screen shows it: reached or not, and what failed."""

    key: str
    channel: str
    sent_at: datetime | None
    """When the channel accepted this firing; `None` while it has not (a delivery from before it last
    fired does not count)."""
    error: str | None
    """The last try's failure since it fired and since it was last accepted; `None` without one."""
    tries: int
    """Tries of the delivery being made, while it fails."""
    failed: bool
    """Given up after `MAX_TRIES`."""


_ALERT_COLUMNS = (
    "a.alert_key, a.rule, a.kind, a.goal, a.source_id, a.url, a.at, a.fired_at, a.resolved_at, a.snoozed_until"
)


def _alert(row: Sequence[Any]) -> LedgerAlert:
    key, rule, kind, goal, source, url, at, fired_at, resolved_at, snoozed_until = row[:10]
    fired = datetime.fromtimestamp(fired_at, timezone.utc)
    return LedgerAlert(key, rule, kind, goal, source, url, _dt(at), fired, _dt(resolved_at), _dt(snoozed_until))


class AlertLedger:
    """The ledger over one store connection (a writer, but for the read methods)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn

    # -- evaluating -------------------------------------------------------------------

    def settle(self, firing: Iterable[Firing], channels: Mapping[str, Sequence[str]], now: datetime) -> None:
        """What fires now, in one transaction: new alerts fire (again, if they had resolved), those
        no longer found resolve, and each fires with a delivery row for every claimed channel of
        its rule (`channels`: rule → channel ids)."""
        found = {f.key: f for f in firing}
        ts = _ts(now)
        with self.store.transaction():
            known = dict(self.conn.execute("SELECT alert_key, resolved_at FROM alerts").fetchall())
            for key, f in found.items():
                at = None if f.at is None else _ts(f.at)
                if key not in known:
                    self.conn.execute(
                        "INSERT INTO alerts (alert_key, rule, kind, goal, source_id, url, at, fired_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_key) DO NOTHING",
                        (key, f.rule, f.kind, f.goal, f.source, f.url, at, ts),
                    )
                elif known[key] is not None:
                    self.conn.execute(
                        "UPDATE alerts SET goal = ?, source_id = ?, url = ?, at = ?, fired_at = ?, resolved_at = NULL,"
                        " snoozed_until = NULL WHERE alert_key = ? AND resolved_at IS NOT NULL",
                        (f.goal, f.source, f.url, at, ts, key),
                    )
            gone = [key for key, resolved in known.items() if resolved is None and key not in found]
            self.conn.executemany(
                "UPDATE alerts SET resolved_at = ? WHERE alert_key = ? AND resolved_at IS NULL", [(ts, k) for k in gone]
            )
            self.conn.executemany(
                "INSERT INTO alert_deliveries (alert_key, rule, channel) VALUES (?, ?, ?)"
                " ON CONFLICT (alert_key, channel) DO NOTHING",
                [(key, f.rule, channel) for key, f in found.items() for channel in channels.get(f.rule, ())],
            )

    def due(self, rule: str, channel: str, now: datetime, repeat: int | None) -> list[Due]:
        """What `channel` of `rule` is owed, oldest first: alerts that fired since it was last sent
        them, those it was sent firing that have resolved, and, every `repeat` seconds, those
        still firing (not while snoozed). A delivery given up stays given up until the alert
        changes state."""
        rows = self.conn.execute(
            f"SELECT {_ALERT_COLUMNS}, d.sent_state, d.sent_at, d.pending, d.failed_at, d.version"
            " FROM alert_deliveries d JOIN alerts a ON a.alert_key = d.alert_key"
            " WHERE d.rule = ? AND d.channel = ? AND (a.resolved_at IS NULL OR d.sent_state = 'firing')",
            (rule, channel),
        ).fetchall()
        ts = _ts(now)
        owed: list[Due] = []
        for row in rows:
            alert = _alert(row)
            sent_state, sent_at, pending, failed_at, version = row[10:]
            state: State | None = None
            if alert.resolved_at is not None:
                state = "resolved"
            elif sent_state != "firing" or sent_at < _ts(alert.fired_at):
                state = "firing"
            elif repeat is not None and sent_at + repeat <= ts and not (
                alert.snoozed_until is not None and alert.snoozed_until > now
            ):
                state = "firing"
            if state is not None and not (failed_at is not None and pending == state):
                owed.append(Due(alert, channel, state, version))
        owed.sort(key=lambda d: (d.alert.at or d.alert.fired_at, d.alert.key))
        return owed

    def claim(self, due: Sequence[Due], owner: str, now: datetime, until: datetime) -> list[Due]:
        """Claim each delivery unless another process holds it or changed it since it was read;
        returns those won, at their new version."""
        won: list[Due] = []
        with self.store.transaction():
            for d in due:
                cur = self.conn.execute(
                    "UPDATE alert_deliveries SET claimed_by = ?, claimed_until = ?,"
                    " tries = CASE WHEN pending = ? THEN tries + 1 ELSE 1 END, pending = ?, failed_at = NULL,"
                    " version = version + 1"
                    " WHERE alert_key = ? AND channel = ? AND version = ?"
                    " AND (claimed_until IS NULL OR claimed_until < ?)",
                    (owner, _ts(until), d.state, d.state, d.alert.key, d.channel, d.version, _ts(now)),
                )
                if cur.rowcount == 1:
                    won.append(d._replace(version=d.version + 1))
        return won

    def delivered(self, won: Sequence[Due], now: datetime) -> None:
        """The channel accepted them: recorded at once, so nothing sends them again."""
        with self.store.transaction():
            self.conn.executemany(
                "UPDATE alert_deliveries SET sent_state = ?, sent_at = ?, pending = NULL, tries = 0,"
                " claimed_by = NULL, claimed_until = NULL, version = version + 1 WHERE alert_key = ? AND channel = ?",
                [(d.state, _ts(now), d.alert.key, d.channel) for d in won],
            )

    def failed(self, won: Sequence[Due], owner: str, now: datetime, error: str) -> None:
        """The channel refused or did not answer: retried at the next evaluation, or given up
        after `MAX_TRIES`. A claim another process has taken over since is left to it."""
        ts = _ts(now)
        with self.store.transaction():
            self.conn.executemany(
                "UPDATE alert_deliveries SET claimed_by = NULL, claimed_until = NULL, last_error = ?,"
                " last_error_at = ?, failed_at = CASE WHEN tries >= ? THEN ? ELSE NULL END, version = version + 1"
                " WHERE alert_key = ? AND channel = ? AND claimed_by = ?",
                [(error, ts, MAX_TRIES, ts, d.alert.key, d.channel, owner) for d in won],
            )

    def prune(self, before: datetime) -> None:
        """Alerts resolved before `before` go, with their deliveries."""
        with self.store.transaction():
            old = "SELECT alert_key FROM alerts WHERE resolved_at < ?"
            self.conn.execute(f"DELETE FROM alert_deliveries WHERE alert_key IN ({old})", (_ts(before),))
            self.conn.execute("DELETE FROM alerts WHERE resolved_at < ?", (_ts(before),))

    # -- for the live app -----------------------------------------------------------------

    def firing(self) -> list[LedgerAlert]:
        """Every alert firing now, oldest first: what each running app shows (app, bell, desktop)."""
        rows = self.conn.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE a.resolved_at IS NULL").fetchall()
        return sorted(map(_alert, rows), key=lambda a: (a.fired_at, a.at or a.fired_at, a.key))

    def deliveries(self) -> list[ChannelDeliveries]:
        """Each claimed channel of each rule: its last delivery, its last failure, what is given up."""
        found: dict[tuple[str, str], ChannelDeliveries] = {}
        rows = self.conn.execute(
            "SELECT rule, channel, sent_at, last_error, last_error_at, failed_at, pending FROM alert_deliveries"
        ).fetchall()
        for rule, channel, sent_at, error, error_at, failed_at, pending in rows:
            seen = found.get((rule, channel)) or ChannelDeliveries(rule, channel, None, None, None, 0, 0)
            sent, errored = _dt(sent_at), _dt(error_at)
            if sent is not None and (seen.last_sent is None or sent > seen.last_sent):
                seen = seen._replace(last_sent=sent)
            if errored is not None and (seen.last_error_at is None or errored > seen.last_error_at):
                seen = seen._replace(last_error=error, last_error_at=errored)
            if failed_at is not None:
                seen = seen._replace(failed=seen.failed + 1)
            elif pending is not None and error_at is not None:
                seen = seen._replace(retrying=seen.retrying + 1)
            found[(rule, channel)] = seen
        return [found[k] for k in sorted(found)]

    def firing_deliveries(self) -> list[AlertDelivery]:
        """Each claimed channel of each alert firing now: which reached it and what failed."""
        rows = self.conn.execute(
            "SELECT d.alert_key, d.channel, d.sent_state, d.sent_at, a.fired_at, d.last_error, d.last_error_at,"
            " d.tries, d.failed_at FROM alert_deliveries d JOIN alerts a ON a.alert_key = d.alert_key"
            " WHERE a.resolved_at IS NULL"
        ).fetchall()
        found = []
        for key, channel, sent_state, sent_at, fired_at, error, error_at, tries, failed_at in rows:
            reached = sent_state == "firing" and sent_at is not None and sent_at >= fired_at
            recent = error_at is not None and error_at >= fired_at and (not reached or error_at >= sent_at)
            found.append(
                AlertDelivery(
                    key,
                    channel,
                    _dt(sent_at) if reached else None,
                    error if recent else None,
                    tries if recent else 0,
                    failed_at is not None and recent,
                )
            )
        return sorted(found)

    def snooze(self, key: str, until: datetime) -> None:
        """Not repeated before `until` (`z` on the alerts screen)."""
        with self.store.transaction():
            self.conn.execute("UPDATE alerts SET snoozed_until = ? WHERE alert_key = ?", (_ts(until), key))
