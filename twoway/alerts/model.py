"""The types alerts share: the `[alerts]` configuration, an alert and a digest (SPEC §9).

Plain frozen values, free of store handles and network clients, so the config reader,
the evaluation, the channels and the views agree on one shape without importing each
other.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple, Union

from twoway.report import iso

if TYPE_CHECKING:
    from twoway.config import Credential

__all__ = [
    "Alert",
    "AlertState",
    "Alerts",
    "Apprise",
    "Channel",
    "Command",
    "Digest",
    "DIGEST_LISTED",
    "Email",
    "Local",
    "Rule",
    "RuleKind",
    "Smtp",
    "Webhook",
    "channel_id",
    "channel_name",
]

DIGEST_LISTED = 20
"""A digest lists at most this many alerts, and counts the rest (`more`)."""

Local = Literal["app", "bell", "desktop"]
"""Channels every running live app shows from the store, never claimed."""


class Webhook(NamedTuple):
    """An HTTP POST of the digest's JSON; the URL is a credential (chat webhooks carry their secret in it)."""

    url: Credential


class Email(NamedTuple):
    """One message per digest through `[alerts] smtp`."""

    to: tuple[str, ...]


class Command(NamedTuple):
    """An argv, never a shell; the digest as JSON on stdin."""

    argv: tuple[str, ...]


class Apprise(NamedTuple):
    """One or more Apprise URLs (a credential: they carry tokens), the digest's text as the message."""

    urls: Credential


Channel = Union[Local, Webhook, Email, Command, Apprise]


def channel_name(channel: Channel) -> str:
    """`app`, `webhook`, `email`, …: how the sources screen and the metrics name a channel."""
    return channel if isinstance(channel, str) else type(channel).__name__.lower()


def channel_id(channel: Channel) -> str:
    """The channel as the ledger keeps its deliveries: its kind and where it goes, never a secret
    (`webhook env TWOWAY_ALERT_WEBHOOK`, `email comms@example.org`), so reordering a rule's
    `notify` sends nothing again."""
    if isinstance(channel, str):
        return channel
    if isinstance(channel, (Webhook, Apprise)):
        where = str(channel[0])
    elif isinstance(channel, Email):
        where = ",".join(channel.to)
    else:
        import json

        where = json.dumps(list(channel.argv), ensure_ascii=False)
    return f"{channel_name(channel)} {where}"


class Smtp(NamedTuple):
    host: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    """Implicit TLS (port 465) instead of STARTTLS."""
    user: str | None = None
    password: Credential | None = None
    sender: str = ""
    """The `from` address."""


RuleKind = Literal["waiting", "missed", "source_down"]


class Rule(NamedTuple):
    name: str
    when: str
    """As written: `waiting > 2h`, `missed`, `source down > 30m`."""
    kind: RuleKind
    seconds: int | None
    """The `D` of `waiting > D` and `source down > D`; `None` for `missed`."""
    goals: tuple[str, ...] = ()
    """Goal names it watches; empty for every goal (ignored by `source down`)."""
    notify: tuple[Channel, ...] = ("app",)


class Alerts(NamedTuple):
    repeat: int | None = None
    """Seconds between reminders of a still-firing alert; `None` never reminds."""
    quiet: Literal["never", "outside-hours"] = "never"
    smtp: Smtp | None = None
    rules: tuple[Rule, ...] = ()


AlertState = Literal["firing", "resolved"]


class Alert(NamedTuple):
    """One alert as a digest lists it: the objects of the webhook body (SPEC §9)."""

    key: str
    """Stable: rule, kind, and the message, goal or source."""
    rule: str
    state: AlertState
    goal: str | None = None
    source: str | None = None
    url: str | None = None
    at: datetime | None = None
    waiting_seconds: float | None = None

    def to_json(self, *, with_rule: bool = False) -> dict[str, object]:
        body: dict[str, object] = {
            "key": self.key,
            "state": self.state,
            "goal": self.goal,
            "source": self.source,
            "url": self.url,
            "at": iso(self.at),
            "waiting_seconds": self.waiting_seconds,
        }
        return {"rule": self.rule, **body} if with_rule else body


class Digest(NamedTuple):
    """What one evaluation sends one channel of one rule: its alerts, at most 20 listed."""

    organization: str
    rule: str
    when: str
    generated_at: datetime
    alerts: tuple[Alert, ...]
    more: int = 0
    text: str = ""
    """One readable summary (chat webhooks show it as is); network text already neutralised."""

    def to_json(self) -> dict[str, object]:
        """The webhook body of SPEC §9."""
        return {
            "text": self.text,
            "organization": self.organization,
            "rule": self.rule,
            "when": self.when,
            "generated_at": iso(self.generated_at),
            "alerts": [a.to_json() for a in self.alerts],
            "more": self.more,
        }
