"""Tests against the platforms' own server software, started by the suite on 127.0.0.1 (pytest -m real_server)."""

NOT_ROOT = (
    "the real-server tests install Debian packages and start PostgreSQL and MariaDB as their own users:"
    " run the suite as root, as CI does (docs/real-servers.md)"
)
