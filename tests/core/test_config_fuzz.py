"""Property tests: whatever the configuration file holds, loading it never raises a traceback.

Random TOML documents and random mutations of the example `config.toml` either load or
fail with `ConfigError` whose problems are single lines naming the file.
"""

from __future__ import annotations

import string
from pathlib import Path

import tomli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twoway.config import Config, load_config
from twoway.errors import ConfigError

EXAMPLE = (Path(__file__).resolve().parents[2] / "config.toml").read_text(encoding="utf-8")

keys = st.sampled_from(
    [
        "organization",
        "dashboard",
        "sources",
        "goals",
        "name",
        "id",
        "platform",
        "url",
        "instance",
        "account",
        "window",
        "refresh",
        "targets",
        "hashtags",
        "also",
        "hours",
        "timezone",
        "token",
        "env",
        "database",
        "x",
    ]
)
scalars = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=string.printable, max_size=20),
    st.sampled_from(["30d", "4h", ">= 0.5", "mastodon", "rss"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4), max_leaves=12
)
documents = st.dictionaries(keys, values, max_size=5)


def _toml(value: object, depth: int = 0) -> str:
    """A small TOML writer for what the strategies generate (inline tables and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return (
            '"'
            + value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
            .replace("\x0b", "\\u000b")
            .replace("\x0c", "\\f")
            + '"'
        )
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v, depth + 1) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f'"{k}" = {_toml(v, depth + 1)}' for k, v in value.items()) + "}"


def _check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    try:
        assert isinstance(load_config(path), Config)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert "\n" not in problem and "Traceback" not in problem
            assert problem.startswith(str(path)), problem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents)
def test_random_documents_never_raise_a_traceback(tmp_path: Path, document: dict[str, object]) -> None:
    text = "\n".join(f'"{k}" = {_toml(v)}' for k, v in document.items()) + "\n"
    tomli.loads(text)  # the writer itself must produce valid TOML
    _check(tmp_path, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutations_of_the_example_never_raise_a_traceback(tmp_path: Path, data: st.DataObject) -> None:
    text = EXAMPLE
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, max(len(text) - 1, 0)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace", "duplicate-line"]))
        if action == "delete":
            text = text[:where] + text[where + data.draw(st.integers(1, 12)) :]
        elif action == "insert":
            text = text[:where] + data.draw(st.text(alphabet=string.printable + "é☃", max_size=8)) + text[where:]
        elif action == "replace":
            text = (
                text[:where] + data.draw(st.sampled_from(['"', "=", "[", "]", "0", "-", "#", "\n"])) + text[where + 1 :]
            )
        else:
            lines = text.splitlines(keepends=True)
            n = where % max(len(lines), 1)
            text = "".join(lines[: n + 1] + lines[n:])
    _check(tmp_path, text)
