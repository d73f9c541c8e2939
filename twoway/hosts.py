"""Whether a host is this machine: the one place credentials may go over plain HTTP
(tests, a local proxy). The config check and the HTTP layer ask the same question."""

from __future__ import annotations

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """`localhost` (and `*.localhost`, RFC 6761), `localhost.localdomain`, or a loopback address."""
    host = host.strip("[]").casefold()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    import ipaddress  # only when a URL needs checking: not on every snapshot's start-up

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
