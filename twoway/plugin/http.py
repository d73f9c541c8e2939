"""The one polite HTTP layer every collector uses; no collector has its own paging rules,
backoff or rate-limit code.

- A User-Agent naming twoway, its version and the project URL; a per-request timeout.
- 5xx answers, timeouts and dropped connections are retried with exponential backoff
  and jitter; 429 waits for `Retry-After`; rate-limit headers are read into a budget
  and no request is sent past an exhausted one.
- Conditional requests: an ETag or Last-Modified seen for a URL is sent back, and a
  304 answers with the body seen before.
- Responses larger than `max_response_bytes` are refused while they stream in.
- Credentials go only over HTTPS (loopback excepted) and never follow a redirect to
  another host: the redirect is followed without them.

Every failure is a `FetchError` whose message is one line naming what and where.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from twoway import PROJECT_URL, __version__
from twoway.hosts import is_loopback

__all__ = ["USER_AGENT", "Budget", "FetchError", "Http", "Response", "wait"]

USER_AGENT = f"twoway/{__version__} (+{PROJECT_URL})"
MAX_REDIRECTS = 5
MAX_WAIT = 900.0
"""Longest wait for a rate limit to reset before giving up on this cycle (seconds)."""


async def wait(seconds: float) -> None:
    """Every pause the HTTP layer makes; tests replace it so that nothing waits on real time."""
    await asyncio.sleep(seconds)


class FetchError(Exception):
    """A request that failed for good; `str()` is one line naming what and where."""

    def __init__(self, message: str, *, status: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.data = data
        """The JSON body of a 4xx answer, where there was one: collectors map its error codes to advice."""
        self.cursor: str | None = None
        """A cursor the store keeps although the poll failed: the old one with what a daily
        allowance spent (`DailyQuota.carried`), so no failed cycle is spent twice."""


@dataclass
class Response:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            start = self.body[:60].decode("utf-8", "replace")
            what = "an HTML page" if start.lstrip().lower().startswith(("<!doctype", "<html")) else "no JSON"
            raise FetchError(f"{_where(self.url)}: answered {what} where JSON was expected") from None

    @property
    def text(self) -> str:
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")


@dataclass
class Budget:
    """What a host's rate-limit headers last said: requests left and when the window resets."""

    remaining: int | None = None
    limit: int | None = None
    reset_at: float | None = None
    """Monotonic clock time."""


