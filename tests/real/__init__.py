"""Tests against the platforms' own server software, started by the suite on 127.0.0.1 (pytest -m real_server)."""
