"""The configuration layer: loading, every kind of mistake, durations, opening hours."""

from __future__ import annotations

import os
import shutil
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import tomli

from twoway.config import (
    Credential,
    PostgresURL,
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
    assert summer.description is not None and summer.description.startswith("Families talk with us")
    assert config.goals[1].description is None  # optional
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

FRAGMENTS = {"$ORG\n": ORG, "$SOURCE\n": SOURCE, "$VALID\n": VALID}


def bad_cases() -> list[tuple[str, str, str, str]]:
    """(case, toml, key path, message fragment) for each case of bad_configs.toml, its fragments filled in."""
    cases = tomli.loads((Path(__file__).parent / "bad_configs.toml").read_text(encoding="utf-8"))["case"]
    found = []
    for case in cases:
        text = case["toml"]
        for name, fragment in FRAGMENTS.items():
            text = text.replace(name, fragment)
        found.append((case["id"], text, case["key"], case["message"]))
    return found


BAD = bad_cases()


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


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://twoway@db.example.org/twoway?sslmode=require",
        "postgres://twoway@db.example.org:5433/twoway?sslmode=verify-full&application_name=twoway",
        "postgresql://twoway@localhost/twoway",
        "postgresql://twoway@127.0.0.1:5433/twoway",
        "postgresql://twoway@[::1]/twoway",
        "postgresql:///twoway",
        "postgresql://%2Fvar%2Frun%2Fpostgresql/twoway",
        "postgresql:///twoway?host=/var/run/postgresql&port=5433",
    ],
)
def test_a_postgresql_url_selects_postgresql(tmp_path: Path, url: str) -> None:
    """SPEC §11: TLS for a host that is not this machine; loopback and unix sockets need none."""
    text = VALID + f'[dashboard]\ndatabase = "{url}"\nschema = "riverside"\npassword = {{ env = "TWOWAY_PG" }}\n'
    dashboard = load_config(write(tmp_path, text)).dashboard
    assert dashboard.database == PostgresURL(url) and str(dashboard.database) == url
    assert dashboard.schema == "riverside" and dashboard.password == Credential(env="TWOWAY_PG")
    assert not list(tmp_path.glob("postgres*"))  # never a file named after the URL


def test_a_password_in_the_url_is_never_repeated(tmp_path: Path) -> None:
    for url in ("postgresql://twoway:s3cret-pw@localhost/twoway", "postgresql://twoway@localhost/t?password=s3cret-pw"):
        code, lines = check_config(write(tmp_path, VALID + f'[dashboard]\ndatabase = "{url}"\n'))
        assert code == 2 and lines and not any("s3cret-pw" in line for line in lines)


def test_a_schema_after_a_bad_database_says_only_what_is_wrong(tmp_path: Path) -> None:
    text = VALID + '[dashboard]\ndatabase = "postgresql://db.example.org/t"\nschema = "riverside"\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert len(info.value.problems) == 1 and "dashboard.database" in info.value.problems[0]


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


# ------------------------------------------------------------------ [alerts] (SPEC §9)

ALERTS = """
[[goals]]
name = "Answer every question"

[alerts]
repeat = "4h"
quiet = "outside-hours"
smtp = { host = "smtp.example.org", port = 587, starttls = true, user = "dash@example.org",
         password = { env = "TWOWAY_SMTP_PASSWORD" }, from = "twoway@example.org" }

[[alerts.rules]]
name = "Questions waiting"
when = "waiting  >  2h"
goals = ["Answer every question"]
notify = ["app", "bell", { webhook = { env = "TWOWAY_ALERT_WEBHOOK" } },
          { email = "comms@riverside.example" }, { command = ["notify-send", "twoway"] },
          { apprise = { env = "TWOWAY_APPRISE_URLS" } }]

[[alerts.rules]]
name = "Down"
when = "source down > 30m"

[[alerts.rules]]
name = "Missed"
when = "missed"
notify = [{ email = ["a@example.org", "b@example.org"] }]
"""
HOURS = 'hours = "Mon-Fri 09:00-17:00"\n'
CHANNEL_ENV = ("TWOWAY_SMTP_PASSWORD", "TWOWAY_ALERT_WEBHOOK", "TWOWAY_APPRISE_URLS")


def _alerts_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Path:
    for name in CHANNEL_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return write(tmp_path, ORG + HOURS + SOURCE + ALERTS)


def test_alerts_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from twoway.alerts.model import Apprise, Command, Email, Rule, Smtp, Webhook

    path = _alerts_config(
        tmp_path, monkeypatch, TWOWAY_SMTP_PASSWORD="pw", TWOWAY_ALERT_WEBHOOK="https://hooks.example.org/T/B/X",
        TWOWAY_APPRISE_URLS="ntfys://ntfy.example.org/riverside",
    )
    config = load_config(path)
    alerts = config.alerts
    assert (alerts.repeat, alerts.quiet) == (4 * 3600, "outside-hours")
    assert alerts.smtp == Smtp(
        "smtp.example.org", 587, True, False, "dash@example.org", Credential(env="TWOWAY_SMTP_PASSWORD"),
        "twoway@example.org",
    )
    waiting, down, missed = alerts.rules
    assert waiting == Rule(
        "Questions waiting", "waiting > 2h", "waiting", 7200, ("Answer every question",),
        ("app", "bell", Webhook(Credential(env="TWOWAY_ALERT_WEBHOOK")), Email(("comms@riverside.example",)),
         Command(("notify-send", "twoway")), Apprise(Credential(env="TWOWAY_APPRISE_URLS"))),
    )
    assert down == Rule("Down", "source down > 30m", "source_down", 1800)  # every goal, the app's notification
    assert missed.kind == "missed" and missed.seconds is None
    assert missed.notify == (Email(("a@example.org", "b@example.org")),)
    assert config.channel_errors == () and config.warnings == ()
    code, lines = check_config(path)
    assert (code, lines) == (0, [f"ok: {path}: 1 source (mastodon), 1 goal, 3 alert rules"])


