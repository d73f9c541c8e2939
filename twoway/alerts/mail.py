"""Email for alerts and reports: the one place a message is built and sent (SPEC §9, §10).

Headers are made of configuration values only (the from address, the recipients, a
subject of the organization's and a rule's names), each cut to one line of printable
text, so nothing can add a header. Text that came from the network (a display name, a
message) goes in the body, neutralised (twoway/text.py), where a `Bcc:` line is words.
A password goes only over SSL or STARTTLS, or to this machine (SPEC §8).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import NamedTuple

from twoway.alerts.model import Smtp
from twoway.hosts import is_loopback
from twoway.text import neutralize

__all__ = ["Attachment", "MailError", "compose", "header_line", "transmit"]


class Attachment(NamedTuple):
    filename: str
    content: bytes
    """A `text/*` attachment is UTF-8."""
    mime: str = "text/html"


class MailError(Exception):
    """A message not sent; `str()` is one line that names the server, never the password."""


def header_line(value: str) -> str:
    """`value` as one header-safe line: no CR, LF or other control, no escape sequence."""
    return " ".join(neutralize(value).split())


def _sender(smtp: Smtp) -> str:
    address = header_line(smtp.sender or smtp.user or "")
    if not address:
        raise MailError("[alerts] smtp has no from address")
    return address


def compose(
    smtp: Smtp,
    to: Sequence[str],
    subject: str,
    body: str,
    *,
    date: datetime,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A plain-text message (and its attachments); only the body carries text from the network."""
    recipients = [a for a in (header_line(r) for r in to) if a]
    if not recipients:
        raise MailError("no recipient")
    sender = _sender(smtp)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = header_line(subject)
    message["Date"] = format_datetime(date)
    # a domain of our own: make_msgid would otherwise ask the resolver for this machine's name
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "twoway.invalid")
    message.set_content(neutralize(body))
    for attachment in attachments:
        maintype, _, subtype = attachment.mime.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=header_line(attachment.filename),
            params={"charset": "utf-8"} if maintype == "text" else {},
        )
    return message


def transmit(smtp: Smtp, message: EmailMessage, *, timeout: float) -> str:
    """Send `message` to its `To` addresses (blocking: run it in a thread); a one-line summary, or `MailError`."""
    password = _password(smtp)
    sender = message["From"].addresses[0].addr_spec
    recipients = [a.addr_spec for a in message["To"].addresses]
    where = f"{header_line(smtp.host)}:{smtp.port}"
    context = ssl.create_default_context()
    try:
        client = (
            smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
            if smtp.ssl
            else smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        )
        with client:
            if smtp.starttls and not smtp.ssl:
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise MailError(f"{where} offers no STARTTLS: nothing sent without it")
                client.starttls(context=context)
            if smtp.user and password:
                client.login(smtp.user, password)
            refused = client.send_message(message, from_addr=sender, to_addrs=recipients)
    except TimeoutError:
        raise  # the caller says how long it waited
    except smtplib.SMTPNotSupportedError:
        raise MailError(f"{where} offers no login (SMTP AUTH) for the user and password given") from None
    except smtplib.SMTPAuthenticationError as e:
        raise MailError(f"{where} refused the login ({e.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused:
        raise MailError(f"{where} refused every recipient") from None
    except smtplib.SMTPResponseException as e:
        raise MailError(f"{where} answered {e.smtp_code} {_said(e.smtp_error, password)}") from None
    except (smtplib.SMTPException, OSError) as e:
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise MailError(f"{where}: {_said(reason, password)}") from None
    if refused:
        return f"sent to {len(recipients) - len(refused)} of {len(recipients)} recipients through {where}"
    return f"sent to {len(recipients)} recipient{'s' if len(recipients) != 1 else ''} through {where}"


def _password(smtp: Smtp) -> str | None:
    if smtp.password is None:
        return None
    password = smtp.password.resolve()
    if password is None:
        raise MailError(f"the SMTP password ({smtp.password}) is not set")
    if not (smtp.ssl or smtp.starttls or is_loopback(smtp.host)):
        raise MailError(f"refusing to send the SMTP password to {header_line(smtp.host)} without SSL or STARTTLS")
    return password


def _said(text: str | bytes, password: str | None) -> str:
    """A server's words as one short line, with the password blanked should it echo it."""
    line = header_line(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
    if password:
        line = line.replace(password, "[redacted]")
    return line[:160]
