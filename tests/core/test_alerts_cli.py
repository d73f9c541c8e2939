"""`twoway alerts`, and alerts after a poll, end to end (SPEC §9): a store built by hand, a config
file whose webhook is a receiver on 127.0.0.1, the real webhook channel, `TWOWAY_NOW` as the clock;
two processes at once and a process killed while it delivers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import FakeSleep, run_cli, snapshot_json, staged
from tests.core.test_store_open import RUNNER
from tests.fakes.mastodon import MASTODON
from tests.replay import ReplayServer, Reply, Request, replay_server
from tests.scenario import NOW, ORG, Scenario, at, post
from twoway.config import load_config
from twoway.store import Store

HOOK_ENV = "TWOWAY_ALERT_WEBHOOK"
RULE = f"""
[[alerts.rules]]
name = "Questions waiting"
when = "waiting > 2h"
notify = ["app", {{ webhook = {{ env = "{HOOK_ENV}" }} }}]
"""
CHANNEL = f"webhook env {HOOK_ENV}"


@dataclass
class Setup:
    config: Path
    scenario: Scenario
    receiver: ReplayServer
    monkeypatch: pytest.MonkeyPatch

    def cli(self, *args: str, at: datetime = NOW) -> tuple[int, str, str]:
        self.monkeypatch.setenv("TWOWAY_NOW", at.isoformat())
        return run_cli("--config", str(self.config), "alerts", *args)

    def digests(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.receiver.requests("/hook/")]

    def urls(self) -> list[list[tuple[str, str]]]:
        """Each digest received, as (message, state) pairs."""
        return [[(a["url"].rsplit("/", 1)[1], a["state"]) for a in d["alerts"]] for d in self.digests()]


def _config(tmp_path: Path, timeout: str = "2s", rules: str = RULE, organization: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[organization]\nname = "Test Library"\n{organization}\n[dashboard]\ndatabase = "{tmp_path / "store.db"}"\n'
        f'timeout = "{timeout}"\n\n[[sources]]\nid = "src"\nplatform = "mastodon"\ninstance = "https://x.example"\n'
        f'account = "org"\n\n[[goals]]\nname = "All"\n{rules}',
        encoding="utf-8",
    )
    return path


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: ReplayServer, **kw: str) -> Setup:
    """Questions waiting 1 h, 3 h and 30 h at NOW, in a store the config file names."""
    monkeypatch.setenv(HOOK_ENV, f"{receiver.url}/hook/T000/s3cr3t")
    monkeypatch.setenv("TWOWAY_NOW", NOW.isoformat())
    config = _config(tmp_path, **kw)
    sc = Scenario(tmp_path, load_config(config))
    sc.write(
        post("b", ORG, at(days=2)),
        post("q1", "ann", at(hours=1), parent_id="b", root_id="b"),
        post("q3", "ben", at(hours=3), parent_id="b", root_id="b"),
        post("q30", "cy", at(hours=30), parent_id="b", root_id="b"),
    )
    sc.store.close()
    return Setup(config, sc, receiver, monkeypatch)


@pytest.fixture
def receiver() -> Iterator[ReplayServer]:
    with replay_server() as server:
        server.route("POST", "/hook/*", lambda r: Reply(204))
        yield server


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: ReplayServer) -> Setup:
    return _setup(tmp_path, monkeypatch, receiver)


def test_what_fires_now_in_text_and_json(setup: Setup) -> None:
    code, out, err = setup.cli()
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "Questions waiting: waiting 1d 6h on src (All): https://x.example/q30",
        "Questions waiting: waiting 3h on src (All): https://x.example/q3",
    ]
    code, out, _ = setup.cli("--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["generated_at"] == "2026-06-30T12:00:00Z"
    assert [(a["rule"], a["state"], a["url"], a["waiting_seconds"]) for a in doc["alerts"]] == [
        ("Questions waiting", "firing", "https://x.example/q30", 30 * 3600),
        ("Questions waiting", "firing", "https://x.example/q3", 3 * 3600),
    ]
    assert set(doc["alerts"][0]) == {"rule", "key", "state", "goal", "source", "url", "at", "waiting_seconds"}
    assert setup.digests() == []  # showing sends nothing
    code, out, _ = setup.cli(at=NOW - timedelta(hours=28, minutes=30))  # q30 has waited 1h 30m
    assert (code, out) == (0, "nothing fires\n")


def test_once_sends_the_two_older_in_one_digest_then_nothing_then_the_resolved(setup: Setup) -> None:
    code, out, err = setup.cli("--once")
    assert (code, err) == (1, "")
    assert out == f"sent 2 alerts of 'Questions waiting' to {CHANNEL}: webhook 127.0.0.1 answered HTTP 204\n"
    assert setup.urls() == [[("q30", "firing"), ("q3", "firing")]]
    (digest,) = setup.digests()
    assert digest["rule"] == "Questions waiting" and digest["when"] == "waiting > 2h" and digest["more"] == 0
    assert digest["text"].startswith("Test Library: Questions waiting (waiting > 2h): 2 firing\n")

    assert setup.cli("--once", at=NOW + timedelta(minutes=5))[:2] == (1, "")
    assert len(setup.digests()) == 1

    sc = setup.scenario
    sc.store = Store.open(sc.path, sc.policy)
    sc.write(post("a3", ORG, NOW + timedelta(minutes=6), parent_id="q3", root_id="b"))
    sc.store.close()
    setup.cli("--once", at=NOW + timedelta(minutes=10))
    assert setup.urls()[1:] == [[("q3", "resolved")]]


def test_a_refused_delivery_is_said_and_tried_again(setup: Setup) -> None:
    setup.receiver.route("POST", "/hook/*", lambda r: Reply(500))
    code, out, err = setup.cli("--once")
    assert (code, out) == (1, "")
    assert err == (
        f"twoway: not sent: 2 alerts of 'Questions waiting' to {CHANNEL}: webhook 127.0.0.1 answered HTTP 500"
        " (tried again at the next evaluation)\n"
    )
    assert "s3cr3t" not in err
    setup.receiver.route("POST", "/hook/*", lambda r: Reply(204))
    assert setup.cli("--once", at=NOW + timedelta(minutes=5))[2] == ""
    assert setup.urls() == [[("q30", "firing"), ("q3", "firing")]] * 2


def test_test_sends_one_test_digest_through_every_channel(setup: Setup) -> None:
    code, out, err = setup.cli("--test")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "app (Questions waiting): ok: shown by the live app, nothing to send from here",
        f"{CHANNEL} (Questions waiting): ok: webhook 127.0.0.1 answered HTTP 204",
    ]
    (digest,) = setup.digests()
    assert digest["alerts"] == [] and "this channel works" in digest["text"]
    setup.receiver.route("POST", "/hook/*", lambda r: Reply(404))
    code, out, _ = setup.cli("--test")
    assert code == 1 and out.splitlines()[1].startswith(f"{CHANNEL} (Questions waiting): failed: ")


def test_quiet_outside_hours_holds_until_the_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: ReplayServer) -> None:
    rules = '\n[alerts]\nquiet = "outside-hours"\n' + RULE
    hours = 'hours = "Mon-Fri 00:00-11:00, 13:00-24:00"\n'  # NOW, Tuesday 12:00 UTC, is at lunch
    setup = _setup(tmp_path, monkeypatch, receiver, rules=rules, organization=hours)
    code, out, _ = setup.cli("--once")
    assert out == 'held until the opening: quiet = "outside-hours"\n' and setup.digests() == []
    setup.cli("--once", at=NOW + timedelta(hours=1))
    assert len(setup.digests()) == 1


# -- processes ------------------------------------------------------------------------------


def _spawn(setup: Setup, tmp_path: Path, n: int, go: Path, now: datetime) -> subprocess.Popen[str]:
    env = {**os.environ, "TWOWAY_NOW": now.isoformat()}
    argv = [sys.executable, "-c", RUNNER, str(tmp_path / f"ready-{n}"), str(go), "--config", str(setup.config)]
    return subprocess.Popen([*argv, "alerts", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ready(tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    for n, process in enumerate(processes):
        while not (tmp_path / f"ready-{n}").exists():
            assert process.poll() is None, process.communicate()
            time.sleep(0.005)


def test_two_processes_at_once_send_each_alert_once(setup: Setup, tmp_path: Path) -> None:
    go = tmp_path / "go"
    processes = [_spawn(setup, tmp_path, n, go, NOW) for n in range(2)]
    try:
        _ready(tmp_path, processes)
        go.touch()
        outcomes = [(*p.communicate(timeout=60), p.returncode) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for out, err, code in outcomes:
        assert code == 1 and "Traceback" not in err, err
    sent = [pair for digest in setup.urls() for pair in digest]
    assert sorted(sent) == [("q3", "firing"), ("q30", "firing")]
    assert sum(out.count("sent ") for out, _, _ in outcomes) == len(setup.digests())


def test_killed_while_delivering_it_is_delivered_at_the_next_evaluation_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: ReplayServer
) -> None:
    """SIGKILL between the claim and the channel's answer: the claim holds until it expires
    (twice the timeout), then the next evaluation delivers it, once."""
    setup = _setup(tmp_path, monkeypatch, receiver, timeout="10s")
    arrived, release = threading.Event(), threading.Event()
    accepted: list[Request] = []

    def hold_the_first(request: Request) -> Reply:
        if not arrived.is_set():
            arrived.set()
            release.wait(30)
            return Reply(503)  # its sender is dead: nothing accepted it
        accepted.append(request)
        return Reply(204)

    receiver.route("POST", "/hook/*", hold_the_first)
    go = tmp_path / "go"
    (victim,) = processes = [_spawn(setup, tmp_path, 0, go, NOW)]
    try:
        _ready(tmp_path, processes)
        go.touch()
        assert arrived.wait(30)
        victim.send_signal(signal.SIGKILL)
    finally:
        release.set()
        if victim.poll() is None:
            victim.kill()
        victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    code, out, err = setup.cli("--once", at=NOW + timedelta(seconds=20))  # the claim holds until NOW + 20 s
    assert (out, err) == ("", "") and accepted == []
    setup.cli("--once", at=NOW + timedelta(seconds=21))
    assert [[a["url"].rsplit("/", 1)[1] for a in json.loads(r.body)["alerts"]] for r in accepted] == [["q30", "q3"]]
    setup.cli("--once", at=NOW + timedelta(minutes=5))
    assert len(accepted) == 1


# -- after a poll: collect --once and a snapshot that polled ----------------------------------


@pytest.fixture
def polled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: ReplayServer) -> Iterator[Path]:
    """The Mastodon scenario of the collector tests, its config with a waiting rule on the receiver."""
    monkeypatch.setattr("twoway.plugin.http.wait", FakeSleep())  # the HTTP layer's pauses return at once
    monkeypatch.setenv(HOOK_ENV, f"{receiver.url}/hook/T000/s3cr3t")
    with staged(MASTODON, tmp_path, monkeypatch) as stage:
        with stage.config.open("a", encoding="utf-8") as config:
            config.write(RULE)
        yield stage.config


def _waiting(config: Path) -> list[str]:
    return [w["url"] for w in snapshot_json(config)["goals"][0]["waiting"]]


def test_collect_once_delivers_before_it_exits(polled: Path, receiver: ReplayServer) -> None:
    code, out, err = run_cli("--config", str(polled), "collect", "--once")
    assert (code, err) == (0, "")
    (digest,) = [json.loads(r.body) for r in receiver.requests("/hook/")]
    waiting = _waiting(polled)
    assert len(waiting) >= 2
    assert [a["url"] for a in digest["alerts"]] == waiting  # every one has waited days: oldest first


def test_a_failed_delivery_leaves_collects_exit_code_alone(polled: Path, receiver: ReplayServer) -> None:
    receiver.route("POST", "/hook/*", lambda r: Reply(500))
    code, out, err = run_cli("--config", str(polled), "collect", "--once")
    assert code == 0
    assert err.startswith("twoway: not sent: ") and err.endswith("answered HTTP 500 (tried again at the next evaluation)\n")


def test_a_snapshot_that_polled_evaluates_too(polled: Path, receiver: ReplayServer) -> None:
    code, _, err = run_cli("--config", str(polled), "snapshot", "--format", "json")
    assert (code, err) == (0, "")
    assert len(receiver.requests("/hook/")) == 1
    run_cli("--config", str(polled), "snapshot", "--no-poll")
    assert len(receiver.requests("/hook/")) == 1  # one that does not poll sends nothing


def test_an_evaluation_that_cannot_run_leaves_the_poll_alone(polled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from twoway.errors import StoreError

    async def locked(*args: object, **kw: object) -> None:
        raise StoreError("store.db: database is locked")

    monkeypatch.setattr("twoway.alerts.evaluate.after_poll", locked)
    code, _, err = run_cli("--config", str(polled), "collect", "--once")
    assert (code, err) == (0, "twoway: alerts not evaluated: store.db: database is locked\n")
    assert _waiting(polled)  # the poll is stored
