"""`twoway init`: from the addresses staff know to a working configuration (SPEC §12).

The order matters for what a person sees: the target is checked before anything is
probed (no one waits on the network to learn the file exists), each address prints
its one line as it is probed, and nothing touches the disk until the end, so Ctrl-C
or a failed probe leaves no file behind. The questions (`Asker`) are asked only on a
terminal; without one init never asks, as with `--yes`.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO
from urllib.parse import urlsplit

import httpx

from twoway.errors import UsageError
from twoway.hosts import is_loopback
from twoway.init_probes import CREDENTIAL_PLATFORMS, DEFAULT_BLUESKY, Failed, Found, Probe, probe, top_hashtags
from twoway.init_writer import (
    Example,
    Goal,
    Planned,
    append_text,
    config_text,
    display_path,
    env_name,
    read_first,
    system_timezone,
    target_path,
    write_atomic,
)
from twoway.plugin.http import Http
from twoway.text import neutralize

__all__ = ["EVERYTHING", "Asker", "Options", "RichAsker", "plan", "run"]

EXIT_WRITTEN, EXIT_NONE = 0, 1
EVERYTHING = Goal(
    "Everything",
    targets=(("response_rate", ">= 0.8"), ("median_response_seconds", "<= 1d")),
    comment="No filters: every post of every source. Most of the conversation answered,\n"
    "within a day at the median.",
)
STEPS = "docs/platforms/{}.md"


@dataclass
class Options:
    """What the command line said."""

    addresses: list[str] = field(default_factory=list)
    name: str | None = None
    config: str | None = None
    add: bool = False
    force: bool = False
    yes: bool = False
    bluesky_service: str | None = None


class Asker(Protocol):
    """The questions init asks on a terminal; an answer of "" ends the addresses."""

    def name(self) -> str: ...

    def address(self) -> str: ...

    def feed(self, feeds: Sequence[str]) -> int: ...

    def goals(self, goals: Sequence[Goal]) -> list[Goal]: ...

    def value(self, platform: str, key: str, what: str) -> str:
        """A key only the person knows (a Page's id); "" leaves its placeholder in the file."""
        ...


@dataclass
class _Run:
    options: Options
    out: TextIO
    err: TextIO
    asker: Asker | None
    transport: httpx.AsyncBaseTransport | None
    timeout: float
    max_bytes: int
    taken: set[str] = field(default_factory=set)
    planned: list[Planned] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)

    def say(self, line: str) -> None:
        """One line out, inert (SPEC §8) and in what the terminal can show: a name may not be ASCII."""
        line = neutralize(line)
        encoding = getattr(self.out, "encoding", None) or "utf-8"
        try:
            line.encode(encoding)
        except UnicodeEncodeError:
            line = line.replace("✓", "+").replace("✗", "-").encode(encoding, "replace").decode(encoding)
        except LookupError:
            pass
        print(line, file=self.out, flush=True)

    async def _probe(self, addresses: Sequence[str]) -> list[Probe]:
        async with httpx.AsyncClient(transport=self.transport) as client:
            http = Http(client, timeout=self.timeout, max_bytes=self.max_bytes, attempts=2)
            return list(
                await asyncio.gather(*(probe(http, a, self.options.bluesky_service) for a in addresses))
            )

    def probe(self, addresses: Sequence[str]) -> None:
        for result in asyncio.run(self._probe(addresses)):
            self.take(result)

    def take(self, result: Probe) -> None:
        if isinstance(result, Failed):
            self.say(f"✗ {result.line}")
            return
        if result.feeds and self.asker is not None and not self.options.yes:
            result = _picked(result, self.asker.feed(result.feeds))
        source = plan(result, self.taken)
        if result.platform in CREDENTIAL_PLATFORMS and self.asker is not None and not self.options.yes:
            source = _filled(source, self.asker)
        self.taken.add(source.id)
        self.planned.append(source)
        self.found.append(result)
        notes = [*result.notes, *_credential_notes(result, source)]
        self.say(f"✓ {result.line}" + (f" ({'; '.join(notes)})" if notes else ""))  # one line an address


