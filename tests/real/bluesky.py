"""Bluesky's reference servers on 127.0.0.1: a PLC directory, a PDS and the bsky AppView
(`@atproto/dev-env`'s `TestNetwork`, on PostgreSQL and Redis), started once per test run,
and a library's Bluesky life seeded into it through the PDS's XRPC API.

`.ci/real-bluesky.sh` installs everything (quick when cached); when the package
registries cannot be reached it says so in one line, and the tests skip with that line.
"""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.real import NOT_ROOT

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "bluesky"
SETUP = ROOT / ".ci" / "real-bluesky.sh"
UNREACHABLE = 75
"""The setup script's exit code when the registries cannot be reached."""
POST = "app.bsky.feed.post"
WINDOW = timedelta(days=30)
PR_SET_PDEATHSIG = 1


# -- the servers -----------------------------------------------------------------------


@dataclass
class Network:
    """The running network's URLs (on 127.0.0.1) and who runs it."""

    pds: str
    appview: str
    plc: str
    pids: list[int]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(what: str, ready: Any, timeout: float, log: Path | None = None) -> Any:
    """Calls `ready()` until it returns something truthy; fails with `what` (and the log's tail) after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            pytest.fail(f"{what} within {timeout:.0f}s\n{tail}")
        time.sleep(0.2)


def as_postgres(*command: str) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def pg_tool(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else name


def listening(pids: list[int]) -> dict[int, str]:
    """The TCP sockets in LISTEN state that the processes `pids` hold: {port: local address (hex)}."""
    inodes: set[str] = set()
    for pid in pids:
        with_fds = Path(f"/proc/{pid}/fd")
        for fd in with_fds.iterdir() if with_fds.exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:
                address, port = local.rsplit(":", 1)
                found[int(port, 16)] = address
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
"""127.0.0.1, ::1 and ::ffff:127.0.0.1 as /proc/net/tcp{,6} write them."""


def group_pids(leader: int) -> list[int]:
    """Every process in `leader`'s process group."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:
            pids.append(int(stat.parent.name))
    return pids