@dataclass
class Http:
    """A source's view of the shared `httpx.AsyncClient`: politeness, limits, safety."""

    client: httpx.AsyncClient
    timeout: float = 10.0
    max_bytes: int = 5_000_000
    attempts: int = 3
    sleep: Callable[[float], Awaitable[None]] = field(default_factory=lambda: wait)
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random
    budgets: dict[str, Budget] = field(default_factory=dict)
    on_page: Callable[[], None] | None = None
    """Called once per request answered (a page read), retries and redirects not counted:
    how the scheduler shows a backfill's progress with no collector reporting anything."""
    redirects: bool = True
    """Follow redirects (credentials only to the same host); `False` makes every redirect a
    failure, for a body that must reach the URL configured or nowhere (an alert's webhook)."""
    requests: int = 0
    """Requests sent for this source since the process started, each retry and redirect
    counted: `twoway_source_requests_total` on `--metrics`."""
    _validators: dict[str, tuple[str | None, str | None, Response]] = field(default_factory=dict)

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, str] | None = None,
        conditional: bool = False,
    ) -> Response:
        """GET `url`; raises `FetchError` unless the answer is 2xx (or a 304 with a cached body)."""
        return await self.request(
            "GET",
            url,
            params=params,
            token=token,
            headers=headers,
            secret_headers=secret_headers,
            conditional=conditional,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        conditional: bool = False,
    ) -> Response:
        """One request, retried politely.

        `token` is sent as `Authorization: Bearer`; `secret_headers` (an API key header,
        HTTP Basic credentials) are credentials too: like the token they go only over
        HTTPS or to loopback, never follow a redirect to another host, and are blanked
        out of any error. `form` is an `application/x-www-form-urlencoded` body.
        """
        credentials = dict(secret_headers or {})
        if token is not None:
            credentials["Authorization"] = f"Bearer {token}"
        body = _Body(json_body, dict(form) if form is not None else None)
        try:
            response = await self._attempts(method, url, params, credentials, headers, body, conditional)
        except FetchError as error:  # a server may echo what it was sent: never let a secret out
            secrets = [token, *credentials.values(), *body.secrets()]
            raise FetchError(_redact(str(error), secrets), status=error.status, data=error.data) from None
        if self.on_page is not None:
            self.on_page()
        return response

    async def _attempts(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        credentials: dict[str, str],
        headers: Mapping[str, str] | None,
        body: _Body,
        conditional: bool,
    ) -> Response:
        if params:
            url = str(httpx.URL(url, params={k: v for k, v in params.items() if v is not None}))
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                await self.sleep(self._backoff(attempt))
            try:
                return await self._once(method, url, credentials, headers, body, conditional)
            except _Retry as retry:
                last = retry.error
                if retry.wait is not None:
                    await self.sleep(retry.wait)
        assert last is not None
        raise FetchError(f"{_where(url)}: {last} ({self.attempts} attempts)", status=getattr(last, "status", None))

    def _backoff(self, attempt: int) -> float:
        """1 s, 2 s, 4 s, ... each scaled by a random factor in [0.5, 1.5)."""
        return float(2 ** (attempt - 1)) * (0.5 + self.jitter())

    async def _once(
        self,
        method: str,
        url: str,
        credentials: dict[str, str],
        headers: Mapping[str, str] | None,
        body: _Body,
        conditional: bool,
    ) -> Response:
        await self._respect_budget(url)
        request_headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5", **(headers or {})}
        cached = self._validators.get(url) if conditional and method == "GET" else None
        if cached:
            etag, modified, _ = cached
            if etag:
                request_headers["If-None-Match"] = etag
            if modified:
                request_headers["If-Modified-Since"] = modified
        origin = urlsplit(url).hostname or ""
        for _ in range(MAX_REDIRECTS + 1):
            for name in credentials:
                request_headers.pop(name, None)
            if credentials and (urlsplit(url).hostname or "") == origin:
                _check_transport(url)
                request_headers.update(credentials)
            response = await self._send(method, url, request_headers, body)
            if response.status in (301, 302, 303, 307, 308) and "location" in response.headers:
                target = urljoin(url, response.headers["location"])
                if not self.redirects:
                    to = urlsplit(target).hostname or "?"
                    raise FetchError(f"{_where(url)}: redirected to {to}, not followed", status=response.status)
                url = target
                if response.status == 303:
                    method, body = "GET", _Body(None, None)
                continue
            break
        else:
            raise FetchError(f"{_where(url)}: more than {MAX_REDIRECTS} redirects")
        self._read_budget(url, response.headers)
        if response.status == 304 and cached:
            return cached[2]
        if response.status == 429:
            wait = _retry_after(response.headers, self.clock) or 60.0
            if wait > MAX_WAIT:
                raise FetchError(f"{_where(url)}: rate limited for the next {wait:.0f} s", status=429)
            raise _Retry(FetchError("rate limited (HTTP 429)", status=429), wait)
        if response.status >= 500:
            raise _Retry(FetchError(f"HTTP {response.status}", status=response.status), None)
        if response.status >= 400:
            raise FetchError(
                f"{_where(url)}: {_client_error(response)}", status=response.status, data=_json_or_none(response.body)
            )
        if conditional and method == "GET":
            etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
            if etag or modified:
                self._validators[url] = (etag, modified, response)
        return response

    async def _send(self, method: str, url: str, headers: dict[str, str], body: _Body) -> Response:
        self.requests += 1
        try:
            async with self.client.stream(
                method,
                url,
                headers=headers,
                json=body.json,
                data=body.form,
                timeout=self.timeout,
                follow_redirects=False,
            ) as stream:
                declared = stream.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(f"{_where(url)}: response of {declared} bytes is over the {self.max_bytes} limit")
                received = bytearray()
                async for chunk in stream.aiter_bytes():
                    received += chunk
                    if len(received) > self.max_bytes:
                        raise FetchError(f"{_where(url)}: response over the {self.max_bytes} bytes limit")
                return Response(str(stream.url), stream.status_code, stream.headers, bytes(received))
        except httpx.TimeoutException:
            raise _Retry(FetchError(f"no answer within {self.timeout:g} s"), None) from None
        except httpx.ConnectError as e:
            raise _Retry(FetchError(f"cannot connect ({_reason(e)})"), None) from None
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError) as e:
            raise _Retry(FetchError(f"connection broken ({_reason(e)})"), None) from None
        except httpx.HTTPError as e:
            raise FetchError(f"{_where(url)}: {_reason(e)}") from None

    def _read_budget(self, url: str, headers: httpx.Headers) -> None:
        """Every platform's rate-limit signal as one `Budget` per host.

        Requests left: Mastodon's and Reddit's X-RateLimit-*, X's x-rate-limit-*,
        Bluesky's RateLimit-* (the IETF draft's names). Meta's usage headers
        (X-App-Usage, X-Page-Usage, X-Business-Use-Case-Usage) give percentages used
        instead: they become a budget of 100 with the highest percentage spent.
        """
        budget = _announced_budget(headers, self.clock) or _meta_usage(headers, self.clock)
        if budget is not None:
            self.budgets[urlsplit(url).netloc] = budget

    async def _respect_budget(self, url: str) -> None:
        budget = self.budgets.get(urlsplit(url).netloc)
        if budget is None or budget.remaining is None or budget.remaining > 0 or budget.reset_at is None:
            return
        wait = budget.reset_at - self.clock()
        if wait > MAX_WAIT:
            raise FetchError(f"{_where(url)}: rate limit used up for the next {wait:.0f} s")
        if wait > 0:
            await self.sleep(wait)
        budget.remaining = None


@dataclass
class _Retry(Exception):
    error: FetchError
    wait: float | None


