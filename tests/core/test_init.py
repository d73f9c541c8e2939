"""`twoway init` (SPEC §12) against the local fakes: every address form, the ways a probe
fails, the file it writes (which check-config and collect --once then read), --add,
--force, and the questions asked on a terminal."""

from __future__ import annotations

import io
import os
import shutil
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli

from tests.collecting import FakeSleep, fake_sleep, run_cli  # noqa: F401
from tests.fakes import bluesky as bsky
from tests.fakes import mastodon as masto
from tests.fakes import rss as feeds
from tests.fakes import wordpress as wp
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.init_flow import Options, run
from twoway.init_probes import classify, top_hashtags
from twoway.init_writer import Goal, env_name, system_timezone, toml_string

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-06-30T12:00:00+00:00"


# -- the fakes, as init meets them ------------------------------------------------------------


@dataclass
class Fakes:
    """One server a platform, each with what init asks of it that the collectors' fakes leave out."""

    mastodon: ReplayServer
    bluesky: ReplayServer
    wordpress: ReplayServer
    blog: ReplayServer

    @property
    def mastodon_address(self) -> str:
        return f"@library@{self.mastodon.url.removeprefix('http://')}"

    def addresses(self) -> list[str]:
        """One address each: Mastodon, a Bluesky handle (with --bluesky-service), WordPress, a feed."""
        return [
            self.mastodon_address, "@library.bsky.social", "--bluesky-service", self.bluesky.url,
            self.wordpress.url, f"{self.blog.url}/feed/",
        ]


def _mastodon(server: ReplayServer) -> None:
    world = masto.World(masto.FakeMastodon(server))
    f = world.fake
    f.accounts[masto.LIBRARY].update(display_name="Riverside Library", statuses_count=2312)
    recent = masto.ago(0, hours=3)
    f.post(masto.LIBRARY, recent, "Sign up now", tags=("SummerReading", "Events"))
    f.post(masto.LIBRARY, recent + timedelta(minutes=10), "Logs at the desk", tags=("summerreading",))
    f.post(masto.LIBRARY, recent + timedelta(minutes=20), "Open today", tags=("Makerspace",))
    server.route("GET", "/api/v1/instance", lambda r: json_reply({"uri": "glammr.us", "title": "glammr", "version": "4.3.0"}))


def _bluesky(server: ReplayServer) -> None:
    world, _ = bsky.served(server)
    world.post(bsky.ORG, "t1", bsky.NOW - timedelta(hours=2), "Summer! #SummerReading")
    world.post(bsky.ORG, "t2", bsky.NOW - timedelta(hours=1), "Events this week", tags=("Events",))

    def profile(request: Request) -> Reply:
        if request.arg("actor") not in ("library.bsky.social", bsky.ORG):
            return json_reply({"error": "InvalidRequest", "message": "Profile not found"}, 400)
        return json_reply({"did": bsky.ORG, "handle": "library.bsky.social", "displayName": "Riverside on Bluesky",
                           "postsCount": 2312, "followersCount": 321})

    server.route("GET", "/xrpc/app.bsky.actor.getProfile", profile)


def _wordpress(server: ReplayServer) -> None:
    wp.served(server)
    server.route("GET", "/wp-json/", lambda r: json_reply({"name": "Riverside Blog", "namespaces": ["oembed/1.0", "wp/v2"]}))


@contextmanager
def fakes() -> Iterator[Fakes]:
    with ExitStack() as stack:
        servers = [stack.enter_context(replay_server()) for _ in range(4)]
        _mastodon(servers[0])
        _bluesky(servers[1])
        _wordpress(servers[2])
        feeds.served(servers[3])
        yield Fakes(*servers)


@pytest.fixture
def sites(monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep) -> Iterator[Fakes]:  # noqa: F811
    monkeypatch.setenv("TWOWAY_NOW", NOW)
    monkeypatch.delenv("TZ", raising=False)
    with fakes() as served:
        yield served


def init(config: Path, *args: str) -> tuple[int, str, str]:
    return run_cli("init", "--config", str(config), *args)


def written(config: Path) -> dict[str, Any]:
    with config.open("rb") as f:
        return tomli.load(f)


def page(html: str) -> Reply:
    return Reply(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})


