"""Fake platforms, shared by the collector tests and `bench/poll_requests.py`.

Each module plays one platform on a local replay server (`tests/replay.py`): its answers in
the platform's own shapes, computed from a small world of posts, replies and staff, and the
scenario built on it (`Platform`: the world, the `[[sources]]` that read it, the goals).
Recorded real answers (`shared/realdata`) are read here too. Nothing here asserts what a
collector should make of them: that is the tests' part.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs

import pytest
import yaml

from tests.replay import ReplayServer

UTC = timezone.utc

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
"""Recorded answers of the real platforms, one folder a platform (shared/realdata/SOURCES.md)."""

W = TypeVar("W")
F = TypeVar("F")
Filled = TypeVar("Filled")


# -- recorded real answers ----------------------------------------------------------------


def realdata_dir(platform: str) -> Path:
    """A platform's folder of recorded answers; the test is skipped where it is absent."""
    folder = REALDATA / platform
    if not folder.exists():
        pytest.skip(f"recorded {platform} answers not found at {folder} (shared/realdata not checked out)")
    return folder


def realdata_bytes(platform: str, name: str) -> bytes:
    path = realdata_dir(platform) / name
    if not path.exists():
        pytest.skip(f"recorded {platform} answer {path} is absent")
    return path.read_bytes()


def realdata(platform: str, name: str) -> Any:
    """A recorded answer's JSON body."""
    return json.loads(realdata_bytes(platform, name))


def cassette(platform: str, name: str) -> list[dict[str, Any]]:
    """Each interaction of a recorded vcrpy (YAML) or Betamax (JSON) cassette: its `method`, `uri`,
    `status`, `headers` (lower-cased, one value each), JSON `body` and posted `form`."""
    raw = realdata_bytes(platform, name)
    recording = json.loads(raw) if name.endswith(".json") else yaml.safe_load(raw)
    out = []
    for item in recording["interactions"]:
        request, response = item["request"], item["response"]
        headers = {k.lower(): v[0] if isinstance(v, list) else v for k, v in response["headers"].items()}
        sent = request.get("body") or ""
        out.append({
            "method": request["method"], "uri": request["uri"], "status": response["status"]["code"],
            "headers": headers, "body": json.loads(response["body"]["string"]),
            "form": parse_qs(sent if isinstance(sent, str) else sent.get("string") or ""),
        })
    return out


# -- configuration text ---------------------------------------------------------------------


def env(name: str) -> dict[str, str]:
    """A credential read from the environment variable `name`."""
    return {"env": name}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def source_toml(sid: str, platform: str, **keys: object) -> str:
    """One `[[sources]]` table; keys whose value is None are left out."""
    lines = ["[[sources]]", f"id = {toml_value(sid)}", f"platform = {toml_value(platform)}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in keys.items() if value is not None]
    return "\n" + "\n".join(lines) + "\n"


def goal_toml(name: str, **keys: object) -> str:
    """One `[[goals]]` table; keys whose value is None are left out."""
    lines = ["[[goals]]", f"name = {toml_value(name)}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in keys.items() if value is not None]
    return "\n" + "\n".join(lines) + "\n"


def goals_toml(*goals: str) -> str:
    return "".join(goals)


ALL = goal_toml("All")
SUMMER_TAG = goal_toml("Summer reading", hashtags=["SummerReading"])
SUMMER_WORDS = goal_toml("Summer reading", keywords=["summer reading"])


def also(*staff: str) -> str:
    """The `[organization]` line naming staff accounts (`platform:handle`)."""
    return f"also = {toml_value(list(staff))}"


# -- a platform and its scenario ------------------------------------------------------------


def filled(fake: F, fill: Callable[[F], Filled]) -> tuple[F, Filled]:
    """A fake platform and what filling its world returned (the ids of the posts tests change or count)."""
    return fake, fill(fake)


class Ago:
    """Moments before a scenario's NOW: `ago(days=2, hours=3)`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours, minutes=minutes)


@dataclass(frozen=True)
class Platform(Generic[W]):
    """A fake platform with its scenario: what a test or the bench needs to collect from it."""

    name: str
    """The `platform` of its sources."""
    sid: str
    """The id of the scenario's source."""
    now: datetime
    """The scenario's NOW (`TWOWAY_NOW` of the backfill)."""
    env: Mapping[str, str]
    """The credentials the scenario's source reads, set to what the fake accepts."""
    build: Callable[[ReplayServer], W]
    """Routes the server and fills its world; returns the world."""
    sources: Callable[[str], str]
    """The server's URL → the scenario's `[[sources]]`."""
    goals: str
    organization: str = ""
    """`[organization]` lines: the staff accounts in `also`."""
    clock: Callable[[W, datetime], None] | None = None
    """Sets the fake's own clock, for platforms whose answers depend on when they are asked."""

    def secrets(self) -> Iterable[str]:
        return self.env.values()