def install() -> dict[str, str]:
    """Runs .ci/real-bluesky.sh: the node binary and node_modules folder it installed."""
    if os.geteuid() != 0:
        pytest.skip(NOT_ROOT)
    done = subprocess.run([str(SETUP)], capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode == UNREACHABLE:
        pytest.skip(lines[-1] if lines else "real Bluesky servers not installed: registries unreachable")
    if done.returncode != 0 or not lines:
        pytest.fail(f"{SETUP} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    paths: dict[str, str] = json.loads(lines[-1])
    return paths


def detached(user: str | None = None) -> Callable[[], None]:
    """A `preexec_fn`: the child gets a session of its own (its process group is ended at
    the end), runs as `user` if given, and is sent SIGTERM if pytest dies."""

    def run() -> None:
        os.setsid()
        if user:
            entry = pwd.getpwnam(user)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # after setuid, which clears it

    return run


def accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(work: Path, paths: dict[str, str], stack: list[subprocess.Popen[bytes]]) -> Network:
    """PostgreSQL, Redis and the Node network, each on 127.0.0.1; every process started is added to `stack`."""
    data = work / "pg"
    pg_user = "postgres" if os.geteuid() == 0 else None
    if pg_user:
        shutil.chown(work, pg_user)
    subprocess.run(
        as_postgres(pg_tool("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"),
        check=True,
        capture_output=True,
    )
    pg_port, redis_port = free_port(), free_port()
    with (work / "pg.log").open("wb") as pg_log:
        postgres = subprocess.Popen(
            [pg_tool("postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(pg_port), "-k", str(work), "-F",
             "-c", "max_connections=200"],
            stdout=pg_log,
            stderr=pg_log,
            preexec_fn=detached(pg_user),
        )
    stack.append(postgres)
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=detached(),
    )
    stack.append(redis)
    wait_for("PostgreSQL did not start", lambda: accepts(pg_port), 30, work / "pg.log")
    wait_for("Redis did not start", lambda: accepts(redis_port), 30)
    node_tmp = work / "node"
    node_tmp.mkdir()
    log = work / "network.log"
    env = {
        **os.environ,
        "TMPDIR": str(node_tmp),  # the PDS's data and blob folders, the port locks
        "TWOWAY_BLUESKY_MODULES": paths["modules"],
        "DB_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
        "REDIS_HOST": f"127.0.0.1:{redis_port}",
        "LOG_ENABLED": "false",
    }
    with log.open("wb") as err:
        node = subprocess.Popen(
            [paths["node"], "--require", str(HERE / "loopback.cjs"), str(HERE / "start.mjs")],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=HERE,
            preexec_fn=detached(),
        )
    stack.append(node)
    assert node.stdout is not None
    os.set_blocking(node.stdout.fileno(), False)
    out = bytearray()

    def ready() -> bytes | None:
        chunk = node.stdout.read() if node.stdout else None
        out.extend(chunk or b"")
        if node.poll() is not None:
            pytest.fail(f"the Bluesky network exited ({node.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        return bytes(out) if b"\n" in out else None

    urls = json.loads(wait_for("the Bluesky network did not start", ready, 180, log).split(b"\n", 1)[0])

    def local(url: str) -> str:
        return str(url).replace("//localhost:", "//127.0.0.1:")

    pids = [pid for process in stack for pid in group_pids(process.pid)]
    return Network(local(urls["pds"]), local(urls["appview"]), local(urls["plc"]), pids)


def stop(stack: list[subprocess.Popen[bytes]]) -> None:
    """Ends every process started, by process group, the last started first."""
    for process in reversed(stack):
        if process.stdout:
            process.stdout.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


PREFIX = "twoway-bluesky-"
"""Of the temp dir, followed by pytest's pid."""


def sweep() -> None:
    """Removes the temp dirs of runs that were killed (their servers died with them: PR_SET_PDEATHSIG)."""
    for left in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = left.name.removeprefix(PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(left, ignore_errors=True)


@pytest.fixture(scope="session")
def bluesky_network() -> Iterator[Network]:
    """The network, for the whole test run; removed with its data at the end."""
    paths = install()
    sweep()
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    stack: list[subprocess.Popen[bytes]] = []
    try:
        network = start(work, paths, stack)
        open_ports = listening(network.pids)
        for url in (network.pds, network.appview, network.plc):
            assert int(url.rsplit(":", 1)[1]) in open_ports, (url, open_ports)
        elsewhere = {port: address for port, address in open_ports.items() if address not in LOOPBACK}
        assert not elsewhere, f"sockets of the network listen beyond 127.0.0.1: {elsewhere}"
        yield network
    finally:
        stop(stack)
        shutil.rmtree(work, ignore_errors=True)


# -- a library's life on it -----------------------------------------------------------


@dataclass
class Made:
    """One record the seeding created, as the test will reason about it."""

    uri: str
    cid: str
    author: str
    """a handle"""
    created: datetime
    parent: Made | None = None
    mentions: bool = False
    text: str = ""
    deleted: bool = False

    @property
    def ref(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}

    @property
    def root(self) -> Made:
        return self.parent.root if self.parent else self

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[1]


@dataclass
class Account:
    handle: str
    did: str
    token: str


@dataclass
class Seeder:
    """Creates accounts and records through the PDS, and remembers what it made."""

    network: Network
    client: httpx.Client
    accounts: dict[str, Account] = field(default_factory=dict)
    posts: list[Made] = field(default_factory=list)
    likes: list[tuple[str, Made]] = field(default_factory=list)
    reposts: list[tuple[str, Made]] = field(default_factory=list)
    quotes: list[tuple[Made, Made]] = field(default_factory=list)
    """(the quote post, the post it quotes)"""

    def xrpc(self, nsid: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.post(f"{self.network.pds}/xrpc/{nsid}", json=body, headers=headers)
        assert response.status_code == 200, (nsid, response.text)
        data: dict[str, Any] = response.json()
        return data

    def account(self, handle: str) -> Account:
        data = self.xrpc(
            "com.atproto.server.createAccount",
            {"handle": handle, "email": f"{handle}@example.com", "password": f"main-{handle}"},
        )
        self.accounts[handle] = Account(handle, data["did"], data["accessJwt"])
        return self.accounts[handle]

    def app_password(self, handle: str) -> str:
        data = self.xrpc("com.atproto.server.createAppPassword", {"name": "twoway"}, self.accounts[handle].token)
        password: str = data["password"]
        return password

    def record(self, handle: str, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts[handle]
        body = {"repo": account.did, "collection": collection, "record": {"$type": collection, **record}}
        return self.xrpc("com.atproto.repo.createRecord", body, account.token)

    def post(
        self, handle: str, at: datetime, text: str, parent: Made | None = None, mention: str | None = None,
        quote: Made | None = None,
    ) -> Made:
        record: dict[str, Any] = {"text": text, "createdAt": stamp(at)}
        if parent:
            record["reply"] = {"root": parent.root.ref, "parent": parent.ref}
        if mention:
            name = f"@{mention}"
            start = text.encode().index(name.encode())
            record["facets"] = [
                {
                    "index": {"byteStart": start, "byteEnd": start + len(name.encode())},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": self.accounts[mention].did}],
                }
            ]
        if quote:
            record["embed"] = {"$type": "app.bsky.embed.record", "record": quote.ref}
        data = self.record(handle, POST, record)
        made = Made(data["uri"], data["cid"], handle, at, parent, mentions=mention is not None, text=text)
        if quote:
            self.quotes.append((made, quote))
        else:
            self.posts.append(made)
        return made

    def like(self, handle: str, post: Made, at: datetime) -> None:
        self.record(handle, "app.bsky.feed.like", {"subject": post.ref, "createdAt": stamp(at)})
        self.likes.append((handle, post))

    def repost(self, handle: str, post: Made, at: datetime) -> None:
        self.record(handle, "app.bsky.feed.repost", {"subject": post.ref, "createdAt": stamp(at)})
        self.reposts.append((handle, post))

    def delete(self, post: Made) -> None:
        account = self.accounts[post.author]
        self.xrpc(
            "com.atproto.repo.deleteRecord", {"repo": account.did, "collection": POST, "rkey": post.rkey}, account.token
        )
        post.deleted = True

    # -- waiting for the AppView ----------------------------------------------------------

    def indexed(self) -> None:
        """Waits until the AppView shows every author's posts as seeded (deletions included)
        and the counters of every post that was liked, reposted or quoted."""

        lag: list[str] = []

        def caught_up() -> bool:
            lag.clear()
            for handle in self.accounts:
                made = self.posts + [q for q, _ in self.quotes]
                want = {p.uri for p in made if p.author == handle and not p.deleted}
                reposted = {f"repost:{p.uri}" for who, p in self.reposts if who == handle}
                if handle == LIBRARY:  # the collector sees its own reposts in its feed; others' by the counters
                    want |= reposted
                if (seen := self.author_feed(handle) - (set() if handle == LIBRARY else reposted)) != want:
                    lag.append(f"{handle}'s feed: {sorted(seen ^ want)}")
                    return False
            targets = {p.uri: p for _, p in self.likes + self.reposts + self.quotes}
            live = [p for p in targets.values() if not p.deleted]
            for start in range(0, len(live), 25):
                params = {"uris": [p.uri for p in live[start : start + 25]]}
                views = self.client.get(f"{self.network.appview}/xrpc/app.bsky.feed.getPosts", params=params)
                for view in views.json()["posts"]:
                    post = next(p for p in live if p.uri == view["uri"])
                    counts = (view["likeCount"], view["repostCount"], view["quoteCount"])
                    made_counts = tuple(self.count(made, post) for made in (self.likes, self.reposts, self.quotes))
                    if counts != made_counts:
                        lag.append(f"{post.uri}: likes, reposts, quotes {counts}, not {made_counts}")
                        return False
            return True

        try:
            wait_for("the AppView did not index the seeded records", caught_up, 60)
        except pytest.fail.Exception as error:
            raise pytest.fail.Exception(f"{error}: {lag}") from None

    def author_feed(self, handle: str) -> set[str]:
        params: dict[str, Any] = {"actor": self.accounts[handle].did, "filter": "posts_with_replies", "limit": 100}
        data = self.client.get(f"{self.network.appview}/xrpc/app.bsky.feed.getAuthorFeed", params=params).json()
        seen = set()
        for item in data.get("feed", []):
            reposted = (item.get("reason") or {}).get("$type", "").endswith("#reasonRepost")
            seen.add(f"repost:{item['post']['uri']}" if reposted else item["post"]["uri"])
        return seen

    @staticmethod
    def count(pairs: list[tuple[Any, Made]], post: Made) -> int:
        return sum(1 for _, p in pairs if p is post)


def stamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the library's month -------------------------------------------------------------------

LIBRARY, STAFF = "library.test", "jane.test"
COMMUNITY = ("alice.test", "bob.test", "carol.test")


@dataclass
class Library:
    """The seeded world: what was made (`seeder`), the posts by name, when the seeding
    started (`t0`, every post is dated before it) and the library's app password."""

    seeder: Seeder
    named: dict[str, Made]
    t0: datetime
    app_password: str


def seed(seeder: Seeder, t0: datetime) -> dict[str, Made]:
    """A library's last two windows (30 days each): broadcasts, replies at several depths,
    staff answers, mentions, likes, reposts (the library's own among them) and a quote."""
    for handle in (LIBRARY, STAFF, *COMMUNITY):
        seeder.account(handle)
    alice, bob, carol = COMMUNITY
    post = seeder.post

    def h(hours: float) -> datetime:
        return t0 - timedelta(hours=hours)

    n: dict[str, Made] = {}

    # the current window
    n["b1"] = post(LIBRARY, h(48), "Summer reading starts today #SummerReading")
    n["r1"] = post(alice, h(47), "Count me in", n["b1"])
    n["s1"] = post(LIBRARY, h(46), "Welcome, Alice!", n["r1"])
    n["r2"] = post(alice, h(45), "Where do I sign up?", n["s1"])  # depth 3
    n["j1"] = post(STAFF, h(44.5), "At any desk", n["r2"])  # a staff response, depth 4
    n["r3"] = post(bob, h(40), "Thanks @library.test", n["b1"], mention=LIBRARY)  # a mention that is a reply
    n["r4"] = post(carol, h(39), "Is there a list for kids?", n["b1"])
    n["s2"] = post(LIBRARY, h(38), "Yes, at the front desk", n["r4"])  # deleted after the first cycle
    for who in COMMUNITY:
        seeder.like(who, n["b1"], h(36))
    seeder.repost(alice, n["b1"], h(36))
    seeder.repost(bob, n["b1"], h(36))
    seeder.repost(LIBRARY, n["b1"], h(35))  # the library's own repost of its broadcast
    n["q1"] = post(carol, h(37), "Look at this", quote=n["b1"])
    n["b2"] = post(LIBRARY, h(30), "Story time at 10")
    n["r5"] = post(bob, h(29), "See you there", n["b2"])
    n["j2"] = post(STAFF, h(27), "See you!", n["r5"])
    seeder.like(alice, n["b2"], h(26))
    n["b3"] = post(LIBRARY, h(20), "Closed on Monday")  # deleted after the first cycle, with its thread
    n["r6"] = post(alice, h(19), "Oh no", n["b3"])
    seeder.like(carol, n["b3"], h(18))
    seeder.repost(bob, n["b3"], h(18))
    n["m1"] = post(bob, h(10), "Hey @library.test, are you open late?", mention=LIBRARY)
    n["s3"] = post(LIBRARY, h(9), "Until 8 tonight", n["m1"])
    n["m2"] = post(carol, h(8), "@library.test has the best books", mention=LIBRARY)  # unanswered

    # the baseline window, 40 days back
    d = t0 - timedelta(days=40)
    n["b0"] = post(LIBRARY, d, "Last month's reading #SummerReading")
    n["r0"] = post(alice, d + timedelta(hours=1), "Loved it", n["b0"])
    n["r0b"] = post(bob, d + timedelta(hours=2), "Me too", n["b0"])  # unanswered
    n["s0"] = post(LIBRARY, d + timedelta(hours=3), "Thank you!", n["r0"])
    n["m0"] = post(carol, d + timedelta(hours=4), "Hi @library.test", mention=LIBRARY)
    n["s4"] = post(LIBRARY, d + timedelta(hours=5), "Hi Carol", n["m0"])
    seeder.like(carol, n["b0"], d + timedelta(hours=6))
    seeder.repost(carol, n["b0"], d + timedelta(hours=6))
    return n


@pytest.fixture(scope="session")
def bluesky_library(bluesky_network: Network) -> Iterator[Library]:
    """The network with the library's two windows seeded and indexed by the AppView."""
    t0 = datetime.now(timezone.utc).replace(microsecond=0)
    with httpx.Client(timeout=30) as client:
        seeder = Seeder(bluesky_network, client)
        named = seed(seeder, t0)
        password = seeder.app_password(LIBRARY)
        seeder.indexed()
        yield Library(seeder, named, t0, password)
