"""`--metrics HOST:PORT`: `/metrics` and `/healthz` served beside the polling (SPEC §11).

`prometheus_client`'s own WSGI app answers `/metrics` (content negotiation, gzip,
`name[]` filters); a small dispatcher in front adds `/healthz` and keeps every failure
to one plain line, since a traceback from a server thread must never reach the
dashboard's screen or a collector's log. Requests are handled one thread each, so a
slow scrape never holds up a health check.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import make_wsgi_app

from twoway.errors import UsageError
from twoway.text import neutralize

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from prometheus_client.registry import CollectorRegistry

    from twoway.report import SourceReport

__all__ = ["MetricsServer", "health"]


def health(sources: Sequence[SourceReport]) -> tuple[bool, str]:
    """Healthy unless every polled source is in error; the line says which sources fail and why."""
    failing = [s for s in sources if s.status == "error"]
    if sources and len(failing) == len(sources):
        return False, "every source is in error: " + "; ".join(f"{s.id}: {s.error}" for s in failing)
    return True, f"ok: {len(sources)} sources, {len(failing)} in error"


class _Quiet(WSGIRequestHandler):
    """Logs nothing: not each request, not a client that hung up mid-answer."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def get_stderr(self) -> Any:
        return _Discard()


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class MetricsServer:
    """`/metrics` from `registry` and `/healthz` from `check`, on exactly `host:port`, until `stop()`."""

    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, check: Callable[[], tuple[bool, str]]
    ) -> None:
        metrics = make_wsgi_app(registry)

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/metrics":
                try:
                    return metrics(environ, start_response)  # type: ignore[no-any-return]
                except Exception as e:  # the store unreadable now: this scrape fails, the process goes on
                    return _plain(start_response, "500 Internal Server Error", f"cannot read the store: {e}")
            if path == "/healthz":
                try:
                    ok, line = check()
                except Exception as e:
                    ok, line = False, f"cannot read the store: {e}"
                return _plain(start_response, "200 OK" if ok else "503 Service Unavailable", line)
            return _plain(start_response, "404 Not Found", "twoway serves /metrics and /healthz")

        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
            server_class = _Server6 if family == socket.AF_INET6 else _Server
            self._server = make_server(host, port, app, server_class=server_class, handler_class=_Quiet)
        except OSError as e:
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise UsageError(f"--metrics {where}: cannot listen there ({e.strerror or e})") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="twoway-metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    """A scrape in progress never keeps the process from exiting."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-answer is not worth a traceback."""


class _Server6(_Server):
    address_family = socket.AF_INET6


def _plain(start_response: StartResponse, status: str, line: str) -> list[bytes]:
    body = (" ".join(neutralize(line).split()) + "\n").encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
