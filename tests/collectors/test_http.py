"""The shared HTTP layer against a local replay server: retries, rate limits, caching, limits, safety."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.plugin.http import USER_AGENT, FetchError, Http, Response


class Pauses:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def fetch(server_url: str, path: str, pauses: Pauses | None = None, **kw: Any) -> Response:
    options = {k: kw.pop(k) for k in ("timeout", "max_bytes", "attempts") if k in kw}

    async def run() -> Response:
        async with httpx.AsyncClient() as client:
            http = Http(client, sleep=pauses or Pauses(), jitter=lambda: 0.5, **options)
            return await http.get(server_url + path, **kw)

    return asyncio.run(run())


def scripted(*replies: Reply) -> Callable[[Request], Reply]:
    """Answers with each reply in turn, then repeats the last."""
    queue = list(replies)

    def handler(request: Request) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


@pytest.fixture
def server() -> Any:
    with replay_server() as running:
        yield running


def test_user_agent_names_twoway_its_version_and_url(server: ReplayServer) -> None:
    server.route("GET", "/x", lambda r: json_reply({"ok": True}))
    assert fetch(server.url, "/x").json() == {"ok": True}
    assert server.requests("/x")[0].headers["user-agent"] == USER_AGENT
    assert "twoway/" in USER_AGENT and "http" in USER_AGENT


def test_5xx_is_retried_with_exponential_backoff(server: ReplayServer) -> None:
    server.route("GET", "/x", scripted(Reply(503), Reply(502), json_reply([1])))
    pauses = Pauses()
    assert fetch(server.url, "/x", pauses).json() == [1]
    assert pauses.seconds == [1.0, 2.0]  # jitter fixed at the middle of [0.5, 1.5)
    assert len(server.requests("/x")) == 3


def test_persistent_5xx_is_one_clear_line(server: ReplayServer) -> None:
    server.route("GET", "/x", lambda r: Reply(500))
    with pytest.raises(FetchError) as error:
        fetch(server.url, "/x?secret=abc")
    message = str(error.value)
    assert message == f"{server.url}/x: HTTP 500 (3 attempts)"
    assert "secret" not in message and "\n" not in message


def test_429_waits_for_retry_after(server: ReplayServer) -> None:
    server.route("GET", "/x", scripted(Reply(429, headers={"Retry-After": "7"}), json_reply({})))
    pauses = Pauses()
    fetch(server.url, "/x", pauses)
    assert pauses.seconds[0] == pytest.approx(7, abs=0.5)


def test_exhausted_rate_limit_waits_for_the_reset_before_the_next_request(server: ReplayServer) -> None:
    reset = str(int(time.time()) + 30)
    server.route("GET", "/a", lambda r: json_reply({}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
    server.route("GET", "/b", lambda r: json_reply({}))
    pauses = Pauses()

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            http = Http(client, sleep=pauses, jitter=lambda: 0.5)
            await http.get(server.url + "/a")
            await http.get(server.url + "/b")
            assert http.budgets[server.url.split("//")[1]].remaining is None  # spent, then reset

    asyncio.run(run())
    assert len(pauses.seconds) == 1 and 25 < pauses.seconds[0] <= 31


def test_conditional_requests_reuse_the_body_on_304(server: ReplayServer) -> None:
    def handler(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return json_reply({"n": 1}, headers={"ETag": '"v1"'})

    server.route("GET", "/feed", handler)

    async def run() -> list[Any]:
        async with httpx.AsyncClient() as client:
            http = Http(client)
            first = await http.get(server.url + "/feed", conditional=True)
            second = await http.get(server.url + "/feed", conditional=True)
            return [first.json(), second.json()]

    assert asyncio.run(run()) == [{"n": 1}, {"n": 1}]
    assert [r.headers.get("if-none-match") for r in server.requests("/feed")] == [None, '"v1"']


def test_html_where_json_was_expected(server: ReplayServer) -> None:
    server.route("GET", "/x", lambda r: Reply(200, b"<!DOCTYPE html><html>Maintenance</html>"))
    with pytest.raises(FetchError, match="answered an HTML page where JSON was expected") as error:
        fetch(server.url, "/x", params={"fields": "id,message," * 40, "access_token": "secret"}).json()
    assert str(error.value) == f"{server.url}/x: answered an HTML page where JSON was expected"  # no query string


def test_responses_over_the_limit_are_refused(server: ReplayServer) -> None:
    server.route("GET", "/big", lambda r: Reply(200, b"x" * 5000))
    with pytest.raises(FetchError, match="over the 1000"):
        fetch(server.url, "/big", max_bytes=1000)


def test_credentials_go_over_loopback_http_but_never_across_hosts(server: ReplayServer) -> None:
    elsewhere = server.url.replace("127.0.0.1", "localhost")
    server.route("GET", "/go", lambda r: Reply(302, headers={"Location": elsewhere + "/there"}))
    server.route("GET", "/there", lambda r: json_reply({"ok": 1}))
    assert fetch(server.url, "/go", token="s3cret").json() == {"ok": 1}
    first, second = server.requests("/go")[0], server.requests("/there")[0]
    assert first.headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in second.headers


def test_credentials_are_never_sent_over_plain_http_to_another_machine() -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as client:
            await Http(client).get("http://example.invalid/api", token="s3cret")

    with pytest.raises(FetchError, match="refusing to send a credential over plain HTTP"):
        asyncio.run(run())


def test_client_errors_are_not_retried_and_say_what_they_mean(server: ReplayServer) -> None:
    server.route("GET", "/x", lambda r: json_reply({"error": "The access token is invalid"}, 401))
    with pytest.raises(FetchError) as error:
        fetch(server.url, "/x", token="t")
    assert str(error.value) == f"{server.url}/x: HTTP 401 credential refused or expired: The access token is invalid"
    assert len(server.requests("/x")) == 1


def test_a_port_where_nothing_listens() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pauses = Pauses()
    with pytest.raises(FetchError, match=r"cannot connect .*\(3 attempts\)"):
        fetch(f"http://127.0.0.1:{port}", "/x", pauses)
    assert pauses.seconds == [1.0, 2.0]


def test_a_listener_that_never_answers_times_out_per_attempt() -> None:
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(FetchError, match=r"no answer within 0\.2 s \(2 attempts\)"):
            fetch(f"http://127.0.0.1:{port}", "/x", timeout=0.2, attempts=2)


def test_a_credential_echoed_by_the_server_never_reaches_the_error_line(server: ReplayServer) -> None:
    server.route("GET", "/x", lambda r: json_reply({"error": f"token {r.headers['authorization'][7:]} is revoked"}, 401))
    with pytest.raises(FetchError) as error:
        fetch(server.url, "/x", token="s3cret-token-value")
    assert "s3cret-token-value" not in str(error.value) and "[redacted]" in str(error.value)


def _raw_server(answer: bytes) -> tuple[Any, int]:
    """A one-shot loopback server that answers every connection with `answer` and hangs up."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_a_connection_reset_mid_body_is_retried_then_one_line() -> None:
    listener, port = _raw_server(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"partial": ')
    try:
        with pytest.raises(FetchError, match=r"connection broken .*\(3 attempts\)"):
            fetch(f"http://127.0.0.1:{port}", "/x")
    finally:
        listener.close()


def test_truncated_json_is_one_clear_line(server: ReplayServer) -> None:
    server.route("GET", "/x", lambda r: Reply(200, b'{"statuses": [1, 2', {"Content-Type": "application/json"}))
    with pytest.raises(FetchError, match="answered no JSON where JSON was expected"):
        fetch(server.url, "/x").json()


def test_secret_headers_are_credentials_too(server: ReplayServer) -> None:
    """An API key header follows the token's rules: same host only, never in an error."""
    elsewhere = server.url.replace("127.0.0.1", "localhost")
    server.route("GET", "/go", lambda r: Reply(302, headers={"Location": elsewhere + "/there"}))
    server.route("GET", "/there", lambda r: json_reply({"ok": 1}))
    server.route("GET", "/echo", lambda r: json_reply({"error": f"key {r.headers['api-key']} unknown"}, 403))
    assert fetch(server.url, "/go", secret_headers={"Api-Key": "k3y-value-1"}).json() == {"ok": 1}
    assert server.requests("/go")[0].headers["api-key"] == "k3y-value-1"
    assert "api-key" not in server.requests("/there")[0].headers
    with pytest.raises(FetchError) as error:
        fetch(server.url, "/echo", secret_headers={"Api-Key": "k3y-value-1"})
    assert "k3y-value-1" not in str(error.value) and "[redacted]" in str(error.value)
    with pytest.raises(FetchError, match="refusing to send a credential over plain HTTP"):
        fetch("http://example.invalid", "/x", secret_headers={"Api-Key": "k3y-value-1"})


def test_a_form_post_with_basic_credentials_never_leaks_them(server: ReplayServer) -> None:
    import base64

    basic = "Basic " + base64.b64encode(b"client-id-1:client-s3cret").decode()
    seen: list[Request] = []

    def token(request: Request) -> Reply:
        seen.append(request)
        return json_reply({"error": "invalid_grant for client-s3cret and r3fresh-token"}, 400)

    server.route("POST", "/token", token)

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            form = {"grant_type": "refresh_token", "refresh_token": "r3fresh-token"}
            await Http(client).request("POST", server.url + "/token", form=form, secret_headers={"Authorization": basic})

    with pytest.raises(FetchError) as error:
        asyncio.run(run())
    assert seen[0].body == b"grant_type=refresh_token&refresh_token=r3fresh-token"
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen[0].headers["authorization"] == basic
    assert "client-s3cret" not in str(error.value) and "r3fresh-token" not in str(error.value)
    assert error.value.data == {"error": "invalid_grant for client-s3cret and r3fresh-token"}


@pytest.mark.parametrize(
    ("headers", "remaining", "limit", "reset_in"),
    [
        ({"x-rate-limit-remaining": "14", "x-rate-limit-limit": "15"}, 14, 15, None),  # X
        ({"x-ratelimit-remaining": "598.0", "x-ratelimit-reset": "120"}, 598, None, 120),  # Reddit: float, seconds
        ({"X-App-Usage": '{"call_count": 28, "total_time": 25, "total_cputime": 9}'}, 72, 100, None),  # Meta app
        (
            {"X-Business-Use-Case-Usage": '{"1234": [{"type": "pages", "call_count": 100, "total_cputime": 4,'
             ' "total_time": 8, "estimated_time_to_regain_access": 5}]}'},
            0, 100, 300,
        ),  # Meta page at its limit: back for 5 minutes
        ({"X-App-Usage": '{"call_count": 100}'}, 0, 100, 3600),  # at the limit without an estimate: the rolling hour
        ({"X-App-Usage": "not json"}, None, None, None),
    ],
)
def test_every_platforms_rate_limit_signal_is_one_budget(
    server: ReplayServer, headers: dict[str, str], remaining: int | None, limit: int | None, reset_in: int | None
) -> None:
    server.route("GET", "/x", lambda r: json_reply({}, headers=headers))

    async def run() -> Any:
        async with httpx.AsyncClient() as client:
            http = Http(client, clock=lambda: 1000.0)
            await http.get(server.url + "/x")
            return http.budgets.get(server.url.split("//")[1])

    budget = asyncio.run(run())
    if remaining is None:
        assert budget is None
        return
    assert (budget.remaining, budget.limit) == (remaining, limit)
    assert (None if budget.reset_at is None else round(budget.reset_at - 1000.0)) == reset_in


def test_a_daily_quota_is_spent_remembered_and_refused_in_one_line() -> None:
    from datetime import datetime, timedelta, timezone

    from twoway.plugin.protocol import CursorState, DailyQuota

    http = Http(httpx.AsyncClient(), clock=lambda: 50.0)
    state = CursorState()
    now = datetime(2026, 6, 30, 18, 0, tzinfo=timezone.utc)
    quota = DailyQuota(state, http, 3, now, unit="quota units")
    quota.spend(2)
    budget = http.budgets[DailyQuota.KEY]
    assert (budget.remaining, budget.limit, budget.reset_at) == (1, 3, 50.0 + 6 * 3600)
    again = DailyQuota(CursorState.load(state.dump()), http, 3, now + timedelta(hours=1), unit="quota units")
    with pytest.raises(FetchError, match=r"^daily budget of 3 quota units used up \(2 spent\); it comes back in 5\.0 h$"):
        again.spend(2)
    tomorrow = DailyQuota(CursorState.load(state.dump()), http, 3, now + timedelta(hours=7))
    tomorrow.spend(3)  # a new day, a new allowance
    assert http.budgets[DailyQuota.KEY].remaining == 0


def test_explain_turns_a_platform_refusal_into_advice(server: ReplayServer) -> None:
    from twoway.plugin.protocol import explain

    graph = {"error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}}
    google = {"error": {"code": 403, "message": "quota", "errors": [{"reason": "quotaExceeded"}]}}
    server.route("GET", "/graph", lambda r: json_reply(graph, 400))
    server.route("GET", "/google", lambda r: json_reply(google, 403))
    server.route("GET", "/plain", lambda r: Reply(404))
    advice: dict[int | str, str] = {
        "190": "token expired: renew it at https://example.org/renew",
        "quotaExceeded": "quota used up",
        401: "x",
    }
    for path, expected in (("/graph", "token expired: renew it at"), ("/google", "quota used up")):
        with pytest.raises(FetchError) as error:
            fetch(server.url, path)
        explained = explain(error.value, advice)
        assert str(explained).startswith(f"{server.url}{path}: {expected}")
        assert "\n" not in str(explained) and explained.status == error.value.status  # type: ignore[attr-defined]
    with pytest.raises(FetchError) as error:
        fetch(server.url, "/plain")
    assert explain(error.value, advice) is error.value


def test_each_answer_is_one_page_read_retries_and_failures_none(server: ReplayServer) -> None:
    server.route("GET", "/flaky", scripted(Reply(503), json_reply([1])))
    server.route("GET", "/moved", lambda r: Reply(301, headers={"Location": "/flaky"}))
    server.route("GET", "/gone", lambda r: Reply(404))
    pages: list[str] = []

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            http = Http(client, sleep=Pauses(), jitter=lambda: 0.5, on_page=lambda: pages.append("read"))
            await http.get(server.url + "/flaky")  # answered on the second attempt
            await http.get(server.url + "/moved")  # answered after a redirect
            with pytest.raises(FetchError):
                await http.get(server.url + "/gone")

    asyncio.run(run())
    assert len(server.requests()) == 5 and pages == ["read", "read"]
