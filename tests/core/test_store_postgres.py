"""What only a PostgreSQL store has (SPEC §11): roles and passwords, schemas, the advisory lock.
On the tests' own server (tests/pg.py); skipped, with the reason, where it cannot start."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from tests import pg
from tests.pg import PgServer, schema_for
from tests.scenario import ORG, Scenario, post
from twoway.config import load_config
from twoway.errors import StoreError
from twoway.store import SCHEMA_VERSION, PgTarget, Store, StorePolicy, store_location
from twoway.store.dialect import POSTGRES_LOCK_CLASS, Postgres


@pytest.fixture
def server(pg_server: PgServer | str) -> PgServer:
    if isinstance(pg_server, str):
        pytest.skip(f"PostgreSQL: {pg_server}")
    return pg_server


@pytest.fixture
def on_server(server: PgServer, monkeypatch: pytest.MonkeyPatch) -> PgServer:
    """`Scenario` on this server."""
    monkeypatch.setattr(pg, "current", pg.Backend("postgres", server))
    return server


def _config(tmp_path: Path, dashboard: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[organization]\nname = "T"\n[dashboard]\n{dashboard}\n'
        '[[sources]]\nid = "src"\nplatform = "rss"\nurl = "https://blog.example/feed"\n',
        encoding="utf-8",
    )
    return path


def _tables(server: PgServer, schema: str) -> set[str]:
    import psycopg

    with psycopg.connect(server.url()) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {r[0] for r in rows}


def test_the_password_comes_from_the_environment_and_never_shows(
    server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.psql("DROP ROLE IF EXISTS collector; CREATE ROLE collector LOGIN PASSWORD 'pw-from-env-42'")
    server.psql("GRANT CREATE ON DATABASE twoway TO collector")
    config = load_config(_config(
        tmp_path,
        f'database = "{server.tcp_url("collector")}"\nschema = "branch_a"\npassword = {{ env = "TEST_PG_PASSWORD" }}',
    ))
    monkeypatch.delenv("TEST_PG_PASSWORD", raising=False)
    with pytest.raises(StoreError, match="password: env TEST_PG_PASSWORD is not set"):
        Store.open(store_location(config))
    monkeypatch.setenv("TEST_PG_PASSWORD", "not-the-password")
    with pytest.raises(StoreError) as wrong:
        Store.open(store_location(config))
    assert "password authentication failed" in str(wrong.value) and "not-the-password" not in str(wrong.value)
    assert "\n" not in str(wrong.value)
    monkeypatch.setenv("TEST_PG_PASSWORD", "pw-from-env-42")
    store = Store.open(store_location(config))
    store.close()
    assert "posts" in _tables(server, "branch_a")  # twoway created the missing schema, and its tables there


def test_each_organization_has_its_schema(on_server: PgServer, tmp_path: Path) -> None:
    """A consortium's members share one database; each sees its own schema only."""
    a, b = Scenario(tmp_path / "a"), Scenario(tmp_path / "b")
    assert isinstance(a.path, PgTarget) and isinstance(b.path, PgTarget)
    a.write(post("b1", ORG))
    assert a.store.conn.execute("SELECT COUNT(*) FROM posts").fetchone() == (1,)
    assert b.store.conn.execute("SELECT COUNT(*) FROM posts").fetchone() == (0,)
    assert a.store.author_hash("mastodon", "x") != b.store.author_hash("mastodon", "x")  # a salt each
    plan = " ".join(r[0] for r in a.store.conn.execute(
        "EXPLAIN (VERBOSE) SELECT day FROM pages WHERE source_id = ? AND kind = ? AND day >= ?", ("src", "broadcast", 0)
    ))
    assert f"{a.path.schema}.pages" in plan and str(b.path.schema) not in plan  # its own schema's tables only
    a.store.close()
    b.store.close()


