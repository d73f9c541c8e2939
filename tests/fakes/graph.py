"""What Meta's Graph APIs (Facebook, Instagram, Threads) share: cursor paging, OAuth errors, times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

from tests.replay import ReplayServer, Reply, Request, json_reply


def graph_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_page(request: Request, items: list[dict[str, Any]], size: int, headers: dict[str, str], *,
               next_link: bool = True) -> Reply:
    """Graph's cursor paging: `after` is an opaque cursor (here the next index), `next` while more follow,
    and the `next` URL repeats the caller's token, as Graph does."""
    start = int(request.arg("after") or 0)
    chunk = items[start : start + min(int(request.arg("limit") or 25), size)]
    paging: dict[str, Any] = {}
    if chunk:
        paging["cursors"] = {"before": str(start), "after": str(start + len(chunk))}
        if next_link and start + len(chunk) < len(items):
            token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
            paging["next"] = f"https://graph.facebook.com{request.path}?access_token={token}&after={start + len(chunk)}"
    return json_reply({"data": chunk, "paging": paging}, headers=headers)


def graph_error(code: int, message: str, status: int = 400, subcode: int | None = None) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return json_reply({"error": error}, status)



SESSION_EXPIRED = graph_error(190, "Error validating access token: Session has expired on Friday, 26-Jun-26.", 400, 463)


def graph_gate(request: Request, token: str, refused: dict[str, Reply], expired: Reply = SESSION_EXPIRED) -> Reply | None:
    """What Graph answers before it reads anything: a token it does not know (`expired`), a token
    sent in the query string, a path the token may not read (`refused`); None when it may go on."""
    if request.headers.get("authorization") != f"Bearer {token}":
        return expired
    if "access_token" in request.query:
        return graph_error(100, "the token went into the query")
    return refused.get(request.path)


def comment_reads(server: ReplayServer) -> list[str]:
    """The posts (Facebook) or media (Instagram) whose comments were read: each a thread."""
    return [r.path.split("/")[2] for r in server.requests("/v21.0/") if r.path.endswith("/comments")]


@dataclass
class GraphFake:
    """What the Graph fakes share: the server they answer on (every path under `base`), the
    usage headers they send, the paths they refuse, the ids they hand out."""

    server: ReplayServer
    usage: dict[str, str] = field(default_factory=dict)
    refused: dict[str, Reply] = field(default_factory=dict)
    seq: int = 0
    base: ClassVar[str] = "/v21.0/"

    def __post_init__(self) -> None:
        self.server.route("GET", self.base + "*", self.handle)

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError
