"""Every ```toml example in the README and the documentation loads with the real config loader.

A fragment (a lone `[[sources]]`, `[[goals]]` or `[dashboard]` block) is completed with
the least it needs to be a whole configuration: an `[organization]` with a name, and,
when it has none, the sources its goals name (or one source), the goal a
`[goals.targets]` table belongs to, and an `[alerts]` fragment's goals and opening hours. Credentials are `{ env = "..." }`: one missing from
the environment is a `source_errors` line, not a load error, so examples need no secrets.
A deliberately wrong example (the check-config demo) is fenced as plain text, not toml.
A block of a plugin's `pyproject.toml` (only `[project]`, `[build-system]` or `[tool]`
tables) is no configuration: it only has to be valid TOML.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import tomli

from twoway.config import load_config
from twoway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
ORGANIZATION = '[organization]\nname = "Example Library"\n'
NAME = 'name = "Example Library"'
SOURCE = '\n[[sources]]\nid = "{id}"\nplatform = "rss"\nurl = "https://blog.example.org/feed/"\n'
"""A source without credentials, for a fragment whose goals name sources it does not define."""
GOAL = '[[goals]]\nname = "Example goal"\n'
HOURS = 'hours = "Mon-Fri 09:00-17:00"\n'
"""For an `[alerts]` fragment holding its alerts outside opening hours."""
ORGANIZATION_HEADER = re.compile(r"^[ \t]*\[[ \t]*organization[ \t]*\][ \t]*(#.*)?$", re.MULTILINE)
GOALS_SUBTABLE = re.compile(r"^[ \t]*\[[ \t]*goals[ \t]*\.", re.MULTILINE)
PYPROJECT = frozenset({"project", "build-system", "tool"})
ARRAY_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*(?P<name>[A-Za-z_]+)[ \t]*\]\]", re.MULTILINE)


class Example(NamedTuple):
    file: str
    """Relative to the repository, as the test id names it."""
    line: int
    """The line of the example's first TOML line in that file."""
    text: str


def toml_blocks(path: Path) -> list[Example]:
    """The ```toml (or ~~~toml) fenced blocks of a Markdown file, indentation removed."""
    found: list[Example] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    relative = path.relative_to(ROOT).as_posix()
    opened: tuple[str, str, bool, int] | None = None  # fence, indent, is toml, first line
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        match = FENCE.match(line)
        if opened is None:
            if match:
                info = match["info"].strip().split()
                opened = (match["fence"], match["indent"], bool(info) and info[0].lower() == "toml", number + 1)
                body = []
            continue
        fence, indent, is_toml, first = opened
        if match and match["fence"][0] == fence[0] and len(match["fence"]) >= len(fence) and not match["info"].strip():
            if is_toml:
                found.append(Example(relative, first, "\n".join(body) + "\n"))
            opened = None
            continue
        body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
    return found


def _arrays(text: str) -> set[str]:
    return {m["name"] for m in ARRAY_HEADER.finditer(text)}


def complete(text: str) -> tuple[str, int]:
    """The example made a whole configuration, and how many lines were put before it."""
    try:
        data: dict[str, Any] = tomli.loads(text)
    except tomli.TOMLDecodeError:
        return text, 0  # the loader names the syntax error
    before, after = "", ""
    organization = data.get("organization")
    alerts: dict[str, Any] = data["alerts"] if isinstance(data.get("alerts"), dict) else {}
    if organization is None:
        before += ORGANIZATION + (HOURS if alerts.get("quiet") == "outside-hours" else "") + "\n"
    elif isinstance(organization, dict) and "name" not in organization:
        header = ORGANIZATION_HEADER.search(text)
        if header is not None:
            end = header.end()
            text = text[:end] + "\n" + NAME + text[end:]
    if "goals" in data and "goals" not in _arrays(text):
        subtable = GOALS_SUBTABLE.search(text)
        if subtable is not None:
            text = text[: subtable.start()] + GOAL + text[subtable.start():]
    rules: list[Any] = alerts["rules"] if isinstance(alerts.get("rules"), list) else []
    if "goals" not in data:  # the goals an [alerts] fragment's rules watch
        for name in dict.fromkeys(g for r in rules if isinstance(r, dict) for g in r.get("goals", ())):
            after += f"\n[[goals]]\nname = {json.dumps(name)}\n"
    if "sources" not in data:
        goals = data.get("goals")
        named: list[str] = []
        for goal in goals if isinstance(goals, list) else []:
            listed = goal.get("sources") if isinstance(goal, dict) else None
            named += [s for s in listed if isinstance(s, str)] if isinstance(listed, list) else []
        for source_id in dict.fromkeys(named or ["example-blog"]):
            after += SOURCE.format(id=source_id)
    return before + text + after, before.count("\n")


def _where(message: str, written: Path, example: Example, offset: int) -> str:
    """A loader line about the temporary file, told as the line of the document."""

    def line(match: re.Match[str]) -> str:
        n = int(match[1]) - offset
        body = example.text.count("\n")
        return f"{example.file}:{example.line + n - 1}" if 1 <= n <= body else f"{example.file} (completion line {match[1]})"

    return re.sub(re.escape(str(written)) + r":(\d+)", line, message).replace(str(written), example.file)


EXAMPLES = [example for document in DOCUMENTS for example in toml_blocks(document)]


def test_examples_are_found() -> None:
    files = {example.file for example in EXAMPLES}
    assert "docs/configuration.md" in files
    assert any(f.startswith("docs/platforms/") for f in files)
    assert any(f.startswith("docs/importers/") for f in files)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.file}:{e.line}" for e in EXAMPLES])
def test_example_loads(example: Example, tmp_path: Path) -> None:
    try:
        data = tomli.loads(example.text)
    except tomli.TOMLDecodeError:
        data = {}  # the loader names the syntax error
    if data and set(data) <= PYPROJECT:
        return  # a plugin's packaging, valid TOML
    text, offset = complete(example.text)
    written = tmp_path / "config.toml"
    written.write_text(text, encoding="utf-8")
    written.chmod(0o600)  # a world-writable configuration is refused
    try:
        config = load_config(written)
    except ConfigError as exc:
        problems = "\n".join(_where(p, written, example, offset) for p in exc.problems)
        pytest.fail(f"the example at {example.file}:{example.line} does not load:\n{problems}", pytrace=False)
    assert config.organization.name
    assert config.sources


def test_the_example_configuration_loads(tmp_path: Path) -> None:
    written = tmp_path / "config.toml"
    written.write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    written.chmod(0o600)
    config = load_config(written)
    assert config.sources and config.goals