def test_processes_opening_a_new_schema_together_migrate_it_once(on_server: PgServer, tmp_path: Path) -> None:
    target = PgTarget(on_server.url(), schema_for(tmp_path))
    salts: list[str] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            store = Store.open(target, StorePolicy(timeout=30))
            salts.append(store._salt)
            store.close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(salts) == 8 and len(set(salts)) == 1
    reader = Store.open_readonly(target)
    assert reader.dialect.version(reader.conn) == SCHEMA_VERSION
    reader.close()


def test_a_migration_held_elsewhere_is_waited_for_within_the_timeout(on_server: PgServer, tmp_path: Path) -> None:
    import psycopg

    target = PgTarget(on_server.url(), schema_for(tmp_path))
    key = Postgres(schema_for(tmp_path)).lock_key
    with psycopg.connect(on_server.url(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", (POSTGRES_LOCK_CLASS, key))
        with pytest.raises(StoreError, match="another twoway is creating or upgrading the store"):
            Store.open(target, StorePolicy(timeout=0.2))
    Store.open(target).close()  # once let go, it opens


def test_a_reader_role_reads_and_never_migrates(on_server: PgServer, tmp_path: Path) -> None:
    sc = Scenario(tmp_path)
    assert isinstance(sc.path, PgTarget)
    sc.write(post("b1", ORG))
    schema = sc.path.schema
    on_server.psql(
        f"DROP ROLE IF EXISTS dashboard_{schema}; CREATE ROLE dashboard_{schema} LOGIN;"
        f" GRANT USAGE ON SCHEMA {schema} TO dashboard_{schema};"
        f" GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO dashboard_{schema}"
    )
    reader = PgTarget(on_server.url(f"dashboard_{schema}"), schema)
    store = Store.open_readonly(reader)
    assert store.conn.execute("SELECT COUNT(*) FROM posts").fetchone() == (1,)
    store.close()
    sc.store.dialect.set_version(sc.store.conn, SCHEMA_VERSION - 1)
    with pytest.raises(StoreError, match=f"older schema {SCHEMA_VERSION - 1}: run `twoway"):
        Store.open_readonly(reader)
    with pytest.raises(StoreError, match="this role cannot create or upgrade the store .*run `twoway migrate` as the role"):
        Store.open(reader)
    sc.store.close()


def test_without_psycopg_the_store_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r"needs psycopg: pip install 'twoway\[postgres\]'"):
        Store.open(PgTarget("postgresql:///twoway", "riverside"))


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(PgTarget(f"postgresql:///twoway?host={tmp_path}&port=1", "riverside"))
    assert str(info.value).startswith(f"postgresql:///twoway?host={tmp_path}&port=1 (schema riverside): cannot connect: ")
    assert "\n" not in str(info.value)


def test_twoway_migrate_creates_the_store_and_a_reader_role_is_told_what_to_run(
    on_server: PgServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twoway.cli import main

    schema = schema_for(tmp_path)
    config = _config(tmp_path, f'database = "{on_server.url()}"\nschema = "{schema}"')
    assert main(["--config", str(config), "migrate"]) == 0
    assert capsys.readouterr().out == f"{on_server.url()} (schema {schema}): schema {SCHEMA_VERSION}, up to date\n"
    assert {"posts", "pages", "meta"} <= _tables(on_server, schema)
    on_server.psql(
        f"DROP ROLE IF EXISTS r_{schema}; CREATE ROLE r_{schema} LOGIN; GRANT USAGE ON SCHEMA {schema} TO r_{schema};"
        f" GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO r_{schema}"
    )
    as_reader = _config(tmp_path, f'database = "{on_server.url(f"r_{schema}")}"\nschema = "{schema}"\nrefresh = "5m"')
    assert main(["--config", str(as_reader), "snapshot", "--no-poll", "--format", "json"]) == 0  # reading is fine
    capsys.readouterr()
    owner = Store.open(PgTarget(on_server.url(), schema))
    owner.dialect.set_version(owner.conn, SCHEMA_VERSION - 1)
    owner.close()
    assert main(["--config", str(as_reader), "snapshot", "--no-poll"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"older schema {SCHEMA_VERSION - 1}: run `twoway migrate`" in err
    assert main(["--config", str(as_reader), "migrate"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "this role cannot create or upgrade the store" in err
