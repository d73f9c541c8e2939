"""A local SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the email
channel and `twoway report --email`.

It runs its own event loop in a thread, so a test's loop or `asyncio.run` in the code
under test can talk to it alike. Each message is kept as the bytes received and parsed
with the stdlib's modern policy, the way a mail client would read it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

__all__ = ["LocalSmtp", "Received", "smtp_server"]


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
def smtp_server(*, auth: bool = False) -> Iterator[LocalSmtp]:
    """A server on a free port; with `auth`, it offers AUTH over plain SMTP (loopback only, as tests need)."""
    local = LocalSmtp()
    options: dict[str, Any] = {"authenticator": local.authenticate, "auth_require_tls": False} if auth else {}
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    listening = loop.create_server(lambda: SMTP(local, hostname="localhost", **options), "127.0.0.1", 0)
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
