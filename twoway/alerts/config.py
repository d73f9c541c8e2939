"""Reading `[alerts]` and `[[alerts.rules]]` (SPEC §9) with the config reader's machinery.

Beside the alert types rather than inside `twoway.config`, which calls `read_alerts`
only when the file has an `[alerts]` table. Problems are the reader's: one line each,
with the file, the key path and its line.

A webhook's or Apprise's URL is a credential: written in the file it is refused. Where
it is in an environment variable, it is read once here and checked (`https://` or
loopback for a webhook, a warning for a plaintext Apprise scheme to a remote host);
such a problem, like a channel credential that is not set, is a `channel_errors` line:
`check-config` exits 2 on it, other commands go on and that channel's deliveries fail.
A URL in the keyring is only read when sending, never to check a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from twoway.alerts.model import Alerts, Apprise, Channel, Command, Email, Rule, RuleKind, Smtp, Webhook
from twoway.config import (
    Credential,
    Organization,
    _boolean,
    _Checker,
    _duration,
    _Key,
    _read_table,
    _same_fields,
    _Scope,
    _suggest,
    _text,
    _type_name,
    parse_duration,
)
from twoway.hosts import is_loopback
from twoway.toml_lines import join_key

__all__ = ["WHEN_FORMS", "parse_when", "read_alerts"]

WHEN_FORMS = '"waiting > 2h", "missed" or "source down > 30m"'
_WHEN: tuple[tuple[re.Pattern[str], RuleKind], ...] = (
    (re.compile(r"^waiting\s*>\s*(?P<duration>[^<>=].*)$"), "waiting"),
    (re.compile(r"^missed$"), "missed"),
    (re.compile(r"^source\s+down\s*>\s*(?P<duration>[^<>=].*)$"), "source_down"),
)
_LOCAL = ("app", "bell", "desktop")
_QUIET = ("never", "outside-hours")
_SECRET_HOME = 'use { env = "NAME" } (or { keyring = "NAME" })'
_KINDS = ("webhook", "email", "command", "apprise")
_ADDRESS = re.compile(r"^[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+$")
"""One bare address: nothing a header could be extended with (no CR/LF, no display name, no list)."""
_PLAINTEXT_APPRISE = frozenset({"http", "json", "xml", "form", "ntfy", "gotify", "matrix", "mmost", "rocket", "mqtt"})
"""Apprise schemes whose twin with an `s` (https, jsons, ntfys, ...) is the encrypted one."""


def parse_when(text: str) -> tuple[RuleKind, int | None]:
    """`waiting > 2h` → (`waiting`, 7200); `missed` → (`missed`, None).

    Raises:
        ValueError: not one of the three forms, or a bad duration.
    """
    spaced = " ".join(text.split())
    for pattern, kind in _WHEN:
        match = pattern.match(spaced)
        if match:
            duration = match.groupdict().get("duration")
            return kind, None if duration is None else parse_duration(duration)
    raise ValueError(f"bad when expression {text!r}: write {WHEN_FORMS}")


def _when(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    """The expression as written; its kind and duration go beside it into the rule's fields."""
    text = ck.string(value, path)
    if text is None:
        return None
    try:
        scope.values["kind"], scope.values["seconds"] = parse_when(text)
    except ValueError as exc:
        ck.error(path, str(exc))
        return None
    return " ".join(text.split())


