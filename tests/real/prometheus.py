"""A real Prometheus for the tests: Debian's `prometheus` package, started on 127.0.0.1 (a free
port, a temp dir for its data) with a scrape config the test writes, and its `promtool`.

The fixture first runs `.ci/real-prometheus.sh`, which installs the package (quick when it
is there); when the Debian mirror cannot be reached it says so in one line, and the tests
skip with that line. Any other failure of it fails them. Without root, the tests run on a
Prometheus already installed, else skip with one line. The packaged service (`*:9090`)
is never started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.real.wordpress import free_port, listening, server_process

SETUP = Path(__file__).parents[2] / ".ci" / "real-prometheus.sh"
UNREACHABLE = 75
START_TIMEOUT = 60.0

__all__ = ["Prometheus", "install", "prometheus_server", "promtool"]


def install() -> None:
    """Debian's `prometheus` (with `promtool`), installed by `.ci/real-prometheus.sh`, or a skip saying why not."""
    if os.geteuid() != 0:
        if shutil.which("prometheus") and shutil.which("promtool"):
            return
        pytest.skip("Prometheus is not installed and installing it needs root: run the suite as root, as CI does")
    done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode == UNREACHABLE:
        pytest.skip(done.stdout.strip().splitlines()[-1])
    if done.returncode:
        pytest.fail(f"{SETUP.name}: exit {done.returncode}\n{done.stdout}{done.stderr}")


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query through the HTTP API: its result vector (a failed query fails the test)."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def wait_for(self, expr: str) -> list[dict[str, Any]]:
        """The query's result once it is not empty (after the first scrape), within START_TIMEOUT."""
        deadline = time.monotonic() + START_TIMEOUT
        while not (result := self.query(expr)):
            assert time.monotonic() < deadline, f"Prometheus has no {expr} after {START_TIMEOUT} s"
            time.sleep(0.2)
        return result


@contextmanager
def prometheus_server(tmp: Path, target: str, labels: dict[str, str], extra: str = "") -> Iterator[Prometheus]:
    """Prometheus scraping `target` (HOST:PORT) every second as job `twoway`, with `labels` on it,
    and evaluating rules every second; `extra` is more top-level config (`rule_files: [...]`)."""
    port = free_port()
    config = tmp / "prometheus.yml"
    static = ", ".join(f'{k}: "{v}"' for k, v in labels.items())
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        f"{extra}scrape_configs:\n  - job_name: twoway\n    static_configs:\n"
        f'      - targets: ["{target}"]\n        labels: {{{static}}}\n',
        encoding="utf-8",
    )
    argv = [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    with server_process(argv, "prometheus", tmp / "prometheus.log", ready) as pid:
        assert listening(pid) == {("127.0.0.1", port)}
        yield Prometheus(url)
