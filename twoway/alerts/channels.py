"""Delivering a digest to the channels that leave the machine: webhook, email, command, Apprise (SPEC §9).

`deliver` never raises and never takes longer than `timeout`, so whoever evaluated (the
live app, `collect`) records the outcome and polls on. An outcome's detail is one line
naming a host, a program or a count: never a webhook's or Apprise's URL (their paths
and queries carry tokens), nor a password. A digest's text reaches a channel only as
a body: JSON on a webhook's POST and a command's stdin, an email's or Apprise's body.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import tempfile
from collections.abc import Awaitable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from twoway.alerts.mail import Attachment, MailError, compose, header_line, transmit
from twoway.alerts.model import Apprise, Command, Digest, Email, Smtp, Webhook, channel_name
from twoway.hosts import is_loopback

if TYPE_CHECKING:
    import httpx

    from twoway.config import Credential

__all__ = ["APPRISE_MISSING", "Outcome", "deliver", "send_mail", "subject"]

APPRISE_MISSING = "apprise is not installed: pip install 'twoway[apprise]'"


class Outcome(NamedTuple):
    ok: bool
    detail: str
    """One line; never a secret."""


class _Failure(Exception):
    """A delivery refused or failed; `str()` is the outcome's detail."""


async def deliver(
    channel: Webhook | Email | Command | Apprise,
    digest: Digest,
    *,
    smtp: Smtp | None,
    timeout: float,
    client: httpx.AsyncClient | None = None,
) -> Outcome:
    """Send `digest` through `channel`; a webhook goes through `client` (the shared one) when given."""
    return await _bounded(channel_name(channel), _send(channel, digest, smtp, timeout, client), timeout)


async def send_mail(
    smtp: Smtp,
    to: Sequence[str],
    title: str,
    body: str,
    *,
    date: datetime,
    attachments: Sequence[Attachment] = (),
    timeout: float,
) -> Outcome:
    """One email through `[alerts] smtp`, as the email channel sends it: `twoway report --email`."""
    return await _bounded("email", _mail(smtp, to, title, body, date, attachments, timeout), timeout)


def subject(digest: Digest) -> str:
    """`Riverside Library: Questions waiting (2 firing, 1 resolved)`."""
    firing = sum(a.state == "firing" for a in digest.alerts)
    counts = [
        f"{firing} firing" if firing else "",
        f"{len(digest.alerts) - firing} resolved" if len(digest.alerts) > firing else "",
        f"{digest.more} more" if digest.more else "",
    ]
    listed = ", ".join(c for c in counts if c)
    return f"{digest.organization}: {digest.rule}" + (f" ({listed})" if listed else "")


async def _bounded(name: str, work: Awaitable[str], timeout: float) -> Outcome:
    try:
        return Outcome(True, await asyncio.wait_for(work, timeout))
    except asyncio.TimeoutError:
        return Outcome(False, f"{name} timed out after {timeout:g}s")
    except (_Failure, MailError) as e:
        return Outcome(False, header_line(str(e)))
    except Exception as e:  # a library failing in a way of its own: never the evaluation's problem
        return Outcome(False, f"{name} failed: {type(e).__name__}")


async def _send(
    channel: Webhook | Email | Command | Apprise,
    digest: Digest,
    smtp: Smtp | None,
    timeout: float,
    client: httpx.AsyncClient | None,
) -> str:
    if isinstance(channel, Webhook):
        return await _webhook(channel.url, digest, timeout, client)
    if isinstance(channel, Email):
        if smtp is None:
            raise _Failure("email needs [alerts] smtp")
        return await _mail(smtp, channel.to, subject(digest), digest.text, digest.generated_at, (), timeout)
    if isinstance(channel, Command):
        return await _command(channel.argv, digest)
    return await _apprise(channel.urls, digest, timeout)


async def _mail(
    smtp: Smtp,
    to: Sequence[str],
    title: str,
    body: str,
    date: datetime,
    attachments: Sequence[Attachment],
    timeout: float,
) -> str:
    message = compose(smtp, to, title, body, date=date, attachments=attachments)
    return await asyncio.to_thread(transmit, smtp, message, timeout=timeout)


def _secret(credential: Credential, what: str) -> str:
    value = credential.resolve()
    if value is None:
        raise _Failure(f"the {what} ({credential}) is not set")
    return value


