"""Alerts in the live app (SPEC §9): evaluated after each poll cycle like every process that polls,
delivered through the real webhook channel to a receiver on 127.0.0.1; what fires, read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replay import ReplayServer, Reply, replay_server
from tests.tui.test_app import demo_app, settle
from twoway.alerts.model import Alerts, Rule, Webhook
from twoway.config import Credential
from twoway.tui.app import TwowayApp
from twoway.tui.prometheus import ProcessSeries

HOOK = Webhook(Credential(env="TWOWAY_TEST_HOOK"))


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    with replay_server() as server:
        server.route("POST", "/hook/*", lambda r: Reply(204))
        monkeypatch.setenv("TWOWAY_TEST_HOOK", f"{server.url}/hook/secret")
        yield server


def alerting_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    for app in demo_app(monkeypatch, tmp_path):
        rule = Rule("Questions waiting", "waiting > 2h", "waiting", 7200, (), ("app", HOOK))
        app.config = app.config._replace(alerts=Alerts(rules=(rule,)))
        yield app


async def test_the_app_evaluates_after_its_poll_and_reads_what_fires(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, receiver: ReplayServer
) -> None:
    for app in alerting_app(monkeypatch, tmp_path):
        app.series = ProcessSeries([], [("Questions waiting", "webhook")])  # as with --metrics
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert receiver.requests("/hook/") == []  # the demo's sources are fresh: no cycle yet
            await pilot.press("r")
            await settle(app, pilot)
            assert app.polls == 1
            (request,) = receiver.requests("/hook/")
            digest = json.loads(request.body)
            firing = app.alerts.firing  # read back once the evaluation ended, not at the next report
            assert digest["alerts"] and {a["key"] for a in digest["alerts"]} <= {a.key for a in firing}
            assert all(a["state"] == "firing" and a["waiting_seconds"] > 7200 for a in digest["alerts"])
            counted = next(m for m in app.series.collect() if m.name == "twoway_alerts_sent")
            total = len(digest["alerts"]) + digest["more"]  # the listed and the counted
            assert [s.value for s in counted.samples if s.name == "twoway_alerts_sent_total"] == [total]
            (channel,) = app.alerts.channels
            assert (channel.channel, channel.failed, channel.last_error) == ("webhook env TWOWAY_TEST_HOOK", 0, None)
            await pilot.press("r")
            await settle(app, pilot)
            assert app.polls == 2 and len(receiver.requests("/hook/")) == 1  # nothing new: nothing sent
