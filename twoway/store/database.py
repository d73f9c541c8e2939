"""The store, on SQLite or PostgreSQL: the only place that speaks SQL.

Collectors hand it `Batch`es; it writes each in one transaction, so a crash loses at
most that poll and readers never see half of one. Storing the same batch twice
changes nothing.

Roles (broadcast, reply, response, mention, ...) are *derived* here from the raw
posts and the organization's accounts, per thread, whenever a thread changes or the
set of organization accounts does. The metrics engine then only counts rows with
indexed range scans instead of walking reply trees at read time.

The SQL is the same on both (no SQLite-only functions); `dialect` says where the two
differ (placeholders, column types, the schema version, how transactions begin) and
`postgres` how PostgreSQL is reached.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from twoway.errors import StoreError
from twoway.hours import OpeningHours
from twoway.matching import matched_keywords, normalize_hashtag, normalize_link
from twoway.report import PARTS, Part
from twoway.store.derive import Derivation, ThreadPost
from twoway.store.dialect import SQLITE, Connection, Dialect, Lock
from twoway.store.packing import Page, page, voice
from twoway.store.postgres import PgTarget
from twoway.store.schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    from twoway.model import Batch, Counters, Post
    from twoway.store.alert_ledger import AlertLedger

__all__ = ["DoneMark", "ImportRecord", "SourceState", "Store", "StorePolicy", "default_path"]

_COUNTERS = ("replies", "reposts", "quotes", "likes")
DAY = 86400


def default_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("twoway") / "twoway.db"


def _ts(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: collectors must give aware UTC times")
    return int(moment.timestamp())


def _dt(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


_BUSY_MS = 30_000
"""Once open, how long a statement waits for another process's write transaction."""
_NO_STORE = "no store yet: run `twoway collect --once` first"


def _busy(error: sqlite3.Error) -> bool:
    return str(error).startswith(("database is locked", "database is busy"))


def _journal_mode_wal(conn: sqlite3.Connection, deadline: float) -> None:
    """Switch to WAL (a no-op once it is). Switching needs the file to itself: while other
    processes open the new store too, SQLite may answer "database is locked" at once
    (it does not wait when waiting could deadlock), so try again until `deadline`."""
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as e:
            if not _busy(e) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _open_error(path: Path, policy: StorePolicy, error: sqlite3.Error, doing: str) -> StoreError:
    """One line: another process kept the store locked past the timeout, or what SQLite said."""
    if _busy(error):
        return StoreError(
            f"{path}: another twoway is creating or upgrading the store and did not finish"
            f" within {policy.timeout:g} s ([dashboard] timeout): try again"
        )
    return StoreError(f"{path}: {doing}: {error}")


def _readable(name: Path | PgTarget, version: int) -> None:
    """A reader never migrates: a store to create or upgrade says what to run."""
    if version == 0:  # created a moment ago, its tables not committed yet (or never)
        raise StoreError(f"{name}: {_NO_STORE}")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{name}: made by a newer twoway (schema {version}); upgrade twoway")
    if version < SCHEMA_VERSION:
        raise StoreError(f"{name}: older schema {version}: run `twoway migrate` to upgrade it")


class StorePolicy(NamedTuple):
    """What the configuration says about storing: who is staff, which keywords, which text."""

    also: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    keep_community_text: bool = False
    hours: OpeningHours | None = None
    """Response waits count opening hours only when set."""
    timeout: float = 10.0
    """`[dashboard] timeout`: how long opening waits for another process migrating the store."""
    horizon: int | None = None
    """Seconds a source's first backfill reaches back (twice the longest window, as collectors
    are told): a first successful poll covers from its time minus this (SPEC §3)."""

    @property
    def signature(self) -> str:
        """What derived data depends on: when it changes, every thread is derived again."""
        return "|".join([",".join(sorted(self.also)), str(self.hours or "")])

    def wait(self, start: int, end: int) -> int:
        """Seconds from `start` to `end` on the response clock."""
        if self.hours is None:
            return max(end - start, 0)
        return round(self.hours.open_seconds(_dt(start), _dt(end)))  # type: ignore[arg-type]


class ImportRecord(NamedTuple):
    """One file imported into a source (SPEC §6): the provenance of its numbers."""

    file: str
    format: str
    exported_at: datetime
    imported_at: datetime
    posts: int
    first_at: datetime | None
    """The oldest and newest post in the file: which windows the file's numbers reach."""
    last_at: datetime | None


class DoneMark(NamedTuple):
    """A community message marked "no reply needed" (SPEC §9): which, written when, marked when."""

    source_id: str
    post_id: str
    written_at: datetime
    marked_at: datetime | None
    """`None` from `unmark_done` for a message that was not marked."""


def _mark(source_id: str, post_id: str, written: int, marked: int | None) -> DoneMark:
    return DoneMark(source_id, post_id, _dt(written), _dt(marked))  # type: ignore[arg-type]


