"""What every collector must do, written once, with a row a platform (SPEC §6, §8):

- a credential that is not set fails `check-config` (exit 2) naming the key, the variable and the
  source, and `collect --once` says so in one line for that source alone, asking nothing of the
  platform for it;
- a credential the platform refuses is one line of advice naming the source; the secret is in no
  output, snapshot or store file; another source is collected all the same;
- the platform's rate-limit signal is the source's budget (and a spent one waits);
- a 5xx, or an HTML page where JSON was expected, fails the cycle in one line naming the source;
  the stored metrics stay as they were and the source is `error`;
- a second cycle where nothing changed reads no thread and moves no number;
- a listing that never ends fails the source, not the run.

Each row plays its platform's fake and scenario (tests/fakes/); what a platform's case checks
beyond the rule is in its row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collecting import FakeSleep, Stage, collect_once, cursor, poll, run_cli, snapshot_json, staged, write_config
from tests.fakes import Platform, rss, source_toml, x
from tests.fakes import bluesky as bsky
from tests.fakes import discourse as dsc
from tests.fakes import facebook as fb
from tests.fakes import instagram as ig
from tests.fakes import linkedin as li
from tests.fakes import mastodon as masto
from tests.fakes import pinterest as pin
from tests.fakes import reddit as rd
from tests.fakes import threads as th
from tests.fakes import wordpress as wp
from tests.fakes import youtube as yt
from tests.fakes.graph import comment_reads, graph_error
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.collectors.youtube import KEY_INVALID
from twoway.config import load_config
from twoway.model import Batch
from twoway.plugin.http import Http
from twoway.plugin.protocol import Context, DailyQuota

SERVER_ERROR = Reply(500, b'{"error": "boom"}', {"Content-Type": "application/json"})
HTML = Reply(200, b"<!DOCTYPE html><html><body>Down for maintenance</body></html>", {"Content-Type": "text/html"})


def _one_line(err: str) -> str:
    """The only line of `err`, which must end it."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err[:-1]


# -- credentials: two sources of a platform, one of them without a working credential -----------


@dataclass(frozen=True)
class Pair:
    """Two sources of a platform on its fake, `bad` first: a row takes `bad`'s credential away or
    spoils it, and `good` must be collected all the same."""

    platform: Platform[Any]
    key: str
    """The credential's key in `[[sources]]`."""
    bad: str
    bad_env: str
    good: str
    sources: Callable[[str, str], str]
    """(URL the bad source reads, URL the good one reads) → both `[[sources]]`."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The good source's credentials, beyond the platform's."""
    prepare: Callable[[Any], None] | None = None
    """What the good source's account needs in the fake's world."""


def _second_account(
    platform: Platform[Any], source: Callable[..., str], good: str, good_env: str, account: str, token: str,
    prepare: Callable[[Any], None] | None = None,
) -> Pair:
    """The scenario's source is the bad one; the good one reads a second account of the
    organization (`account`) with a token of its own."""
    (bad_env,) = platform.env
    return Pair(
        platform, "token", platform.sid, bad_env, good, lambda bad, url: source(bad) + source(url, good, good_env, account),
        {good_env: token}, prepare,
    )


def _another_credential(platform: Platform[Any], source: Callable[..., str], key: str, bad: str, bad_env: str) -> Pair:
    """The scenario's source is the good one; the bad one reads the same account with a credential of its own."""
    return Pair(platform, key, bad, bad_env, platform.sid, lambda url, good: source(url, bad, bad_env) + source(good))


def _x_branch(world: x.World) -> None:
    world.fake.user(x.BRANCH, "riverbranch", followers=12)
    world.fake.post(x.BRANCH, x.ago(1), "Branch news")