@dataclass(frozen=True)
class _Body:
    """A request body: JSON, or a urlencoded form (an OAuth token request)."""

    json: Any
    form: dict[str, str] | None

    def secrets(self) -> list[str]:
        """Values whose names say they are credentials (a password, a refresh token)."""
        fields = self.form if self.form is not None else self.json
        if not isinstance(fields, dict):
            return []
        return [
            v
            for k, v in fields.items()
            if isinstance(v, str) and any(word in k.lower() for word in ("password", "secret", "token"))
        ]


def _redact(message: str, secrets: list[str | None]) -> str:
    """The message with every credential sent (a token, an API key, a password) blanked out."""
    for secret in secrets:
        for value in _forms_of(secret):
            if len(value) >= 6:  # no real credential is shorter; a letter would mangle the line
                message = message.replace(value, "[redacted]")
    return message


def _forms_of(secret: str | None) -> list[str]:
    """A credential as sent and as a server may echo it: a header's value without its scheme."""
    if not secret:
        return []
    scheme, _, rest = secret.partition(" ")
    if not rest or scheme not in ("Bearer", "Basic"):
        return [secret]
    forms = [secret, rest]
    if scheme == "Basic":  # a client id and secret, each of which a server may echo
        try:
            forms += base64.b64decode(rest, validate=True).decode().split(":", 1)
        except ValueError:
            pass
    return forms


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _where(url: str) -> str:
    """The URL without its query string, which may carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _check_transport(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
        raise FetchError(f"{_where(url)}: refusing to send a credential over plain HTTP")


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:120] or type(error).__name__


def _client_error(response: Response) -> str:
    detail = ""
    try:
        data = json.loads(response.body)
        if isinstance(data, dict):
            value = data.get("error_description") or data.get("error") or data.get("message") or data.get("detail")
            if isinstance(value, dict):
                value = value.get("message")
            detail = str(value) if value else ""
    except ValueError:
        pass
    detail = " ".join(detail.split())[:120]
    meaning = {401: "credential refused or expired", 403: "not allowed", 404: "not found", 410: "gone"}
    text = f"HTTP {response.status} {meaning.get(response.status, '')}".rstrip()
    return f"{text}: {detail}" if detail else text


_LIMIT_NAMES = (
    ("x-ratelimit-remaining", "x-ratelimit-limit", "x-ratelimit-reset"),
    ("x-rate-limit-remaining", "x-rate-limit-limit", "x-rate-limit-reset"),
    ("ratelimit-remaining", "ratelimit-limit", "ratelimit-reset"),
)
META_USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage", "x-ad-account-usage")
_META_SHARES = ("call_count", "total_cputime", "total_time", "acc_id_util_pct")
"""The percentages of a limit a Meta usage entry reports; the highest one is what is left."""
META_WINDOW = 3600.0
"""Meta counts usage over a rolling hour: without an estimate, a spent budget waits that long."""


def _announced_budget(headers: httpx.Headers, clock: Callable[[], float]) -> Budget | None:
    for remaining_name, limit_name, reset_name in _LIMIT_NAMES:
        remaining = _first_int(headers, remaining_name)
        if remaining is not None:
            reset = headers.get(reset_name)
            return Budget(remaining, _first_int(headers, limit_name), _reset_at(reset, clock) if reset else None)
    return None


def _meta_usage(headers: httpx.Headers, clock: Callable[[], float]) -> Budget | None:
    """Meta's JSON usage percentages (a flat object, or business id → list of objects)."""
    used: list[float] = []
    regain: list[float] = []
    for name in META_USAGE_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        try:
            data = json.loads(value)
        except ValueError:
            continue
        entries = [data] if isinstance(data, dict) and "call_count" in data else []
        if isinstance(data, dict) and not entries:
            entries = [e for group in data.values() if isinstance(group, list) for e in group if isinstance(e, dict)]
        for entry in entries:
            used += [float(v) for k, v in entry.items() if k in _META_SHARES and isinstance(v, (int, float))]
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, (int, float)) and minutes > 0:
                regain.append(minutes * 60.0)
    if not used:
        return None
    remaining = max(0, 100 - int(max(used) + 0.999))
    wait = max(regain) if regain else (META_WINDOW if remaining == 0 else None)
    return Budget(remaining, 100, clock() + wait if wait is not None else None)


def _first_int(headers: httpx.Headers, *names: str) -> int | None:
    for name in names:
        value = headers.get(name)
        if value is not None:
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def _reset_at(value: str, clock: Callable[[], float]) -> float | None:
    """A reset given as epoch seconds, seconds from now, or an ISO/HTTP date."""
    now_wall = time.time()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        seconds = number - now_wall if number > 1e9 else number
        return clock() + max(seconds, 0.0)
    for parse in (_parse_iso, parsedate_to_datetime):
        try:
            moment = parse(value)
        except (TypeError, ValueError):
            continue
        return clock() + max(moment.timestamp() - now_wall, 0.0)
    return None


def _parse_iso(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _retry_after(headers: httpx.Headers, clock: Callable[[], float]) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    at = _reset_at(value, clock)
    return None if at is None else at - clock()
