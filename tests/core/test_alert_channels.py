"""The channels that leave the machine (SPEC §9): webhook, email, command, Apprise, each
against a local server or program the test starts on 127.0.0.1, each bounded by its
timeout and never raising; and the hostile text of an alert inert in all of them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from tests.smtp import LocalSmtp, certificate, smtp_server
from twoway.alerts.channels import APPRISE_MISSING, Outcome, deliver
from twoway.alerts.model import Alert, Apprise, Command, Digest, Email, Smtp, Webhook
from twoway.config import Credential

NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
HOSTILE = (
    "Ann\r\nBcc: x@evil.example\r\nX-Injected: yes\x1b]8;;https://evil.example\x07link\x1b]8;;\x07"
    " \x1b[31mred\x1b[0m \x1b]52;c;ZXZpbA==\x07"
)
"""A display name as a platform may send it: header lines, an OSC 8 link, colour, a clipboard write."""
HOOK = Credential(env="TWOWAY_TEST_WEBHOOK")
URLS = Credential(env="TWOWAY_TEST_APPRISE")


TEXT = (
    "Riverside Library: Questions waiting (waiting > 2h): 2 firing\n"
    "- waiting 3h on mastodon (Answer every question): https://m.example/@ann/1\n"
    "- waiting 1d 6h on mastodon (Answer every question): https://m.example/@ann/2"
)
"""A digest's text as the evaluation writes it: a headline, then a line per alert with its link."""


def digest(text: str = TEXT, rule: str = "Questions waiting") -> Digest:
    alerts = tuple(
        Alert(
            f"{rule}/waiting/m{n}", rule, "firing", goal="Answer every question", source="mastodon",
            url=f"https://m.example/@ann/{n}", at=NOW - timedelta(hours=hours), waiting_seconds=hours * 3600.0,
        )
        for n, hours in ((1, 3), (2, 30))
    )
    return Digest("Riverside Library", rule, "waiting > 2h", NOW, alerts, more=0, text=text)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    """A webhook receiver: POST /hook/<secret> answers 204; the URL is in the credential's variable."""
    with replay_server() as server:
        server.route("POST", "/hook/*", lambda r: Reply(204))
        monkeypatch.setenv(HOOK.env or "", f"{server.url}/hook/T000/s3cr3t-path")
        yield server


# -- webhook -------------------------------------------------------------------------------


async def test_a_webhook_receives_the_digest_json(receiver: ReplayServer) -> None:
    sent = digest()
    outcome = await deliver(Webhook(HOOK), sent, smtp=None, timeout=5)
    assert outcome == Outcome(True, "webhook 127.0.0.1 answered HTTP 204")
    (request,) = receiver.requests("/hook/")
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == sent.to_json()
    assert json.loads(request.body)["alerts"][1]["waiting_seconds"] == 30 * 3600


async def test_a_webhook_through_the_shared_client(receiver: ReplayServer) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        outcome = await deliver(Webhook(HOOK), digest(), smtp=None, timeout=5, client=client)
        assert not client.is_closed  # the caller's to keep
    assert outcome.ok and len(receiver.requests("/hook/")) == 1


