"""The source keys of every platform (SPEC §6), as data the config loader checks.

Built-in platforms are listed here, so validating a config imports no collector.
A platform not listed is looked up by name in the entry-point group
`twoway.collectors`; only that one entry point is loaded, and its `KEYS` attribute
(a `PlatformKeys` or a dict with the same fields) says what it accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from twoway import plugins

__all__ = [
    "IMPORTERS",
    "PLATFORMS",
    "SOURCE_KEYS",
    "URL_KEYS",
    "KeyType",
    "PlatformKeys",
    "UnknownPlatform",
    "known_platforms",
    "platform_keys",
]


KeyType = Literal["str", "id", "url", "int", "bool", "list[str]", "credential"]
"""How a key's value is checked: `id` is a string or an integer (kept as a string)."""

SOURCE_KEYS = ("id", "platform", "interval")
"""Keys every source takes besides its platform's; `interval` defaults to `[dashboard] refresh`."""

URL_KEYS = frozenset({"instance", "url", "service", "pds", "api"})
"""Keys that hold an http(s) URL, whatever the platform."""

CREDENTIAL_KEYS = frozenset(
    {"token", "app_password", "api_key", "client_id", "client_secret", "refresh_token"}
)


_EMPTY: Mapping[str, Any] = MappingProxyType({})
"""The default for mapping fields: immutable, so safe to share."""

class PlatformKeys(NamedTuple):
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    credentials: Mapping[str, str | None] = _EMPTY
    """Credential keys; for an optional one, what a missing value costs (a warning)."""
    one_of: tuple[tuple[str, ...], ...] = ()
    """Groups of optional keys of which at least one must be given (YouTube: `api_key` or `token`)."""
    types: Mapping[str, KeyType] = _EMPTY
    """Checks beyond the default: URL keys are `url`, credentials `credential`, others `str`."""
    defaults: Mapping[str, object] = _EMPTY
    importer: bool = False
    """Filled only by `twoway import`, never polled."""

    @property
    def keys(self) -> tuple[str, ...]:
        return self.required + self.optional

    def type_of(self, key: str) -> KeyType:
        if key in self.types:
            return self.types[key]
        if key in self.credentials or key in CREDENTIAL_KEYS:
            return "credential"
        if key in URL_KEYS:
            return "url"
        return "str"

    def is_required(self, key: str) -> bool:
        return key in self.required

    @classmethod
    def coerce(cls, value: object) -> PlatformKeys:
        """A third-party `KEYS` attribute as `PlatformKeys`; `ValueError` when malformed."""
        if isinstance(value, PlatformKeys):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"KEYS must be a PlatformKeys or a dict, not {type(value).__name__}")
        allowed = {"required", "optional", "credentials", "one_of", "types", "defaults", "importer"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"KEYS has unknown fields: {', '.join(map(str, unknown))}")
        try:
            return cls(
                required=tuple(str(k) for k in value.get("required", ())),
                optional=tuple(str(k) for k in value.get("optional", ())),
                credentials=dict(value.get("credentials", {})),
                one_of=tuple(tuple(str(k) for k in group) for group in value.get("one_of", ())),
                types=dict(value.get("types", {})),
                defaults=dict(value.get("defaults", {})),
                importer=bool(value.get("importer", False)),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"KEYS is malformed: {exc}") from None


def _polled(
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    **extra: object,
) -> PlatformKeys:
    return PlatformKeys(required=required, optional=optional, **extra)  # type: ignore[arg-type]


_IMPORTER = PlatformKeys(importer=True)

IMPORTERS = (
    "googleplus",
    "linkedin_export",
    "pinterest_export",
    "x_export",
    "meta_export",
    "youtube_export",
    "mastodon_archive",
    "csv",
)

PLATFORMS: dict[str, PlatformKeys] = {
    "mastodon": _polled(
        ("instance", "account"),
        ("token",),
        credentials={"token": "no mentions without a token"},
    ),
    "bluesky": _polled(
        ("handle",),
        ("service", "app_password", "pds"),
        credentials={"app_password": "no mention notifications without an app password"},
        defaults={"service": "https://public.api.bsky.app", "pds": "https://bsky.social"},
    ),
    "wordpress": _polled(("url",)),
    "rss": _polled(("url",)),
    "facebook": _polled(
        ("page_id", "token"),
        ("api", "api_version"),
        credentials={"token": None},
        types={"page_id": "id"},
    ),
    "instagram": _polled(
        ("user_id", "token"), ("api",), credentials={"token": None}, types={"user_id": "id"}
    ),
    "threads": _polled(
        ("user_id", "token"), ("api",), credentials={"token": None}, types={"user_id": "id"}
    ),
    "x": _polled(
        ("user_id", "token"),
        ("api", "budget"),
        credentials={"token": None},
        types={"user_id": "id", "budget": "int"},
    ),
    "linkedin": _polled(
        ("organization", "token"),
        ("api", "version"),
        credentials={"token": None},
        types={"organization": "id", "version": "id"},
    ),
    "pinterest": _polled(("token",), ("api",), credentials={"token": None}),
    "youtube": _polled(
        ("channel_id",),
        ("api_key", "token", "api", "budget"),
        credentials={"api_key": None, "token": None},
        one_of=(("api_key", "token"),),
        types={"budget": "int"},
    ),
    "reddit": _polled(
        ("username", "client_id", "client_secret", "refresh_token"),
        ("api",),
        credentials={"client_id": None, "client_secret": None, "refresh_token": None},
    ),
    "discourse": _polled(
        ("url", "usernames"),
        ("api_key", "api_username"),
        credentials={"api_key": "no mentions and only public categories without an API key"},
        types={"usernames": "list[str]"},
    ),
    **{name: _IMPORTER for name in IMPORTERS},
}
"""SPEC §6, the built-in platforms."""


class UnknownPlatform(ValueError):
    """No built-in platform and no entry point of that name; the message lists the known ones."""


def known_platforms() -> tuple[str, ...]:
    """Built-in platforms and installed collectors' names, without importing any."""
    return tuple(dict.fromkeys([*PLATFORMS, *plugins.installed()]))


def platform_keys(name: str) -> PlatformKeys:
    """The keys `name` accepts: from the table, else from its collector's `KEYS`.

    Raises:
        UnknownPlatform: no such platform (with a suggestion and the known names).
        ValueError: the collector is installed but fails to load or its `KEYS` is malformed.
    """
    if name in PLATFORMS:
        return PLATFORMS[name]
    try:
        collector = plugins.load(name)
    except plugins.PluginError as e:
        raise ValueError(str(e)) from None
    if collector is None:
        import difflib

        known = known_platforms()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownPlatform(f"unknown platform {name!r}{hint}; known: {', '.join(known)}")
    return PlatformKeys.coerce(getattr(collector, "KEYS", None) or PlatformKeys())
