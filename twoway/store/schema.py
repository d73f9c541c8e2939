"""The store's tables, as migrations: migration N brings the schema from version N to N+1.

`posts` keeps what collectors saw; `units` and `pages` are derived from it (see
`derive` and `packing`) and rebuilt whenever what they depend on changes.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

SCHEMA_VERSION = 5

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    source_id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    measures TEXT,
    cursor TEXT,
    followers INTEGER,
    last_success INTEGER,
    last_error_at INTEGER,
    last_error TEXT,
    lease_owner TEXT,
    lease_until INTEGER
);
CREATE TABLE accounts (
    source_id TEXT NOT NULL,
    author_hash TEXT NOT NULL,
    handle TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (source_id, author_hash, origin)
);
CREATE TABLE posts (
    source_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    parent_id TEXT,
    root_id TEXT NOT NULL,
    author_hash TEXT NOT NULL,
    voice BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    url TEXT NOT NULL,
    text TEXT,
    text_at BIGINT,
    hashtags TEXT NOT NULL,
    links TEXT NOT NULL,
    keywords TEXT NOT NULL,
    mentions_source INTEGER NOT NULL,
    is_repost INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    replies INTEGER,
    reposts INTEGER,
    quotes INTEGER,
    likes INTEGER,
    counted_at BIGINT,
    role TEXT NOT NULL DEFAULT 'other',
    thread TEXT,
    thread_at BIGINT,
    answers TEXT,
    answered_at BIGINT,
    wait BIGINT,
    responses INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source_id, post_id)
);
CREATE INDEX posts_by_root ON posts (source_id, root_id, created_at);
CREATE INDEX posts_waiting ON posts (source_id, role, answered_at, created_at, thread);
CREATE INDEX posts_by_platform_id ON posts (platform, post_id);
CREATE TABLE units (
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    post_id TEXT NOT NULL,
    root_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    url TEXT NOT NULL,
    match TEXT NOT NULL,
    reposts INTEGER,
    quotes INTEGER,
    likes INTEGER,
    own_reposts INTEGER NOT NULL,
    own_quotes INTEGER NOT NULL,
    own_likes INTEGER NOT NULL,
    replies INTEGER NOT NULL,
    responses INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    voices BLOB,
    waits BLOB,
    unanswered BLOB,
    voice BIGINT,
    wait BIGINT,
    last_unanswered BIGINT,
    PRIMARY KEY (source_id, kind, at, post_id)
) WITHOUT ROWID;
CREATE TABLE pages (
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    day BIGINT NOT NULL,
    ats BLOB NOT NULL,
    ids TEXT NOT NULL,
    urls TEXT NOT NULL,
    matches TEXT NOT NULL,
    tag_index TEXT NOT NULL,
    lengths BLOB NOT NULL,
    counts BLOB NOT NULL,
    voice_counts BLOB NOT NULL,
    voices BLOB NOT NULL,
    wait_counts BLOB NOT NULL,
    waits BLOB NOT NULL,
    unanswered_counts BLOB NOT NULL,
    unanswered BLOB NOT NULL,
    last_unanswered BIGINT NOT NULL,
    PRIMARY KEY (source_id, kind, day)
) WITHOUT ROWID;
CREATE INDEX pages_waiting ON pages (source_id, kind, last_unanswered);
CREATE UNIQUE INDEX units_by_post ON units (source_id, post_id);
CREATE INDEX units_by_root ON units (source_id, root_id);
CREATE INDEX units_waiting ON units (source_id, last_unanswered);
CREATE TABLE counters (
    source_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    observed_at BIGINT NOT NULL,
    replies INTEGER,
    reposts INTEGER,
    quotes INTEGER,
    likes INTEGER,
    PRIMARY KEY (source_id, post_id, observed_at)
);
CREATE TABLE reactions (
    source_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    author_hash TEXT NOT NULL,
    PRIMARY KEY (source_id, post_id, kind, author_hash)
);
"""

_V2 = """
CREATE TABLE imports (
    source_id TEXT NOT NULL,
    file TEXT NOT NULL,
    format TEXT NOT NULL,
    exported_at BIGINT NOT NULL,
    imported_at BIGINT NOT NULL,
    posts INTEGER NOT NULL,
    first_at BIGINT,
    last_at BIGINT,
    PRIMARY KEY (source_id, file, exported_at)
);
ALTER TABLE counters ADD COLUMN imported TEXT
"""
"""Provenance: every import (file, export date, the span of its posts), and which counter
observations an export gave rather than a poll."""

_V3 = """
ALTER TABLE sources ADD COLUMN covers_from BIGINT;
UPDATE sources SET covers_from = (SELECT MIN(p.created_at) FROM posts p WHERE p.source_id = sources.source_id)
WHERE last_success IS NOT NULL
"""
"""Coverage (SPEC §3): from when a source's data exists, the horizon its first successful
backfill asked for; a store from before it covers from each polled source's earliest post."""

_V4 = """
CREATE TABLE no_reply_needed (
    source_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    marked_at BIGINT NOT NULL,
    PRIMARY KEY (source_id, post_id)
)
"""
"""No reply needed (SPEC §9): community messages staff marked done, kept apart from `posts`
so a mark survives every re-derivation and is undone by deleting its row."""

_V5 = """
CREATE TABLE alerts (
    alert_key TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    goal TEXT,
    source_id TEXT,
    url TEXT,
    at BIGINT,
    fired_at BIGINT NOT NULL,
    resolved_at BIGINT,
    snoozed_until BIGINT
);
CREATE INDEX alerts_by_rule ON alerts (rule, resolved_at);
CREATE TABLE alert_deliveries (
    alert_key TEXT NOT NULL,
    rule TEXT NOT NULL,
    channel TEXT NOT NULL,
    sent_state TEXT,
    sent_at BIGINT,
    pending TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_until BIGINT,
    failed_at BIGINT,
    last_error TEXT,
    last_error_at BIGINT,
    version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (alert_key, channel)
);
CREATE INDEX alert_deliveries_by_rule ON alert_deliveries (rule, channel);
ALTER TABLE sources ADD COLUMN down_since BIGINT;
UPDATE sources SET down_since = last_error_at WHERE last_error_at IS NOT NULL
"""
"""Alerts (SPEC §9): what fires or fired, per rule, and per channel what it last accepted and
the claim on the delivery being made (see `alert_ledger`); and since when a source is down,
its first failed poll after its last success (a store from before knows only its last failure)."""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5)
"""Migration N brings the schema from version N to N+1; never edit a released one."""