def run(
    options: Options,
    *,
    asker: Asker | None,
    out: TextIO,
    err: TextIO,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 10.0,
    max_bytes: int = 5_000_000,
) -> int:
    """The whole command; raises `UsageError` (exit 2) before probing anything when the command line is wrong."""
    _check_service(options.bluesky_service)
    path = target_path(options.config)
    existing = _existing(path, options)
    if options.add and not path.exists():  # nothing to add to: a whole new file, goals included
        options = Options(**{**vars(options), "add": False})
    if not options.addresses and asker is None:
        raise UsageError(
            "twoway init: name the accounts' addresses (@account@server, a Bluesky handle, a site's URL"
            " or a platform's name), or run it in a terminal to be asked for them"
        )
    state = _Run(options, out, err, asker, transport, timeout, max_bytes, taken=set(existing))
    try:
        name = options.name
        if options.addresses:
            state.probe(options.addresses)
        else:
            assert asker is not None
            state.say(f"twoway init: writes {display_path(path)} from your accounts' addresses:")
            state.say("@account@server, a Bluesky handle, a site's URL, or a platform's name.")
            state.say("Ctrl-C stops at any time, writing nothing.")
            if name is None and not options.add:
                name = asker.name().strip() or None
            while address := asker.address().strip():
                state.probe([address])
        if not state.planned:
            state.say("nothing confirmed: nothing written")
            return EXIT_NONE
        goals: list[Goal] = []
        if not options.add:
            goals = [EVERYTHING, *_hashtag_goals(state.found)]
            if asker is not None and not options.yes:
                goals = asker.goals(goals)
        return _write(state, path, name, goals)
    except (KeyboardInterrupt, EOFError):
        print("\ninterrupted: nothing written", file=err, flush=True)
        return EXIT_NONE


def _check_service(service: str | None) -> None:
    if service is None:
        return
    parts = urlsplit(service)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"twoway init: --bluesky-service: not an http(s) address: {service!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError("twoway init: --bluesky-service: http:// is for a server on this machine only: use https://")


def _existing(path: Path, options: Options) -> list[str]:
    """The source ids already in `path` (for `--add`); refuses an existing file without `--add` or `--force`."""
    if not path.exists():
        return []
    if not options.add:
        if options.force:
            return []
        raise UsageError(
            f"twoway init: {path} already exists: give --add to add sources to it, or --force to replace it"
            f" (keeping it as {path.name}.bak)"
        )
    import tomli

    try:
        data = tomli.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except (OSError, UnicodeDecodeError, tomli.TOMLDecodeError) as e:
        raise UsageError(f"twoway init: --add: cannot read {path} ({e}); fix it first (twoway check-config)") from None
    sources = data.get("sources")
    if sources is not None and not isinstance(sources, list):
        raise UsageError(f"twoway init: --add: {path} has no [[sources]] tables to add to")
    return [str(s.get("id")) for s in sources or [] if isinstance(s, dict) and s.get("id")]


def _picked(found: Found, index: int) -> Found:
    chosen = found.feeds[index] if 0 <= index < len(found.feeds) else found.feeds[0]
    keys = {**found.keys, "url": chosen}
    line = found.line if chosen == found.keys.get("url") else f"Feed {chosen} (picked of {len(found.feeds)})"
    return Found(found.platform, keys, line, found.name, found.tags if line == found.line else ())


def _hashtag_goals(found: Sequence[Found]) -> list[Goal]:
    return [
        Goal(f"#{tag}", hashtags=(tag,), comment="One of the hashtags used most in recent posts.")
        for tag in top_hashtags(found)
    ]


