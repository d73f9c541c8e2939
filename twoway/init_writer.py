"""`twoway init`'s file: where it goes, what it says, and how it is written (SPEC §12).

The text is made here as lines of TOML with the same comments as the example
`config.toml`, so a first configuration teaches its own keys. Every value from the
network was neutralised by the probe and is escaped here as a TOML basic string.
Writing is atomic (a temporary file in the same folder, then a rename), so an
interrupted init never leaves half a configuration behind; `--add` appends, keeping
every byte that was there.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Example",
    "Goal",
    "Planned",
    "append_text",
    "config_text",
    "display_path",
    "env_name",
    "read_first",
    "source_lines",
    "system_timezone",
    "target_path",
    "toml_string",
    "write_atomic",
]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def env_name(source_id: str, key: str) -> str:
    """The environment variable a written credential names: `TWOWAY_<ID>_<KEY>`."""
    return "TWOWAY_" + re.sub(r"[^A-Z0-9]+", "_", f"{source_id}_{key}".upper()).strip("_")


@dataclass(frozen=True)
class Example:
    """A key written commented out: what the user may uncomment (an optional credential)."""

    value: object


@dataclass(frozen=True)
class Planned:
    """One `[[sources]]` table to write: its keys in order, each with the comment that explains it."""

    id: str
    platform: str
    keys: tuple[tuple[str, object, str], ...]
    """(key, value, comment); an `Example` value writes the key commented out."""


@dataclass(frozen=True)
class Goal:
    name: str
    hashtags: tuple[str, ...] = ()
    targets: tuple[tuple[str, str], ...] = ()
    comment: str = ""


def source_lines(source: Planned) -> list[str]:
    lines = ["[[sources]]", f"id = {toml_string(source.id)}", f"platform = {toml_string(source.platform)}"]
    for key, value, comment in source.keys:
        for text in comment.splitlines():
            lines.append(f"# {text}")
        if isinstance(value, Example):
            lines.append(f"# {key} = {toml_value(value.value)}")
        else:
            lines.append(f"{key} = {toml_value(value)}")
    return lines


_HEADER = """\
# twoway's configuration, written by `twoway init`: edit it freely.
#
# twoway looks for its configuration in this order: `--config PATH`, then
# $TWOWAY_CONFIG, ./config.toml, the user config dir (~/.config/twoway/config.toml
# on Linux), /etc/twoway/config.toml. Check it with `twoway check-config`.
#
# Durations are a whole number and a unit: 90s, 15m, 4h, 30d.
# Secrets never sit in this file: a credential names where it lives,
# { env = "NAME" } (an environment variable) or { keyring = "NAME" } (the system
# keyring, with the optional `keyring` package). They are read only when polling.
# This file must not be world-writable (twoway refuses it).
"""

_DASHBOARD = """\
[dashboard]
# How often each source is polled (a source's `interval` overrides it). Default: "5m".
refresh = "5m"
# The window metrics cover, ending now, unless a goal sets its own or --window
# overrides it; the baseline is the same length just before. Default: "30d".
window = "30d"
# The SQLite store. "~" is expanded; a relative path is relative to this file.
# Default: a database in the platform's user data dir (e.g. ~/.local/share/twoway).
# database = "~/twoway.db"
# Keep the text of community messages? When false only their hashtags, links and
# matched keywords are kept, so goals still match them. Default: false.
store_community_text = false
# Counter history and community text older than this are pruned. Default: "400d".
retain = "400d"
# Longest wait for any one network request (collect and snapshot). Default: "10s".
timeout = "10s"
# Re-read a recent thread at least this often, to see replies deep under
# community replies that move no counter of ours. Default: "6h".
thread_refresh = "6h"
# Larger network responses are refused, in bytes. Default: 5000000.
max_response_bytes = 5000000
"""

_SOURCES = """\
# One [[sources]] table per account of the organization. Every source has:
#   id        unique; lowercase letters, digits, - and _; goals name sources by it
#   platform  mastodon, bluesky, wordpress, rss, facebook, instagram, threads, x,
#             linkedin, pinterest, youtube, reddit, discourse, or an importer
#   interval  how often to poll it; default: [dashboard] refresh
# and the platform's own keys below. Add more with `twoway init --add ADDRESS`.
"""

_GOALS = """\
# Goals: what the organization wants to see. Each shows its broadcasts next to
# the two-way engagement that followed, and whether its targets are met.
#   name      unique; required
#   sources   source ids; default: every source, in the order above
#   hashtags  match if the post has any ("#" optional, any case)
#   keywords  whole words or phrases, any case, in the text (a blog post's title too)
#   links     link prefixes: scheme and "www." ignored, matching at a path boundary
#             (a post matches if any hashtag, keyword or link matches; none = all posts)
#   window    this goal's window; default: [dashboard] window
#   targets   metric = "operator value", operator one of >=, <=, >, <, ==;
#             e.g. response_rate, median_response_seconds, conversation_rate,
#             broadcast, two_way_per_broadcast (docs/metrics.md lists them all);
#             *_seconds values may be durations ("<= 4h")
"""


def config_text(name: str, timezone: str, sources: Sequence[Planned], goals: Sequence[Goal]) -> str:
    """The whole file, commented like the example `config.toml`."""
    parts = [
        _HEADER,
        "[organization]",
        "# The organization's name, shown in the dashboard's title. Required.",
        f"name = {toml_string(name)}",
        '# Staff accounts that answer for the organization, as "platform:handle". Their',
        "# posts count as the organization's, besides every source's own account.",
        "# Default: none.",
        '# also = ["mastodon:@jane@example.social", "bluesky:jane.bsky.social"]',
        "# Opening hours. Optional: when set, response and waiting times count only these",
        '# hours ("clock: opening-hours"). Days Mon..Sun as ranges (Mon-Fri) or lists',
        "# (Mon,Wed); times HH:MM-HH:MM, 24:00 allowed as a closing time; groups split by \";\".",
        "# Default: unset, the clock always runs.",
        '# hours = "Mon-Fri 09:00-17:00; Sat 10:00-14:00"',
        "# IANA timezone of the opening hours; also sets where days begin and end.",
        "# Default: \"UTC\" (this one is the system's, as init found it).",
        f"timezone = {toml_string(timezone)}",
        "",
        _DASHBOARD,
        _SOURCES,
    ]
    for source in sources:
        parts += [*source_lines(source), ""]
    parts.append(_GOALS)
    for goal in goals:
        parts += [*_goal_lines(goal), ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def _goal_lines(goal: Goal) -> list[str]:
    lines = ["[[goals]]"]
    lines += [f"# {text}" for text in goal.comment.splitlines()]
    lines.append(f"name = {toml_string(goal.name)}")
    if goal.hashtags:
        lines.append(f"hashtags = {toml_value(list(goal.hashtags))}")
    if goal.targets:
        lines.append("targets = " + toml_value(dict(goal.targets)))
    return lines


def append_text(existing: bytes, sources: Iterable[Planned]) -> bytes:
    """The existing file with the new sources after its last byte, which stay as they were."""
    added = "".join("\n" + "\n".join(source_lines(s)) + "\n" for s in sources)
    lead = b"" if not existing or existing.endswith(b"\n") else b"\n"
    return existing + lead + added.encode("utf-8")


# -- where --------------------------------------------------------------------------------


def target_path(explicit: str | None) -> Path:
    """`--config`, else `$TWOWAY_CONFIG`, else the user config dir: where twoway looks (SPEC §4)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("TWOWAY_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_config_path("twoway") / "config.toml"


def read_first(target: Path) -> Path | None:
    """The file twoway would read instead of `target`, when there is one (a `./config.toml`)."""
    from twoway.config import _candidates

    for candidate in _candidates():
        if _same(candidate, target):
            return None
        if candidate.is_file():
            return candidate
    return None


def display_path(path: Path) -> str:
    home = Path.home()
    try:
        return "~/" + str(path.resolve().relative_to(home.resolve()))
    except ValueError:
        return str(path)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def system_timezone(etc: Path = Path("/etc")) -> str:
    """The machine's IANA zone: `$TZ`, `/etc/timezone`, the `/etc/localtime` link; else UTC."""
    candidates: list[str] = []
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        candidates.append(tz)
    try:
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        pass
    try:
        link = os.readlink(etc / "localtime")
    except OSError:
        link = ""
    if "zoneinfo/" in link:
        candidates.append(link.split("zoneinfo/", 1)[1])
    from zoneinfo import ZoneInfo

    for name in candidates:
        try:
            if name and not name.startswith(("posix/", "right/")):
                ZoneInfo(name)
                return name
        except Exception:
            continue
    return "UTC"


# -- how ----------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """`data` at `path`, all or nothing: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