async def _webhook(credential: Credential, digest: Digest, timeout: float, client: httpx.AsyncClient | None) -> str:
    """POST the digest through the HTTP layer: its timeouts and size limit, one attempt, no redirect."""
    import httpx

    from twoway.plugin.http import FetchError, Http

    url = _secret(credential, "webhook URL")
    parts = urlsplit(url)
    host = header_line(parts.hostname or "?")
    if not (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))):
        raise _Failure(f"webhook refused: {host} is neither https:// nor this machine")
    # one attempt: a failure is retried at the next evaluation; `timeout` bounds it all, the layer's own is a backstop
    try:
        async with AsyncExitStack() as stack:
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient())
            http = Http(client, timeout=2 * timeout, attempts=1, redirects=False)
            response = await http.request("POST", url, json_body=digest.to_json())
    except FetchError as e:
        if e.status is not None and e.status >= 500:
            raise _Failure(f"webhook {host} answered HTTP {e.status}") from None
        raise _Failure(f"webhook {_hide(str(e), url, host).removesuffix(' (1 attempts)')}") from None
    return f"webhook {host} answered HTTP {response.status}"


def _hide(message: str, url: str, host: str) -> str:
    """`message` with the URL's path and query (where a webhook keeps its secret) cut down to its host."""
    parts = urlsplit(url)
    for secret in (url, f"{parts.scheme}://{parts.netloc}{parts.path}", parts.netloc, parts.path, parts.query):
        if len(secret) > 1:
            message = message.replace(secret, host)
    return message


async def _command(argv: Sequence[str], digest: Digest) -> str:
    """Run `argv` (never a shell) with the digest as JSON on stdin; killed, with what it started, when cancelled.

    Its stderr goes to a file, not a pipe: a process it left behind holding the pipe
    open would keep the wait for its exit, and so the timeout, from ever ending.
    """
    program = header_line(os.path.basename(argv[0]) if argv else "")
    if not argv:
        raise _Failure("command is empty")
    with tempfile.TemporaryFile() as errors:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,  # its own process group: a timeout kills what it started too
            )
        except OSError as e:
            raise _Failure(f"command {program} cannot start: {e.strerror or type(e).__name__}") from None
        try:
            await process.communicate(json.dumps(digest.to_json()).encode())
        finally:
            if process.returncode is None:
                _kill(process.pid)
                await process.wait()
        if process.returncode:
            errors.seek(0)
            lines = (header_line(line) for line in errors.read(4096).decode("utf-8", "replace").splitlines())
            first = next((line for line in lines if line), "")
            said = f": {first[:160]}" if first else ""
            raise _Failure(f"command {program} exited with {process.returncode}{said}")
    return f"command {program} exited with 0"


def _kill(pid: int) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:  # Windows: no process groups to speak of
            os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


_URL_SEPARATORS = re.compile(r"[\s,]+")


async def _apprise(credential: Credential, digest: Digest, timeout: float) -> str:
    urls = [u for u in _URL_SEPARATORS.split(_secret(credential, "Apprise URLs")) if u]
    if not urls:
        raise _Failure("apprise: no URL")
    title = header_line(subject(digest))
    return await asyncio.to_thread(_notify, urls, title, digest.text, timeout)


def _notify(urls: list[str], title: str, body: str, timeout: float) -> str:
    """Each Apprise URL as written, `body` as the message; in a thread, as Apprise loads its plugins and blocks."""
    try:
        import apprise
    except ImportError:
        raise _Failure(APPRISE_MISSING) from None
    notifier = apprise.Apprise()
    for n, url in enumerate(urls, 1):
        if not notifier.add(url):  # never say the URL: it carries a token
            raise _Failure(f"apprise: URL {n} of {len(urls)} is not one Apprise knows")
    result = notifier.notify(body=body, title=title, timeout=timeout)
    failed = [header_line(str(service.name)) for service in result if not service]
    if failed:
        raise _Failure(f"apprise: {len(failed)} of {len(urls)} services failed ({', '.join(failed)})")
    if not result:
        raise _Failure("apprise: nothing was sent")
    return f"apprise: {len(urls)} service{'s' if len(urls) != 1 else ''} notified"