def test_channel_credentials_are_checked_where_they_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset: check-config exits 2, other commands load; a webhook URL in the environment
    must be https:// or loopback, and the URL itself is never printed."""
    path = _alerts_config(tmp_path, monkeypatch)
    config = load_config(path)
    by_key = {p.split(": ")[1]: p for p in config.channel_errors}
    assert set(by_key) == {"alerts.smtp.password", "alerts.rules[0].notify[2].webhook", "alerts.rules[0].notify[5].apprise"}
    assert by_key["alerts.rules[0].notify[2].webhook"] == (
        f"{path}:23: alerts.rules[0].notify[2].webhook: TWOWAY_ALERT_WEBHOOK is not set:"
        " rule 'Questions waiting' cannot send there"
    )
    assert check_config(path)[0] == 2

    secret = "http://hooks.example.org/T0/B0/s3cr3t"
    _alerts_config(
        tmp_path, monkeypatch, TWOWAY_SMTP_PASSWORD="pw", TWOWAY_ALERT_WEBHOOK=secret,
        TWOWAY_APPRISE_URLS="json://ntfy.example.org/x, jsons://b.example.org json://127.0.0.1:8080/",
    )
    code, lines = check_config(path)
    assert code == 2
    assert lines[0] == (
        f"{path}:23: alerts.rules[0].notify[2].webhook: the URL in TWOWAY_ALERT_WEBHOOK is plain HTTP to another"
        " machine: a webhook goes only to https:// or loopback"
    )
    assert not any("s3cr3t" in line for line in lines)
    (warning,) = lines[1:]
    assert "alerts.rules[0].notify[5].apprise: an Apprise URL in TWOWAY_APPRISE_URLS uses json:// to another" in warning
    monkeypatch.setenv("TWOWAY_ALERT_WEBHOOK", "http://127.0.0.1:9/hook")
    assert check_config(path)[0] == 0


def test_the_examples_commented_alerts_load_once_uncommented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("\n# [alerts]\n") + 1
    block = [line.removeprefix("# ") if line != "#" else "" for line in text[start:].splitlines()]
    path = write(tmp_path, text[:start] + "\n".join(block) + "\n")
    monkeypatch.setenv("TWOWAY_SMTP_PASSWORD", "pw")
    monkeypatch.setenv("TWOWAY_ALERT_WEBHOOK", "https://hooks.example.org/T/B/X")
    config = load_config(path)
    assert [r.name for r in config.alerts.rules] == ["Questions waiting", "A source is down"]
    assert config.alerts.quiet == "outside-hours" and config.channel_errors == ()


def test_source_down_ignores_goals(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + '[[goals]]\nname = "G"\n[[alerts.rules]]\nname = "D"\nwhen = "source down > 1h"\ngoals = ["G"]\n')
    config = load_config(path)
    assert config.alerts.rules[0].kind == "source_down"
    assert config.warnings == (f"{path}:14: alerts.rules[0].goals: ignored: \"source down\" watches every source",)


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
    if Path("/etc/twoway/config.toml").exists():
        pytest.skip("a system-wide config exists here")
    with pytest.raises(ConfigError) as info:
        find_config(None)
    (problem,) = info.value.problems
    assert "\n" not in problem
    for place in ("config.toml", str(tmp_path / "user" / "twoway"), "/etc/twoway/config.toml"):
        assert place in problem


def test_a_missing_twoway_config_is_an_error_not_a_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`TWOWAY_CONFIG` names one file, like `--config`: a ./config.toml must not stand in for it."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, VALID, "config.toml")
    monkeypatch.setenv("TWOWAY_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError) as info:
        find_config(None)
    (problem,) = info.value.problems
    assert "missing.toml" in problem and "does not exist" in problem and "TWOWAY_CONFIG" in problem
    monkeypatch.setenv("TWOWAY_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match="is not a file"):
        find_config(None)


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


# ------------------------------------------------------------------ window bounds (SPEC §4: 1h to 3650d)


@pytest.mark.parametrize(("text", "ok"), [("1h", True), ("60m", True), ("3650d", True), ("59m", False),
                                          ("3599s", False), ("3651d", False), ("1000000d", False)])
def test_windows_run_from_an_hour_to_ten_years(tmp_path: Path, text: str, ok: bool) -> None:
    from twoway.config import parse_window

    if ok:
        assert parse_window(text) == parse_duration(text)
    else:
        with pytest.raises(ValueError, match="windows run from 1h to 3650d"):
            parse_window(text)
    for table in ("[dashboard]\nwindow", '[[goals]]\nname = "G"\nwindow'):
        path = write(tmp_path, f'{VALID}\n{table} = "{text}"\n')
        code, lines = check_config(path)
        if ok:
            assert code == 0, lines
        else:
            assert code == 2 and len(lines) == 1, lines
            assert "window" in lines[0] and "windows run from 1h to 3650d" in lines[0] and text in lines[0]