def _rule_name(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    """Unique across rules: the ledger keeps each alert by its rule's name."""
    name = _text(ck, value, path, scope)
    if not name:
        return None
    if name in scope.taken:
        ck.error(path, f"duplicate rule name {name!r} (also {scope.taken[name]})")
        return None
    scope.taken[name] = scope.path
    return name


def _rule_goals(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[str, ...] | None:
    listed = ck.strings(value, path)
    if listed is None:
        return None
    if not listed:
        ck.error(path, "lists no goal: leave it out to watch every goal")
    for m, name in enumerate(listed):
        if name not in scope.names:
            ck.error(f"{path}[{m}]", f"unknown goal {name!r}{_suggest(name, scope.names)}")
    return tuple(dict.fromkeys(listed))


def _secret_url(ck: _Checker, value: object, path: str, what: str) -> Credential | None:
    if isinstance(value, str):
        ck.error(path, f"{what} carries its secret, so it never sits in the file: {_SECRET_HOME}")
        return None
    return ck.credential(value, path)


def _resolvable(ck: _Checker, credential: Credential, path: str, rule: str) -> str | None:
    """The URL when it is in the environment; a channel error when it is not set."""
    if credential.env is None:
        return None  # the keyring is read only when sending
    url = credential.resolve()
    if url is None:
        ck.channel_errors.append(ck.format(path, f"{credential.env} is not set: rule {rule!r} cannot send there"))
    return url


def _check_webhook(ck: _Checker, credential: Credential, path: str, rule: str) -> None:
    url = _resolvable(ck, credential, path, rule)
    if url is None:
        return
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host:
        problem = f"the URL in {credential.env} is not an http(s) URL"
    elif parts.scheme == "http" and not is_loopback(host):
        problem = (
            f"the URL in {credential.env} is plain HTTP to another machine: a webhook goes only to https:// or loopback"
        )
    else:
        return
    ck.channel_errors.append(ck.format(path, problem))  # never the URL itself: it is the secret


def _check_apprise(ck: _Checker, credential: Credential, path: str, rule: str) -> None:
    urls = _resolvable(ck, credential, path, rule)
    for url in (urls or "").replace(",", " ").split():
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            continue  # Apprise says what is wrong with it when sending
        if parts.scheme.casefold() in _PLAINTEXT_APPRISE and not is_loopback(host):
            ck.warn(path, f"an Apprise URL in {credential.env} uses {parts.scheme}:// to another machine: its token"
                          f" goes unencrypted; {parts.scheme}s:// is the encrypted one")


def _addresses(ck: _Checker, value: object, path: str) -> tuple[str, ...] | None:
    listed = [value] if isinstance(value, str) else value
    addresses = ck.strings(listed, path)
    if addresses is None:
        return None
    if not addresses:
        ck.error(path, "lists no address")
        return None
    for m, address in enumerate(addresses):
        if not _ADDRESS.match(address):
            where = path if isinstance(value, str) else f"{path}[{m}]"
            ck.error(where, f"{address!r} is not one email address like \"comms@example.org\"")
            return None
    return tuple(addresses)


def _argv(ck: _Checker, value: object, path: str) -> tuple[str, ...] | None:
    """An argv, run without a shell: a non-empty array of strings, the program first."""
    if not isinstance(value, list) or not value:
        got = "an empty array" if isinstance(value, list) else _type_name(value)
        ck.error(path, f'expected a non-empty array of strings, the program first (["notify-send", "hi"]), got {got}')
        return None
    for m, item in enumerate(value):
        if not isinstance(item, str):
            ck.error(f"{path}[{m}]", f"expected a string, got {_type_name(item)}")
            return None
        if "\0" in item or (m == 0 and not item.strip()):
            ck.error(f"{path}[{m}]", "must be a program's name" if m == 0 else "holds a NUL character")
            return None
    return tuple(value)


def _channel(ck: _Checker, value: object, path: str, rule: str) -> Channel | None:
    if isinstance(value, str):
        if value in _LOCAL:
            return value  # type: ignore[return-value]  # one of the Local literals
        ck.error(path, f"unknown channel {value!r}{_suggest(value, [*_LOCAL, *_KINDS])}")
        return None
    spec = ck.table(value, path)
    if spec is None:
        return None
    for key in spec:
        if key not in _KINDS:
            ck.error(join_key(path, key), f"unknown channel{_suggest(key, _KINDS)}")
    kinds = [k for k in _KINDS if k in spec]
    if len(kinds) != 1:
        if not kinds and not spec:
            ck.error(path, f"an empty channel: write one of {', '.join(_LOCAL)} or {{ {' | '.join(_KINDS)} = ... }}")
        elif len(kinds) > 1:
            ck.error(path, "one channel per entry: give each its own { ... }")
        return None
    kind = kinds[0]
    where = join_key(path, kind)
    if kind == "webhook":
        url = _secret_url(ck, spec[kind], where, "a webhook URL")
        if url is not None:
            _check_webhook(ck, url, where, rule)
        return Webhook(url) if url is not None else None
    if kind == "apprise":
        urls = _secret_url(ck, spec[kind], where, "an Apprise URL")
        if urls is not None:
            _check_apprise(ck, urls, where, rule)
        return Apprise(urls) if urls is not None else None
    if kind == "email":
        to = _addresses(ck, spec[kind], where)
        return Email(to) if to is not None else None
    argv = _argv(ck, spec[kind], where)
    return Command(argv) if argv is not None else None


def _notify(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[Channel, ...] | None:
    if not isinstance(value, list):
        ck.error(path, f'expected an array of channels, like ["app", "bell"], got {_type_name(value)}')
        return None
    if not value:
        ck.error(path, "lists no channel: leave it out for the live app's notification")
        return None
    rule = str(scope.values.get("name") or scope.path)
    channels = [_channel(ck, item, f"{path}[{m}]", rule) for m, item in enumerate(value)]
    found = [c for c in channels if c is not None]
    return tuple(dict.fromkeys(found)) if len(found) == len(channels) else None


def _quiet(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    text = ck.string(value, path)
    if text is None:
        return None
    if text.strip() not in _QUIET:
        ck.error(path, f'{text!r}: write "never" or "outside-hours"{_suggest(text.strip(), _QUIET)}')
        return None
    return text.strip()


def _port(ck: _Checker, value: object, path: str, scope: _Scope) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        ck.error(path, f"expected a port from 1 to 65535, got {value!r}" if isinstance(value, int)
                 else f"expected a port from 1 to 65535, got {_type_name(value)}")
        return None
    return value


def _address(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    text = _text(ck, value, path, scope)
    if text is not None and not _ADDRESS.match(text):
        ck.error(path, f"{text!r} is not one email address like \"twoway@example.org\"")
        return None
    return text


def _password(ck: _Checker, value: object, path: str, scope: _Scope) -> Credential | None:
    return ck.credential(value, path)


def _smtp(ck: _Checker, value: object, path: str, scope: _Scope) -> Smtp | None:
    table = ck.table(value, path)
    if table is None:
        return None
    before = len(ck.problems)
    values: dict[str, Any] = dict(Smtp._field_defaults)
    _read_table(ck, table, _SMTP, _Scope(path, values))
    values["sender"] = values.pop("from", "")
    if len(ck.problems) > before:
        return None
    smtp = Smtp(**values)
    if smtp.ssl and smtp.starttls and "starttls" in table:
        ck.error(join_key(path, "ssl"), "ssl (implicit TLS) and starttls exclude each other: set starttls = false")
        return None
    if smtp.ssl:
        smtp = smtp._replace(starttls=False)
    if smtp.password is not None and not (smtp.ssl or smtp.starttls) and not is_loopback(smtp.host):
        ck.error(join_key(path, "password"), "a password is sent only over SSL or STARTTLS (loopback excepted)")
        return None
    return smtp


def _rules(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[Rule, ...] | None:
    if not isinstance(value, list):
        ck.error(path, f"expected an array of tables ([[alerts.rules]]), got {_type_name(value)}")
        return None
    rules: list[Rule] = []
    names: dict[str, str] = {}
    for n, raw in enumerate(value):
        where = f"{path}[{n}]"
        table = ck.table(raw, where)
        if table is None:
            continue
        before = len(ck.problems)
        values: dict[str, Any] = dict(Rule._field_defaults)
        _read_table(ck, table, _RULE, _Scope(where, values, taken=names, names=scope.names))
        if len(ck.problems) > before:
            continue
        rule = Rule(**values)
        if rule.kind == "source_down" and rule.goals:
            ck.warn(join_key(where, "goals"), "ignored: \"source down\" watches every source")
        rules.append(rule)
    return tuple(rules)


_RULE: Mapping[str, _Key] = {
    "name": _Key(_rule_name, missing="missing: every rule needs a name"),
    "when": _Key(_when, missing=f"missing: write {WHEN_FORMS}"),
    "goals": _Key(_rule_goals),
    "notify": _Key(_notify),
}
_SMTP: Mapping[str, _Key] = {
    "host": _Key(_text, missing="missing: the SMTP server's name"),
    "port": _Key(_port),
    "starttls": _Key(_boolean),
    "ssl": _Key(_boolean),
    "user": _Key(_text),
    "password": _Key(_password),
    "from": _Key(_address, missing="missing: the address alerts are sent from"),
}
_ALERTS: Mapping[str, _Key] = {
    "repeat": _Key(_duration),
    "quiet": _Key(_quiet),
    "smtp": _Key(_smtp),
    "rules": _Key(_rules),
}
_same_fields(_RULE, Rule._fields, computed=("kind", "seconds"))
_same_fields([k if k != "from" else "sender" for k in _SMTP], Smtp._fields)  # `from` fills `sender`
_same_fields(_ALERTS, Alerts._fields)


def read_alerts(ck: _Checker, value: object, organization: Organization, goal_names: tuple[str, ...]) -> Alerts:
    """`[alerts]`, each problem reported on `ck`; a wrong table gives no rules."""
    table = ck.table(value, "alerts")
    if table is None:
        return Alerts()
    before = len(ck.problems)
    values: dict[str, Any] = dict(Alerts._field_defaults)
    _read_table(ck, table, _ALERTS, _Scope("alerts", values, names=goal_names))
    if values["quiet"] == "outside-hours" and organization.hours is None:
        ck.error("alerts.quiet", '"outside-hours" needs [organization] hours: without them nothing is outside hours')
    emails = _emails(table.get("rules"))
    if "smtp" not in table:
        for where in emails:
            ck.error(where, "email needs [alerts] smtp: the server to send through")
    password = values["smtp"].password if values["smtp"] is not None else None
    if emails and password is not None and not password.available():
        why = f"{password.env} is not set" if password.env else "the keyring credential needs the keyring package"
        ck.channel_errors.append(ck.format("alerts.smtp.password", f"{why}: email cannot be sent"))
    return Alerts(**values) if len(ck.problems) == before else Alerts()


def _emails(rules: object) -> list[str]:
    """The key paths of every email channel written, as the file numbers them."""
    found = []
    for n, rule in enumerate(rules if isinstance(rules, list) else []):
        notify = rule.get("notify") if isinstance(rule, dict) else None
        for m, channel in enumerate(notify if isinstance(notify, list) else []):
            if isinstance(channel, dict) and "email" in channel:
                found.append(f"alerts.rules[{n}].notify[{m}].email")
    return found