def _unique_id(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# -- what each source says ------------------------------------------------------------------


def plan(found: Found, taken: set[str]) -> Planned:
    """The `[[sources]]` table for a confirmed account, with a fresh id and the example's comments."""
    sid = _unique_id(found.platform, taken)
    keys: list[tuple[str, object, str]]
    if found.platform == "mastodon":
        token = {"env": env_name(sid, "token")}
        keys = [
            ("instance", found.keys["instance"], "The Mastodon server (any instance, self-hosted included). Required."),
            ("account", found.keys["account"], "The account's username on that server. Required."),
            (
                "token",
                token if found.needs_token else Example(token),
                "An access token (read scopes): this server answers only with one; set it in the environment."
                if found.needs_token
                else "An access token (read scopes). Optional: without it twoway sees the public\n"
                "timeline and threads, but no mentions.",
            ),
        ]
    elif found.platform == "bluesky":
        service = found.keys.get("service")
        keys = [
            ("handle", found.keys["handle"], "The account's handle. Required."),
            (
                "service",
                service if service else Example(DEFAULT_BLUESKY),
                f'Public AppView for reading posts and threads. Default: "{DEFAULT_BLUESKY}".',
            ),
            (
                "app_password",
                Example({"env": env_name(sid, "app_password")}),
                "An app password (Settings > App passwords). Optional: without it there are no\n"
                "mention notifications, only replies in the organization's own threads.",
            ),
        ]
    elif found.platform == "wordpress":
        keys = [("url", found.keys["url"], "The blog's address; posts, comments and authors come from its REST API.")]
    elif found.platform == "rss":
        keys = [("url", found.keys["url"], "The feed's address (RSS or Atom); comments come from its comment feeds.")]
    else:
        keys = _credential_keys(found.platform, sid)
    return Planned(sid, found.platform, tuple(keys))


_PLACEHOLDERS: dict[str, tuple[object, str]] = {
    "page_id": ("YOUR_PAGE_ID", "The Page's numeric id: replace this placeholder."),
    "user_id": ("YOUR_USER_ID", "The account's numeric id: replace this placeholder."),
    "organization": ("YOUR_ORGANIZATION_ID", "The page's organization id: replace this placeholder."),
    "channel_id": ("YOUR_CHANNEL_ID", "The channel's id (UC...): replace this placeholder."),
    "username": ("YOUR_USERNAME", "The account's username: replace this placeholder."),
    "url": ("https://forum.example.org", "The forum's address: replace this placeholder."),
    "usernames": (["YOUR_FORUM_USERNAME"], "The organization's forum users: replace this placeholder."),
}


def _credential_keys(platform: str, sid: str) -> list[tuple[str, object, str]]:
    """A platform behind credentials: its required keys, each credential named in the environment."""
    from twoway.platforms import PLATFORMS

    spec = PLATFORMS[platform]
    wanted = list(spec.required)
    for group in spec.one_of:
        if not set(group) & set(wanted):
            wanted.append(group[0])
    keys: list[tuple[str, object, str]] = []
    for key in wanted:
        if spec.type_of(key) == "credential":
            name = env_name(sid, key)
            keys.append((key, {"env": name}, f"Set {name} in the environment ({STEPS.format(platform)})."))
        else:
            value, comment = _PLACEHOLDERS.get(key, (f"YOUR_{key.upper()}", "Replace this placeholder."))
            keys.append((key, value, comment))
    for key, costs in spec.credentials.items():
        if costs is not None and key not in wanted:  # an optional credential: an example to uncomment
            keys.append((key, Example({"env": env_name(sid, key)}), f"Optional: {costs}."))
    return keys


def _filled(source: Planned, asker: Asker) -> Planned:
    """The placeholders of a platform behind credentials, replaced by what the person typed."""
    from twoway.platforms import PLATFORMS

    spec = PLATFORMS[source.platform]
    keys: list[tuple[str, object, str]] = []
    for key, value, comment in source.keys:
        if _is_placeholder(key, value):
            what = comment.split(": replace", 1)[0]
            answer = " ".join(neutralize(asker.value(source.platform, key, what)).split())
            typed = _typed(spec.type_of(key), answer)
            if typed is not None:
                value, comment = typed, f"{what}."
        keys.append((key, value, comment))
    return Planned(source.id, source.platform, tuple(keys))


def _typed(kind: str, answer: str) -> object | None:
    """An answer as the key's type, or None (the placeholder stays) when it cannot be one."""
    if not answer:
        return None
    if kind == "list[str]":
        return [part for part in answer.replace(",", " ").split() if part] or None
    if kind == "url":
        parts = urlsplit(answer)
        secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))
        return answer if parts.hostname and secure else None
    return answer


def _is_placeholder(key: str, value: object) -> bool:
    default = _PLACEHOLDERS.get(key, (f"YOUR_{key.upper()}", ""))[0]
    return not isinstance(value, (dict, Example)) and value == default


def _credential_notes(found: Found, source: Planned) -> list[str]:
    """What the person still has to do for a source written with placeholders."""
    if found.platform == "mastodon" and found.needs_token:
        name = env_name(source.id, "token")
        return [f"written with a token placeholder: set {name}, steps in {STEPS.format('mastodon')}"]
    if found.platform not in CREDENTIAL_PLATFORMS:
        return []
    env = [str(v["env"]) for _, v, _ in source.keys if isinstance(v, dict)]
    fill = [k for k, v, _ in source.keys if _is_placeholder(k, v)]
    todo = [f"replace {', '.join(fill)} in the file"] if fill else []
    todo += [f"set {', '.join(env)}"] if env else []
    return [f"written with placeholders: {', '.join(todo)}, steps in {STEPS.format(found.platform)}"]