PAIRS = {
    "facebook": _second_account(fb.FACEBOOK, fb.source, "branch-facebook", "TEST_FB_BRANCH_TOKEN", fb.BRANCH, fb.TOKEN),
    "instagram": _second_account(ig.INSTAGRAM, ig.source, "teens-instagram", "TEST_IG_TEENS_TOKEN", ig.TEENS, ig.TOKEN),
    "threads": _second_account(th.THREADS, th.source, "teens-threads", "TEST_THREADS_TEENS_TOKEN", th.TEENS, th.TOKEN),
    "x": _second_account(x.X, x.source, "branch-x", "TEST_X_BRANCH_TOKEN", x.BRANCH, x.TOKEN, _x_branch),
    "linkedin": _another_credential(li.LINKEDIN, li.source, "token", "li-other", "TEST_LINKEDIN_OTHER"),
    "pinterest": _another_credential(pin.PINTEREST, pin.source, "token", "pin-old", "TEST_PINTEREST_EXPIRED"),
    "youtube": _another_credential(yt.YOUTUBE, yt.source, "api_key", "yt-bad", "TEST_YT_WRONG"),
    "reddit": _another_credential(rd.REDDIT, rd.source, "refresh_token", "old", "TEST_REDDIT_REVOKED"),
    "discourse": _another_credential(dsc.DISCOURSE, dsc.source, "api_key", "old-forum", "TEST_DISCOURSE_OLD"),
    "bluesky": Pair(
        bsky.BLUESKY, "app_password", "library-bluesky", "TEST_BSKY_APP_PASSWORD", "library-public",
        lambda bad, good: bsky.source(bad) + bsky.source(good, "library-public", None),
    ),
}


@contextmanager
def two_sources(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_value: str | None, *, apart: bool = False
) -> Iterator[tuple[Any, ReplayServer, ReplayServer, Path]]:
    """The platform's world served with both sources reading it, the bad one's credential set to
    `bad_value` (None: not set), on a server of its own when `apart`: (world, server, apart, config)."""
    for name, value in {**pair.platform.env, **pair.env}.items():
        monkeypatch.setenv(name, value)
    if bad_value is None:
        monkeypatch.delenv(pair.bad_env, raising=False)
    else:
        monkeypatch.setenv(pair.bad_env, bad_value)
    monkeypatch.setenv("TWOWAY_NOW", pair.platform.now.isoformat())
    with replay_server() as server, replay_server() as elsewhere:
        world = pair.platform.build(server)
        if pair.prepare is not None:
            pair.prepare(world)
        config = write_config(tmp_path, pair.sources(elsewhere.url if apart else server.url, server.url), pair.platform.goals)
        yield world, server, elsewhere, config


def _secrets(pair: Pair, *more: str) -> list[str]:
    return [*pair.platform.secrets(), *pair.env.values(), *more]