class SourceState(NamedTuple):
    source_id: str
    platform: str
    measures: frozenset[Part] | None
    cursor: str | None
    followers: int | None
    last_success: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    lease_owner: str | None
    lease_until: datetime | None
    down_since: datetime | None = None
    """The first failed poll since the last success: `source down > 30m` counts from it (SPEC §9)."""


class Store:
    """A connection to the store; `Store.open` for writers, `Store.open_readonly` for readers."""

    def __init__(
        self, conn: Connection, policy: StorePolicy, *, readonly: bool, dialect: Dialect = SQLITE
    ) -> None:
        self.conn = conn
        self.policy = policy
        self.readonly = readonly
        self.dialect = dialect
        self._dirty: set[tuple[str, str, int]] = set()
        self._lock = threading.RLock()
        self._salt = self._meta("salt") or ""

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | PgTarget, policy: StorePolicy = StorePolicy()) -> Store:
        """Open for writing, creating and migrating as needed.

        Many processes may open a new store at once (`collect` from cron, a `snapshot`):
        whoever needs to migrate does it under the store's exclusive lock and first reads
        the schema version again, so one migrates and the others find it done. Waiting for
        another's migration takes at most `policy.timeout`, then a `StoreError` says so.
        """
        deadline = time.monotonic() + policy.timeout
        if isinstance(path, PgTarget):
            return cls._open_postgres(path, policy, deadline)
        path = path.expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # the store holds community data: readable by its owner only
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(path, timeout=policy.timeout, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"{path}: cannot open the store: {e}") from None
        try:
            _journal_mode_wal(conn, deadline)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, policy, readonly=False)
            store._migrate(path, deadline)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")  # opened: writers queue as they always did
        except sqlite3.Error as e:
            conn.close()
            raise _open_error(path, policy, e, "cannot open the store") from None
        except BaseException:
            conn.close()
            raise
        store._salt = store._meta("salt") or ""
        return store

    @classmethod
    def _open_postgres(cls, target: PgTarget, policy: StorePolicy, deadline: float) -> Store:
        from twoway.store.postgres import connect, failures

        conn, dialect = connect(target, policy.timeout)
        with failures(target, policy.timeout, conn, "cannot open the store"):
            store = cls(conn, policy, readonly=False, dialect=dialect)
            store._migrate(target, deadline)
            store._salt = store._meta("salt") or ""
        return store

    @classmethod
    def open_readonly(cls, path: Path | PgTarget, policy: StorePolicy = StorePolicy()) -> Store:
        """Open for reading only: a snapshot that does not poll never writes.

        The connection is one read transaction for its life (a report's): every query sees
        the same committed state, never a source's status from before a poll beside its
        posts after.
        """
        if isinstance(path, PgTarget):
            return cls._open_postgres_readonly(path, policy)
        path = path.expanduser()
        if not path.exists():
            raise StoreError(f"{path}: {_NO_STORE}")
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=policy.timeout, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise StoreError(f"{path}: cannot read the store: {e}") from None
        try:
            version = SQLITE.version(conn)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        except sqlite3.Error as e:
            conn.close()
            raise _open_error(path, policy, e, "cannot read the store") from None
        if version != SCHEMA_VERSION:
            conn.close()
        _readable(path, version)
        conn.execute(SQLITE.read)
        return cls(conn, policy, readonly=True)

    @classmethod
    def _open_postgres_readonly(cls, target: PgTarget, policy: StorePolicy) -> Store:
        from twoway.store.postgres import connect, failures

        conn, dialect = connect(target, policy.timeout)
        with failures(target, policy.timeout, conn, "cannot read the store"):
            version = dialect.version(conn)
            if version != SCHEMA_VERSION:
                conn.close()
            _readable(target, version)
            conn.execute(dialect.read)
            return cls(conn, policy, readonly=True, dialect=dialect)

    def close(self) -> None:
        self.conn.close()

    @property
    def ledger(self) -> AlertLedger:
        """The alert ledger over this connection (SPEC §9): its SQL lives in `alert_ledger`."""
        from twoway.store.alert_ledger import AlertLedger

        return AlertLedger(self)

    def _migrate(self, name: Path | PgTarget, deadline: float) -> None:
        """Bring the schema and the derived data up to date, under the exclusive lock.

        Only a store that needs it takes the lock; the version is read again once it is
        held, since another process may have migrated it while this one waited.
        """
        version = self.dialect.version(self.conn)
        if version > SCHEMA_VERSION:
            raise StoreError(f"{name}: made by a newer twoway (schema {version}); upgrade twoway")
        if version == SCHEMA_VERSION and self._meta("derived_with") == self.policy.signature:
            return
        remaining = max(deadline - time.monotonic(), 0.001)
        with self.transaction("EXCLUSIVE", wait_ms=int(remaining * 1000)):
            self.dialect.create_schema(self.conn)
            version = self.dialect.version(self.conn)
            if version > SCHEMA_VERSION:
                raise StoreError(f"{name}: made by a newer twoway (schema {version}); upgrade twoway")
            for target in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self.conn.execute(self.dialect.ddl(statement))
                if target == 0:
                    import secrets

                    self.conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(16),)
                    )
                self.dialect.set_version(self.conn, target + 1)
            self._salt = self._meta("salt") or ""
            if self._meta("derived_with") != self.policy.signature:
                self._derive_all()
                self._set_meta("derived_with", self.policy.signature)

    @contextmanager
    def transaction(self, lock: Lock = "IMMEDIATE", *, wait_ms: int = 0) -> Iterator[None]:
        """One write transaction, begun so that two writers queue instead of failing (`dialect`).

        The lock lets polls write from worker threads through this one connection.
        """
        with self._lock:
            for statement in self.dialect.begin(lock, wait_ms):
                self.conn.execute(statement)
            self._dirty = set()
            try:
                yield
                self._rebuild_pages()
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except self.dialect.missing_table:
            return None
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- identities ----------------------------------------------------------------

    def author_hash(self, platform: str, author_id: str) -> str:
        """A salted hash: community members are never stored by their platform id."""
        import hashlib  # writers only: a snapshot never hashes

        digest = hashlib.sha256(f"{self._salt}\0{platform}\0{author_id}".encode())
        return digest.hexdigest()[:24]

    def organization_hashes(self) -> set[str]:
        """Every organization account the configuration names now (its sources and `also`)."""
        placeholders = ",".join("?" * len(self.policy.also))
        also_clause = f" OR origin IN ({placeholders})" if self.policy.also else ""
        rows = self.conn.execute(
            f"SELECT author_hash FROM accounts WHERE origin = 'source'{also_clause}", self.policy.also
        )
        return {r[0] for r in rows}

    # -- writing -------------------------------------------------------------------

    def write(self, batch: Batch, *, covers_from: datetime | None = None) -> None:
        """Store one poll's records and the source's success, all or nothing.

        A source's first successful poll records from when its data exists: `covers_from`
        when given (the demo's history), else the poll's time minus the policy's `horizon`.
        """
        with self.transaction():
            self._write(batch)
            if batch.imported is None:
                self._cover(batch, covers_from)

    def _cover(self, batch: Batch, covers_from: datetime | None) -> None:
        if covers_from is None and self.policy.horizon is not None:
            covers_from = datetime.fromtimestamp(_ts(batch.polled_at) - self.policy.horizon, timezone.utc)
        if covers_from is not None:
            self.conn.execute(
                "UPDATE sources SET covers_from = COALESCE(covers_from, ?) WHERE source_id = ?",
                (_ts(covers_from), batch.source_id),
            )

    def coverage(self) -> dict[str, datetime]:
        """Source id → from when its data exists (SPEC §3): its first backfill's horizon or its
        earliest imported post, whichever is older; without a recorded horizon (a source only
        imports fill, a policy without one) its earliest stored broadcast or mention.
        A source with no data at all is absent."""
        found: dict[str, datetime] = {}
        rows = self.conn.execute(
            "SELECT s.source_id, s.covers_from, (SELECT MIN(i.first_at) FROM imports i"
            " WHERE i.source_id = s.source_id) FROM sources s"
        ).fetchall()
        for sid, covers, imported in rows:
            known = [t for t in (covers, imported) if t is not None]
            if covers is None:
                known += [
                    t
                    for kind in ("broadcast", "mention")
                    for (t,) in self.conn.execute(
                        "SELECT MIN(at) FROM units WHERE source_id = ? AND kind = ?", (sid, kind)
                    )
                    if t is not None
                ]
            if known:
                found[sid] = datetime.fromtimestamp(min(known), timezone.utc)
        return found

    def _write(self, batch: Batch) -> None:
        sid, platform = batch.source_id, batch.platform
        self._ensure_source(sid, platform)
        org_changed = False
        for account in batch.accounts:
            cur = self.conn.execute(
                "INSERT INTO accounts (source_id, author_hash, handle, origin) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source_id, author_hash, origin) DO NOTHING",
                (sid, self.author_hash(platform, account.author_id), account.handle, account.origin),
            )
            org_changed |= cur.rowcount > 0
        org = self.organization_hashes()
        roots: set[str] = set()
        # a file imported into a polled source (an archive into the Mastodon source) only adds:
        # what polling stored, deletions and threads included, is newer than any export
        keep = batch.imported is not None and batch.imported.format != platform
        for post in batch.posts:
            roots.add(self._upsert_post(sid, platform, post, org, keep=keep))
        source = batch.imported.file if batch.imported else None
        for counters in batch.counters:
            self._observe(sid, counters, source)
        for reaction in batch.reactions:
            self.conn.execute(
                "INSERT INTO reactions (source_id, post_id, kind, author_hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source_id, post_id, kind, author_hash) DO NOTHING",
                (sid, reaction.post_id, reaction.kind, self.author_hash(platform, reaction.author_id)),
            )
        affected = {r.post_id for r in batch.reactions}
        for chunk in _chunks(sorted(set(batch.deleted))):
            marks = ",".join("?" * len(chunk))
            self.conn.execute(
                f"UPDATE posts SET deleted = 1 WHERE source_id = ? AND post_id IN ({marks})", (sid, *chunk)
            )
            affected.update(chunk)
        roots.update(self._roots_of(sid, sorted(affected)))
        if org_changed:
            self._derive_all()
        else:
            self._derive(sid, sorted(roots), org)
        if batch.imported is not None:
            self._record_import(batch)
            return
        self.conn.execute(
            "UPDATE sources SET platform = ?, last_success = ?, last_error_at = NULL, down_since = NULL, "
            "cursor = COALESCE(?, cursor), followers = COALESCE(?, followers), "
            "measures = COALESCE(?, measures) WHERE source_id = ?",
            (
                platform,
                _ts(batch.polled_at),
                batch.cursor,
                batch.followers,
                None if batch.measures is None else ",".join(p for p in PARTS if p in batch.measures),
                sid,
            ),
        )

    def _record_import(self, batch: Batch) -> None:
        """An import is no poll: the source's health, cursor and followers stay as polling left
        them, and what the file measures adds to what the source measures."""
        assert batch.imported is not None
        imported, sid = batch.imported, batch.source_id
        times = [_ts(p.created_at) for p in batch.posts]
        self.conn.execute(
            "INSERT INTO imports (source_id, file, format, exported_at, imported_at, posts, first_at, last_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, file, exported_at) DO UPDATE SET"
            " format = excluded.format, imported_at = excluded.imported_at, posts = excluded.posts,"
            " first_at = excluded.first_at, last_at = excluded.last_at",
            (
                sid,
                imported.file,
                imported.format,
                _ts(imported.exported_at),
                _ts(imported.imported_at),
                len(batch.posts),
                min(times, default=None),
                max(times, default=None),
            ),
        )
        if batch.measures is not None:
            row = self.conn.execute("SELECT measures FROM sources WHERE source_id = ?", (sid,)).fetchone()
            known = set(row[0].split(",")) if row and row[0] else set()
            measures = ",".join(p for p in PARTS if p in batch.measures or p in known)
            self.conn.execute("UPDATE sources SET measures = ? WHERE source_id = ?", (measures, sid))

    def imports(self) -> dict[str, list[ImportRecord]]:
        """Source id → its imports, the newest export first."""
        found: dict[str, list[ImportRecord]] = {}
        for row in self.conn.execute(
            "SELECT source_id, file, format, exported_at, imported_at, posts, first_at, last_at FROM imports"
            " ORDER BY exported_at DESC, file"
        ):
            found.setdefault(row[0], []).append(
                ImportRecord(row[1], row[2], _dt(row[3]), _dt(row[4]), row[5], _dt(row[6]), _dt(row[7]))  # type: ignore[arg-type]
            )
        return found

    def _ensure_source(self, source_id: str, platform: str) -> None:
        self.conn.execute(
            "INSERT INTO sources (source_id, platform) VALUES (?, ?) ON CONFLICT (source_id) DO NOTHING",
            (source_id, platform),
        )

    def _upsert_post(self, sid: str, platform: str, post: Post, org: set[str], *, keep: bool = False) -> str:
        """Insert or update to the latest edit; returns the post's root. With `keep`, a post
        already stored stays as it is."""
        if keep:
            row = self.conn.execute(
                "SELECT root_id FROM posts WHERE source_id = ? AND post_id = ?", (sid, post.id)
            ).fetchone()
            if row:
                return str(row[0])
        author = self.author_hash(platform, post.author_id)
        root = post.root_id
        if root is None and post.parent_id is not None:
            row = self.conn.execute(
                "SELECT root_id FROM posts WHERE source_id = ? AND post_id = ?", (sid, post.parent_id)
            ).fetchone()
            root = row[0] if row else post.parent_id
        root = root or post.id
        keep_text = author in org or self.policy.keep_community_text
        hashtags = " ".join(dict.fromkeys(normalize_hashtag(h) for h in post.hashtags if h.strip()))
        links = "\n".join(dict.fromkeys(normalize_link(u) for u in post.links if u.strip()))
        keywords = "" if author in org else "\n".join(matched_keywords(post.text, self.policy.keywords))
        self.conn.execute(
            "INSERT INTO posts (source_id, post_id, platform, parent_id, root_id, author_hash, voice, created_at,"
            " url, text, text_at, hashtags, links, keywords, mentions_source, is_repost)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source_id, post_id) DO UPDATE SET"
            " parent_id = excluded.parent_id, root_id = excluded.root_id, url = excluded.url,"
            " text = excluded.text, hashtags = excluded.hashtags, links = excluded.links,"
            " keywords = CASE WHEN excluded.keywords = '' THEN posts.keywords ELSE excluded.keywords END,"
            " mentions_source = excluded.mentions_source, is_repost = excluded.is_repost, deleted = 0",
            (
                sid,
                post.id,
                platform,
                post.parent_id,
                root,
                author,
                voice(author),
                _ts(post.created_at),
                post.url,
                post.text if keep_text else None,
                _ts(post.created_at),
                f" {hashtags} " if hashtags else "",
                links,
                keywords,
                int(post.mentions_source),
                int(post.is_repost),
            ),
        )
        return root

    def _observe(self, sid: str, c: Counters, imported: str | None = None) -> None:
        """Keep the history, each observation marked with the file it came from, if any;
        the latest observation wins, even when lower (SPEC §2)."""
        at = _ts(c.observed_at)
        values = (c.replies, c.reposts, c.quotes, c.likes)
        self.conn.execute(
            "INSERT INTO counters (source_id, post_id, observed_at, replies, reposts, quotes, likes, imported)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, post_id, observed_at) DO NOTHING",
            (sid, c.post_id, at, *values, imported),
        )
        sets = ", ".join(f"{name} = COALESCE(?, {name})" for name in _COUNTERS)
        changed = self.conn.execute(
            f"UPDATE posts SET {sets}, counted_at = ? WHERE source_id = ? AND post_id = ?"
            " AND (counted_at IS NULL OR counted_at <= ?)",
            (*values, at, sid, c.post_id, at),
        ).rowcount
        if changed:
            self.conn.execute(
                "UPDATE units SET reposts = ?, quotes = ?, likes = ? WHERE source_id = ? AND post_id = ?",
                (*self._counters(sid, c.post_id), sid, c.post_id),
            )
            for kind, at in self.conn.execute(
                "SELECT kind, at FROM units WHERE source_id = ? AND post_id = ?", (sid, c.post_id)
            ):
                self._dirty.add((sid, kind, at // DAY))

    def _counters(self, sid: str, post_id: str) -> tuple[int | None, int | None, int | None]:
        row = self.conn.execute(
            "SELECT reposts, quotes, likes FROM posts WHERE source_id = ? AND post_id = ?", (sid, post_id)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def _roots_of(self, sid: str, post_ids: Sequence[str]) -> set[str]:
        roots: set[str] = set()
        for chunk in _chunks(post_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT root_id FROM posts WHERE source_id = ? AND post_id IN ({marks})", (sid, *chunk)
            )
            roots.update(r[0] for r in rows)
        return roots

    # -- deriving roles ------------------------------------------------------------

    def _derive_all(self) -> None:
        org = self.organization_hashes()
        for (sid,) in self.conn.execute("SELECT DISTINCT source_id FROM posts").fetchall():
            roots = [r[0] for r in self.conn.execute("SELECT DISTINCT root_id FROM posts WHERE source_id = ?", (sid,))]
            self._derive(sid, roots, org)

    def _derive(self, sid: str, roots: Sequence[str], org: set[str]) -> None:
        done = self._marked_done(sid)
        for chunk in _chunks(roots):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT post_id, parent_id, root_id, author_hash, voice, created_at, deleted, mentions_source,"
                " is_repost, platform, url, text, hashtags, links, keywords, reposts, quotes, likes"
                f" FROM posts WHERE source_id = ? AND root_id IN ({marks})",
                (sid, *chunk),
            ).fetchall()
            by_root: dict[str, list[ThreadPost]] = defaultdict(list)
            for row in rows:
                by_root[row[2]].append(ThreadPost(*row))
            own = self._own_reactions(sid, chunk, org)
            updates: list[tuple[object, ...]] = []
            units: list[tuple[object, ...]] = []
            for root in chunk:
                derived = Derivation(root, by_root.get(root, []), org, self.policy.wait, done)
                updates += derived.post_updates()
                units += derived.unit_rows(own)
            self.conn.executemany(
                "UPDATE posts SET role = ?, thread = ?, thread_at = ?, answers = ?, answered_at = ?, wait = ?,"
                " responses = ? WHERE source_id = ? AND post_id = ?",
                [(*u[1:], sid, u[0]) for u in updates],
            )
            old = self.conn.execute(
                f"SELECT kind, at FROM units WHERE source_id = ? AND root_id IN ({marks})", (sid, *chunk)
            )
            self._dirty.update((sid, kind, at // DAY) for kind, at in old)
            self._dirty.update((sid, str(u[0]), int(u[1]) // DAY) for u in units)  # type: ignore[call-overload]
            self.conn.execute(f"DELETE FROM units WHERE source_id = ? AND root_id IN ({marks})", (sid, *chunk))
            self.conn.executemany(
                f"INSERT INTO units ({_UNIT_COLUMNS}) VALUES ({','.join('?' * (_UNIT_COLUMNS.count(',') + 1))})",
                [(sid, *u) for u in units],
            )

    def _own_reactions(self, sid: str, roots: Sequence[str], org: set[str]) -> dict[tuple[str, str], int]:
        """How many of each root's reposts/quotes/likes the organization made itself."""
        if not org:
            return {}
        marks = ",".join("?" * len(roots))
        rows = self.conn.execute(
            f"SELECT post_id, kind, author_hash FROM reactions WHERE source_id = ? AND post_id IN ({marks})",
            (sid, *roots),
        )
        own: dict[tuple[str, str], int] = defaultdict(int)
        for post_id, kind, author in rows:
            if author in org:
                own[(post_id, kind)] += 1
        return own

    # -- reading, for metrics ------------------------------------------------------

    def pages(self, source_id: str, kind: str, start: datetime, end: datetime) -> list[Page]:
        """The source's day pages of `kind` (broadcast, mention) holding units made in [start, end)."""
        return self._pages(source_id, kind, "day >= ? AND day <= ?", (_ts(start) // DAY, _ts(end) // DAY))

    def pages_waiting(self, source_id: str, kind: str, since: datetime, before: datetime) -> list[Page]:
        """Day pages before `before`'s day with a message written since `since` still unanswered."""
        return self._pages(source_id, kind, "last_unanswered >= ? AND day < ?", (_ts(since), _ts(before) // DAY))

    def _pages(self, source_id: str, kind: str, where: str, params: tuple[int, int]) -> list[Page]:
        rows = self.conn.execute(
            f"SELECT {_PAGE_COLUMNS} FROM pages WHERE source_id = ? AND kind = ? AND {where} ORDER BY day",
            (source_id, kind, *params),
        ).fetchall()
        return list(map(Page._make, rows))

    def texts(self, source_id: str, post_ids: Sequence[str]) -> dict[str, str]:
        """The stored text of these posts (the organization's own is always kept)."""
        found: dict[str, str] = {}
        for chunk in _chunks(post_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT post_id, text FROM posts WHERE source_id = ? AND post_id IN ({marks})", (source_id, *chunk)
            )
            found.update((post_id, text or "") for post_id, text in rows)
        return found

    def counted_elsewhere(self, source_id: str, post_ids: Sequence[str], earlier: Sequence[str]) -> set[str]:
        """Mentions another source on the same platform counts: as a reply, or as an earlier-named source's.

        A mention counts once (SPEC §2): as a reply in an organization thread, else for
        the first source named in config order.
        """
        others = [
            r[0]
            for r in self.conn.execute(
                "SELECT o.source_id FROM sources s JOIN sources o ON o.platform = s.platform"
                " AND o.source_id <> s.source_id WHERE s.source_id = ?",
                (source_id,),
            )
        ]
        if not others:
            return set()
        owned: set[str] = set()
        for chunk in _chunks(post_ids):
            marks = ",".join("?" * len(chunk))
            for other, post_id, role in self.conn.execute(
                f"SELECT source_id, post_id, role FROM posts WHERE post_id IN ({marks})"
                f" AND source_id IN ({','.join('?' * len(others))}) AND role IN ('reply', 'mention')",
                (*chunk, *others),
            ):
                if role == "reply" or other in earlier:
                    owned.add(post_id)
        return owned

    def _rebuild_pages(self) -> None:
        """Pack each changed day of units into its page, the form metrics read (see `Page`)."""
        for sid, kind, day in sorted(self._dirty):
            rows = self.conn.execute(
                f"SELECT {_UNIT_PAGE_COLUMNS} FROM units WHERE source_id = ? AND kind = ? AND at >= ? AND at < ?"
                " ORDER BY at, post_id",
                (sid, kind, day * DAY, (day + 1) * DAY),
            ).fetchall()
            self.conn.execute("DELETE FROM pages WHERE source_id = ? AND kind = ? AND day = ?", (sid, kind, day))
            if rows:
                self.conn.execute(
                    f"INSERT INTO pages (source_id, kind, {_PAGE_COLUMNS})"
                    f" VALUES ({', '.join('?' * (len(Page._fields) + 2))})",
                    (sid, kind, *page(day, rows)),
                )
        self._dirty = set()

    def oldest_waiting(self, source_id: str, start: datetime, end: datetime, limit: int) -> list[tuple[int, str, str]]:
        """The `limit` oldest waiting replies (unanswered, not marked done) written in [start, end):
        (created_at, post_id, url)."""
        return self.conn.execute(
            "SELECT created_at, post_id, url FROM posts WHERE source_id = ? AND role = 'reply'"
            " AND answered_at IS NULL AND created_at >= ? AND created_at < ?"
            f" AND NOT {_MARKED_DONE} ORDER BY created_at LIMIT ?",
            (source_id, _ts(start), _ts(end), limit),
        ).fetchall()

    def waiting_replies(self, source_id: str, times: Sequence[tuple[str, int]]) -> list[tuple[int, str, str]]:
        """The waiting replies written at these (thread, time) pairs: (created_at, post_id, url).

        Metrics know from the pages when the oldest waiting replies were written and in
        which threads; each pair is one seek in `posts_by_root`.
        """
        found: set[tuple[int, str, str]] = set()
        pairs = list(dict.fromkeys(times))
        either = " OR ".join(["(root_id = ? AND created_at = ?)"] * _PAIRS)
        for i in range(0, len(pairs), _PAIRS):
            chunk = pairs[i : i + _PAIRS]
            chunk += [chunk[-1]] * (_PAIRS - len(chunk))  # one statement text, prepared once
            found.update(
                (at, post_id, url)
                for at, post_id, url, role, answered_at, done in self.conn.execute(
                    f"SELECT created_at, post_id, url, role, answered_at, {_MARKED_DONE} FROM posts"
                    f" WHERE source_id = ? AND ({either})",
                    (source_id, *(value for pair in chunk for value in pair)),
                )
                if role == "reply" and answered_at is None and not done
            )
        return sorted(found)

    def answering(self, source_id: str, post_ids: Sequence[str]) -> dict[str, tuple[str, int | None, str]]:
        """What each waiting message answers: post id → (its own text, its broadcast's time and text).

        The message's text is empty unless `store_community_text` kept it; a mention
        outside any thread has no broadcast (`None`, empty text).
        """
        found: dict[str, tuple[str, int | None, str]] = {}
        for chunk in _chunks(post_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                "SELECT m.post_id, m.text, b.created_at, b.text FROM posts AS m"
                " LEFT JOIN posts AS b ON b.source_id = m.source_id AND b.post_id = m.thread"
                f" WHERE m.source_id = ? AND m.post_id IN ({marks})",
                (source_id, *chunk),
            )
            found.update((post_id, (text or "", at, about or "")) for post_id, text, at, about in rows)
        return found

    def known_posts(self, source_id: str, post_ids: Sequence[str]) -> set[str]:
        """Which of `post_ids` the source already has (an import's dry run)."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(post_ids))):
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self.conn.execute(
                    f"SELECT post_id FROM posts WHERE source_id = ? AND post_id IN ({marks})", (source_id, *chunk)
                )
            )
        return found

    # -- no reply needed (SPEC §9) -------------------------------------------------------

    def mark_done(self, url: str, now: datetime) -> tuple[DoneMark, ...]:
        """Mark the waiting community message at `url` "no reply needed"; none when no unanswered
        message has that URL. Marking again keeps the first mark's time.

        Every source storing the message is marked (a mention two accounts saw). Its thread is
        derived again, so it leaves the waiting list while its counts stay as they were.
        """
        with self.transaction():
            found = self.conn.execute(
                f"SELECT source_id, post_id, root_id, created_at FROM posts WHERE url = ? AND {_MESSAGE}"
                " AND answered_at IS NULL ORDER BY source_id, post_id",
                (url,),
            ).fetchall()
            marks = []
            for sid, post_id, root, written in found:
                added = self.conn.execute(
                    "INSERT INTO no_reply_needed (source_id, post_id, marked_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (source_id, post_id) DO NOTHING",
                    (sid, post_id, _ts(now)),
                ).rowcount
                if added:
                    self._derive(sid, [root], self.organization_hashes())
                (marked,) = self.conn.execute(
                    "SELECT marked_at FROM no_reply_needed WHERE source_id = ? AND post_id = ?", (sid, post_id)
                ).fetchone()
                marks.append(_mark(sid, post_id, written, marked))
        return tuple(marks)

    def unmark_done(self, url: str) -> tuple[DoneMark, ...]:
        """Undo `mark_done`: the community messages at `url`, each with the mark removed (`None`
        when it had none); none when no community message has that URL."""
        with self.transaction():
            found = self.conn.execute(
                "SELECT p.source_id, p.post_id, p.created_at, d.marked_at, p.root_id FROM posts p"
                " LEFT JOIN no_reply_needed d ON d.source_id = p.source_id AND d.post_id = p.post_id"
                f" WHERE p.url = ? AND {_MESSAGE} ORDER BY p.source_id, p.post_id",
                (url,),
            ).fetchall()
            for sid, post_id, _, marked, root in found:
                if marked is not None:
                    self.conn.execute(
                        "DELETE FROM no_reply_needed WHERE source_id = ? AND post_id = ?", (sid, post_id)
                    )
                    self._derive(sid, [root], self.organization_hashes())
        return tuple(_mark(*row[:4]) for row in found)

    def _marked_done(self, source_id: str) -> set[str]:
        """The source's messages marked "no reply needed", which derivation keeps off the waiting list."""
        rows = self.conn.execute("SELECT post_id FROM no_reply_needed WHERE source_id = ?", (source_id,))
        return {r[0] for r in rows}

    # -- sources: cursor, lease, health ------------------------------------------------

    def source_states(self) -> dict[str, SourceState]:
        rows = self.conn.execute(
            "SELECT source_id, platform, measures, cursor, followers, last_success, last_error_at,"
            " last_error, lease_owner, lease_until, down_since FROM sources"
        )
        states = {}
        for r in rows:
            measures = None if r[2] is None else frozenset(p for p in r[2].split(",") if p in PARTS)
            states[r[0]] = SourceState(
                r[0], r[1], measures, r[3], r[4], _dt(r[5]), _dt(r[6]), r[7], r[8], _dt(r[9]), _dt(r[10])
            )
        return states

    def cursor(self, source_id: str) -> str | None:
        row = self.conn.execute("SELECT cursor FROM sources WHERE source_id = ?", (source_id,)).fetchone()
        return None if row is None else row[0]

    def record_error(
        self, source_id: str, platform: str, at: datetime, message: str, cursor: str | None = None
    ) -> None:
        """A failed poll: its one line, and the cursor it hands back if any (else the old one stays)."""
        with self.transaction():
            self._ensure_source(source_id, platform)
            self.conn.execute(
                "UPDATE sources SET last_error_at = ?, last_error = ?, cursor = COALESCE(?, cursor),"
                " down_since = COALESCE(down_since, ?) WHERE source_id = ?",
                (_ts(at), message, cursor, _ts(at), source_id),
            )

    def acquire_lease(self, source_id: str, platform: str, owner: str, now: datetime, seconds: int) -> bool:
        """Take the source's poll lease unless another live process holds it.

        One conditional UPDATE in a write transaction: on SQLite and on PostgreSQL (where
        collectors on many machines share the store) two processes asking at once queue,
        and exactly one gets it; a lease past its time is anyone's (its holder died)."""
        with self.transaction():
            self._ensure_source(source_id, platform)
            cur = self.conn.execute(
                "UPDATE sources SET lease_owner = ?, lease_until = ? WHERE source_id = ?"
                " AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)",
                (owner, _ts(now) + seconds, source_id, owner, _ts(now)),
            )
            return cur.rowcount == 1

    def renew_lease(self, source_id: str, owner: str, now: datetime, seconds: int) -> bool:
        """Extend a lease `owner` still holds; once released (or taken over) it stays so."""
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE sources SET lease_until = ? WHERE source_id = ? AND lease_owner = ?",
                (_ts(now) + seconds, source_id, owner),
            )
            return cur.rowcount == 1

    def release_lease(self, source_id: str, owner: str) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE sources SET lease_owner = NULL, lease_until = NULL"
                " WHERE source_id = ? AND lease_owner = ?",
                (source_id, owner),
            )

    def forget(self, source_id: str) -> int:
        """Remove everything a source stored; returns how many posts went."""
        with self.transaction():
            n = self.conn.execute("DELETE FROM posts WHERE source_id = ?", (source_id,)).rowcount
            tables = ("pages", "units", "counters", "reactions", "accounts", "imports", "no_reply_needed", "sources")
            for table in tables:
                self.conn.execute(f"DELETE FROM {table} WHERE source_id = ?", (source_id,))
            return int(n)

    def prune(self, before: datetime) -> None:
        """Drop counter history and community text older than `retain`, keeping latest counters."""
        cutoff = _ts(before)
        with self.transaction():
            self.conn.execute(
                "DELETE FROM counters WHERE observed_at < ? AND observed_at < ("
                " SELECT MAX(c2.observed_at) FROM counters c2"
                " WHERE c2.source_id = counters.source_id AND c2.post_id = counters.post_id)",
                (cutoff,),
            )
            org = self.organization_hashes()
            rows = self.conn.execute(
                "SELECT source_id, post_id, root_id, author_hash FROM posts WHERE text IS NOT NULL AND text_at < ?",
                (cutoff,),
            ).fetchall()
            community = [(sid, pid, root) for sid, pid, root, author in rows if author not in org]
            self.conn.executemany(
                "UPDATE posts SET text = NULL WHERE source_id = ? AND post_id = ?", [(s, p) for s, p, _ in community]
            )
            roots: dict[str, set[str]] = defaultdict(set)
            for sid, _, root in community:
                roots[sid].add(root)
            for sid, changed in roots.items():  # a mention's unit carries its text for keyword goals
                self._derive(sid, sorted(changed), org)

    def analyze(self) -> None:
        """Refresh the planner's statistics: grouped counts pick the covering index only after it."""
        self.conn.execute("ANALYZE")


_MESSAGE = "role IN ('reply', 'mention')"
"""A community message (SPEC §2), as derived: a deleted one is `gone`."""
_MARKED_DONE = (
    "EXISTS (SELECT 1 FROM no_reply_needed d WHERE d.source_id = posts.source_id AND d.post_id = posts.post_id)"
)
_PAGE_COLUMNS = ", ".join(Page._fields)
_PAIRS = 50
"""(thread, time) pairs per waiting-replies lookup."""
_UNIT_PAGE_COLUMNS = (
    "at, post_id, match,"
    " CASE WHEN reposts > own_reposts THEN reposts - own_reposts ELSE 0 END,"
    " CASE WHEN quotes > own_quotes THEN quotes - own_quotes ELSE 0 END,"
    " CASE WHEN likes > own_likes THEN likes - own_likes ELSE 0 END,"
    " replies, responses, answered, COALESCE(last_unanswered, 0), voices, waits, unanswered, voice, wait, url"
)


_UNIT_COLUMNS = (
    "source_id, kind, at, post_id, root_id, platform, url, match, reposts, quotes, likes, own_reposts, own_quotes,"
    " own_likes, replies, responses, answered, voices, waits, unanswered, voice, wait, last_unanswered"
)
