"""Credentials never leak: not into the store, the output of any command, or an error line.

A Mastodon source collects with its token set; a second source's server answers 401
with the token it was sent echoed back. Then every byte the store wrote and every
format `snapshot` prints are searched for the token.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.collecting import Stage, collect_once, fake_sleep, played  # noqa: F401
from tests.fakes.mastodon import MASTODON, TOKEN, World
from tests.replay import json_reply, replay_server
from twoway.cli import main

world = played(MASTODON)
"""The Mastodon scenario served on a replay server, its token (TOKEN) in the environment, its config written."""


def _outputs(config: Path) -> list[str]:
    texts = []
    for fmt in ("text", "json", "csv", "markdown", "prometheus"):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["--config", str(config), "snapshot", "--no-poll", "--format", fmt])
        texts += [out.getvalue(), err.getvalue()]
    return texts


def test_a_token_is_found_nowhere_after_collecting(world: Stage[World]) -> None:
    config = world.config
    with replay_server() as echo:
        echo.route("GET", "/*", lambda r: json_reply({"error": f"revoked: {r.headers.get('authorization')}"}, 401))
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text
            + f'\n[[sources]]\nid = "echo"\nplatform = "mastodon"\ninstance = "{echo.url}"\naccount = "x"\n'
            'token = { env = "TEST_MASTODON_TOKEN" }\n',
            encoding="utf-8",
        )
        code, stderr = collect_once(config)
        assert echo.requests() and echo.requests()[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert code == 1 and "echo" in stderr and "[redacted]" in stderr
    assert TOKEN not in stderr
    for output in _outputs(config):
        assert TOKEN not in output
    for stored in config.parent.glob("store.db*"):
        assert TOKEN.encode() not in stored.read_bytes(), stored.name


def test_credentials_in_the_config_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[organization]\nname = "T"\n[[sources]]\nid = "m"\nplatform = "mastodon"\n'
        'instance = "https://glammr.us"\naccount = "library"\ntoken = "plain-secret-in-file"\n'
    )
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--config", str(config), "check-config"]) == 2
    assert "secrets never sit in the file" in err.getvalue()
    assert "plain-secret-in-file" not in err.getvalue()


@pytest.mark.parametrize("scheme", ["http"])
def test_credentials_never_go_over_plain_http_to_another_machine(tmp_path: Path, scheme: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[organization]\nname = "T"\n[[sources]]\nid = "m"\nplatform = "mastodon"\n'
        f'instance = "{scheme}://glammr.us"\naccount = "library"\ntoken = {{ env = "T_TOKEN" }}\n'
    )
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--config", str(config), "check-config"]) == 2
    assert "sources[0]" in err.getvalue()


async def test_a_token_is_found_on_none_of_the_app_screens(world: Stage[World]) -> None:
    from twoway.config import load_config
    from twoway.wiring import build_app

    config = world.config
    app = build_app(load_config(config), demo=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if app.report is not None and app.polls:
                    break
            screens = [app.export_screenshot()]
            for keys in (["enter"], ["escape", "s"], ["escape", "question_mark"]):
                await pilot.press(*keys)
                await pilot.pause(0.2)
                screens.append(app.export_screenshot())
        assert app.polls and all(TOKEN not in screen for screen in screens)
    finally:
        app.store.close()
