"""The demo with alerts firing, made by the real evaluation: a rule on the demo's goals, its
deliveries through an injected channel that accepts the webhook and refuses the email."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.tui.test_app import NOW, demo_app
from twoway import clock
from twoway.alerts.evaluate import Evaluation, alerts_report, evaluate
from twoway.alerts.model import Alerts, Channel, Digest, Email, Rule, Smtp, Webhook
from twoway.config import Credential
from twoway.tui.app import TwowayApp

HOOK = Webhook(Credential(env="TWOWAY_TEST_HOOK"))
MAIL = Email(("comms@riverside.example",))
QUESTIONS = Rule("Questions waiting", "waiting > 1d", "waiting", 86400, ("Answer every question",), ("app", HOOK, MAIL))


class Outcome(NamedTuple):
    ok: bool
    detail: str


class Channels:
    """Records every digest; the webhook accepts, the email refuses."""

    def __init__(self) -> None:
        self.digests: list[tuple[Channel, Digest]] = []

    async def __call__(self, channel: Channel, digest: Digest, *, smtp: Smtp | None, timeout: float) -> Outcome:
        self.digests.append((channel, digest))
        if isinstance(channel, Email):
            return Outcome(False, "SMTP 550 mailbox unavailable")
        return Outcome(True, "HTTP 204")


def evaluate_now(app: TwowayApp, channels: Channels | None = None) -> Evaluation:
    """One evaluation of the app's store at the clock's now, as a poll cycle's would be; on a
    thread of its own, so a test's event loop may be running."""
    report = alerts_report(app.store, app.config, clock.now())
    sending = evaluate(app.store, app.config, report, channels or Channels())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, sending).result()


def alerting_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *rules: Rule, now: str | None = None, hours: str | None = None
) -> Iterator[TwowayApp]:
    """The demo app with `rules` (by default `QUESTIONS`) evaluated once before it starts."""
    for app in demo_app(monkeypatch, tmp_path, now=now or NOW, hours=hours):
        app.config = app.config._replace(alerts=Alerts(rules=rules or (QUESTIONS,)))
        if app._starting is not None:  # the demo's child fills the store: evaluate what it wrote
            app._starting.wait()
        evaluate_now(app)
        yield app