async def test_a_webhook_answering_500_is_a_failure_sent_once(receiver: ReplayServer) -> None:
    receiver.route("POST", "/hook/*", lambda r: json_reply({"error": "down"}, 500))
    outcome = await deliver(Webhook(HOOK), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(False, "webhook 127.0.0.1 answered HTTP 500")
    assert len(receiver.requests("/hook/")) == 1  # retried at the next evaluation, not within this one


async def test_a_webhook_that_hangs_times_out(receiver: ReplayServer) -> None:
    release = threading.Event()

    def hang(request: Request) -> Reply:
        release.wait(10)
        return Reply(204)

    receiver.route("POST", "/hook/*", hang)
    try:
        outcome = await deliver(Webhook(HOOK), digest(), smtp=None, timeout=0.3)
    finally:
        release.set()
    assert outcome == Outcome(False, "webhook timed out after 0.3s")


async def test_a_webhook_never_follows_a_redirect_to_another_host(receiver: ReplayServer) -> None:
    with replay_server() as elsewhere:
        elsewhere.route("POST", "/*", lambda r: Reply(204))
        other = elsewhere.url.replace("127.0.0.1", "localhost")
        receiver.route("POST", "/hook/*", lambda r: Reply(307, headers={"Location": f"{other}/stolen"}))
        outcome = await deliver(Webhook(HOOK), digest(), smtp=None, timeout=5)
        assert elsewhere.requests() == []
    assert outcome == Outcome(False, "webhook 127.0.0.1: redirected to localhost, not followed")


async def test_a_webhook_error_never_shows_the_urls_secret(receiver: ReplayServer) -> None:
    receiver.route("POST", "/hook/*", lambda r: json_reply({"error": "no such hook"}, 404))
    outcome = await deliver(Webhook(HOOK), digest(), smtp=None, timeout=5)
    assert not outcome.ok and "HTTP 404" in outcome.detail
    assert "s3cr3t" not in outcome.detail and "T000" not in outcome.detail


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.org/services/T000/s3cr3t", "ftp://hooks.example.org/s3cr3t", "file:///etc/s3cr3t"],
)
async def test_a_webhook_goes_only_to_https_or_loopback(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOOK.env or "", url)
    outcome = await deliver(Webhook(HOOK), digest(), smtp=None, timeout=5)
    assert not outcome.ok and "neither https:// nor this machine" in outcome.detail
    assert "s3cr3t" not in outcome.detail and "\n" not in outcome.detail


async def test_a_webhook_whose_credential_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOOK.env or "", raising=False)
    outcome = await deliver(Webhook(HOOK), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(False, "the webhook URL (env TWOWAY_TEST_WEBHOOK) is not set")


# -- email ---------------------------------------------------------------------------------


def _smtp(server: LocalSmtp, **kw: object) -> Smtp:
    options: dict[str, object] = {"starttls": False, "sender": "twoway@riverside.example", **kw}
    return Smtp("127.0.0.1", server.port, **options)  # type: ignore[arg-type]


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # as it went over the wire


async def test_an_email_carries_the_digest() -> None:
    with smtp_server() as server:
        outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=_smtp(server), timeout=5)
        assert outcome == Outcome(True, f"sent to 1 recipient through 127.0.0.1:{server.port}")
        (received,) = server.received
    assert received.mail_from == "twoway@riverside.example" and received.rcpt_tos == ["comms@riverside.example"]
    message = received.message
    assert message["Subject"] == "Riverside Library: Questions waiting (2 firing)"
    assert message["To"] == "comms@riverside.example" and message["Date"] == "Thu, 26 Nov 2026 12:00:00 +0000"
    assert _body(message) == TEXT + "\n"


async def test_hostile_text_stays_in_the_body_and_adds_no_header() -> None:
    """A display name (in the digest's text) and a rule name with CR/LF and escapes: inert text, never a header."""
    sent = digest(text=f"{HOSTILE} asked 3h ago", rule=f"Questions\r\nBcc: y@evil.example {HOSTILE}")
    with smtp_server() as server:
        outcome = await deliver(Email(("comms@riverside.example",)), sent, smtp=_smtp(server), timeout=5)
        assert outcome.ok, outcome.detail
        (received,) = server.received
    assert received.rcpt_tos == ["comms@riverside.example"]  # nobody was added to the envelope
    assert b"\x1b" not in received.content and b"\x07" not in received.content
    message = received.message
    assert not message.defects
    assert sorted(message.keys()) == sorted(
        ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"]
    )
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in message["Subject"] and "Bcc: y@evil.example" in message["Subject"]  # words on one line
    body = _body(message)
    assert "\nBcc: x@evil.example\nX-Injected: yes" in body  # lines of the body, after the headers ended
    assert "\x1b" not in body and "ZXZpbA==" not in body and "https://evil.example" not in body


