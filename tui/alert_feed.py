"""What fires, as the live app reads it from the store's alert ledger, and how it tells staff (SPEC §9).

The `app`, `bell` and `desktop` channels are never claimed: whoever evaluates (this
app after its polls, a `collect` daemon beside it) writes what fires to the ledger,
and every running app reads it after each report, on a read-only connection of its
own as the report worker does. Each app tells each alert once per firing: the
(key, fired at) pairs it told are remembered for the process, so an alert that
resolves and fires again is told again, and a restarted app tells what fires once.
Many new alerts at once are one notification per rule, not a screenful.

`desktop` is the terminal's own notification, OSC 9 (iTerm2, Windows Terminal, kitty)
and OSC 777 (foot, WezTerm, rxvt-unicode, GNOME Terminal and other VTE terminals),
written through Textual's driver like its own escapes (OSC 52), never raw to stdout,
with the text neutralised and on one line, so nothing in it can end the sequence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from twoway.text import excerpt

if TYPE_CHECKING:
    from textual.app import App

    from twoway.alerts.model import Alert, Rule
    from twoway.config import Config
    from twoway.report import Report
    from twoway.store import AlertDelivery, ChannelDeliveries, LedgerAlert

__all__ = ["AlertNews", "AlertsView", "Told", "desktop_sequence", "read_alerts"]

LISTED = 3
"""Alerts a notification lists; the rest are counted."""
NOTIFY_SECONDS = 15
"""How long an alert's notification stays: longer than Textual's 5 s; the header keeps the count."""
OSC_TEXT = 200
"""Cells of the desktop notification's text at most: terminals cut or drop longer ones."""


class AlertsView(NamedTuple):
    """The ledger as the app shows it: read together, so the header, panels and screens agree."""

    firing: tuple[LedgerAlert, ...] = ()
    """Every alert firing now, oldest first."""
    deliveries: tuple[AlertDelivery, ...] = ()
    """Each claimed channel of each firing alert."""
    channels: tuple[ChannelDeliveries, ...] = ()
    """Each claimed channel of each rule: its last delivery and failure (the sources screen)."""

    def of(self, key: str) -> tuple[AlertDelivery, ...]:
        return tuple(d for d in self.deliveries if d.key == key)

    def on_waiting_lists(self) -> Mapping[str, int]:
        """Goal name → its waiting alerts firing: a panel's and an overview row's marker."""
        return Counter(a.goal for a in self.firing if a.kind == "waiting" and a.goal is not None)

    def snoozed(self, now: datetime) -> int:
        return sum(1 for a in self.firing if a.snoozed_until is not None and a.snoozed_until > now)


def read_alerts(config: Config) -> AlertsView:
    """The ledger on a read-only connection of its own (call from a thread worker)."""
    from twoway.store import Store, store_location, store_policy

    store = Store.open_readonly(store_location(config), store_policy(config))
    try:
        ledger = store.ledger
        return AlertsView(tuple(ledger.firing()), tuple(ledger.firing_deliveries()), tuple(ledger.deliveries()))
    finally:
        store.close()


class Told(NamedTuple):
    """One notification: a rule's alerts this app had not told yet."""

    rule: Rule
    alerts: tuple[Alert, ...]

    @property
    def title(self) -> str:
        count = len(self.alerts)
        return f"{' '.join(self.rule.name.split())}: {count} new alert{'s' * (count != 1)}"

    def text(self) -> str:
        from twoway.alerts.digest import alert_line

        # without their links: a notification is a glance, the alerts screen has them
        lines = [alert_line(a._replace(url=None), self.rule.kind) for a in self.alerts[:LISTED]]
        more = len(self.alerts) - LISTED
        if more > 0:
            lines.append(f"… and {more} more")
        return "\n".join([*lines, "a: every alert"])


def desktop_sequence(title: str, text: str) -> str:
    """OSC 9 and OSC 777 for one notification: one line each, neutralised, so nothing in it ends the
    sequence, and its semicolons commas, so none splits OSC 777's `notify;title;body`."""
    head, body = (excerpt(" ".join(t.split()), OSC_TEXT).replace(";", ",") for t in (title, text))
    return f"\x1b]9;{head}: {body}\x07\x1b]777;notify;{head};{body}\x07"


class AlertNews:
    """What this app has told: each firing once, through the channels its rule names."""

    def __init__(self) -> None:
        self._told: set[tuple[str, datetime]] = set()

    def news(self, view: AlertsView, config: Config, report: Report) -> list[Told]:
        """The alerts not told yet, a notification per rule, each wait as `report` counts it (the
        opening-hours clock where set); a snoozed one is remembered, not told."""
        from twoway.alerts.evaluate import as_alerts

        now = report.generated_at
        rules = {r.name: r for r in config.alerts.rules}
        new: dict[str, list[LedgerAlert]] = {}
        for alert in view.firing:
            seen = (alert.key, alert.fired_at)
            if seen in self._told:
                continue
            self._told.add(seen)
            snoozed = alert.snoozed_until is not None and alert.snoozed_until > now
            if alert.rule in rules and not snoozed:  # a rule taken out of the config resolves at the next evaluation
                new.setdefault(alert.rule, []).append(alert)
        return [Told(rules[name], as_alerts(alerts, report)) for name, alerts in new.items()]

    def tell(self, app: App[Any], view: AlertsView, config: Config, report: Report) -> None:
        """A notification (`app`), the terminal's bell (`bell`, once) and its desktop notification (`desktop`)."""
        told = self.news(view, config, report)
        for item in told:
            if "app" in item.rule.notify:
                app.notify(item.text(), title=item.title, severity="warning", timeout=NOTIFY_SECONDS, markup=False)
            driver = app._driver
            if "desktop" in item.rule.notify and driver is not None:
                driver.write(desktop_sequence(item.title, item.text()))
        if any("bell" in item.rule.notify for item in told):
            app.bell()
