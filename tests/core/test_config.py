"""The configuration layer: loading, every kind of mistake, durations, opening hours."""

from __future__ import annotations

import os
import shutil
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from twoway.config import (
    Credential,
    check_config,
    find_config,
    format_duration,
    load_config,
    parse_duration,
)
from twoway.errors import ConfigError
from twoway.hours import parse_hours
from twoway.platforms import PLATFORMS, PlatformKeys, UnknownPlatform, platform_keys

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.toml"
EXAMPLE_ENV = ("TWOWAY_MASTODON_TOKEN", "TWOWAY_BLUESKY_APP_PASSWORD")

ORG = """\
[organization]
name = "Riverside Library"
"""
SOURCE = """\
[[sources]]
id = "masto"
platform = "mastodon"
instance = "https://glammr.us"
account = "riversidelibrary"
"""
VALID = ORG + "\n" + SOURCE


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(0o644)
    return path


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*EXAMPLE_ENV, "TWOWAY_CONFIG", "TWOWAY_FB_TOKEN", "TWOWAY_YT_KEY", "TWOWAY_YT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------ the example


def test_example_loads_without_credentials(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    shutil.copyfile(EXAMPLE, path)
    path.chmod(0o644)
    config = load_config(path)
    assert config.organization.name == "Riverside Library"
    assert config.organization.timezone == "America/Chicago"
    assert config.organization.hours is not None
    assert config.organization.hours.timezone == "America/Chicago"
    assert config.clock == "opening-hours"
    assert [s.platform for s in config.sources] == ["mastodon", "bluesky", "wordpress"]
    mastodon = config.source("library-mastodon")
    assert mastodon.options["token"] == Credential(env="TWOWAY_MASTODON_TOKEN")
    assert mastodon.options["instance"] == "https://glammr.us"
    assert mastodon.missing == ()
    assert config.source("library-bluesky").interval == 600
    assert config.source("library-blog").interval == config.dashboard.refresh == 300
    assert config.source_errors == ()
    assert len(config.goals) == 3
    summer = config.goals[0]
    assert summer.hashtags == ("summerreading",)
    assert summer.sources == ("library-mastodon", "library-bluesky")
    assert config.goals[1].sources == ("library-mastodon", "library-bluesky", "library-blog")
    median = {t.metric: t for t in config.goals[1].targets}["median_response_seconds"]
    assert (median.op, median.value) == ("<=", 14400)
    assert any("TWOWAY_MASTODON_TOKEN is not set: no mentions without a token" in w for w in config.warnings)
    token_line = next(
        n for n, line in enumerate(EXAMPLE.read_text().splitlines(), 1) if line.startswith("token =")
    )
    assert f"config.toml:{token_line}: sources[0].token: " in next(w for w in config.warnings if "MASTODON" in w)

    code, lines = check_config(path)
    assert code == 0
    assert lines[0] == f"ok: {path}: 3 sources (mastodon, bluesky, wordpress), 3 goals"
    assert lines[1:] == list(config.warnings)


def test_example_with_credentials_has_no_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in EXAMPLE_ENV:
        monkeypatch.setenv(name, "secret")
    path = tmp_path / "config.toml"
    shutil.copyfile(EXAMPLE, path)
    path.chmod(0o644)
    config = load_config(path)
    assert config.warnings == ()
    token = config.source("library-mastodon").options["token"]
    assert isinstance(token, Credential) and token.resolve() == "secret"


def test_missing_required_credential_is_a_source_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID
        + """
[[sources]]
id = "fb"
platform = "facebook"
page_id = 12345
token = { env = "TWOWAY_FB_TOKEN" }
""",
    )
    config = load_config(path)  # other commands go on, with only that source in error
    fb = config.source("fb")
    assert fb.missing == ("token",)
    assert fb.options["page_id"] == "12345"
    assert config.source_errors == (
        f"{path}:14: sources[1].token: TWOWAY_FB_TOKEN is not set: source 'fb' cannot be polled without it",
    )
    code, lines = check_config(path)
    assert code == 2
    assert lines[0] == config.source_errors[0]


