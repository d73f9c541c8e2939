"""`twoway report --email` (SPEC §10): the report through `[alerts] smtp` as an attachment,
with the headline numbers in a short text body, to a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_cli import NOW, run
from tests.core.test_report_html import _hostile
from tests.smtp import smtp_server
from twoway import cli, wiring
from twoway.alerts.model import Alerts, Smtp
from twoway.config import Config


@pytest.fixture
def demo_with_smtp(monkeypatch: pytest.MonkeyPatch) -> Config:
    """The demo organization with `[alerts] smtp` pointing at `port` (set by each test)."""
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    config = wiring.demo_config()
    monkeypatch.setattr(wiring, "demo_config", lambda: config)
    return config


def _with_smtp(monkeypatch: pytest.MonkeyPatch, config: Config, smtp: Smtp) -> None:
    monkeypatch.setattr(wiring, "demo_config", lambda: config._replace(alerts=Alerts(smtp=smtp)))


def test_the_report_arrives_as_the_same_html_with_the_headline_numbers(
    demo_with_smtp: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    with smtp_server() as server:
        _with_smtp(monkeypatch, demo_with_smtp, Smtp("127.0.0.1", server.port, starttls=False, sender="dash@riverside.example"))
        code = cli.main(["report", "--demo", "-o", str(out), "--email", "director@riverside.example",
                         "--email", "board@riverside.example"])
        assert code == 0, capsys.readouterr().err
        (received,) = server.received
    assert capsys.readouterr().out == ""
    assert received.rcpt_tos == ["director@riverside.example", "board@riverside.example"]
    message = received.message
    # a long subject is folded after "Subject:", which the stdlib's parser leaves as a leading space
    assert message["Subject"].strip() == "Riverside Public Library (DEMO): the twoway report for October 2026"
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_filename() == "twoway-report-2026-10.html"
    assert attachment.get_content() == out.read_text(encoding="utf-8")  # the file -o writes, whole
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    snapshot = _snapshot_json(capsys)
    assert text.startswith("DEMO: built-in demo organization, not real data.\n")
    for goal in snapshot["goals"]:
        metrics = goal["metrics"]
        line = next(line for line in text.splitlines() if line.startswith(f"{goal['name']}: "))
        assert line.startswith(f"{goal['name']}: {goal['status']}; broadcast {metrics['broadcast']:,}, ")
        assert f"two-way {metrics['two_way']:,}, response rate " in line
    assert "twoway-report-2026-10.html" in text


def _snapshot_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert cli.main(["snapshot", "--demo", "--format", "json", "--period", "2026-10"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_from_a_configuration_file_with_hostile_names(tmp_path: Path) -> None:
    """`[alerts] smtp` as the file says it, a whole process, a store with hostile names: the
    subject stays one line of inert text, the attachment is the file `-o` writes."""
    config = _hostile(tmp_path)
    out = tmp_path / "report.html"
    env = {"TWOWAY_NOW": "2026-06-30T12:00:00Z"}
    with smtp_server() as server:
        with config.open("a", encoding="utf-8") as toml:
            toml.write(f'[alerts]\nsmtp = {{ host = "127.0.0.1", port = {server.port}, starttls = false,'
                       ' from = "dash@riverside.example" }\n')
        result = run("--config", str(config), "report", "--no-poll", "--period", "2026-05", "-o", str(out),
                     "--email", "director@riverside.example", env=env)
        assert result.returncode == 0, result.stderr
        (received,) = server.received
    assert result.stdout == "" and result.stderr == ""
    message = received.message
    assert not message.defects and message["Bcc"] is None
    assert message["Subject"].strip() == "Riverside <Library> & \\u202eFriends: the twoway report for May 2026"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "twoway-report-2026-05.html"
    assert attachment.get_content() == out.read_text(encoding="utf-8")
    body = message.get_body(("plain",))
    assert body is not None and "\u202e" not in body.get_content() and "\x1b" not in body.get_content()


def test_markdown_goes_as_a_markdown_attachment(demo_with_smtp: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server() as server:
        _with_smtp(monkeypatch, demo_with_smtp, Smtp("127.0.0.1", server.port, starttls=False, sender="dash@riverside.example"))
        assert cli.main(["report", "--demo", "--format", "markdown", "--window", "30d", "--email", "d@riverside.example"]) == 0
        (received,) = server.received
    (attachment,) = received.message.iter_attachments()
    assert attachment.get_content_type() == "text/markdown" and attachment.get_filename() == "twoway-report-30d.md"


def test_without_smtp_it_is_a_usage_error(demo_with_smtp: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--demo", "--email", "director@riverside.example"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no [alerts] smtp to send it through" in err


def test_a_failed_send_exits_1_in_one_line(
    demo_with_smtp: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _with_smtp(monkeypatch, demo_with_smtp, Smtp("127.0.0.1", port, starttls=False, sender="dash@riverside.example"))
    assert cli.main(["report", "--demo", "--email", "director@riverside.example"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"twoway report --email: 127.0.0.1:{port}: Connection refused\n"