async def test_an_smtp_login_on_loopback_sends_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server(auth=True) as server:
        monkeypatch.setenv("TWOWAY_TEST_SMTP_PASSWORD", "hunter2-secret")
        smtp = _smtp(server, user="dash", password=Credential(env="TWOWAY_TEST_SMTP_PASSWORD"))
        outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=smtp, timeout=5)
        assert outcome.ok, outcome.detail
        assert server.logins == [("dash", "hunter2-secret")] and len(server.received) == 1


async def test_a_password_never_goes_in_the_clear_to_another_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOWAY_TEST_SMTP_PASSWORD", "hunter2-secret")
    smtp = Smtp("smtp.example.org", 25, starttls=False, user="dash", password=Credential(env="TWOWAY_TEST_SMTP_PASSWORD"),
                sender="twoway@riverside.example")
    outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=smtp, timeout=5)
    assert outcome == Outcome(False, "refusing to send the SMTP password to smtp.example.org without SSL or STARTTLS")


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "ssl"])
async def test_the_password_goes_over_starttls_or_ssl(
    implicit: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, context = certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's own certificate, and only it
    monkeypatch.setenv("TWOWAY_TEST_SMTP_PASSWORD", "hunter2-secret")
    with smtp_server(auth=True, tls=context, implicit=implicit) as server:
        smtp = Smtp("localhost", server.port, starttls=not implicit, ssl=implicit, user="dash",
                    password=Credential(env="TWOWAY_TEST_SMTP_PASSWORD"), sender="twoway@riverside.example")
        outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=smtp, timeout=5)
        assert outcome == Outcome(True, f"sent to 1 recipient through localhost:{server.port}")
        assert server.logins == [("dash", "hunter2-secret")] and len(server.received) == 1


async def test_a_certificate_nobody_vouches_for_sends_nothing(tmp_path: Path) -> None:
    _, context = certificate(tmp_path)
    with smtp_server(tls=context) as server:
        smtp = Smtp("localhost", server.port, sender="twoway@riverside.example")
        outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=smtp, timeout=5)
        assert server.received == []
    assert not outcome.ok and "CERTIFICATE_VERIFY_FAILED" in outcome.detail and "\n" not in outcome.detail


async def test_starttls_asked_of_a_server_without_it_sends_nothing() -> None:
    with smtp_server() as server:
        outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=_smtp(server, starttls=True), timeout=5)
        assert server.received == []
    assert outcome == Outcome(False, f"127.0.0.1:{server.port} offers no STARTTLS: nothing sent without it")


async def test_an_smtp_server_that_never_greets_times_out() -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        smtp = Smtp("127.0.0.1", silent.getsockname()[1], starttls=False, sender="twoway@riverside.example")
        outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=smtp, timeout=0.3)
    assert outcome == Outcome(False, "email timed out after 0.3s")


async def test_a_login_the_server_does_not_offer(monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_server() as server:  # no AUTH at all
        monkeypatch.setenv("TWOWAY_TEST_SMTP_PASSWORD", "hunter2-secret")
        smtp = _smtp(server, user="dash", password=Credential(env="TWOWAY_TEST_SMTP_PASSWORD"))
        outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=smtp, timeout=5)
        assert server.received == []
    assert outcome == Outcome(False, f"127.0.0.1:{server.port} offers no login (SMTP AUTH) for the user and password given")


