"""A real WordPress for the tests: Debian's `wordpress` on Apache with mod_php, and MariaDB,
started once per test run on 127.0.0.1 (free ports, a temp dir for data, config and logs)
and seeded through WordPress's own PHP API (`wordpress/seed.php`).

The fixture first runs `.ci/real-wordpress.sh`, which installs the packages (quick when they
are there); when the Debian mirror cannot be reached it says so in one line, and
the tests skip with that line. Any other failure of it fails them.

The packaged services (`*:80`, `*:3306`) are never used. WordPress's Debian config is read
from `/etc/wordpress/config-<name>.php`, `<name>` from Apache's `SetEnv WORDPRESS_CONFIG`:
the fixture writes one under a name of its own and removes it at the end.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.real import NOT_ROOT

HERE = Path(__file__).parent / "wordpress"
SETUP = Path(__file__).parents[2] / ".ci" / "real-wordpress.sh"
UNREACHABLE = 75
START_TIMEOUT = 60.0
PR_SET_PDEATHSIG = 1
CONFIGS = Path("/etc/wordpress")
PREFIX = "twoway-test-"
"""Of the config file's name and the temp dir, followed by pytest's pid."""


@dataclass(frozen=True)
class Site:
    """The running site, installed and empty."""

    url: str
    config_name: str

    def php(self, *args: str, stdin: str = "") -> str:
        """`seed.php` against this site: `seed` (the content as JSON on stdin), `trash ID`, `untrash ID`."""
        return _run(["php", str(HERE / "seed.php"), self.config_name, *args], stdin)


def _run(argv: list[str], stdin: str = "") -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv[:3])}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _address(hex_address: str) -> str:
    """An address from /proc/net/tcp{,6}: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words)


def listening(pid: int) -> set[tuple[str, int]]:
    """Every TCP socket the process listens on, as (address, port)."""
    fds = Path(f"/proc/{pid}/fd")
    inodes = {target[8:-1] for fd in fds.iterdir() if (target := os.readlink(fd)).startswith("socket:[")}
    found: set[tuple[str, int]] = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                found.add((_address(address), int(port, 16)))
    return found


def _wait(ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not start (exit {process.poll()}):\n{tail}")
        time.sleep(0.1)


def _detached() -> None:
    """In a session of its own (Apache's prefork stops its children by signalling its whole
    process group, which would otherwise be pytest's), and sent SIGTERM if pytest dies."""
    os.setsid()
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextmanager
def server_process(argv: list[str], what: str, log: Path, ready: Callable[[], bool]) -> Iterator[int]:
    """A server process in the foreground, stopped (SIGTERM) on leaving; yields its pid."""
    with log.open("ab") as errors:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, preexec_fn=_detached)
    try:
        _wait(ready, what, process, log)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.TransportError:
        return False


def _mariadb(stack: ExitStack, tmp: Path, password: str) -> tuple[int, int]:
    """MariaDB with its own datadir on 127.0.0.1 and a `wordpress` database: (pid, port)."""
    data, sock, port = tmp / "mariadb", tmp / "mariadb.sock", free_port()
    _run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root", "--skip-test-db",
          "--auth-root-authentication-method=normal"])
    client = ["mariadb", "--no-defaults", f"--socket={sock}", "--user=root"]
    argv = ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
            "--bind-address=127.0.0.1", "--skip-name-resolve", "--user=root", f"--pid-file={tmp / 'mariadb.pid'}"]
    pid = stack.enter_context(server_process(argv, "mariadbd", tmp / "mariadb.log",
                                      lambda: subprocess.run([*client, "-e", "SELECT 1"], capture_output=True).returncode == 0))
    _run([*client, "-e", f"CREATE DATABASE wordpress; CREATE USER wordpress@'127.0.0.1' IDENTIFIED BY '{password}';"
          " GRANT ALL ON wordpress.* TO wordpress@'127.0.0.1';"])
    return pid, port


def _apache(stack: ExitStack, tmp: Path, port: int, config_name: str) -> int:
    """Apache with its own config file serving /usr/share/wordpress on 127.0.0.1: its pid."""
    (php_module,) = Path("/usr/lib/apache2/modules").glob("libphp*.so")
    conf = (HERE / "apache2.conf").read_text().format(tmp=tmp, port=port, php=php_module, config=config_name)
    (tmp / "apache2.conf").write_text(conf)
    argv = ["apache2", "-f", str(tmp / "apache2.conf"), "-DFOREGROUND"]
    return stack.enter_context(server_process(argv, "apache2", tmp / "apache2.log", lambda: _answers(f"http://127.0.0.1:{port}/readme.html")))


def _wordpress_config(stack: ExitStack, name: str, db_port: int, password: str, url: str) -> None:
    path = CONFIGS / f"config-{name}.php"
    path.write_text((HERE / "config.php").read_text().format(db=f"127.0.0.1:{db_port}", password=password, url=url))
    stack.callback(path.unlink, missing_ok=True)


def _sweep() -> None:
    """The config file and temp dir of a run killed before its teardown (its pid is gone)."""
    for path in (*CONFIGS.glob(f"config-{PREFIX}*.php"), *Path(tempfile.gettempdir()).glob(f"{PREFIX}*")):
        pid = path.name.removeprefix("config-").removeprefix(PREFIX).split("-")[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def _install() -> None:
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode == UNREACHABLE:
        pytest.skip(done.stdout.strip().splitlines()[-1])
    if done.returncode:
        pytest.fail(f"{SETUP.name}: exit {done.returncode}\n{done.stdout}{done.stderr}")


@contextmanager
def wordpress_site() -> Iterator[Site]:
    """The servers started and the site installed; all of it gone after."""
    _install()
    _sweep()
    with ExitStack() as stack:
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        password, port = secrets.token_hex(12), free_port()
        url = f"http://127.0.0.1:{port}"
        mariadb, db_port = _mariadb(stack, tmp, password)
        _wordpress_config(stack, name, db_port, password, url)
        apache = _apache(stack, tmp, port, name)
        assert listening(mariadb) == {("127.0.0.1", db_port)}
        assert listening(apache) == {("127.0.0.1", port)}
        site = Site(url, name)
        site.php("install")
        yield site