@pytest.mark.parametrize(
    "pair", [pytest.param(PAIRS[name], id=name) for name in PAIRS if name not in ("discourse", "bluesky")]
)
def test_a_missing_credential_fails_check_config_and_its_source_alone(
    pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    with two_sources(pair, tmp_path, monkeypatch, None, apart=True) as (_, _, elsewhere, config):
        code, _, checked = run_cli("--config", str(config), "check-config")
        assert code == 2
        assert f"sources[0].{pair.key}: {pair.bad_env} is not set: source {pair.bad!r} cannot be polled without it" in checked
        code, err = collect_once(config)
        snapshot = snapshot_json(config)
        assert elsewhere.requests() == []  # nothing was asked of the platform without its credential
    why = f"{pair.key} ({pair.bad_env}) not set: the source cannot be polled without it"
    assert (code, err) == (1, f"twoway: {pair.bad}: {why}\n")
    sources = {s["id"]: s for s in snapshot["sources"]}
    assert (sources[pair.bad]["status"], sources[pair.bad]["error"]) == ("error", why)
    assert sources[pair.good]["status"] == "ok"
    assert not any(secret in checked + err for secret in _secrets(pair))


@dataclass(frozen=True)
class Refusal:
    """The bad source's credential refused: a value the fake does not know (`secret`), or the one
    it knows (`secret` None) with `refuse` making the fake refuse what it asks."""

    pair: Pair
    advice: str
    secret: str | None = None
    refuse: Callable[[Any, ReplayServer], None] | None = None
    says: str = ""
    """What the line says right after `twoway: <source>: ` (`{url}`: the fake's)."""
    followers: int | None = None
    """The good source's followers."""
    broadcasts: int | None = None
    """The good source's broadcasts in the first goal."""


def _graph_refuses(path: str, code: int, message: str) -> Callable[[Any, ReplayServer], None]:
    """A Graph fake (its `refused`) answers `path` with a permission error."""

    def refuse(world: Any, server: ReplayServer) -> None:
        fake = world.fb if isinstance(world, fb.World) else world[0]
        fake.refused[path] = graph_error(code, message, 403)

    return refuse


def _threads_conversations_refused(world: tuple[th.FakeThreads, dict[str, str]], server: ReplayServer) -> None:
    """threads_read_replies is missing: every conversation is refused."""
    fake = world[0]
    for pid in fake.posts:
        fake.refused[f"/v1.0/{pid}/conversation"] = graph_error(10, "(#10) Application does not have permission for this action", 403)


LINKEDIN_REFUSED = "AQV-refused-other-token"


def _linkedin_answers(status: int, body: dict[str, Any]) -> Callable[[Any, ReplayServer], None]:
    """LinkedIn answers the refused token's post listing with `status` and `body`."""

    def refuse(world: Any, server: ReplayServer) -> None:
        served = server.routes[("GET", "/rest/posts")]

        def posts(request: Request) -> Reply:
            if request.headers.get("authorization") == f"Bearer {LINKEDIN_REFUSED}":
                return json_reply(body, status)
            return served(request)

        server.route("GET", "/rest/posts", posts)

    return refuse


def _youtube_modern_bad_key(world: yt.World, server: ReplayServer) -> None:
    world.fake.bad_key = json_reply(yt.MODERN_BAD_KEY, 400)


FB_PERMISSION = "needs the pages_read_engagement / pages_read_user_content permission"
REFUSALS = [
    pytest.param(Refusal(
        PAIRS["facebook"], "page token expired or revoked: renew it at https://developers.facebook.com/tools/explorer",
        "EAAB-wrong-token-value", followers=321,
    ), id="facebook-expired-190"),
    pytest.param(Refusal(
        PAIRS["facebook"], FB_PERMISSION, refuse=_graph_refuses(
            f"/v21.0/{fb.PAGE}/published_posts", 10, "(#10) Application does not have permission for this action"),
        followers=321,
    ), id="facebook-permission-10"),
    pytest.param(Refusal(
        PAIRS["facebook"], FB_PERMISSION, refuse=_graph_refuses(
            f"/v21.0/{fb.PAGE}/published_posts", 200, "(#200) Requires pages_read_user_content permission to manage the object"),
        followers=321,
    ), id="facebook-permission-200"),
    pytest.param(Refusal(
        PAIRS["instagram"], "Instagram token expired or revoked: renew it at https://developers.facebook.com/tools/explorer",
        "IGQ-wrong-token-value", followers=5,
    ), id="instagram-expired-190"),
    pytest.param(Refusal(
        PAIRS["instagram"], "needs the instagram_basic / instagram_manage_comments permission",
        refuse=_graph_refuses(f"/v21.0/{ig.USER}/media", 10, "(#10) Application does not have permission for this action"),
        followers=5,
    ), id="instagram-permission-10"),
    pytest.param(Refusal(
        PAIRS["threads"], "Threads token expired or revoked: refresh it before its 60 days are over",
        "THAA-wrong-token-value", followers=5,
    ), id="threads-expired-190"),
    pytest.param(Refusal(
        PAIRS["threads"], "needs the threads_basic / threads_read_replies / threads_manage_insights permission",
        refuse=_threads_conversations_refused, followers=5,
    ), id="threads-permission-10"),
    pytest.param(Refusal(
        PAIRS["x"], "bearer token refused: renew it in the X developer portal (https://developer.x.com/en/portal/dashboard)",
        "revoked-bearer-ZZZZ", says="{url}", followers=12,
    ), id="x"),
    pytest.param(Refusal(
        PAIRS["linkedin"], "token expired: LinkedIn tokens last 60 days; renew it at https://www.linkedin.com/developers/apps",
        LINKEDIN_REFUSED, _linkedin_answers(401, {
            "status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN", "message": "Invalid access token",
        }),
    ), id="linkedin-expired"),
    pytest.param(Refusal(
        PAIRS["linkedin"],
        "needs the r_organization_social permission (Community Management API) and the ADMINISTRATOR role",
        LINKEDIN_REFUSED, _linkedin_answers(403, {
            "status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: partnerApiPostsExternal.FINDER-author.20260101",
        }),
    ), id="linkedin-no-permission"),
    pytest.param(Refusal(
        PAIRS["linkedin"], "LinkedIn no longer serves this LinkedIn-Version: set `version` to a recent month (YYYYMM)",
        LINKEDIN_REFUSED, _linkedin_answers(426, {
            "status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 20241001 is not active",
        }),
    ), id="linkedin-old-version"),
    pytest.param(Refusal(
        PAIRS["pinterest"],
        "token expired: Pinterest access tokens last 30 days; renew it at https://developers.pinterest.com/apps/",
        "pina_expired-token-value",
    ), id="pinterest"),
    pytest.param(Refusal(
        PAIRS["youtube"], KEY_INVALID, "AIza-wrong-key-987654", says="{url}/youtube/v3/channels: " + KEY_INVALID + " (HTTP 400",
        broadcasts=10,
    ), id="youtube-recorded-keyInvalid"),
    pytest.param(Refusal(
        PAIRS["youtube"], KEY_INVALID, "AIza-wrong-key-987654", _youtube_modern_bad_key,
        says="{url}/youtube/v3/channels: " + KEY_INVALID + " (HTTP 400", broadcasts=10,
    ), id="youtube-badRequest-since-2020"),
    pytest.param(Refusal(
        PAIRS["reddit"], "refresh token revoked or expired: run the OAuth flow again at https://www.reddit.com/prefs/apps",
        "refresh-revoked-3456", broadcasts=3,
    ), id="reddit"),
    pytest.param(Refusal(
        PAIRS["discourse"],
        "the forum refused the API key: check api_key and api_username on the forum's /admin/api/keys page",
        "disc-revoked-key-99999", broadcasts=3,
    ), id="discourse"),
    pytest.param(Refusal(
        PAIRS["bluesky"], "com.atproto.server.createSession: HTTP 401", "wrong-pass-word",
    ), id="bluesky"),
]


@pytest.mark.parametrize("row", REFUSALS)
def test_a_refused_credential_is_one_line_of_advice_and_the_other_source_is_collected(
    row: Refusal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    pair = row.pair
    value = row.secret or {**pair.platform.env, **pair.env}[pair.bad_env]
    with two_sources(pair, tmp_path, monkeypatch, value) as (world, server, _, config):
        if row.refuse is not None:
            row.refuse(world, server)
        code, err = collect_once(config)
        snapshot = snapshot_json(config)
    assert code == 1
    line = _one_line(err)
    assert line.startswith(f"twoway: {pair.bad}: " + row.says.format(url=server.url)) and row.advice in line
    stored = [path.read_bytes() for path in config.parent.glob("store.db*")]
    for secret in _secrets(pair, value):
        assert secret not in err and secret not in json.dumps(snapshot)
        assert not any(secret.encode() in data for data in stored)
    sources = {s["id"]: s for s in snapshot["sources"]}
    assert sources[pair.bad]["status"] == "error" and row.advice in sources[pair.bad]["error"]
    assert sources[pair.good]["status"] == "ok"
    if row.followers is not None:
        assert sources[pair.good]["followers"] == row.followers
    if row.broadcasts is not None:
        assert snapshot["goals"][0]["by_source"][pair.good]["broadcast"] == row.broadcasts


# -- the rate-limit signal ------------------------------------------------------------------------


@dataclass
class Polled:
    batch: Batch
    http: Http
    server: ReplayServer
    pauses: list[float]


@dataclass(frozen=True)
class Budgeted:
    """One poll of the platform's source, its answers carrying the platform's rate-limit signal."""

    platform: Platform[Any]
    budget: tuple[int, int | None, bool] | None
    """(remaining, limit, whether it knows when it resets) of the host's budget; None: no budget."""
    signal: Callable[[Any], None] | None = None
    """Makes the fake's answers say something other than its default."""
    waits: tuple[float, float] | None = None
    """Where the first pause lies when the signal says the budget is spent; None: no pause at all."""
    build: Callable[[ReplayServer], Any] | None = None
    """A world of its own instead of the scenario's."""
    sources: Callable[[str], str] | None = None
    """The source instead of the scenario's."""
    check: Callable[[Polled], None] | None = None


def _fb_page_usage(world: fb.World) -> None:
    world.fb.usage = {"X-Business-Use-Case-Usage": json.dumps({fb.PAGE: [
        {"type": "pages", "call_count": 28, "total_cputime": 9, "total_time": 41, "estimated_time_to_regain_access": 0},
    ]})}


def _fb_spent(world: fb.World) -> None:
    world.fb.usage = {
        "X-App-Usage": '{"call_count":100,"total_cputime":12,"total_time":20}',
        "X-Business-Use-Case-Usage": json.dumps({fb.PAGE: [
            {"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 5},
        ]}),
    }


def _ig_account_usage(world: tuple[ig.FakeInstagram, dict[str, str]]) -> None:
    world[0].usage = {"X-Business-Use-Case-Usage": json.dumps({ig.USER: [
        {"type": "instagram", "call_count": 12, "total_cputime": 3, "total_time": 5, "estimated_time_to_regain_access": 0},
    ]})}


def _x_quota(polled: Polled) -> None:
    assert len(polled.server.requests()) == 10  # the scenario's first poll without the staff lookup (no `also` here)
    quota = polled.http.budgets[DailyQuota.KEY]
    assert (quota.remaining, quota.limit) == (50 - 10, 50)
    assert json.loads(polled.batch.cursor or "{}")["quota"] == [x.NOW.date().isoformat(), 10]


def _one_pin(server: ReplayServer) -> pin.FakePinterest:
    fake = pin.FakePinterest(server)
    fake.pin(pin.ago(days=1), "Hello", saves=2)
    return fake


def _one_pin_counted(polled: Polled) -> None:
    # three requests (account, pins, one pin's analytics), each one fewer left: 999, 998, 997
    batch = polled.batch
    assert batch.measures == frozenset({"reposts", "likes"})
    assert [(c.reposts, c.likes) for c in batch.counters] == [(2, 0)]
    assert batch.accounts[0].author_id == pin.ACCOUNT and batch.followers == 812


def _one_submission(server: ReplayServer) -> rd.FakeReddit:
    fake = rd.FakeReddit(server)
    fake.submit("s4", rd.ago(3), "Book sale")
    return fake


def _reddit_spent(fake: rd.FakeReddit) -> None:
    fake.spent = 1  # the first rated answer says 0 left, for 42 s


def _waited_once(polled: Polled) -> None:
    assert len(polled.pauses) == 1


def _no_budget_at_all(polled: Polled) -> None:
    assert polled.http.budgets == {}  # LinkedIn announces no rate limit: there is no budget to show


BUDGETED = [
    pytest.param(Budgeted(fb.FACEBOOK, (100 - 41, 100, False), _fb_page_usage), id="facebook"),
    pytest.param(Budgeted(fb.FACEBOOK, (0, 100, True), _fb_spent, waits=(299, 300)), id="facebook-spent"),
    pytest.param(Budgeted(ig.INSTAGRAM, (100 - 12, 100, False), _ig_account_usage), id="instagram"),
    pytest.param(Budgeted(
        x.X, (900 - 10, 900, True), sources=lambda url: x.source(url, budget=50), check=_x_quota,
    ), id="x"),
    pytest.param(Budgeted(pin.PINTEREST, (997, 1000, True), build=_one_pin, check=_one_pin_counted), id="pinterest"),
    pytest.param(Budgeted(rd.REDDIT, (598, None, True), build=_one_submission), id="reddit"),  # "598.0": a float
    pytest.param(Budgeted(
        rd.REDDIT, (598, None, True), _reddit_spent, waits=(40, 42), build=_one_submission, check=_waited_once,
    ), id="reddit-spent"),
    pytest.param(Budgeted(li.LINKEDIN, None, check=_no_budget_at_all), id="linkedin"),
    pytest.param(Budgeted(bsky.BLUESKY_PUBLIC, (2990, 3000, False)), id="bluesky"),
]


@pytest.mark.parametrize("row", BUDGETED)
def test_the_rate_limit_signal_is_the_sources_budget(
    row: Budgeted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    platform = row.platform
    for name, value in platform.env.items():
        monkeypatch.setenv(name, value)
    with replay_server() as server:
        world = (row.build or platform.build)(server)
        if row.signal is not None:
            row.signal(world)
        (source,) = load_config(write_config(tmp_path, (row.sources or platform.sources)(server.url))).sources
        made = Context(source, Http(httpx.AsyncClient()), 60 * 86400, 6 * 3600)
        batch = poll(made, platform.now)
    budget = made.http.budgets.get(server.url.removeprefix("http://"))
    if row.budget is None:
        assert budget is None
    else:
        remaining, limit, resets = row.budget
        assert budget is not None and (budget.remaining, budget.limit) == (remaining, limit)
        assert (budget.reset_at is not None) == resets
    if row.waits is None:
        assert fake_sleep.pauses == []
    else:
        low, high = row.waits  # the next request waited for the reset the signal gave
        assert fake_sleep.pauses and low <= fake_sleep.pauses[0] <= high
    if row.check is not None:
        row.check(Polled(batch, made.http, server, fake_sleep.pauses))


# -- broken answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakable:
    """The scenario collected, then one route of its fake answering wrong."""

    platform: Platform[Any]
    route: str
    """The route that breaks: the first listing a cycle reads, or what `prepare` makes it read."""
    prepare: Callable[[Any], None] | None = None
    first: bool = False
    """`route` is the cycle's first request: nothing else is asked."""
    quota: bool = False
    """The cycle pays for what it asks from a daily quota: the failed cycle's one call stays paid."""
    absent: tuple[str, ...] = ()
    """What the line must not say, beyond the platform's secrets."""


def _discourse_t2_moves(world: dsc.World) -> None:
    world.fake.post(20, "frank", dsc.NOW + timedelta(minutes=1), "<p>Hello</p>")  # T2 is read this cycle


BREAKABLE = [
    pytest.param(Breakable(masto.MASTODON, f"/api/v1/accounts/{masto.LIBRARY}/statuses"), id="mastodon"),
    pytest.param(Breakable(bsky.BLUESKY, "/xrpc/app.bsky.feed.getAuthorFeed", absent=("access-",)), id="bluesky"),
    pytest.param(Breakable(wp.WORDPRESS, "/wp-json/wp/v2/posts"), id="wordpress"),
    pytest.param(Breakable(rss.RSS, "/feed/"), id="rss"),
    pytest.param(Breakable(fb.FACEBOOK, f"/v21.0/{fb.PAGE}/published_posts"), id="facebook"),
    pytest.param(Breakable(ig.INSTAGRAM, f"/v21.0/{ig.USER}/media"), id="instagram"),
    pytest.param(Breakable(th.THREADS, f"/v1.0/{th.ORG}/threads"), id="threads"),
    pytest.param(Breakable(x.X, f"/2/users/{x.LIB}/tweets"), id="x"),
    pytest.param(Breakable(li.LINKEDIN, "/rest/posts"), id="linkedin"),
    pytest.param(Breakable(pin.PINTEREST, "/v5/pins"), id="pinterest"),
    pytest.param(Breakable(yt.YOUTUBE, "/youtube/v3/channels", first=True, quota=True), id="youtube"),
    pytest.param(Breakable(rd.REDDIT, "/user/*"), id="reddit"),
    pytest.param(Breakable(dsc.DISCOURSE, "/t/*", _discourse_t2_moves), id="discourse"),
]


@pytest.mark.parametrize("fault", [pytest.param(SERVER_ERROR, id="500"), pytest.param(HTML, id="html-200")])
@pytest.mark.parametrize("row", BREAKABLE)
def test_a_broken_answer_fails_the_source_and_keeps_the_data(
    row: Breakable, fault: Reply, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    platform, prefix = row.platform, row.route.removesuffix("*")
    with staged(platform, tmp_path, monkeypatch) as stage:
        stage.collect(platform.now)
        before, paid = snapshot_json(stage.config)["goals"], cursor(stage.config, platform.sid).get("quota")
        if row.prepare is not None:
            row.prepare(stage.world)
        stage.server.route("GET", row.route, lambda request: fault)
        stage.server.reset_log()
        code, err = collect_once(stage.config)
        after = snapshot_json(stage.config)
        everything = stage.server.requests()
    asked = [r for r in everything if r.path == row.route or (row.route.endswith("*") and r.path.startswith(prefix))]
    assert code == 1
    line = _one_line(err)
    assert line.startswith(f"twoway: {platform.sid}: ") and prefix in line
    assert not any(secret in err for secret in (*platform.secrets(), *row.absent))
    assert len(asked) == (3 if fault.status >= 500 else 1)  # a 5xx is tried three times, an HTML page once
    if row.first:
        assert len(everything) == len(asked)
    assert after["goals"] == before
    assert [s["status"] for s in after["sources"]] == ["error"]
    if row.quota:
        assert paid is not None and cursor(stage.config, platform.sid)["quota"] == [paid[0], paid[1] + 1]
    assert fault is not HTML or "HTML page" in line


# -- a quiet cycle ----------------------------------------------------------------------------------


def _path(request: Request) -> str:
    return request.path


@dataclass(frozen=True)
class Quiet:
    """The scenario collected, then collected again five minutes on with nothing changed."""

    platform: Platform[Any]
    asked: list[str]
    """Every request of the quiet cycle, as `describe` puts it."""
    threads: Callable[[ReplayServer], list[Any]]
    """The thread reads among the requests: none."""
    describe: Callable[[Request], str] = _path
    check: Callable[[Stage[Any], list[Request]], None] | None = None
    """More, given the backfill's requests."""


def _bluesky_pages_as_backfill(stage: Stage[Any], backfill: list[Request]) -> None:
    feed = "/xrpc/app.bsky.feed.getAuthorFeed"
    assert len(stage.server.requests(feed)) == sum(1 for r in backfill if r.path == feed)


def _rss_all_304(stage: Stage[rss.Blog], backfill: list[Request]) -> None:
    assert [status for _, status in stage.world.statuses[-3:]] == [304] * 3


def _x_mentions_since_the_newest(stage: Stage[x.World], backfill: list[Request]) -> None:
    (mentions,) = stage.server.requests(f"/2/users/{x.LIB}/mentions")
    assert mentions.arg("since_id") == stage.world.r7  # the newest mention of the first poll, 2 days old


def _searches(server: ReplayServer) -> list[str]:
    return [r.arg("query") or "" for r in server.requests("/2/tweets/search/recent")]


def _prefixed(*prefixes: str) -> Callable[[ReplayServer], list[Any]]:
    return lambda server: [r for prefix in prefixes for r in server.requests(prefix)]


QUIET = [
    pytest.param(Quiet(
        masto.MASTODON,
        # 12 statuses of the library, 4 a page: the third page reaches past the 60-day horizon
        ["/api/v1/accounts/lookup"] * 2 + [f"/api/v1/accounts/{masto.LIBRARY}/statuses"] * 3 + ["/api/v1/notifications"],
        _prefixed("/api/v1/statuses/"),
    ), id="mastodon"),
    pytest.param(Quiet(
        bsky.BLUESKY_PUBLIC,
        ["/xrpc/app.bsky.actor.getProfile", "/xrpc/app.bsky.actor.getProfiles"] + ["/xrpc/app.bsky.feed.getAuthorFeed"] * 4,
        _prefixed("/xrpc/app.bsky.feed.getPostThread"), check=_bluesky_pages_as_backfill,
    ), id="bluesky"),
    pytest.param(Quiet(
        # 115 recent posts: 2 pages of 100, and 2 recent-comments queries of 100 ids
        wp.WORDPRESS, ["/wp-json/wp/v2/comments"] * 2 + ["/wp-json/wp/v2/posts"] * 2 + ["/wp-json/wp/v2/users"],
        wp.thread_reads,
    ), id="wordpress"),
    pytest.param(Quiet(rss.RSS, ["/feed/"] * 3, _prefixed("/comments/"), check=_rss_all_304), id="rss"),
    pytest.param(Quiet(
        fb.FACEBOOK, [f"/v21.0/{fb.PAGE}"] + [f"/v21.0/{fb.PAGE}/published_posts"] * 4 + [f"/v21.0/{fb.PAGE}/tagged"],
        comment_reads,
    ), id="facebook"),
    pytest.param(Quiet(
        ig.INSTAGRAM, [f"/v21.0/{ig.USER}"] + [f"/v21.0/{ig.USER}/media"] * 3, comment_reads,
    ), id="instagram"),
    pytest.param(Quiet(
        th.THREADS,
        [f"/v1.0/{th.ORG}", f"/v1.0/{th.ORG}/threads_insights"] + [f"/v1.0/{th.ORG}/threads"] * 4  # 9 posts: 3 pages + empty
        + [f"/v1.0/{th.ORG}/replies"] * 3  # o0 o1 s1 o2 o3: 2 pages + empty
        + [f"/v1.0/{th.ORG}/mentions"],  # m2 mm1 mm3: one page
        lambda server: th.thread_reads(server) + th.thread_reads(server, "insights"),
    ), id="threads"),
    pytest.param(Quiet(
        # the listing's pages and the mentions since the newest seen; no lookup, no search
        x.X, [f"/2/users/{x.LIB}/tweets"] * 3 + [f"/2/users/{x.LIB}/mentions"], _searches,
        check=_x_mentions_since_the_newest,
    ), id="x"),
    pytest.param(Quiet(
        # 4 listing pages, socialMetadata for 14 posts, share statistics for shares and for ugcPosts, followers
        li.LINKEDIN,
        ["/rest/posts"] * 4 + ["/rest/socialMetadata", "/rest/networkSizes/urn%3Ali%3Aorganization%3A2414183"]
        + ["/rest/organizationalEntityShareStatistics"] * 2,
        li.thread_reads,
    ), id="linkedin"),
    pytest.param(Quiet(pin.PINTEREST, ["/v5/pins"] * 5 + ["/v5/user_account"], pin.analytics_reads), id="pinterest"),
    pytest.param(Quiet(
        # the channel, the 4 upload pages and one videos call (6 units); jane's channel is remembered
        yt.YOUTUBE, ["/youtube/v3/channels", "/youtube/v3/videos"] + ["/youtube/v3/playlistItems"] * 4, yt.thread_reads,
    ), id="youtube"),
    pytest.param(Quiet(
        # the token, the profile, the two listings' pages, one page of mentions
        rd.REDDIT,
        ["/api/v1/access_token", "/user/RiversideLib/about", "/message/mentions"]
        + ["/user/RiversideLib/submitted"] * 3 + ["/user/RiversideLib/comments"] * 3,
        _prefixed("/comments/", "/api/morechildren"),
    ), id="reddit"),
    pytest.param(Quiet(
        # the topic lists, one page of mentions each (down to the newest seen, jane's), the organization's
        # replies elsewhere; no topic and no post read
        dsc.DISCOURSE,
        ["/topics/created-by/riverside.json"] * 2 + ["/topics/created-by/Maria.json"]
        + ["/user_actions.json?filter=7&username=riverside", "/user_actions.json?filter=7&username=Maria"]
        + ["/user_actions.json?filter=5&username=riverside"] * 3 + ["/user_actions.json?filter=5&username=Maria"],
        _prefixed("/t/", "/posts/"), dsc.described,
    ), id="discourse"),
]


@pytest.mark.parametrize("row", QUIET)
def test_a_quiet_cycle_reads_no_thread_and_moves_no_number(
    row: Quiet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep
) -> None:
    later = row.platform.now + timedelta(minutes=5)
    with staged(row.platform, tmp_path, monkeypatch) as stage:
        stage.collect(row.platform.now)
        backfill = stage.server.requests()
        monkeypatch.setenv("TWOWAY_NOW", later.isoformat())
        before = snapshot_json(stage.config)["goals"]
        stage.server.reset_log()
        stage.collect(later)
        assert row.threads(stage.server) == []
        assert sorted(row.describe(r) for r in stage.server.requests()) == sorted(row.asked)
        assert snapshot_json(stage.config)["goals"] == before
        if row.check is not None:
            row.check(stage, backfill)


# -- a listing that never ends ----------------------------------------------------------------------

ENDLESS_AT = "2026-06-29T12:00:00Z"
BLUESKY_POST = {
    "uri": "at://did:plc:lib/app.bsky.feed.post/1", "cid": "c1", "author": {"did": "did:plc:lib", "handle": "lib.example"},
    "record": {"$type": "app.bsky.feed.post", "text": "hello", "createdAt": ENDLESS_AT}, "indexedAt": ENDLESS_AT,
    "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
}
WORDPRESS_POST = {
    "id": 1, "date_gmt": "2026-06-29T10:00:00", "link": "https://blog.example/?p=1", "author": 1,
    "title": {"rendered": "Hello"}, "content": {"rendered": "<p>Hi</p>"}, "status": "publish",
}


def _always(reply: Reply) -> Callable[[Request], Reply]:
    return lambda request: reply


@pytest.mark.parametrize(
    ("source", "routes", "listing", "says"),
    [
        pytest.param(
            lambda url: source_toml("sky", "bluesky", handle="lib.example", service=url),
            {
                "/xrpc/app.bsky.actor.getProfile": json_reply({"did": "did:plc:lib", "handle": "lib.example"}),
                "/xrpc/app.bsky.feed.getAuthorFeed": json_reply({"feed": [{"post": BLUESKY_POST}], "cursor": "same"}),
            },
            "/xrpc/app.bsky.feed.getAuthorFeed", "paging cursor repeats itself", id="bluesky",
        ),
        pytest.param(
            lambda url: source_toml("blog", "wordpress", url=url),
            {
                "/wp-json/wp/v2/users": json_reply([{"id": 1, "slug": "lib", "name": "Library"}]),
                "/wp-json/wp/v2/posts": json_reply([WORDPRESS_POST], headers={"X-WP-TotalPages": "999999"}),
                "/wp-json/wp/v2/comments": json_reply([]),
            },
            "/wp-json/wp/v2/posts", "repeats an earlier page", id="wordpress",
        ),
    ],
)
def test_a_listing_that_never_ends_fails_the_source_not_the_run(
    source: Callable[[str], str], routes: dict[str, Reply], listing: str, says: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_sleep: FakeSleep,
) -> None:
    monkeypatch.setenv("TWOWAY_NOW", "2026-06-30T12:00:00Z")
    with replay_server() as server:
        for path, reply in routes.items():
            server.route("GET", path, _always(reply))
        code, err = collect_once(write_config(tmp_path, source(server.url)))
        assert len(server.requests(listing)) == 2  # the second page repeats the first: no third
    assert code == 1 and says in _one_line(err)