async def test_email_without_smtp() -> None:
    outcome = await deliver(Email(("comms@riverside.example",)), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(False, "email needs [alerts] smtp")


# -- command -------------------------------------------------------------------------------


def _script(tmp_path: Path, code: str) -> Command:
    script = tmp_path / "notify.py"
    script.write_text(code, encoding="utf-8")
    return Command((sys.executable, str(script), str(tmp_path)))


async def test_a_command_gets_the_digest_on_stdin_and_nothing_in_its_argv(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "import pathlib, sys\n"
        "pathlib.Path(sys.argv[1], 'stdin.json').write_bytes(sys.stdin.buffer.read())\n"
        "pathlib.Path(sys.argv[1], 'argv.json').write_text(repr(sys.argv[1:]))\n",
    )
    sent = digest(text=f"{HOSTILE} $(touch {tmp_path}/pwned) `id` ; rm -rf /")
    outcome = await deliver(command, sent, smtp=None, timeout=10)
    assert outcome == Outcome(True, "command python3 exited with 0".replace("python3", Path(sys.executable).name))
    assert json.loads((tmp_path / "stdin.json").read_bytes()) == sent.to_json()
    assert (tmp_path / "argv.json").read_text() == repr([str(tmp_path)])
    assert not (tmp_path / "pwned").exists()


async def test_a_failing_command_says_its_code_and_first_line(tmp_path: Path) -> None:
    command = _script(tmp_path, "import sys\nsys.stderr.write('\\n\\x1b[31mno route\\x1b[0m to host\\r\\nmore\\n')\nsys.exit(3)\n")
    outcome = await deliver(command, digest(), smtp=None, timeout=10)
    assert outcome == Outcome(False, f"command {Path(sys.executable).name} exited with 3: no route to host")


async def test_a_command_that_hangs_is_killed_with_what_it_started(tmp_path: Path) -> None:
    command = _script(
        tmp_path,
        "import os, pathlib, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
        "pathlib.Path(sys.argv[1], 'pids').write_text(f'{os.getpid()} {child.pid}')\n"
        "time.sleep(3600)\n",
    )
    try:
        # bounded here too: a kill that missed the child would otherwise hang the test
        outcome = await asyncio.wait_for(deliver(command, digest(), smtp=None, timeout=1), 30)
        assert outcome == Outcome(False, "command timed out after 1s")
        pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
        assert not _alive(pids[0])
        deadline = datetime.now() + timedelta(seconds=10)  # a signal is delivered soon, not at once
        while _alive(pids[1]) and datetime.now() < deadline:
            threading.Event().wait(0.01)
        assert not _alive(pids[1])
    finally:
        for pid in (tmp_path / "pids").read_text().split() if (tmp_path / "pids").exists() else ():
            if _alive(int(pid)):
                os.kill(int(pid), 9)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] in "ZX")


async def test_a_command_that_does_not_exist() -> None:
    outcome = await deliver(Command(("/nonexistent/notify-send", "x")), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(False, "command notify-send cannot start: No such file or directory")


# -- apprise -------------------------------------------------------------------------------


@pytest.fixture
def apprise_urls(receiver: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> ReplayServer:
    """Apprise's JSON service to the same local receiver; two URLs, as the credential may list several."""
    port = receiver.url.rsplit(":", 1)[1]
    monkeypatch.setenv(URLS.env or "", f"json://127.0.0.1:{port}/hook/one ,\n json://127.0.0.1:{port}/hook/two")
    return receiver


async def test_apprise_sends_the_digests_text_to_each_url(apprise_urls: ReplayServer) -> None:
    pytest.importorskip("apprise")
    outcome = await deliver(Apprise(URLS), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(True, "apprise: 2 services notified")
    requests = apprise_urls.requests("/hook/")
    assert sorted(r.path for r in requests) == ["/hook/one", "/hook/two"]
    body = json.loads(requests[0].body)
    assert body["message"] == TEXT
    assert body["title"] == "Riverside Library: Questions waiting (2 firing)"


async def test_apprise_failing_names_the_service_never_the_url(apprise_urls: ReplayServer) -> None:
    pytest.importorskip("apprise")
    apprise_urls.route("POST", "/hook/two", lambda r: Reply(500))
    outcome = await deliver(Apprise(URLS), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(False, "apprise: 1 of 2 services failed (JSON)")


async def test_apprise_url_it_does_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("apprise")
    monkeypatch.setenv(URLS.env or "", "nosuchservice://s3cr3t@example.org")
    outcome = await deliver(Apprise(URLS), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(False, "apprise: URL 1 of 1 is not one Apprise knows")


async def test_apprise_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # import apprise now raises ImportError
    monkeypatch.setenv(URLS.env or "", "json://127.0.0.1:9/x")
    outcome = await deliver(Apprise(URLS), digest(), smtp=None, timeout=5)
    assert outcome == Outcome(False, APPRISE_MISSING)
    assert APPRISE_MISSING == "apprise is not installed: pip install 'twoway[apprise]'"