def test_youtube_needs_one_of_its_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = VALID + """
[[sources]]
id = "yt"
platform = "youtube"
channel_id = "UC123"
api_key = { env = "TWOWAY_YT_KEY" }
token = { env = "TWOWAY_YT_TOKEN" }
"""
    path = write(tmp_path, text)
    assert load_config(path).source("yt").missing == ("api_key", "token")
    monkeypatch.setenv("TWOWAY_YT_TOKEN", "t")
    config = load_config(path)
    assert config.source("yt").missing == ()
    assert config.source_errors == ()
    assert not [w for w in config.warnings if "sources[1]" in w]


def test_keyring_credential(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + 'token = { keyring = "riverside-mastodon" }\n')
    config = load_config(path)
    assert config.source("masto").options["token"] == Credential(keyring="riverside-mastodon")


# ------------------------------------------------------------------ bad configs

HERE = "# <-"
"""Marks the line a problem must point at; a case without it expects no line."""

BAD: list[tuple[str, str, str, str]] = [
    # (case, toml, key path, message fragment)
    ("no-organization", SOURCE, "organization", "missing"),
    ("org-not-table", 'organization = "Riverside"  # <-\n' + SOURCE, "organization", "expected a table"),
    ("org-no-name", "[organization]  # <-\ntimezone = \"UTC\"\n" + SOURCE, "organization.name", "missing"),
    ("org-name-int", "[organization]\nname = 3  # <-\n" + SOURCE, "organization.name", "expected a string, got an integer"),
    ("org-name-empty", "[organization]\nname = \"  \"  # <-\n" + SOURCE, "organization.name", "empty"),
    ("org-unknown-key", ORG + "timezon = \"UTC\"  # <-\n" + SOURCE, "organization.timezon", "did you mean 'timezone'?"),
    ("also-not-list", ORG + 'also = "mastodon:@jane@glammr.us"  # <-\n' + SOURCE, "organization.also", "expected an array"),
    ("also-no-colon", ORG + 'also = ["jane"]  # <-\n' + SOURCE, "organization.also[0]", "platform:handle"),
    ("also-empty-handle", ORG + 'also = ["mastodon:", "bluesky:x"]  # <-\n' + SOURCE, "organization.also[0]", "platform:handle"),
    (
        "also-unknown-platform",
        ORG + 'also = [\n  "mastodon:@jane@glammr.us",\n  "mastodn:@joe@glammr.us",  # <-\n]\n' + SOURCE,
        "organization.also[1]",
        "did you mean 'mastodon'?",
    ),
    ("hours-bad-time", ORG + 'hours = "Mon-Fri 9-5"  # <-\n' + SOURCE, "organization.hours", "bad time"),
    ("hours-bad-day", ORG + 'hours = "Mon-Fry 09:00-17:00"  # <-\n' + SOURCE, "organization.hours", "unknown day 'Fry'"),
    ("hours-backwards", ORG + 'hours = "Mon 17:00-09:00"  # <-\n' + SOURCE, "organization.hours", "after opening"),
    ("hours-25", ORG + 'hours = "Sat 10:00-25:00"  # <-\n' + SOURCE, "organization.hours", "bad time"),
    ("hours-int", ORG + "hours = 9  # <-\n" + SOURCE, "organization.hours", "expected a string"),
    ("timezone-unknown", ORG + 'timezone = "America/Chicgo"  # <-\n' + SOURCE, "organization.timezone", "unknown timezone"),
    ("top-unknown", VALID + "[dashbord]  # <-\nrefresh = \"5m\"\n", "dashbord", "did you mean 'dashboard'?"),
    ("top-source-singular", ORG + "[[source]]  # <-\nid = \"x\"\n", "source", "did you mean 'sources'?"),
    ("dash-unknown-key", VALID + "[dashboard]\nrefesh = \"5m\"  # <-\n", "dashboard.refesh", "did you mean 'refresh'?"),
    ("dash-refresh-words", VALID + "[dashboard]\nrefresh = \"5 minutes\"  # <-\n", "dashboard.refresh", "bad duration"),
    ("dash-refresh-int", VALID + "[dashboard]\nrefresh = 300  # <-\n", "dashboard.refresh", "expected a duration"),
    ("dash-window-zero", VALID + "[dashboard]\nwindow = \"0d\"  # <-\n", "dashboard.window", "positive"),
    ("dash-retain-negative", VALID + "[dashboard]\nretain = \"-1d\"  # <-\n", "dashboard.retain", "bad duration"),
    ("dash-timeout-no-unit", VALID + "[dashboard]\ntimeout = \"10\"  # <-\n", "dashboard.timeout", "bad duration"),
    ("dash-thread-refresh", VALID + "[dashboard]\nthread_refresh = \"6hours\"  # <-\n", "dashboard.thread_refresh", "bad duration"),
    ("dash-bytes-zero", VALID + "[dashboard]\nmax_response_bytes = 0  # <-\n", "dashboard.max_response_bytes", "positive"),
    ("dash-bytes-bool", VALID + "[dashboard]\nmax_response_bytes = true  # <-\n", "dashboard.max_response_bytes", "got a boolean"),
    ("dash-bytes-float", VALID + "[dashboard]\nmax_response_bytes = 5e6  # <-\n", "dashboard.max_response_bytes", "got a float"),
    ("dash-store-text", VALID + "[dashboard]\nstore_community_text = \"yes\"  # <-\n", "dashboard.store_community_text", "true or false"),
    ("dash-database-int", VALID + "[dashboard]\ndatabase = 5  # <-\n", "dashboard.database", "expected a string"),
    ("dash-not-table", "dashboard = 5  # <-\n" + VALID, "dashboard", "expected a table"),
    ("no-sources", ORG, "sources", "at least one"),
    ("sources-empty", "sources = []  # <-\n" + ORG, "sources", "at least one"),
    ("sources-table", ORG + "[sources]  # <-\nid = \"x\"\n", "sources", "array of tables"),
    ("source-no-id", ORG + "[[sources]]  # <-\nplatform = \"rss\"\nurl = \"https://x.example/feed\"\n", "sources[0].id", "missing"),
    ("source-bad-id", ORG + "[[sources]]\nid = \"Library Feed\"  # <-\nplatform = \"rss\"\nurl = \"https://x.example\"\n", "sources[0].id", "lowercase"),
    ("source-id-int", ORG + "[[sources]]\nid = 7  # <-\nplatform = \"rss\"\nurl = \"https://x.example\"\n", "sources[0].id", "expected a string"),
    (
        "source-duplicate-id",
        VALID + "\n[[sources]]\nid = \"masto\"  # <-\nplatform = \"rss\"\nurl = \"https://x.example\"\n",
        "sources[1].id",
        "duplicate id 'masto' (also sources[0])",
    ),
    ("source-no-platform", ORG + "[[sources]]  # <-\nid = \"x\"\nurl = \"https://x.example\"\n", "sources[0].platform", "missing"),
    (
        "source-unknown-platform",
        ORG + "[[sources]]\nid = \"x\"\nplatform = \"mastadon\"  # <-\n",
        "sources[0].platform",
        "unknown platform 'mastadon' (did you mean 'mastodon'?)",
    ),
    ("source-missing-instance", ORG + "[[sources]]  # <-\nid = \"m\"\nplatform = \"mastodon\"\naccount = \"lib\"\n", "sources[0].instance", "missing"),
    ("source-unknown-key", VALID + "acount = \"lib\"  # <-\n", "sources[0].acount", "did you mean 'account'?"),
    ("source-key-of-other-platform", VALID + "handle = \"lib.bsky.social\"  # <-\n", "sources[0].handle", "unknown key"),
    ("source-url-no-scheme", ORG + "[[sources]]\nid = \"m\"\nplatform = \"mastodon\"\ninstance = \"glammr.us\"  # <-\naccount = \"lib\"\n", "sources[0].instance", "bad URL"),
    ("source-url-ftp", ORG + "[[sources]]\nid = \"r\"\nplatform = \"rss\"\nurl = \"ftp://x.example/feed\"  # <-\n", "sources[0].url", "http(s) URL"),
    ("source-url-bad-port", ORG + "[[sources]]\nid = \"r\"\nplatform = \"rss\"\nurl = \"https://x.example:99999/\"  # <-\n", "sources[0].url", "bad URL"),
    ("source-token-plain", VALID + "token = \"abc123\"  # <-\n", "sources[0].token", "secrets never sit in the file"),
    ("source-token-empty-env", VALID + "token = { env = \"\" }  # <-\n", "sources[0].token.env", "empty"),
    ("source-token-both", VALID + "token = { env = \"A\", keyring = \"B\" }  # <-\n", "sources[0].token", "either"),
    ("source-token-typo", VALID + "token = { evn = \"A\" }  # <-\n", "sources[0].token.evn", "did you mean 'env'?"),
    ("source-token-bad-env-name", VALID + "token = { env = \"MY TOKEN\" }  # <-\n", "sources[0].token.env", "not an environment variable name"),
    (
        "source-token-over-http",
        ORG + "[[sources]]\nid = \"m\"\nplatform = \"mastodon\"\ninstance = \"http://glammr.us\"  # <-\naccount = \"lib\"\ntoken = { env = \"T\" }\n",
        "sources[0].instance",
        "only over HTTPS",
    ),
    ("source-interval", VALID + "interval = \"fast\"  # <-\n", "sources[0].interval", "bad duration"),
    ("source-youtube-no-credential", ORG + "[[sources]]  # <-\nid = \"yt\"\nplatform = \"youtube\"\nchannel_id = \"UC1\"\n", "sources[0]", "'api_key' or 'token'"),
    (
        "source-x-budget",
        ORG + "[[sources]]\nid = \"x\"\nplatform = \"x\"\nuser_id = \"1\"\ntoken = { env = \"T\" }\nbudget = -5  # <-\n",
        "sources[0].budget",
        "positive",
    ),
    (
        "source-discourse-usernames",
        ORG + "[[sources]]\nid = \"d\"\nplatform = \"discourse\"\nurl = \"https://forum.example\"\nusernames = \"jane\"  # <-\n",
        "sources[0].usernames",
        "expected an array",
    ),
    (
        "source-facebook-page-bool",
        ORG + "[[sources]]\nid = \"f\"\nplatform = \"facebook\"\npage_id = true  # <-\ntoken = { env = \"T\" }\n",
        "sources[0].page_id",
        "got a boolean",
    ),
    ("source-importer-with-key", ORG + "[[sources]]\nid = \"gp\"\nplatform = \"googleplus\"\nurl = \"https://x.example\"  # <-\n", "sources[0].url", "unknown key"),
    (
        "source-inline-array",
        'sources = [\n  { id = "m", platform = "mastodon", instance = "https://glammr.us", account = "lib" },\n'
        '  { id = "b", platform = "bluesky" },  # <-\n]\n' + ORG,
        "sources[1].handle",
        "missing",
    ),
    ("goals-not-array", "goals = 3  # <-\n" + VALID, "goals", "array of tables"),
    ("goal-no-name", VALID + "[[goals]]  # <-\nwindow = \"7d\"\n", "goals[0].name", "missing"),
    (
        "goal-duplicate-name",
        VALID + "[[goals]]\nname = \"Events\"\n[[goals]]\nname = \"Events\"  # <-\n",
        "goals[1].name",
        "duplicate goal name",
    ),
    ("goal-unknown-key", VALID + "[[goals]]\nname = \"G\"\nhashtag = [\"a\"]  # <-\n", "goals[0].hashtag", "did you mean 'hashtags'?"),
    ("goal-unknown-source", VALID + "[[goals]]\nname = \"G\"\nsources = [\"mastodn\"]  # <-\n", "goals[0].sources[0]", "unknown source 'mastodn' (did you mean 'masto'?)"),
    ("goal-no-sources", VALID + "[[goals]]\nname = \"G\"\nsources = []  # <-\n", "goals[0].sources", "no source"),
    ("goal-hashtags-string", VALID + "[[goals]]\nname = \"G\"\nhashtags = \"books\"  # <-\n", "goals[0].hashtags", "expected an array"),
    ("goal-hashtag-only-hash", VALID + "[[goals]]\nname = \"G\"\nhashtags = [\"books\", \"#\"]  # <-\n", "goals[0].hashtags[1]", "not a hashtag"),
    ("goal-keyword-empty", VALID + "[[goals]]\nname = \"G\"\nkeywords = [\"\"]  # <-\n", "goals[0].keywords[0]", "empty"),
    (
        "goal-link-int",
        VALID + "[[goals]]\nname = \"G\"\nlinks = [\n  \"riverside.example/events\",\n  3,  # <-\n]\n",
        "goals[0].links[1]",
        "got an integer",
    ),
    ("goal-window", VALID + "[[goals]]\nname = \"G\"\nwindow = \"1 month\"  # <-\n", "goals[0].window", "bad duration"),
    ("target-number", VALID + "[[goals]]\nname = \"G\"\ntargets = { conversation_rate = 0.5 }  # <-\n", "goals[0].targets.conversation_rate", "bad target expression"),
    ("target-no-operator", VALID + "[[goals]]\nname = \"G\"\ntargets = { conversation_rate = \"0.5\" }  # <-\n", "goals[0].targets.conversation_rate", "bad target expression"),
    ("target-bad-operator", VALID + "[[goals]]\nname = \"G\"\ntargets = { response_rate = \"=> 0.9\" }  # <-\n", "goals[0].targets.response_rate", "bad target expression"),
    ("target-bad-value", VALID + "[[goals]]\nname = \"G\"\ntargets = { broadcast = \">= lots\" }  # <-\n", "goals[0].targets.broadcast", "not a number"),
    ("target-duration-on-ratio", VALID + "[[goals]]\nname = \"G\"\ntargets = { response_rate = \">= 4h\" }  # <-\n", "goals[0].targets.response_rate", "not a number"),
    ("target-bad-duration", VALID + "[[goals]]\nname = \"G\"\ntargets = { median_response_seconds = \"<= soon\" }  # <-\n", "goals[0].targets.median_response_seconds", "bad target expression"),
    (
        "target-unknown-metric-multiline",
        VALID + "[[goals]]\nname = \"G\"\ntargets = {\n  response_rate = \">= 0.9\",\n  conversaton_rate = \">= 0.5\",  # <-\n}\n",
        "goals[0].targets.conversaton_rate",
        "did you mean 'conversation_rate'?",
    ),
    (
        "target-subtable",
        VALID + "[[goals]]\nname = \"A\"\n[[goals]]\nname = \"B\"\n[goals.targets]\nbroadcast = \">= 3\"\nvoices = \"> -1\"  # <-\n",
        "goals[1].targets.voices",
        "never negative",
    ),
    ("targets-not-table", VALID + "[[goals]]\nname = \"G\"\ntargets = \">= 1\"  # <-\n", "goals[0].targets", "expected a table"),
    (
        "dotted-key-line",
        VALID + "[[goals]]\nname = \"G\"\n'targets'.\"broadcast\" = 3  # <-\n",
        "goals[0].targets.broadcast",
        "bad target expression",
    ),
    (
        "multiline-string-before",
        ORG + 'hours = """\nMon-Fri 09:00-17:00\n"""\n' + SOURCE + 'platfrm = "x"  # <-\n',
        "sources[0].platfrm",
        "did you mean 'platform'?",
    ),
]


