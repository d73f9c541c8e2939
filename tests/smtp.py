"""A local SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the email
channel and `twoway report --email`.

It runs its own event loop in a thread, so a test's loop or `asyncio.run` in the code
under test can talk to it alike. Each message is kept as the bytes received and parsed
with the stdlib's modern policy, the way a mail client would read it.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

__all__ = ["LocalSmtp", "Received", "certificate", "smtp_server"]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)


@dataclass
class LocalSmtp:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)


@contextmanager
def smtp_server(
    *, auth: bool = False, tls: ssl.SSLContext | None = None, implicit: bool = False
) -> Iterator[LocalSmtp]:
    """A server on a free port. With `auth`, it offers AUTH (over plain SMTP unless `tls`);
    with `tls`, it offers STARTTLS and takes nothing before it, or with `implicit` speaks
    TLS from the first byte (port 465's way)."""
    local = LocalSmtp()
    # aiosmtpd counts only STARTTLS as TLS: under implicit TLS its AUTH must not ask for it again
    starttls = tls is not None and not implicit
    options: dict[str, Any] = {"authenticator": local.authenticate, "auth_require_tls": starttls} if auth else {}
    if starttls:
        options.update(tls_context=tls, require_starttls=True)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    listening = loop.create_server(
        lambda: SMTP(local, hostname="localhost", **options), "127.0.0.1", 0, ssl=tls if implicit else None
    )
    server = asyncio.run_coroutine_threadsafe(listening, loop).result()
    local.port = server.sockets[0].getsockname()[1]
    try:
        yield local
    finally:
        asyncio.run_coroutine_threadsafe(_close(server), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


async def _close(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()


def certificate(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for localhost made by the openssl command (the PEM a client
    trusts through SSL_CERT_FILE), and the server's context holding it."""
    import shutil
    import subprocess

    import pytest

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed: no certificate to test TLS with")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context
