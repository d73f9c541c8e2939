"""Evaluating the rules (SPEC §9): from a report and the store's ledger, at a given `now`.

Whoever evaluates (the live app, a `collect` daemon, a snapshot that polled, `twoway
alerts --once`) gets the same answer from the same store: what fires is read from the
report, what each channel is owed from the ledger, and each delivery is claimed there
before it is sent (see `twoway.store.alert_ledger`). Per rule and channel one digest
goes out per evaluation, holding every delivery that channel won.

`app`, `bell` and `desktop` are never claimed: every running live app shows what fires
from the ledger itself (`AlertLedger.firing`).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from twoway.alerts.digest import make_digest
from twoway.alerts.model import Alert, Apprise, Command, Digest, Email, Rule, Smtp, Webhook, channel_id

if TYPE_CHECKING:
    import httpx

    from twoway.config import Config
    from twoway.report import Report
    from twoway.store import AlertLedger, Due, Firing, LedgerAlert, Store

__all__ = [
    "Deliver",
    "Evaluation",
    "Outcome",
    "Sent",
    "after_poll",
    "alerts_report",
    "as_alerts",
    "evaluate",
    "firing",
    "held",
]

T = TypeVar("T")
Claimed = Webhook | Email | Command | Apprise


class Outcome(Protocol):
    """What a channel says of one delivery: accepted or not, in one line that holds no secret."""

    @property
    def ok(self) -> bool: ...

    @property
    def detail(self) -> str: ...


class Deliver(Protocol):
    """`twoway.alerts.channels.deliver`: sends one digest, bounded by `timeout`, never raising."""

    def __call__(
        self, channel: Claimed, digest: Digest, *, smtp: Smtp | None, timeout: float
    ) -> Awaitable[Outcome]: ...


Offload = Callable[..., Awaitable[Any]]
"""Runs a blocking store step: inline by default, `asyncio.to_thread` in the live app."""


async def _inline(function: Callable[..., T], *args: object) -> T:
    return function(*args)


class Sent(NamedTuple):
    """One digest sent (or tried) to one channel of one rule."""

    rule: str
    channel: str
    """As the ledger names it (`channel_id`)."""
    alerts: int
    ok: bool
    detail: str


class Evaluation(NamedTuple):
    firing: tuple[Alert, ...]
    """Every alert firing now, each rule's in config order."""
    sent: tuple[Sent, ...] = ()
    held: bool = False
    """Outside opening hours with `quiet = "outside-hours"`: nothing was sent."""


def alert_key(rule: str, kind: str, subject: str) -> str:
    """Stable across processes and runs, and free of network text: `waiting-1f3a…`."""
    digest = hashlib.sha256("\0".join((rule, kind, subject)).encode()).hexdigest()[:16]
    return f"{kind.replace('_', '-')}-{digest}"


def alerts_report(store: Store, config: Config, now: datetime) -> Report:
    """The report rules are evaluated on: every goal, every waiting message listed."""
    from twoway.metrics import build_report

    return build_report(store, config, now, waiting_listed=None)


def _watched(rule: Rule, report: Report) -> list[Any]:
    return [g for g in report.goals if not rule.goals or g.name in rule.goals]


def firing(config: Config, report: Report) -> list[Firing]:
    """What fires in `report`: per rule, a message waiting longer than `D` (once, for the first
    goal in config order whose waiting list has it), a goal missed, a source in error longer
    than `D`. Waiting times follow the report's clock (opening hours where set)."""
    from twoway.store import Firing

    found: list[Firing] = []
    for rule in config.alerts.rules:
        if rule.kind == "waiting":
            seen: set[tuple[str, str]] = set()
            for goal in _watched(rule, report):
                for w in goal.waiting:
                    if w.waiting_seconds > (rule.seconds or 0) and (w.source, w.url) not in seen:
                        seen.add((w.source, w.url))
                        key = alert_key(rule.name, rule.kind, f"{w.source}\0{w.url}")
                        found.append(Firing(key, rule.name, rule.kind, goal.name, w.source, w.url, w.at))
        elif rule.kind == "missed":
            found += [
                Firing(alert_key(rule.name, rule.kind, goal.name), rule.name, rule.kind, goal.name)
                for goal in _watched(rule, report)
                if goal.status == "missed"
            ]
        else:
            found += [
                Firing(alert_key(rule.name, rule.kind, s.id), rule.name, rule.kind, source=s.id, at=s.down_since)
                for s in report.sources
                if s.status == "error"
                and s.down_since is not None
                and (report.generated_at - s.down_since).total_seconds() > (rule.seconds or 0)
            ]
    return found


def _waited(report: Report) -> dict[tuple[str, str], float]:
    return {(w.source, w.url): w.waiting_seconds for g in report.goals for w in g.waiting}


def as_alerts(found: Sequence[Firing | LedgerAlert], report: Report) -> tuple[Alert, ...]:
    """What fires (as found, or as the ledger keeps it), as `twoway alerts` prints it, webhooks
    receive it and the live app tells it: each waiting message's wait as `report` counts it."""
    waited = _waited(report)
    return tuple(
        Alert(f.key, f.rule, "firing", f.goal, f.source, f.url, f.at, waited.get((f.source or "", f.url or "")))
        for f in found
    )