def expected_line(text: str) -> int | None:
    return next((n for n, line in enumerate(text.splitlines(), 1) if HERE in line), None)


@pytest.mark.parametrize(("case", "text", "key_path", "fragment"), BAD, ids=[c[0] for c in BAD])
def test_bad_config(tmp_path: Path, case: str, text: str, key_path: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert problems
    for problem in problems:
        assert "\n" not in problem and "Traceback" not in problem
        assert problem.startswith(f"{path}")
    line = expected_line(text)
    where = f"{path}:{line}" if line else f"{path}"
    expected = f"{where}: {key_path}: "
    matching = [p for p in problems if p.startswith(expected)]
    assert matching, f"no problem starts with {expected!r}: {problems}"
    assert any(fragment in p for p in matching), problems
    code, lines = check_config(path)
    assert code == 2 and lines == list(problems)


def test_bad_case_count() -> None:
    assert len({c[0] for c in BAD}) == len(BAD) >= 35


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
[organization]
name = "Riverside Library"
timezone = "Mars/Olympus"

[dashboard]
refresh = "5 min"
window = 30

[[sources]]
id = "m"
platform = "mastodon"
instance = "glammr.us"
account = "lib"
token = "abc"

[[goals]]
name = "G"
sources = ["nope"]
targets = { voices = "lots" }
"""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [p.split(": ")[0:2] for p in info.value.problems] == [
        [f"{path}:3", "organization.timezone"],
        [f"{path}:6", "dashboard.refresh"],
        [f"{path}:7", "dashboard.window"],
        [f"{path}:12", "sources[0].instance"],
        [f"{path}:14", "sources[0].token"],
        [f"{path}:18", "goals[0].sources[0]"],
        [f"{path}:19", "goals[0].targets.voices"],
    ]
    assert str(info.value) == "\n".join(info.value.problems)


@pytest.mark.parametrize(
    ("content", "fragment", "line"),
    [
        (b'[organization]\nname = "Lib\n', "TOML syntax error", 2),
        (b"[organization]\nname = 'x'\nname = 'y'\n", "TOML syntax error", 3),
        (b'[organization]\nname = "Biblioth\xe8que"\n', "not UTF-8", 2),
        (b"[organization\n", "TOML syntax error", 1),
        (b"=" * 3, "TOML syntax error", 1),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "", None),
    ],
)
def test_unparseable_file(tmp_path: Path, content: bytes, fragment: str, line: int | None) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    path.chmod(0o644)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert "\n" not in problem and "Traceback" not in problem
    assert fragment in problem
    if line is not None:
        assert problem.startswith(f"{path}:{line}: ")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.toml")
    assert info.value.problems == (f"{tmp_path / 'absent.toml'}: cannot read: No such file or directory",)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert len(info.value.problems) == 1 and "cannot read" in info.value.problems[0]


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    path.chmod(0o644)
    assert load_config(path).organization.name == "Riverside Library"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_world_writable_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    path.chmod(0o666)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: refused: the file is world-writable")
    assert f"chmod o-w {path}" in problem
    assert check_config(path)[0] == 2
    path.chmod(0o664)
    assert load_config(path).organization.name == "Riverside Library"


# ------------------------------------------------------------------ details of good configs


def test_defaults_and_normalization(tmp_path: Path) -> None:
    text = VALID + """\
interval = "90s"

[[sources]]
id = "sky"
platform = "bluesky"
handle = "lib.bsky.social"

[[sources]]
id = "local"
platform = "mastodon"
instance = "http://127.0.0.1:8080/"
account = "lib"
token = { env = "TWOWAY_LOCAL_TOKEN" }

[dashboard]
database = "data/twoway.db"
timeout = "30s"

[[goals]]
name = "Events"
hashtags = ["#Events", "EVENTS", "LibraryLife"]
keywords = [" story time "]
links = ["https://www.Riverside.example/events"]
targets = { median_response_seconds = "<= 14400", p90_response_seconds = "< 1d", broadcast = "==1" }
"""
    config = load_config(write(tmp_path, text))
    assert config.dashboard.database == tmp_path / "data/twoway.db"
    assert config.dashboard.timeout == 30.0
    assert config.dashboard.refresh == 300
    assert config.organization.timezone == "UTC" and config.organization.hours is None
    assert config.clock == "always"
    assert config.source("masto").interval == 90
    sky = config.source("sky")
    assert sky.options["service"] == "https://public.api.bsky.app"
    assert sky.options["pds"] == "https://bsky.social"
    assert config.source("local").options["instance"] == "http://127.0.0.1:8080"  # loopback may carry a token
    (goal,) = config.goals
    assert goal.sources == ("masto", "sky", "local")
    assert goal.hashtags == ("events", "librarylife")
    assert goal.keywords == ("story time",)
    assert goal.links == ("riverside.example/events",)
    assert goal.window is None
    assert [(t.metric, t.op, t.value) for t in goal.targets] == [
        ("median_response_seconds", "<=", 14400),
        ("p90_response_seconds", "<", 86400),
        ("broadcast", "==", 1),
    ]
    assert config.keywords == ("story time",)


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(write(tmp_path, VALID + '[dashboard]\ndatabase = "~/riverside.db"\n'))
    assert config.dashboard.database == tmp_path / "riverside.db"


def test_no_goals_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    code, lines = check_config(path)
    assert code == 0
    assert lines[0] == f"ok: {path}: 1 source (mastodon), 0 goals"
    assert any("no goals" in line for line in lines[1:])


def test_public_feed_over_http_is_fine(tmp_path: Path) -> None:
    text = ORG + '[[sources]]\nid = "feed"\nplatform = "rss"\nurl = "http://news.riverside.example/feed"\n'
    assert load_config(write(tmp_path, text)).source("feed").options["url"] == "http://news.riverside.example/feed"


def test_platform_table_covers_the_spec() -> None:
    spec = {
        "mastodon", "bluesky", "wordpress", "rss", "facebook", "instagram", "threads", "x",
        "linkedin", "pinterest", "youtube", "reddit", "discourse", "googleplus",
        "linkedin_export", "pinterest_export", "x_export", "meta_export", "youtube_export",
        "mastodon_archive", "csv",
    }  # fmt: skip
    assert set(PLATFORMS) == spec
    assert PLATFORMS["mastodon"].credentials["token"] == "no mentions without a token"
    assert PLATFORMS["csv"].keys == () and PLATFORMS["csv"].importer


def test_third_party_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeEntryPoint:
        name = "gopher"
        value = "gopher_collector:Collector"

        def load(self) -> object:
            class Collector:
                KEYS = {"required": ("url",), "optional": ("token",), "credentials": {"token": "no replies"}}

            return Collector

    monkeypatch.setattr("twoway.plugins.entry_points", lambda group="twoway.collectors": [FakeEntryPoint()])
    keys = platform_keys("gopher")
    assert isinstance(keys, PlatformKeys)
    assert keys.required == ("url",) and keys.type_of("token") == "credential"
    with pytest.raises(UnknownPlatform, match=r"unknown platform 'gophr' \(did you mean 'gopher'\?\)"):
        platform_keys("gophr")


# ------------------------------------------------------------------ finding the file


def test_find_config_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_dir = tmp_path / "user"
    monkeypatch.setattr("platformdirs.user_config_path", lambda app: user_dir / app)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    explicit = write(tmp_path, VALID, "explicit.toml")
    from_env = write(tmp_path, VALID, "env.toml")

    user = user_dir / "twoway" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text(VALID)
    assert find_config(None) == user
    (cwd / "config.toml").write_text(VALID)
    assert find_config(None) == Path("config.toml")
    monkeypatch.setenv("TWOWAY_CONFIG", str(from_env))
    assert find_config(None) == from_env
    assert find_config(str(explicit)) == explicit

    with pytest.raises(ConfigError, match="does not exist"):
        find_config(str(tmp_path / "nope.toml"))


def test_find_config_nothing_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platformdirs.user_config_path", lambda app: tmp_path / "user" / app)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TWOWAY_CONFIG", str(tmp_path / "missing.toml"))
    if Path("/etc/twoway/config.toml").exists():
        pytest.skip("a system-wide config exists here")
    with pytest.raises(ConfigError) as info:
        find_config(None)
    (problem,) = info.value.problems
    assert "\n" not in problem
    for place in ("missing.toml", "config.toml", str(tmp_path / "user" / "twoway"), "/etc/twoway/config.toml"):
        assert place in problem


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("4h", 14400), ("30d", 2_592_000), ("1s", 1), (" 7d ", 604800)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "-5m", "5", "m", "1.5h", "5 m", "5min", "1w", "4H", "1e3s", "five m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2_592_000, "30d"), (5400, "90m"), (90, "90s"), (14400, "4h"), (86400, "1d"), (61, "61s"), (0, "0s")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    if seconds:
        assert parse_duration(format_duration(seconds)) == seconds


# ------------------------------------------------------------------ opening hours

CHICAGO = ZoneInfo("America/Chicago")


def chicago(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def test_hours_parse() -> None:
    hours = parse_hours("Mon-Fri 09:00-12:00,13:00-17:00; Sat 10:00-14:00; Sun,Wed 20:00-24:00", "Europe/Berlin")
    assert hours.timezone == "Europe/Berlin"
    assert hours.week[0] == ((540, 720), (780, 1020))
    assert hours.week[2] == ((540, 720), (780, 1020), (1200, 1440))
    assert hours.week[5] == ((600, 840),)
    assert hours.week[6] == ((1200, 1440),)
    assert parse_hours("Fri-Mon 10:00-11:00", "UTC").week == (
        ((600, 660),), (), (), (), ((600, 660),), ((600, 660),), ((600, 660),),
    )  # fmt: skip
    assert parse_hours("mon, wed 09:00-10:00", "UTC").week[2] == ((540, 600),)


@pytest.mark.parametrize(
    "text", ["", ";", "Mon-Fri", "09:00-17:00", "Mon 9:00", "Mon 09:00-09:00", "Mon 24:00-24:00", "Mon 09:60-10:00", "Dec 09:00-10:00"]
)
def test_hours_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_hours(text, "UTC")
    assert "\n" not in str(info.value)


def test_hours_unknown_timezone() -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        parse_hours("Mon 09:00-17:00", "Mars/Olympus")


def test_open_seconds_across_a_weekend() -> None:
    hours = parse_hours("Mon-Fri 09:00-17:00; Sat 10:00-14:00", "America/Chicago")
    # Friday 16:00 to Monday 10:00: 1h Friday, 4h Saturday, nothing Sunday, 1h Monday.
    assert hours.open_seconds(chicago(2025, 6, 13, 16), chicago(2025, 6, 16, 10)) == 6 * 3600
    # The same span given in UTC.
    start = chicago(2025, 6, 13, 16).astimezone(timezone.utc)
    end = chicago(2025, 6, 16, 10).astimezone(timezone.utc)
    assert hours.open_seconds(start, end) == 6 * 3600


def test_open_seconds_across_dst() -> None:
    # 2025-03-09 02:00 America/Chicago springs forward: that Sunday has 23 hours.
    always = parse_hours("Mon-Sun 00:00-24:00", "America/Chicago")
    assert always.open_seconds(chicago(2025, 3, 8), chicago(2025, 3, 10)) == 47 * 3600
    assert always.open_seconds(chicago(2025, 11, 1), chicago(2025, 11, 3)) == 49 * 3600
    # A night desk through the change: Sun 01:00-04:00 local is two real hours.
    night = parse_hours("Sun 01:00-04:00", "America/Chicago")
    assert night.open_seconds(chicago(2025, 3, 8), chicago(2025, 3, 10)) == 2 * 3600
    # Office hours keep their wall-clock times: Friday before, Monday after.
    office = parse_hours("Mon-Fri 09:00-17:00", "America/Chicago")
    assert office.open_seconds(chicago(2025, 3, 7, 12), chicago(2025, 3, 10, 12)) == 8 * 3600
    utc_start = datetime(2025, 3, 10, 14, tzinfo=timezone.utc)  # 09:00 CDT
    assert office.is_open(utc_start) and not office.is_open(utc_start - timedelta(seconds=1))


def test_open_seconds_edges() -> None:
    hours = parse_hours("Mon-Fri 09:00-17:00; Sat 10:00-14:00", "America/Chicago")
    moment = chicago(2025, 6, 11, 10)
    assert hours.open_seconds(moment, moment) == 0
    assert hours.open_seconds(moment, moment - timedelta(hours=1)) == 0
    # Inside: all of it counts. Outside (Wednesday night): none of it.
    assert hours.open_seconds(chicago(2025, 6, 11, 10), chicago(2025, 6, 11, 11, 30)) == 5400
    assert hours.open_seconds(chicago(2025, 6, 11, 18), chicago(2025, 6, 11, 23)) == 0
    # Starting outside, ending inside.
    assert hours.open_seconds(chicago(2025, 6, 11, 7), chicago(2025, 6, 11, 9, 15)) == 900
    assert hours.is_open(chicago(2025, 6, 11, 9)) and not hours.is_open(chicago(2025, 6, 11, 17))
    assert not hours.is_open(chicago(2025, 6, 15, 12))  # Sunday
    # Months at a time: 52 weeks of 44 hours.
    start = chicago(2025, 1, 6)
    assert hours.open_seconds(start, start + timedelta(weeks=52)) == 52 * 44 * 3600
    with pytest.raises(ValueError, match="aware"):
        hours.open_seconds(datetime(2025, 1, 1), datetime(2025, 1, 2))
