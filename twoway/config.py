"""Configuration: `config.toml` read with tomli into frozen, typed objects.

Every problem becomes one line naming the file, the key path and, where the parser
knows it, the line; all of them are collected before `ConfigError` is raised, so a
user fixes everything in one go.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import tomli

from twoway.alerts.model import Alerts
from twoway.errors import ConfigError
from twoway.hosts import is_loopback
from twoway.hours import OpeningHours, parse_hours
from twoway.matching import normalize_hashtag, normalize_link
from twoway.platforms import PLATFORMS, SOURCE_KEYS, PlatformKeys, known_platforms, platform_keys
from twoway.toml_lines import LineScanner, format_key, join_key

__all__ = [
    "Config",
    "Credential",
    "Dashboard",
    "Goal",
    "Organization",
    "PostgresURL",
    "Source",
    "Target",
    "check_config",
    "find_config",
    "format_duration",
    "load_config",
    "parse_duration",
    "parse_window",
]

DAY = 86400


_EMPTY: Mapping[str, Any] = MappingProxyType({})
"""The default for mapping fields: immutable, so safe to share."""

class Credential(NamedTuple):
    """A secret named by where it lives, never the secret itself."""

    env: str | None = None
    keyring: str | None = None

    def resolve(self) -> str | None:
        """The secret, read only when polling; `None` when it is not set."""
        if self.env is not None:
            return os.environ.get(self.env) or None
        if self.keyring is not None:
            try:
                import keyring  # an optional extra
            except ImportError:
                return None
            try:
                return keyring.get_password("twoway", self.keyring) or None
            except Exception:  # a locked or absent backend is "not set", never a crash
                return None
        return None

    def available(self) -> bool:
        """Whether `resolve` can be expected to succeed, without unlocking a keyring."""
        if self.env is not None:
            return bool(os.environ.get(self.env))
        if self.keyring is not None:
            import importlib.util

            return importlib.util.find_spec("keyring") is not None
        return False

    def __str__(self) -> str:
        return f"env {self.env}" if self.env is not None else f"keyring {self.keyring}"


class PostgresURL(NamedTuple):
    """`[dashboard] database` naming a PostgreSQL store (SPEC §11): a libpq URL, checked to
    hold no password and to ask for TLS to any host that is not this machine."""

    url: str

    def __str__(self) -> str:
        return self.url


class Organization(NamedTuple):
    name: str
    also: tuple[str, ...] = ()
    """Staff accounts as `platform:handle`."""
    hours: OpeningHours | None = None
    timezone: str = "UTC"


class Dashboard(NamedTuple):
    refresh: int = 300
    window: int = 30 * DAY
    database: Path | PostgresURL | None = None
    """A SQLite file, or a PostgreSQL server; `None` is the platform data dir's file."""
    password: Credential | None = None
    """The PostgreSQL role's password, when libpq's `.pgpass` does not give it."""
    schema: str | None = None
    """The PostgreSQL schema holding this organization's tables (one per organization)."""
    store_community_text: bool = False
    retain: int = 400 * DAY
    timeout: float = 10.0
    thread_refresh: int = 6 * 3600
    max_response_bytes: int = 5_000_000


class Source(NamedTuple):
    id: str
    platform: str
    interval: int
    options: Mapping[str, object] = _EMPTY
    """The platform's own keys; credentials as `Credential`."""
    missing: tuple[str, ...] = ()
    """Required credentials absent from the environment: the source is in error."""

    def missing_message(self) -> str:
        """`token (TWOWAY_FB_TOKEN) not set`: which credential, and where it was looked for."""
        names = []
        for key in self.missing:
            credential = self.options.get(key)
            where = getattr(credential, "env", None) or getattr(credential, "keyring", None)
            names.append(f"{key} ({where})" if where else key)
        return f"{', '.join(names)} not set: the source cannot be polled without it"


class Target(NamedTuple):
    metric: str
    op: str
    value: float


class Goal(NamedTuple):
    name: str
    sources: tuple[str, ...]
    hashtags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    window: int | None = None
    targets: tuple[Target, ...] = ()
    description: str | None = None
    """The purpose behind the goal, in the organization's words: shown in reports and on its screen."""

    @property
    def filtered(self) -> bool:
        return bool(self.hashtags or self.keywords or self.links)