def held(config: Config, now: datetime) -> bool:
    """`quiet = "outside-hours"` and the organization is closed: alerts wait for the opening."""
    hours = config.organization.hours
    return config.alerts.quiet == "outside-hours" and hours is not None and not hours.is_open(now)


def _claimed(rule: Rule) -> dict[str, Claimed]:
    return {channel_id(c): c for c in rule.notify if not isinstance(c, str)}


class _Won(NamedTuple):
    rule: Rule
    channel: Claimed
    won: list[Due]


def _prepare(ledger: AlertLedger, config: Config, found: list[Firing], now: datetime, owner: str) -> list[_Won]:
    """Settle what fires, then claim what each claimed channel is owed (nothing while held)."""
    channels = {rule.name: list(_claimed(rule)) for rule in config.alerts.rules}
    ledger.settle(found, channels, now)
    if held(config, now):
        return []
    until = now + timedelta(seconds=2 * config.dashboard.timeout)
    claims = []
    for rule in config.alerts.rules:
        for name, channel in _claimed(rule).items():
            won = ledger.claim(ledger.due(rule.name, name, now, config.alerts.repeat), owner, now, until)
            if won:
                claims.append(_Won(rule, channel, won))
    return claims


def _alert(due: Due, waited: dict[tuple[str, str], float]) -> Alert:
    a = due.alert
    seconds = waited.get((a.source or "", a.url or "")) if due.state == "firing" and a.kind == "waiting" else None
    return Alert(a.key, a.rule, due.state, a.goal, a.source, a.url, a.at, seconds)


async def _send(claim: _Won, config: Config, report: Report, deliver: Deliver, now: datetime) -> Outcome:
    """One digest, never longer than the claim lasts: past it, another process may send it."""
    waited = _waited(report)
    digest = make_digest(config.organization.name, claim.rule, [_alert(d, waited) for d in claim.won], now)
    timeout = config.dashboard.timeout
    try:
        sending = deliver(claim.channel, digest, smtp=config.alerts.smtp, timeout=timeout)
        return await asyncio.wait_for(sending, 1.5 * timeout)
    except asyncio.TimeoutError:
        return _Failed(f"no answer within {1.5 * timeout:g} s")
    except Exception as e:  # a channel's bug must not stop the others, nor the poll loop
        return _Failed(f"{type(e).__name__}: {' '.join(str(e).split())}"[:300])


class _Failed(NamedTuple):
    detail: str
    ok: bool = False


def _record(
    ledger: AlertLedger, claims: Sequence[_Won], outcomes: Sequence[Outcome], owner: str, now: datetime
) -> None:
    for claim, outcome in zip(claims, outcomes):
        if outcome.ok:
            ledger.delivered(claim.won, now)
        else:
            ledger.failed(claim.won, owner, now, outcome.detail)


def _owner() -> str:
    """This evaluation, as its claims name it: the host, the process and a nonce."""
    import os

    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def evaluate(
    store: Store, config: Config, report: Report, deliver: Deliver, *, offload: Offload = _inline
) -> Evaluation:
    """Settle what fires in `report` (at its `generated_at`), claim, deliver and record.

    Each digest is bounded by the timeout and all of them go out at once; a failed one is
    retried at the next evaluation. `offload` runs the store's steps (`asyncio.to_thread`
    in the live app, whose event loop must not wait on SQLite).
    """
    now = report.generated_at
    found = firing(config, report)
    owner = _owner()
    ledger = store.ledger
    claims: list[_Won] = await offload(_prepare, ledger, config, found, now, owner)
    outcomes = await asyncio.gather(*(_send(c, config, report, deliver, now) for c in claims))
    await offload(_record, ledger, claims, outcomes, owner, now)
    sent = tuple(
        Sent(c.rule.name, channel_id(c.channel), len(c.won), o.ok, o.detail) for c, o in zip(claims, outcomes)
    )
    return Evaluation(as_alerts(found, report), sent, held(config, now))


def _read_report(config: Config, now: datetime) -> Report:
    """The report on a read-only connection of its own, which never sees a poll's write half done."""
    from twoway.store import Store, store_location, store_policy

    store = Store.open_readonly(store_location(config), store_policy(config))
    try:
        return alerts_report(store, config, now)
    finally:
        store.close()


async def after_poll(
    store: Store, config: Config, *, client: httpx.AsyncClient | None = None, threads: bool = False
) -> Evaluation | None:
    """What every process that polled runs after its cycle: evaluate the store now and send
    through the channels (webhooks on the process's shared `client`). With `threads` (the live
    app), the report is read on a connection of its own and the store's steps run in threads,
    so the event loop only waits on the network. `None` without rules."""
    if not config.alerts.rules:
        return None
    from functools import partial

    from twoway import clock
    from twoway.alerts.channels import deliver

    now = clock.now()
    report = await asyncio.to_thread(_read_report, config, now) if threads else alerts_report(store, config, now)
    offload = asyncio.to_thread if threads else _inline
    return await evaluate(store, config, report, partial(deliver, client=client), offload=offload)