# -- writing --------------------------------------------------------------------------------


def _write(state: _Run, path: Path, name: str | None, goals: list[Goal]) -> int:
    options = state.options
    if options.add and path.exists():
        old = path.read_bytes()
        data = append_text(old, state.planned)
        _parses(data, path)
        write_atomic(path, data, mode=path.stat().st_mode & 0o777)
        state.say(f"added to {path}: {_ids(state.planned)}")
    else:
        title = name or next((f.name for f in state.found if f.name), "") or "My organization"
        text = config_text(title, system_timezone(), state.planned, goals)
        data = text.encode("utf-8")
        _parses(data, path)
        if path.exists():
            shutil.copy2(path, path.with_name(path.name + ".bak"))
            state.say(f"kept the old file as {path.name}.bak")
        write_atomic(path, data)
        state.say(f"written: {path}")
        state.say(f"  sources {_ids(state.planned)}; {_count(len(goals), 'goal')}")
    _next_steps(state.say, state.err, path)
    return EXIT_WRITTEN


def _parses(data: bytes, path: Path) -> None:
    """The bytes about to be written are TOML: a last check, so no broken file is ever left behind."""
    import tomli

    try:
        tomli.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except tomli.TOMLDecodeError as e:
        raise UsageError(f"twoway init: {path}: the sources cannot be added to this file ({e})") from None


def _ids(planned: Sequence[Planned]) -> str:
    return ", ".join(repr(p.id) for p in planned)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _next_steps(say: Callable[[str], None], err: TextIO, path: Path) -> None:
    """The two commands to run next, with `--config` where twoway would not find the file by itself."""
    first = read_first(path)
    flag = ""
    if first is not None:
        print(f"warning: twoway reads {first} before {path}: use --config {path}", file=err, flush=True)
        flag = f" --config {path}"
    elif not_found_by_itself(path):
        flag = f" --config {path}"
    say("next:")
    say(f"  twoway{flag}                  the dashboard (it collects while open)")
    say(f"  twoway{flag} collect --once   one poll, for cron (e.g. every 5 minutes)")


def not_found_by_itself(path: Path) -> bool:
    """Whether twoway would not find `path` by itself (a file given with --config elsewhere)."""
    from twoway.config import _candidates

    try:
        return all(c.resolve() != path.resolve() for c in _candidates())
    except OSError:
        return True


# -- the questions, on a terminal -------------------------------------------------------------


class RichAsker:
    """Rich prompts: one question at a time, each answer probed before the next is asked."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False)

    def name(self) -> str:
        from rich.prompt import Prompt

        return Prompt.ask(
            "Organization name [dim](Enter: the first account's)[/]", default="", show_default=False,
            console=self.console,
        )

    def address(self) -> str:
        from rich.prompt import Prompt

        return Prompt.ask(
            "Address [dim](Enter when done)[/]",
            default="", show_default=False, console=self.console,
        )

    def feed(self, feeds: Sequence[str]) -> int:
        from rich.markup import escape
        from rich.prompt import Prompt

        for n, url in enumerate(feeds, 1):
            self.console.print(f"  {n}. {escape(url)}")
        choices = [str(n) for n in range(1, len(feeds) + 1)]
        return int(Prompt.ask("Which feed?", choices=choices, default="1", console=self.console)) - 1

    def value(self, platform: str, key: str, what: str) -> str:
        from rich.prompt import Prompt

        return Prompt.ask(
            f"{platform} {key}: {what} [dim](Enter: fill it in later)[/]", default="", show_default=False,
            console=self.console,
        )

    def goals(self, goals: Sequence[Goal]) -> list[Goal]:
        from rich.markup import escape
        from rich.prompt import Confirm

        self.console.print("Suggested goals: " + ", ".join(escape(g.name) for g in goals))
        if Confirm.ask("Take them?", default=True, console=self.console):
            return list(goals)
        return [g for g in goals if Confirm.ask(f"  {escape(g.name)}?", default=True, console=self.console)]