class Config(NamedTuple):
    path: Path | None
    organization: Organization
    dashboard: Dashboard
    sources: tuple[Source, ...]
    goals: tuple[Goal, ...]
    warnings: tuple[str, ...] = ()
    source_errors: tuple[str, ...] = ()
    """Required credentials absent from the environment, one line each (see `Source.missing`)."""
    alerts: Alerts = Alerts()
    """`[alerts]` and its rules (SPEC §9); no rules by default."""
    channel_errors: tuple[str, ...] = ()
    """Alert channels that cannot deliver as configured (a credential not set, a webhook's URL neither
    https:// nor loopback), one line each: `check-config` exits 2, other commands let those deliveries fail."""

    @property
    def clock(self) -> Literal["always", "opening-hours"]:
        """`opening-hours` when response times count opening hours only, else `always`."""
        return "opening-hours" if self.organization.hours is not None else "always"

    def source(self, source_id: str) -> Source:
        return next(s for s in self.sources if s.id == source_id)

    @property
    def keywords(self) -> tuple[str, ...]:
        """Every goal's keywords: what the store matches in community text it does not keep."""
        return tuple(dict.fromkeys(k for g in self.goals for k in g.keywords))

    @property
    def horizon(self) -> int:
        """Seconds a source's first poll backfills: twice the longest window (SPEC §6)."""
        return 2 * max([g.window or self.dashboard.window for g in self.goals] or [self.dashboard.window])



# ---------------------------------------------------------------- durations

_DURATION = re.compile(r"^([0-9]+)([smhd])$")
_UNITS = {"d": DAY, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """`90s`, `15m`, `4h`, `30d` in seconds.

    Raises:
        ValueError: not a positive whole number followed by one of s, m, h, d.
    """
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or int(match[1]) <= 0:
        raise ValueError(f"bad duration {text!r}: write a positive whole number and a unit: 90s, 15m, 4h, 30d")
    return int(match[1]) * _UNITS[match[2]]


MIN_WINDOW, MAX_WINDOW = 3600, 3650 * DAY
"""Windows run from 1h to 3650d (SPEC §4): shorter counts nothing, longer is beyond any calendar."""


def parse_window(text: str) -> int:
    """A window's length in seconds, from 1h to 3650d.

    Raises:
        ValueError: a bad duration, or one outside those bounds.
    """
    seconds = parse_duration(text)
    if not MIN_WINDOW <= seconds <= MAX_WINDOW:
        raise ValueError(f"window {text.strip()!r} is out of range: windows run from 1h to 3650d")
    return seconds


def format_duration(seconds: int) -> str:
    """The largest unit that divides exactly: 2592000 -> `30d`, 5400 -> `90m`."""
    seconds = int(seconds)
    if seconds == 0:
        return "0s"
    for unit, size in _UNITS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: 1 divides everything")


# ---------------------------------------------------------------- finding the file


def _candidates() -> list[Path]:
    import platformdirs

    found: list[Path] = []
    env = os.environ.get("TWOWAY_CONFIG")
    if env:
        found.append(Path(env).expanduser())
    found.append(Path("config.toml"))
    found.append(platformdirs.user_config_path("twoway") / "config.toml")
    found.append(Path("/etc/twoway/config.toml"))
    return found


def find_config(explicit: str | None) -> Path:
    """`--config PATH`, else `$TWOWAY_CONFIG`, else the first of `./config.toml`, the user
    config dir and `/etc/twoway/config.toml` that exists.

    Raises:
        ConfigError: the path given with `--config` or `$TWOWAY_CONFIG` is not a file, or
            none of the places holds one.
    """
    named = [(explicit, "given with --config"), (os.environ.get("TWOWAY_CONFIG") or None, "named by TWOWAY_CONFIG")]
    for given, how in named:  # a file named by the user is the one meant: never a fallback
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                what = "is not a file" if path.exists() else "does not exist"
                raise ConfigError([f"{path}: {what} ({how})"])
            return path
    candidates = _candidates()
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        ["no configuration found; looked in " + ", ".join(map(str, candidates))
         + " (give one with --config PATH, or try --demo)"]
    )


