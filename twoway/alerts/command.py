"""`twoway alerts` (SPEC §9): what fires now, `--once` to evaluate and send, `--test` to try
every channel. The command line opens the store and calls one of these.

Neither polls: `twoway collect` does, and evaluates after each cycle. What fires is read
from the store as it is, so `twoway alerts` from cron or a monitoring check says the
same as the live app beside it. The exit code says whether something fires (1) or not
(0); `--test`, whether a channel failed (1).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, TextIO

from twoway.alerts.digest import alert_line, trial_digest
from twoway.alerts.evaluate import Evaluation, alerts_report, as_alerts, evaluate, firing
from twoway.alerts.model import Alert, Channel, channel_id
from twoway.report import iso

if TYPE_CHECKING:
    from datetime import datetime

    from twoway.alerts.evaluate import Deliver
    from twoway.config import Config
    from twoway.store import Store

__all__ = ["FIRES", "once", "show", "tell", "trial"]

FIRES = 1
"""The exit code when something fires, for monitoring."""


def _print(config: Config, alerts: tuple[Alert, ...], fmt: str, generated_at: datetime, out: TextIO) -> int:
    if fmt == "json":
        doc = {"generated_at": iso(generated_at), "alerts": [a.to_json(with_rule=True) for a in alerts]}
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif not config.alerts.rules:
        out.write("no alert rules: add [[alerts.rules]] to the configuration (docs/alerts.md)\n")
    elif not alerts:
        out.write("nothing fires\n")
    else:
        kinds = {r.name: r.kind for r in config.alerts.rules}
        for alert in alerts:
            out.write(f"{alert.rule}: {alert_line(alert, kinds[alert.rule])}\n")
    return FIRES if alerts else 0


def show(store: Store, config: Config, now: datetime, fmt: str, out: TextIO) -> int:
    """What fires now, read from the store; nothing is written or sent."""
    report = alerts_report(store, config, now)
    return _print(config, as_alerts(firing(config, report), report), fmt, now, out)


def tell(evaluation: Evaluation, out: TextIO, err: TextIO, *, quiet: bool = False) -> None:
    """Each digest sent on `out` (unless `quiet`: after a poll), each one not sent on `err`."""
    for sent in evaluation.sent:
        what = f"{sent.alerts} alert{'s' if sent.alerts != 1 else ''} of {sent.rule!r} to {sent.channel}"
        if not sent.ok:
            err.write(f"twoway: not sent: {what}: {sent.detail} (tried again at the next evaluation)\n")
        elif not quiet:
            out.write(f"sent {what}: {sent.detail}\n")
    if evaluation.held and evaluation.firing and not quiet:
        out.write('held until the opening: quiet = "outside-hours"\n')


def once(store: Store, config: Config, now: datetime, fmt: str, deliver: Deliver, out: TextIO, err: TextIO) -> int:
    """Evaluate and send (`store` a writer): what fires, then each digest sent or not."""
    report = alerts_report(store, config, now)
    evaluation = asyncio.run(evaluate(store, config, report, deliver))
    if fmt == "json":
        _print(config, evaluation.firing, fmt, now, out)
    tell(evaluation, out, err, quiet=fmt == "json")
    return FIRES if evaluation.firing else 0


def trial(config: Config, now: datetime, deliver: Deliver, out: TextIO) -> int:
    """One test digest through every channel configured (once each, whichever rules share it)."""
    channels: dict[str, tuple[Channel, list[str]]] = {}
    for rule in config.alerts.rules:
        for channel in rule.notify:
            channels.setdefault(channel_id(channel), (channel, []))[1].append(rule.name)
    if not channels:
        out.write("no alert rules: add [[alerts.rules]] to the configuration (docs/alerts.md)\n")
        return 0
    timeout = config.dashboard.timeout

    async def each() -> list[tuple[bool, str]]:
        async def one(channel: Channel, rules: list[str]) -> tuple[bool, str]:
            if isinstance(channel, str):
                return True, "shown by the live app, nothing to send from here"
            rule = next(r for r in config.alerts.rules if r.name == rules[0])
            digest = trial_digest(config.organization.name, rule, now)
            outcome = await deliver(channel, digest, smtp=config.alerts.smtp, timeout=timeout)
            return outcome.ok, outcome.detail

        return await asyncio.gather(*(one(c, rules) for c, rules in channels.values()))

    results = asyncio.run(each())
    for (name, (_, rules)), (ok, detail) in zip(channels.items(), results):
        out.write(f"{name} ({', '.join(rules)}): {'ok' if ok else 'failed'}: {detail}\n")
    return 0 if all(ok for ok, _ in results) else 1
