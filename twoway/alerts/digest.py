"""A digest: what one evaluation sends one channel of one rule, and its readable `text`.

The text is what chat incoming webhooks, Apprise and an email's body show as is: one
line saying what fired, then one line per alert listed. Everything in it that came
from the network (a message's URL) is neutralised, and whitespace collapsed, so no
line can be added or steered; community text never appears in it, only links.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from twoway.alerts.model import DIGEST_LISTED, Alert, Digest, Rule, RuleKind
from twoway.report import human_duration
from twoway.text import neutralize

__all__ = ["alert_line", "make_digest", "trial_digest"]


def _clean(text: str | None) -> str:
    """One line of inert text."""
    return " ".join(neutralize(text or "").split())


def alert_line(alert: Alert, kind: RuleKind) -> str:
    """`waiting 3h 5m on library-mastodon (Answer every question): https://…`, or what resolved it."""
    source, goal, url = _clean(alert.source), _clean(alert.goal), _clean(alert.url)
    if kind == "waiting":
        if alert.state == "resolved":
            line = f"no longer waiting on {source}"
        else:
            waited = human_duration(alert.waiting_seconds or 0)
            line = f"waiting {waited} on {source}"
        line += f" ({goal})" if goal else ""
        return f"{line}: {url}" if url else line
    if kind == "missed":
        return f"goal {goal} is {'no longer ' if alert.state == 'resolved' else ''}missed"
    return f"source {source} polls again" if alert.state == "resolved" else f"source {source} is down"


def _headline(organization: str, rule: Rule, alerts: Sequence[Alert]) -> str:
    firing = sum(1 for a in alerts if a.state == "firing")
    resolved = len(alerts) - firing
    counts = ", ".join(
        part for part in (f"{firing} firing" if firing else "", f"{resolved} resolved" if resolved else "") if part
    )
    return f"{_clean(organization)}: {_clean(rule.name)} ({_clean(rule.when)}): {counts}"


def make_digest(organization: str, rule: Rule, alerts: Sequence[Alert], now: datetime) -> Digest:
    """Every alert given, at most `DIGEST_LISTED` listed (firing first, each oldest first) and the rest counted."""
    ordered = sorted(alerts, key=lambda a: a.state != "firing")  # stable: each state keeps its order
    listed = tuple(ordered[:DIGEST_LISTED])
    more = len(ordered) - len(listed)
    lines = [_headline(organization, rule, ordered), *(f"- {alert_line(a, rule.kind)}" for a in listed)]
    if more:
        lines.append(f"… and {more} more")
    return Digest(organization, rule.name, rule.when, now, listed, more, "\n".join(lines))


def trial_digest(organization: str, rule: Rule, now: datetime) -> Digest:
    """What `twoway alerts --test` sends: no alert, a text saying where it came from."""
    text = f"{_clean(organization)}: a test of {_clean(rule.name)} ({_clean(rule.when)}): this channel works"
    return Digest(organization, rule.name, rule.when, now, (), 0, text)