# ---------------------------------------------------------------- checking

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGET = re.compile(r"^\s*(>=|<=|==|>|<)\s*(\S(?:.*\S)?)\s*$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_TOP = ("organization", "dashboard", "sources", "goals", "alerts")
_SECRET_IN_FILE = 'secrets never sit in the file: use { env = "NAME" } (or { keyring = "NAME" })'


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    return type(value).__name__


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Checker:
    """Collects every problem as one `file:line: key.path: message` line."""

    def __init__(self, file: str, lines: dict[str, int], base: Path) -> None:
        self.file = file
        self.lines = lines
        self.base = base
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.source_errors: list[str] = []
        self.channel_errors: list[str] = []

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            if path.endswith("]"):
                path = path[: path.rindex("[")]
            else:
                path = path.rpartition(".")[0]
        return None

    def format(self, path: str, message: str) -> str:
        line = self.line_of(path) if path else None
        where = f"{self.file}:{line}" if line else self.file
        text = f"{where}: {path}: {message}" if path else f"{where}: {message}"
        return " ".join(text.splitlines())

    def error(self, path: str, message: str) -> None:
        self.problems.append(self.format(path, message))

    def failed(self, path: str) -> bool:
        """Whether a problem was already reported at `path`: a key that depends on it stays quiet."""
        return any(p.startswith(self.format(path, "")) for p in self.problems)

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(self.format(path, message))

    # -- typed reads: each returns None after reporting a problem

    def unknown_keys(self, table: dict[str, Any], allowed: tuple[str, ...] | list[str], path: str) -> None:
        for key in table:
            if key not in allowed:
                self.error(join_key(path, key), f"unknown key{_suggest(key, allowed)}")

    def table(self, value: object, path: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.error(path, f"expected a table, got {_type_name(value)}")
        return None

    def string(self, value: object, path: str) -> str | None:
        if not isinstance(value, str):
            self.error(path, f"expected a string, got {_type_name(value)}")
            return None
        if not value.strip():
            self.error(path, "must not be empty")
            return None
        return value

    def strings(self, value: object, path: str) -> list[str] | None:
        if not isinstance(value, list):
            self.error(path, f"expected an array of strings, got {_type_name(value)}")
            return None
        out: list[str] = []
        ok = True
        for n, item in enumerate(value):
            text = self.string(item, f"{path}[{n}]")
            if text is None:
                ok = False
            else:
                out.append(text.strip())
        return out if ok else None

    def duration(self, value: object, path: str) -> int | None:
        if not isinstance(value, str):
            self.error(path, f'expected a duration like "15m", got {_type_name(value)}')
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.error(path, str(exc))
            return None

    def window(self, value: object, path: str) -> int | None:
        seconds = self.duration(value, path)
        if seconds is not None and not MIN_WINDOW <= seconds <= MAX_WINDOW:
            self.error(path, f"window {value!r} is out of range: windows run from 1h to 3650d")
            return None
        return seconds

    def positive_int(self, value: object, path: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"expected a positive integer, got {_type_name(value)}")
            return None
        if value <= 0:
            self.error(path, f"must be a positive integer, got {value}")
            return None
        return value

    def boolean(self, value: object, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"expected true or false, got {_type_name(value)}")
            return None
        return value

    def url(self, value: object, path: str) -> str | None:
        text = self.string(value, path)
        if text is None:
            return None
        text = text.strip()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            self.error(path, f"bad URL {text!r}: {exc}")
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
            self.error(path, f"bad URL {text!r}: expected an http(s) URL like https://example.org")
            return None
        # a bare site address loses its "/"; a path (a feed at /feed/) stays exactly as written
        return text.rstrip("/") if parts.path in ("", "/") else text

    def credential(self, value: object, path: str) -> Credential | None:
        if isinstance(value, str):
            self.error(path, _SECRET_IN_FILE)
            return None
        if not isinstance(value, dict):
            self.error(path, f'expected {{ env = "NAME" }}, got {_type_name(value)}')
            return None
        self.unknown_keys(value, ("env", "keyring"), path)
        given = [k for k in ("env", "keyring") if k in value]
        if len(given) != 1:
            if not any(k not in ("env", "keyring") for k in value):
                self.error(path, 'a credential is either { env = "NAME" } or { keyring = "NAME" }')
            return None
        kind = given[0]
        name = self.string(value[kind], join_key(path, kind))
        if name is None:
            return None
        if kind == "env" and not _ENV_NAME.match(name):
            self.error(join_key(path, kind), f"{name!r} is not an environment variable name")
            return None
        return Credential(env=name) if kind == "env" else Credential(keyring=name)


# ---------------------------------------------------------------- key tables
#
# A section is read from one table of `_Key`s, key -> reader. The table is at once the
# keys the section allows ("unknown key (did you mean ...)" for any other), how each is
# read, and the NamedTuple field it fills: `_same_fields` refuses to import when a table
# and its NamedTuple drift apart. Keys are read in table order, which is the order
# their problems are reported in. Adding a key is one line in one table.


@dataclass(frozen=True)
class _Scope:
    """What a reader may consult besides its own value."""

    path: str
    """The table's key path: `goals[1]`."""
    values: dict[str, Any]
    """The fields so far: defaults, then each key as it is read (`hours` needs `timezone`)."""
    taken: dict[str, str] = field(default_factory=dict)
    """Unique names taken by earlier tables of the same array, and where."""
    source_ids: tuple[str, ...] = ()
    """Every source id given, for goals to name."""
    names: tuple[str, ...] = ()
    """Every goal name given, for alert rules to name."""


_Reader = Callable[[_Checker, object, str, _Scope], object]
"""Checks one value at a key path: reports a problem and returns None when it is wrong."""


class _Key(NamedTuple):
    read: _Reader
    missing: str | None = None
    """For a required key, the message when it is absent."""


def _read_keys(ck: _Checker, table: dict[str, Any], keys: Mapping[str, _Key], scope: _Scope) -> None:
    """Each key of `keys` into `scope.values`; a wrong value leaves what was there."""
    for key, spec in keys.items():
        path = join_key(scope.path, key)
        if key in table:
            value = spec.read(ck, table[key], path, scope)
            if value is not None:
                scope.values[key] = value
        elif spec.missing is not None:
            ck.error(path, spec.missing)


def _read_table(ck: _Checker, table: dict[str, Any], keys: Mapping[str, _Key], scope: _Scope) -> None:
    """Unknown keys first, then the known ones."""
    ck.unknown_keys(table, tuple(keys), scope.path)
    _read_keys(ck, table, keys, scope)


def _same_fields(keys: Collection[str], fields: Collection[str], computed: Collection[str] = ()) -> None:
    """Refuses to import when a key table and the fields it fills drift apart."""
    expected = set(fields) - set(computed)
    if set(keys) != expected:
        raise AssertionError(f"config keys {sorted(keys)} do not match the fields {sorted(expected)}")


# ---------------------------------------------------------------- readers


def _checked(check: Callable[[_Checker, object, str], object]) -> _Reader:
    """A `_Checker` check as a reader, for keys that need nothing but their value."""

    def read(ck: _Checker, value: object, path: str, scope: _Scope) -> object:
        return check(ck, value, path)

    return read


_duration = _checked(_Checker.duration)
_window = _checked(_Checker.window)
_boolean = _checked(_Checker.boolean)
_positive_int = _checked(_Checker.positive_int)


def _text(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    text = ck.string(value, path)
    return text.strip() if text is not None else None


def _seconds(ck: _Checker, value: object, path: str, scope: _Scope) -> float | None:
    """A duration as a float, as timeouts are."""
    seconds = ck.duration(value, path)
    return float(seconds) if seconds is not None else None


def _file(ck: _Checker, value: object, path: str, scope: _Scope) -> Path | None:
    """Relative to the config file, so cron and a shell in another directory agree."""
    text = ck.string(value, path)
    if text is None:
        return None
    file = Path(text.strip()).expanduser()
    return file if file.is_absolute() else ck.base / file


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_POSTGRES = re.compile(r"^postgres(ql)?:", re.IGNORECASE)
_STRICT_SSL = ("require", "verify-ca", "verify-full")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")
_NO_PASSWORD = (
    'a password never sits in the URL: use [dashboard] password = { env = "NAME" } (or { keyring }),'
    " or libpq's .pgpass"
)


def _database(ck: _Checker, value: object, path: str, scope: _Scope) -> Path | PostgresURL | None:
    """A path is a SQLite file; a `postgresql://` URL a PostgreSQL store; any other URL a
    mistake, never a relative file named after it."""
    text = ck.string(value, path)
    if text is None:
        return None
    text = text.strip()
    if _POSTGRES.match(text):
        return _postgres(ck, text, path)
    if _URL.match(text):
        ck.error(path, "not a store: a path (SQLite) or a postgresql:// URL")
        return None
    return _file(ck, text, path, scope)


def _postgres(ck: _Checker, text: str, path: str) -> PostgresURL | None:
    """No password in it; `sslmode=require` or stricter for a host that is not this machine
    (a unix socket, `localhost` or a loopback address need none)."""
    from urllib.parse import parse_qs, unquote

    parts = urlsplit(text)
    if not parts.scheme.lower().startswith("postgres") or not text[len(parts.scheme) :].startswith("://"):
        ck.error(path, "expected a URL like postgresql://role@host/database")
        return None
    if any(c.isspace() for c in text):
        ck.error(path, "a URL has no spaces")
        return None
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    query = parse_qs(parts.query, keep_blank_values=True)
    if ":" in userinfo or "password" in query:
        ck.error(path, _NO_PASSWORD)
        return None
    hosts = [unquote(_without_port(h)) for h in hostlist.split(",")]
    hosts += [h for key in ("host", "hostaddr") for given in query.get(key, []) for h in given.split(",")]
    remote = [h for h in hosts if h and not h.startswith(("/", "@")) and not is_loopback(h)]
    sslmode = (query.get("sslmode") or [""])[-1]
    if remote and sslmode not in _STRICT_SSL:
        ck.error(
            path,
            f"{remote[0]} is not this machine: add sslmode=require (or verify-ca, verify-full) to the URL",
        )
        return None
    return PostgresURL(text)


def _without_port(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rpartition(":")[0] if ":" in host else host


def _postgres_only(ck: _Checker, path: str, scope: _Scope, key: str) -> bool:
    """`password` and `schema` belong to a PostgreSQL `database`; with SQLite they are a mistake."""
    if isinstance(scope.values.get("database"), PostgresURL):
        return True
    database = join_key(scope.path, "database")
    if not ck.failed(database):
        ck.error(path, f"{key} is for a PostgreSQL store (database = \"postgresql://...\"), not SQLite")
    return False


def _password(ck: _Checker, value: object, path: str, scope: _Scope) -> Credential | None:
    credential = ck.credential(value, path)
    return credential if credential is not None and _postgres_only(ck, path, scope, "password") else None


def _schema(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    """A PostgreSQL identifier twoway may create: lowercase, at most 63 characters, not `pg_`."""
    name = ck.string(value, path)
    if name is None:
        return None
    if not _SCHEMA.match(name) or len(name) > 63 or name.startswith("pg_"):
        ck.error(
            path,
            f"{name!r} is not a schema name: lowercase letters, digits and _, not starting with a digit"
            " or pg_, at most 63 characters",
        )
        return None
    return name if _postgres_only(ck, path, scope, "schema") else None


def _words(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[str, ...] | None:
    """Strings without repeats, in the order written."""
    items = ck.strings(value, path)
    return tuple(dict.fromkeys(items)) if items is not None else None


def _also(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[str, ...]:
    """Staff accounts as `platform:handle`, on platforms twoway knows."""
    also: list[str] = []
    for n, entry in enumerate(ck.strings(value, path) or []):
        where = f"{path}[{n}]"
        platform, colon, handle = entry.partition(":")
        platform, handle = platform.strip(), handle.strip()
        if not colon or not handle:
            ck.error(where, f'{entry!r} is not platform:handle, like "mastodon:@jane@glammr.us"')
        elif platform not in PLATFORMS and platform not in known_platforms():
            ck.error(where, f"unknown platform {platform!r}{_suggest(platform, known_platforms())}")
        else:
            also.append(f"{platform}:{handle}")
    return tuple(also)


def _timezone(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    """An IANA name this machine's time-zone database knows."""
    given = ck.string(value, path)
    if given is None:
        return None
    from zoneinfo import ZoneInfo, available_timezones

    try:
        ZoneInfo(given.strip())
    except Exception:
        try:
            hint = _suggest(given.strip(), sorted(available_timezones()))
        except Exception:
            hint = ""
        ck.error(path, f"unknown timezone {given!r}{hint}: use an IANA name like \"America/Chicago\"")
        return None
    return given.strip()


def _hours(ck: _Checker, value: object, path: str, scope: _Scope) -> OpeningHours | None:
    """Opening hours in the organization's timezone, so read after it."""
    text = ck.string(value, path)
    if text is None:
        return None
    try:
        return parse_hours(text, scope.values["timezone"])
    except ValueError as exc:
        ck.error(path, str(exc))
        return None


def _source_id(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    """Unique across sources: goals and the store name a source by it."""
    text = ck.string(value, path)
    if text is None:
        return None
    if not _ID.match(text):
        ck.error(path, f"{text!r}: use lowercase letters, digits, - and _, starting with a letter or digit")
        return None
    if text in scope.taken:
        ck.error(path, f"duplicate id {text!r} (also {scope.taken[text]})")
        return None
    scope.taken[text] = scope.path
    return text


def _platform(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    """A built-in platform or an installed collector's name."""
    platform = ck.string(value, path)
    if platform is None:
        return None
    try:
        platform_keys(platform)
    except ValueError as exc:
        ck.error(path, str(exc))
        return None
    return platform


def _goal_name(ck: _Checker, value: object, path: str, scope: _Scope) -> str | None:
    """Unique across goals: reports show goals by name."""
    name = _text(ck, value, path, scope)
    if not name:
        return None
    if name in scope.taken:
        ck.error(path, f"duplicate goal name {name!r} (also {scope.taken[name]})")
        return None
    scope.taken[name] = scope.path
    return name


def _goal_sources(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[str, ...] | None:
    """Sources by id; without the key a goal counts every source."""
    listed = ck.strings(value, path)
    if listed is None:
        return None
    if not listed:
        ck.error(path, "lists no source: leave it out to use every source")
    for m, sid in enumerate(listed):
        if sid not in scope.source_ids:
            ck.error(f"{path}[{m}]", f"unknown source {sid!r}{_suggest(sid, scope.source_ids)}")
    return tuple(dict.fromkeys(listed))


def _hashtags(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[str, ...]:
    """Normalized as posts are matched: no `#`, lowercase."""
    hashtags: list[str] = []
    for m, tag in enumerate(ck.strings(value, path) or []):
        normalized = normalize_hashtag(tag)
        if not normalized or any(c.isspace() for c in normalized):
            ck.error(f"{path}[{m}]", f"{tag!r} is not a hashtag")
        else:
            hashtags.append(normalized)
    return tuple(dict.fromkeys(hashtags))


def _links(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[str, ...]:
    """Normalized as posts are matched: host and path, no scheme."""
    links: list[str] = []
    for m, link in enumerate(ck.strings(value, path) or []):
        normalized = normalize_link(link)
        if not normalized.split("/")[0] or any(c.isspace() for c in normalized):
            ck.error(f"{path}[{m}]", f"{link!r} is not a link prefix like \"example.org/events\"")
        else:
            links.append(normalized)
    return tuple(dict.fromkeys(links))


def _target(ck: _Checker, metric: str, value: object, path: str) -> Target | None:
    from twoway.report import METRICS

    if metric not in METRICS:
        ck.error(path, f"unknown metric{_suggest(metric, METRICS)}")
        return None
    example = '">= 0.5"' if not metric.endswith("_seconds") else '"<= 4h"'
    if not isinstance(value, str):
        ck.error(path, f"bad target expression {value!r}: write an operator and a value as a string, like {example}")
        return None
    match = _TARGET.match(value)
    if not match:
        ck.error(
            path, f"bad target expression {value!r}: write an operator (>=, <=, >, <, ==) and a value, like {example}"
        )
        return None
    op, amount = match[1], match[2]
    if _NUMBER.match(amount):
        number = float(amount)
    elif metric.endswith("_seconds"):
        try:
            number = float(parse_duration(amount))
        except ValueError:
            ck.error(path, f"bad target expression {value!r}: {amount!r} is neither a number nor a duration like 4h")
            return None
    else:
        ck.error(path, f"bad target expression {value!r}: {amount!r} is not a number")
        return None
    if number < 0:
        ck.error(path, f"bad target expression {value!r}: metrics are never negative")
        return None
    return Target(metric=metric, op=op, value=number)


def _targets(ck: _Checker, value: object, path: str, scope: _Scope) -> tuple[Target, ...]:
    """`metric = "op value"` pairs, each checked by `_target`."""
    spec = ck.table(value, path)
    targets = (_target(ck, metric, given, join_key(path, metric)) for metric, given in (spec or {}).items())
    return tuple(target for target in targets if target is not None)


# ---------------------------------------------------------------- the tables

_ORGANIZATION: Mapping[str, _Key] = {
    "name": _Key(_text, missing="missing: the organization's name is required"),
    "also": _Key(_also),
    "timezone": _Key(_timezone),
    "hours": _Key(_hours),  # after timezone: opening hours are read in it
}
_DASHBOARD: Mapping[str, _Key] = {
    "refresh": _Key(_duration),
    "window": _Key(_window),
    "retain": _Key(_duration),
    "timeout": _Key(_seconds),
    "thread_refresh": _Key(_duration),
    "database": _Key(_database),
    "password": _Key(_password),  # after database: both are PostgreSQL's only
    "schema": _Key(_schema),
    "store_community_text": _Key(_boolean),
    "max_response_bytes": _Key(_positive_int),
}
_SOURCE: Mapping[str, _Key] = {
    "id": _Key(_source_id, missing="missing: every source needs an id"),
    "platform": _Key(_platform, missing="missing: every source needs a platform"),
    "interval": _Key(_duration),
}
"""The keys every source takes; its platform's own come from `PlatformKeys`."""
_GOAL: Mapping[str, _Key] = {
    "name": _Key(_goal_name, missing="missing: every goal needs a name"),
    "sources": _Key(_goal_sources),
    "hashtags": _Key(_hashtags),
    "keywords": _Key(_words),
    "links": _Key(_links),
    "window": _Key(_window),
    "targets": _Key(_targets),
    "description": _Key(_text),
}

_same_fields(_TOP, Config._fields, computed=("path", "warnings", "source_errors", "channel_errors"))
_same_fields(_ORGANIZATION, Organization._fields)
_same_fields(_DASHBOARD, Dashboard._fields)
_same_fields(_SOURCE, Source._fields, computed=("options", "missing"))
_same_fields(_SOURCE, SOURCE_KEYS)
_same_fields(_GOAL, Goal._fields)


# ---------------------------------------------------------------- sections


def _section(
    ck: _Checker, data: dict[str, Any], name: str, keys: Mapping[str, _Key], values: dict[str, Any]
) -> dict[str, Any]:
    """`[name]` read into `values`; an absent or malformed section leaves them as given."""
    if name in data:
        table = ck.table(data[name], name)
        if table is not None:
            _read_table(ck, table, keys, _Scope(name, values))
    return values


def _organization(ck: _Checker, data: dict[str, Any]) -> Organization:
    if "organization" not in data:
        ck.error("organization", 'missing: add [organization] with name = "..."')
    values = {**Organization._field_defaults, "name": ""}  # unnamed until the problems are fixed
    return Organization(**_section(ck, data, "organization", _ORGANIZATION, values))


def _dashboard(ck: _Checker, data: dict[str, Any]) -> Dashboard:
    return Dashboard(**_section(ck, data, "dashboard", _DASHBOARD, dict(Dashboard._field_defaults)))


def _source_value(ck: _Checker, keys: PlatformKeys, key: str, value: object, path: str) -> object:
    kind = keys.type_of(key)
    if kind == "credential":
        return ck.credential(value, path)
    if kind == "url":
        return ck.url(value, path)
    if kind == "int":
        return ck.positive_int(value, path)
    if kind == "bool":
        return ck.boolean(value, path)
    if kind == "list[str]":
        items = ck.strings(value, path)
        if items is not None and not items:
            ck.error(path, "must list at least one")
            return None
        return tuple(items) if items is not None else None
    if kind == "id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind == "id" and not isinstance(value, str):
        ck.error(path, f"expected a string or an integer, got {_type_name(value)}")
        return None
    text = ck.string(value, path)
    return text.strip() if text is not None else None


def _source(
    ck: _Checker, raw: object, n: int, refresh: int, seen: dict[str, str]
) -> tuple[Source | None, str | None]:
    """One `[[sources]]` table; also returns its id when usable, even if other keys are wrong."""
    path = f"sources[{n}]"
    table = ck.table(raw, path)
    if table is None:
        return None, None
    before = len(ck.problems)

    values: dict[str, Any] = {"interval": refresh}
    _read_keys(ck, table, _SOURCE, _Scope(path, values, taken=seen))
    source_id: str | None = values.get("id")
    platform: str | None = values.get("platform")
    if platform is None:
        return None, source_id
    keys = platform_keys(platform)  # known to succeed: `_platform` just looked it up
    # unknown keys only once the platform says which of its own are allowed
    ck.unknown_keys(table, [*_SOURCE, *keys.keys], path)
    for key in keys.required:
        if key not in table:
            ck.error(join_key(path, key), f"missing: {platform} sources need it")
    for alternatives in keys.one_of:
        if not any(k in table for k in alternatives):
            ck.error(path, f"{platform} sources need {' or '.join(map(repr, alternatives))}")

    options: dict[str, object] = dict(keys.defaults)
    for key in keys.keys:
        if key in table:
            value = _source_value(ck, keys, key, table[key], join_key(path, key))
            if value is not None:
                options[key] = value

    credentials = {k: v for k, v in options.items() if isinstance(v, Credential)}
    if credentials:
        for key in keys.keys:
            url = options.get(key)
            if keys.type_of(key) == "url" and isinstance(url, str):
                parts = urlsplit(url)
                if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
                    where = join_key(path, key) if key in table else join_key(path, next(iter(credentials)))
                    ck.error(where, f"credentials go only over HTTPS, and {url} is plain HTTP (loopback excepted)")

    missing: list[str] = []
    available = {k for k, c in credentials.items() if c.available()}
    for key, cred in credentials.items():
        if key in available:
            continue
        where = join_key(path, key)
        why = (
            f"{cred.env} is not set" if cred.env is not None
            else f"keyring credential {cred.keyring!r} needs the optional keyring package (pip install keyring)"
        )
        group = next((g for g in keys.one_of if key in g), None)
        if keys.is_required(key) or (group is not None and not available.intersection(group)):
            missing.append(key)
            ck.source_errors.append(ck.format(where, f"{why}: source {source_id!r} cannot be polled without it"))
        elif group is None:
            cost = keys.credentials.get(key) or "some data is unavailable without it"
            ck.warn(where, f"{why}: {cost} (source {source_id!r})")

    if len(ck.problems) > before or source_id is None or platform is None:
        return None, source_id
    source = Source(**values, options=options, missing=tuple(missing))
    return source, source_id


def _goal(ck: _Checker, raw: object, n: int, source_ids: list[str], names: dict[str, str]) -> Goal | None:
    path = f"goals[{n}]"
    table = ck.table(raw, path)
    if table is None:
        return None
    before = len(ck.problems)
    values = {**Goal._field_defaults, "sources": tuple(source_ids)}
    _read_table(ck, table, _GOAL, _Scope(path, values, taken=names, source_ids=tuple(source_ids)))
    return Goal(**values) if len(ck.problems) == before else None


def _check(ck: _Checker, data: dict[str, Any], path: Path) -> Config:
    for key in data:
        if key not in _TOP:
            ck.error(format_key(key), f"unknown key{_suggest(key, _TOP)}")
    organization = _organization(ck, data)
    dashboard = _dashboard(ck, data)

    sources: list[Source] = []
    source_ids: list[str] = []
    raw_sources = data.get("sources")
    if raw_sources is None:
        ck.error("sources", "missing: add at least one [[sources]] table")
    elif not isinstance(raw_sources, list):
        ck.error("sources", f"expected an array of tables ([[sources]]), got {_type_name(raw_sources)}")
    elif not raw_sources:
        ck.error("sources", "no sources: add at least one [[sources]] table")
    else:
        seen: dict[str, str] = {}
        for n, raw in enumerate(raw_sources):
            source, source_id = _source(ck, raw, n, dashboard.refresh, seen)
            if source is not None:
                sources.append(source)
            if source_id is not None:
                source_ids.append(source_id)

    goals: list[Goal] = []
    names: dict[str, str] = {}
    raw_goals = data.get("goals", [])
    if not isinstance(raw_goals, list):
        ck.error("goals", f"expected an array of tables ([[goals]]), got {_type_name(raw_goals)}")
    else:
        for n, raw in enumerate(raw_goals):
            goal = _goal(ck, raw, n, source_ids, names)
            if goal is not None:
                goals.append(goal)
        if not raw_goals:
            ck.warn("goals", "no goals: add [[goals]] tables to see broadcast next to engagement")

    alerts = Alerts()
    if "alerts" in data:
        from twoway.alerts.config import read_alerts  # beside the alert types; it uses this module's readers

        alerts = read_alerts(ck, data["alerts"], organization, tuple(names))

    if ck.problems:
        raise ConfigError(ck.problems)
    return Config(
        path=path,
        organization=organization,
        dashboard=dashboard,
        sources=tuple(sources),
        goals=tuple(goals),
        warnings=tuple(ck.warnings),
        source_errors=tuple(ck.source_errors),
        alerts=alerts,
        channel_errors=tuple(ck.channel_errors),
    )


def _read(path: Path) -> str:
    """The file's text, refused when anyone may change it."""
    file = str(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read: {exc.strerror or exc}"]) from None
    if os.name == "posix" and info.st_mode & stat.S_IWOTH:
        raise ConfigError(
            [f"{file}: refused: the file is world-writable, so anyone on this machine could change "
             f"what twoway does; run: chmod o-w {file}"]
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [f"{file}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"]
        ) from None
    return text.removeprefix("\ufeff")


def load_config(path: Path) -> Config:
    """Read and check `path`.

    Raises:
        ConfigError: every problem found, one `file:line: key.path: message` line each.
    """
    path = Path(path)
    file = str(path)
    text = _read(path)
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        where = f"{file}:{line}" if line else file
        at = f" (column {col})" if col else ""
        raise ConfigError([" ".join(f"{where}: TOML syntax error: {msg}{at}".splitlines())]) from None
    except Exception as exc:  # e.g. RecursionError on absurd nesting: still one line
        raise ConfigError([f"{file}: cannot parse: {type(exc).__name__}"]) from None
    ck = _Checker(file, LineScanner(text).scan(), path.parent)
    try:
        return _check(ck, data, path)
    except ConfigError:
        raise
    except Exception as exc:  # a bug here must still read as a config problem, not a traceback
        problems = [*ck.problems, f"{file}: cannot check this configuration ({type(exc).__name__}: {exc})"]
        raise ConfigError([" ".join(p.splitlines()) for p in problems]) from None


def check_config(path: Path) -> tuple[int, list[str]]:
    """What `twoway check-config` prints and its exit code (0 fine, 2 wrong)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return 2, list(exc.problems)
    if config.source_errors or config.channel_errors:
        return 2, [*config.source_errors, *config.channel_errors, *config.warnings]
    platforms = ", ".join(dict.fromkeys(s.platform for s in config.sources))
    n, m = len(config.sources), len(config.goals)
    summary = (
        f"ok: {path}: {n} source{'s' if n != 1 else ''} ({platforms}), {m} goal{'s' if m != 1 else ''}"
    )
    if config.alerts.rules:
        r = len(config.alerts.rules)
        summary += f", {r} alert rule{'s' if r != 1 else ''}"
    return 0, [summary, *config.warnings]