class Rewrite(httpx.AsyncBaseTransport):
    """Real host names (glammr.us, public.api.bsky.app, ...) answered by the local fakes."""

    def __init__(self, hosts: dict[str, ReplayServer]) -> None:
        self.hosts = hosts
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        server = self.hosts.get(request.url.host)
        if server is None:
            return httpx.Response(404, json={"error": "no such host in this test"})
        port = int(server.url.rsplit(":", 1)[1])
        local = httpx.Request(request.method, request.url.copy_with(scheme="http", host="127.0.0.1", port=port),
                              headers=request.headers)
        answer = await self.inner.handle_async_request(local)
        return httpx.Response(answer.status_code, headers=answer.headers, stream=answer.stream, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def run_direct(config: Path, addresses: Sequence[str], transport: httpx.AsyncBaseTransport | None = None,
               asker: Any = None, timeout: float = 5.0, **options: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(Options(addresses=list(addresses), config=str(config), **options), asker=asker, out=out, err=err,
               transport=transport, timeout=timeout)
    return code, out.getvalue(), err.getvalue()


# -- (1) every address form, and every way a probe fails --------------------------------------


def test_one_line_per_address_and_the_file_they_make(sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    code, out, err = init(config, "--yes", *sites.addresses())
    assert code == 0, err
    lines = out.splitlines()
    host = sites.mastodon.url.removeprefix("http://")
    assert lines[0] == f"✓ Mastodon @library@{host}, \"Riverside Library\", 2,312 posts"
    assert lines[1] == "✓ Bluesky @library.bsky.social, \"Riverside on Bluesky\", 2,312 posts"
    assert lines[2] == f"✓ WordPress {sites.wordpress.url}, \"Riverside Blog\", 115 posts"
    assert lines[3] == f"✓ Feed {sites.blog.url}/feed/, \"Riverside Library Blog\", 3 entries"
    data = written(config)
    assert data["organization"]["name"] == "Riverside Library"  # the first account's display name
    assert [(s["id"], s["platform"]) for s in data["sources"]] == [
        ("mastodon", "mastodon"), ("bluesky", "bluesky"), ("wordpress", "wordpress"), ("rss", "rss")]
    assert data["sources"][0] == {"id": "mastodon", "platform": "mastodon", "instance": sites.mastodon.url, "account": "library"}
    assert data["sources"][1]["service"] == sites.bluesky.url  # --bluesky-service is kept
    assert data["sources"][3]["url"] == f"{sites.blog.url}/feed/"
    assert [g["name"] for g in data["goals"]] == ["Everything", "#SummerReading", "#Events", "#Makerspace"]
    assert data["goals"][0]["targets"] == {"response_rate": ">= 0.8", "median_response_seconds": "<= 1d"}
    assert data["goals"][1]["hashtags"] == ["SummerReading"]
    text = config.read_text()
    assert '# hours = "Mon-Fri 09:00-17:00; Sat 10:00-14:00"' in text and "# also = [" in text
    assert '# token = { env = "TWOWAY_MASTODON_TOKEN" }' in text
    assert out.splitlines()[-3:-1] == ["next:", f"  twoway --config {config}                  the dashboard (it collects while open)"]
    assert f"twoway --config {config} collect --once" in out.splitlines()[-1]
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temporary file left


def test_the_written_file_passes_check_config_and_collect_once(sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert init(config, *sites.addresses())[0] == 0
    code, out, err = run_cli("--config", str(config), "check-config")
    assert code == 0, err
    assert out.startswith(f"ok: {config}: 4 sources (mastodon, bluesky, wordpress, rss), 4 goals")
    code, out, err = run_cli("--config", str(config), "collect", "--once")
    assert (code, err) == (0, "")
    code, out, err = run_cli("--config", str(config), "snapshot", "--no-poll", "--format", "json")
    assert code == 0, err
    assert '"status": "error"' not in out


@pytest.mark.parametrize(
    ("address", "platform", "keys"),
    [
        ("@library@glammr.us", "mastodon", {"instance": "https://glammr.us", "account": "library"}),
        ("https://glammr.us/@library", "mastodon", {"instance": "https://glammr.us", "account": "library"}),
        ("@library.bsky.social", "bluesky", {"handle": "library.bsky.social"}),
        ("https://bsky.app/profile/library.bsky.social", "bluesky", {"handle": "library.bsky.social"}),
        ("library.bsky.social", "bluesky", {"handle": "library.bsky.social"}),  # a bare domain: a handle first
        ("blog.riverside.example", "wordpress", {"url": "https://blog.riverside.example"}),  # ... then a site
        ("https://blog.riverside.example/", "wordpress", {"url": "https://blog.riverside.example"}),
        ("https://news.riverside.example/feed/", "rss", {"url": "https://news.riverside.example/feed/"}),
        ("news.riverside.example", "rss", {"url": "https://news.riverside.example/feed/"}),
    ],
)
def test_every_address_form(sites: Fakes, tmp_path: Path, address: str, platform: str, keys: dict[str, str]) -> None:
    sites.blog.route("GET", "/", lambda r: page('<html><head><link rel="alternate" type="application/rss+xml" href="/feed/"></head></html>'))
    hosts = {"glammr.us": sites.mastodon, "public.api.bsky.app": sites.bluesky,
             "blog.riverside.example": sites.wordpress, "news.riverside.example": sites.blog}
    config = tmp_path / "config.toml"
    code, out, err = run_direct(config, [address], Rewrite(hosts), yes=True)
    assert code == 0, out + err
    (source,) = written(config)["sources"]
    assert source["platform"] == platform
    assert {k: source[k] for k in keys} == keys
    assert "service" not in source  # the default AppView is not written


def test_a_mastodon_server_refusing_anonymous_lookups_is_written_with_a_token_placeholder(sites: Fakes, tmp_path: Path) -> None:
    sites.mastodon.route("GET", "/api/v1/accounts/lookup",
                         lambda r: json_reply({"error": "This method requires an authenticated user"}, 401))
    config = tmp_path / "config.toml"
    code, out, err = init(config, "--yes", sites.mastodon_address)
    assert code == 0, err
    assert "the server refuses anonymous lookups" in out
    assert "set TWOWAY_MASTODON_TOKEN" in out and "docs/platforms/mastodon.md" in out
    assert written(config)["sources"][0]["token"] == {"env": "TWOWAY_MASTODON_TOKEN"}
    code, out, _ = run_cli("--config", str(config), "check-config")
    assert code == 0 and "TWOWAY_MASTODON_TOKEN is not set" in out


def test_a_bluesky_handle_that_does_not_resolve_is_not_written(sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    code, out, _ = init(config, "@nobody.bsky.social", "--bluesky-service", sites.bluesky.url)
    assert code == 1
    assert out.splitlines() == [
        f"✗ @nobody.bsky.social: no Bluesky account found on {sites.bluesky.url} (HTTP 400: Profile not found)",
        "nothing confirmed: nothing written",
    ]
    assert not config.exists()


def test_wordpress_found_only_through_its_api_link(sites: Fakes, tmp_path: Path) -> None:
    api = f"{sites.wordpress.url}/wp-json/"
    sites.wordpress.route("GET", "/news", lambda r: page(f'<html><head><link rel="https://api.w.org/" href="{api}" />'))
    config = tmp_path / "config.toml"
    code, out, err = init(config, "--yes", f"{sites.wordpress.url}/news")
    assert code == 0, err
    assert out.startswith(f"✓ WordPress {sites.wordpress.url}, \"Riverside Blog\"")
    assert written(config)["sources"][0]["url"] == sites.wordpress.url
    assert sites.wordpress.requests("/news/wp-json/")  # /wp-json/ was probed first, whatever the page answers


def test_a_blog_with_two_feeds_takes_the_first_and_names_the_other(sites: Fakes, tmp_path: Path) -> None:
    links = ('<link rel="alternate" type="application/rss+xml" title="Posts" href="/feed/">'
             '<link rel="alternate" type="application/atom+xml" title="Comments" href="/comments/1/feed/">')
    sites.blog.route("GET", "/", lambda r: page(f"<html><head>{links}</head><body>Blog</body></html>"))
    config = tmp_path / "config.toml"
    code, out, err = init(config, "--yes", f"{sites.blog.url}/")
    assert code == 0, err
    assert out.splitlines()[0] == (f"✓ Feed {sites.blog.url}/feed/, \"Riverside Library Blog\", 3 entries"
                                   f" (the first of 2 feeds on the page; the others: {sites.blog.url}/comments/1/feed/)")
    assert written(config)["sources"][0]["url"] == f"{sites.blog.url}/feed/"


def test_on_a_terminal_the_person_picks_the_feed(sites: Fakes, tmp_path: Path) -> None:
    links = ('<link rel="alternate" type="application/rss+xml" href="/feed/">'
             '<link rel="alternate" type="application/atom+xml" href="/comments/1/feed/">')
    sites.blog.route("GET", "/", lambda r: page(f"<html><head>{links}</head></html>"))
    asker = Answers(chosen=1)
    config = tmp_path / "config.toml"
    code, out, err = run_direct(config, [f"{sites.blog.url}/"], asker=asker)
    assert code == 0, err
    assert written(config)["sources"][0]["url"] == f"{sites.blog.url}/comments/1/feed/"


def test_a_page_that_is_neither(sites: Fakes, tmp_path: Path) -> None:
    sites.blog.route("GET", "/about", lambda r: page("<html><head><title>About</title></head><body>Hi</body></html>"))
    config = tmp_path / "config.toml"
    code, out, _ = init(config, f"{sites.blog.url}/about")
    assert code == 1
    assert out.splitlines()[0] == (
        f"✗ {sites.blog.url}/about: no Mastodon, WordPress or feed found (HTTP 200, an HTML page without feed links)")
    assert not config.exists()


def test_a_redirect_to_another_host_is_followed_and_said(sites: Fakes, tmp_path: Path) -> None:
    moved = sites.wordpress.url.replace("127.0.0.1", "localhost")
    with replay_server() as old:
        old.route("GET", "/*", lambda r: Reply(301, b"", {"Location": f"{moved}{r.path}"}))
        config = tmp_path / "config.toml"
        code, out, err = init(config, "--yes", old.url)
    assert code == 0, err
    assert out.splitlines()[0] == f"✓ WordPress {moved}, \"Riverside Blog\", 115 posts (reached by a redirect from {old.url})"
    assert written(config)["sources"][0]["url"] == moved


def test_a_ten_megabyte_answer_is_refused(sites: Fakes, tmp_path: Path) -> None:
    with replay_server() as huge:
        huge.route("GET", "/*", lambda r: Reply(200, b"<" * 10_000_000, {"Content-Type": "text/html"}))
        config = tmp_path / "config.toml"
        code, out, _ = init(config, huge.url)
    assert code == 1
    assert out.splitlines()[0] == (
        f"✗ {huge.url}: no Mastodon, WordPress or feed found (response of 10000000 bytes is over the 5000000 limit)")


def test_a_server_that_never_answers_times_out(sites: Fakes, tmp_path: Path) -> None:
    def slow(request: Request) -> Reply:
        time.sleep(1.5)
        return json_reply({})

    with replay_server() as silent:
        silent.route("GET", "/*", slow)
        started = time.monotonic()
        code, out, _ = run_direct(tmp_path / "config.toml", [silent.url, f"@library@{silent.url[7:]}"], timeout=0.3)
    assert code == 1
    assert time.monotonic() - started < 6  # the two addresses are probed at once, each giving up
    assert "no answer within 0.3 s (2 attempts)" in out.splitlines()[0]
    assert f"✗ @library@{silent.url[7:]}: no Mastodon server at {silent.url} (no answer within 0.3 s" in out


def test_names_from_the_network_are_neutralised_and_escaped(sites: Fakes, tmp_path: Path) -> None:
    evil = 'Lib\x1b[31m"rary\\\n[bold]x[/bold] \u202e'
    world_account = {"id": "100", "username": "library", "display_name": evil, "statuses_count": 1}
    sites.mastodon.route("GET", "/api/v1/accounts/lookup", lambda r: json_reply(world_account))
    config = tmp_path / "config.toml"
    code, out, _ = init(config, "--yes", sites.mastodon_address)
    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out
    assert written(config)["organization"]["name"] == 'Lib"rary\\ [bold]x[/bold] \\u202e'
    assert toml_string('a"b\\c\x7f') == '"a\\"b\\\\c\\u007f"'


def test_platforms_behind_credentials_are_written_with_placeholders(sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    names = ["facebook", "instagram", "threads", "x", "linkedin", "pinterest", "youtube", "reddit", "discourse"]
    code, out, err = init(config, "--name", "Riverside Library", *names)
    assert code == 0, err
    lines = out.splitlines()
    for name, line in zip(names, lines):  # one line an address, saying what is left to do
        assert line.startswith("✓ ") and f"steps in docs/platforms/{name}.md" in line
        assert ("set TWOWAY_" in line) == (name != "discourse")  # a public forum needs no credential
    assert lines[len(names)].startswith("written: ")
    sources = written(config)["sources"]
    assert sources[0] == {"id": "facebook", "platform": "facebook", "page_id": "YOUR_PAGE_ID",
                          "token": {"env": "TWOWAY_FACEBOOK_TOKEN"}}
    assert sources[6]["api_key"] == {"env": "TWOWAY_YOUTUBE_API_KEY"}
    assert sources[7]["client_secret"] == {"env": "TWOWAY_REDDIT_CLIENT_SECRET"}
    code, _, err = run_cli("--config", str(config), "check-config")
    problems = err.splitlines()
    assert code == 2 and len(problems) == 10  # every required credential; discourse's api_key is commented out
    assert all("TWOWAY_" in line and "is not set" in line for line in problems)


# -- (2) --add, --force, refusing, where -----------------------------------------------------


def test_add_to_the_example_config_leaves_every_other_byte(sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    shutil.copy(ROOT / "config.toml", config)
    config.chmod(0o640)
    before = config.read_bytes()
    code, out, err = init(config, "--add", sites.wordpress.url)
    assert code == 0, err
    after = config.read_bytes()
    assert after.startswith(before)
    assert after[len(before):].decode().count("[[sources]]") == 1
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert written(config)["sources"][-1] == {"id": "wordpress", "platform": "wordpress", "url": sites.wordpress.url}
    code, out, _ = run_cli("--config", str(config), "check-config")
    assert code == 0 and "4 sources (mastodon, bluesky, wordpress), 3 goals" in out


def test_add_gives_a_new_id_when_the_platform_is_taken(sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert init(config, "--yes", "--add", sites.wordpress.url)[0] == 0  # nothing to add to yet: a whole file
    assert [g["name"] for g in written(config)["goals"]] == ["Everything"]
    assert init(config, "--add", sites.wordpress.url)[0] == 0
    assert [s["id"] for s in written(config)["sources"]] == ["wordpress", "wordpress-2"]


def test_init_twice_refuses_the_second_and_force_keeps_a_backup(sites: Fakes, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert init(config, "--yes", sites.wordpress.url)[0] == 0
    first = config.read_bytes()
    code, out, err = init(config, "--yes", sites.mastodon_address)
    assert code == 2 and "already exists" in err and "--force" in err and out == ""
    assert config.read_bytes() == first
    code, out, err = init(config, "--yes", "--force", sites.mastodon_address)
    assert code == 0, err
    assert (tmp_path / "config.toml.bak").read_bytes() == first
    assert written(config)["sources"][0]["platform"] == "mastodon"


def test_where_the_file_goes(sites: Fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("init", "--yes", sites.wordpress.url)
    assert code == 0, err
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "twoway" / "config.toml"
    assert user.is_file() and err == ""
    assert "  twoway collect --once" in out  # found where twoway looks: no --config needed
    (tmp_path / "config.toml").write_text("")
    user.unlink()
    code, out, err = run_cli("init", "--yes", sites.wordpress.url)
    assert code == 0
    assert f"warning: twoway reads config.toml before {user}" in err
    monkeypatch.setenv("TWOWAY_CONFIG", str(tmp_path / "env.toml"))
    code, _, err = run_cli("init", "--yes", sites.wordpress.url)
    assert code == 0 and (tmp_path / "env.toml").is_file() and err == ""


def test_usage_errors(tmp_path: Path) -> None:
    code, out, err = run_cli("init", "--config", str(tmp_path / "c.toml"))
    assert code == 2 and "run it in a terminal" in err
    code, _, err = run_cli("init", "--bluesky-service", "http://bsky.example", "@a.bsky.social")
    assert code == 2 and "https://" in err
    assert not (tmp_path / "c.toml").exists()


def test_options_may_come_between_the_addresses() -> None:
    from twoway.cli import _parser

    args = _parser().parse_args(["init", "a.example", "--yes", "b.example", "--name", "N", "c.example"])
    assert (args.addresses, args.yes, args.name) == (["a.example", "b.example", "c.example"], True, "N")


def test_address_forms_are_told_apart() -> None:
    assert classify("@jane@glammr.us").kind == "mastodon"
    assert classify("http://glammr.us/@jane").kind == "bad"  # plain http only on this machine
    assert classify("Facebook").kind == "platform"
    assert classify("not an address").kind == "bad"


def test_the_system_timezone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TZ", raising=False)
    assert system_timezone(tmp_path) == "UTC"
    (tmp_path / "localtime").symlink_to("/usr/share/zoneinfo/America/Chicago")
    assert system_timezone(tmp_path) == "America/Chicago"
    (tmp_path / "timezone").write_text("Europe/Paris\n")
    assert system_timezone(tmp_path) == "Europe/Paris"
    (tmp_path / "timezone").write_text("Not/AZone\n")
    assert system_timezone(tmp_path) == "America/Chicago"


def test_env_names_and_top_hashtags() -> None:
    from twoway.init_probes import Found

    assert env_name("library-x", "token") == "TWOWAY_LIBRARY_X_TOKEN"
    found = [Found("mastodon", {}, "", tags=("A", "b", "a")), Found("rss", {}, "", tags=("B", "c", "d"))]
    assert top_hashtags(found) == ["A", "B", "c"]  # b and B are one tag, written with its capitals


# -- (3) the questions on a terminal -----------------------------------------------------------


@dataclass
class Answers:
    """An `Asker` answering from a script; `KeyboardInterrupt` in the list stands for Ctrl-C."""

    org: str = ""
    typed: list[object] = field(default_factory=list)
    chosen: int = 0
    take: bool = True
    values: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def name(self) -> str:
        self.asked.append("name")
        return self.org

    def address(self) -> str:
        self.asked.append("address")
        answer = self.typed.pop(0) if self.typed else ""
        if isinstance(answer, BaseException):
            raise answer
        return str(answer)

    def feed(self, feeds: Sequence[str]) -> int:
        self.asked.append("feed")
        return self.chosen

    def value(self, platform: str, key: str, what: str) -> str:
        self.asked.append(f"{platform}.{key}")
        return self.values.get(key, "")

    def goals(self, goals: Sequence[Goal]) -> list[Goal]:
        self.asked.append("goals")
        return list(goals) if self.take else list(goals[:1])


def test_asked_name_then_addresses_one_by_one(sites: Fakes, tmp_path: Path) -> None:
    asker = Answers(org="Riverside", typed=[sites.wordpress.url, "@nobody@127.0.0.1:1", sites.mastodon_address], take=False)
    config = tmp_path / "config.toml"
    code, out, err = run_direct(config, [], asker=asker)
    assert code == 0, err
    assert asker.asked == ["name", "address", "address", "address", "address", "goals"]
    assert [line[:1] for line in out.splitlines()[3:6]] == ["✓", "✗", "✓"]
    data = written(config)
    assert data["organization"]["name"] == "Riverside"
    assert [g["name"] for g in data["goals"]] == ["Everything"]


def test_ctrl_c_while_asking_writes_nothing(sites: Fakes, tmp_path: Path) -> None:
    asker = Answers(typed=[sites.wordpress.url, KeyboardInterrupt()])
    config = tmp_path / "config.toml"
    code, out, err = run_direct(config, [], asker=asker)
    assert code == 1 and "nothing written" in err
    assert not config.exists() and list(tmp_path.iterdir()) == []


def test_a_terminal_that_cannot_show_unicode_gets_replacements(sites: Fakes, tmp_path: Path) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    code = run(Options(addresses=[sites.mastodon_address], config=str(tmp_path / "c.toml"), yes=True),
               asker=None, out=out, err=io.StringIO())
    out.flush()
    assert code == 0
    assert raw.getvalue().decode("ascii").startswith("+ Mastodon @library@")


def test_feed_links_that_would_steer_the_terminal_are_ignored(sites: Fakes, tmp_path: Path) -> None:
    links = '<link rel="alternate" type="application/rss+xml" href="/feed/\x1b]52;c;aGk=\x07">'
    sites.blog.route("GET", "/", lambda r: page(f"<html><head>{links}</head></html>"))
    code, out, _ = init(tmp_path / "c.toml", f"{sites.blog.url}/")
    assert code == 1 and "\x1b" not in out
    assert "an HTML page without feed links" in out


def test_on_a_terminal_the_ids_behind_credentials_are_asked(tmp_path: Path) -> None:
    asker = Answers(values={"page_id": "1234567890", "url": "http://forum.example", "usernames": "lib, jane"})
    config = tmp_path / "config.toml"
    code, out, err = run_direct(config, ["facebook", "discourse", "youtube"], asker=asker)
    assert code == 0, err
    assert asker.asked == ["facebook.page_id", "discourse.url", "discourse.usernames", "youtube.channel_id", "goals"]
    facebook, discourse, youtube = written(config)["sources"]
    assert facebook["page_id"] == "1234567890" and "replace" not in out.splitlines()[0]
    assert discourse["url"] == "https://forum.example.org"  # plain http is refused: the placeholder stays
    assert discourse["usernames"] == ["lib", "jane"]
    assert youtube["channel_id"] == "YOUR_CHANNEL_ID" and "replace channel_id in the file" in out
