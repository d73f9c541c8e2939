"""The store on its own: transactions, readers beside a writer, leases, health, pruning, schema.
Every test runs on SQLite and on PostgreSQL (`backend`, tests/pg.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.pg import Backend
from tests.scenario import NOW, ORG, Scenario, at, post
from twoway.errors import StoreError
from twoway.metrics import build_report
from twoway.model import Counters
from twoway.store import SCHEMA_VERSION, Store

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def sc(tmp_path: Path) -> Scenario:
    return Scenario(tmp_path)


def test_reader_sees_committed_data_while_a_writer_is_mid_transaction(sc: Scenario, backend: Backend) -> None:
    sc.write(post("b1", ORG, at(days=1)))
    reader = Store.open_readonly(sc.path)
    with sc.store.transaction():
        sc.store._write(sc.batch([post("b2", ORG, at(days=1))]))
        rows = reader.conn.execute("SELECT post_id FROM posts ORDER BY post_id").fetchall()
        assert rows == [("b1",)]  # the half-written poll is invisible
    # a reader is one report's snapshot: what it read stays as it was; the next reader sees the poll
    assert reader.conn.execute("SELECT COUNT(*) FROM posts").fetchone() == (1,)
    with pytest.raises(backend.read_only_error):
        reader.conn.execute("DELETE FROM posts")
    reader.close()
    again = Store.open_readonly(sc.path)
    assert again.conn.execute("SELECT COUNT(*) FROM posts").fetchone() == (2,)
    again.close()


def test_a_failed_batch_stores_nothing(sc: Scenario) -> None:
    bad = post("b2", ORG, at(days=1)).__class__(id="b3", author_id=ORG, created_at=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError):
        sc.store.write(sc.batch([post("b1", ORG, at(days=1)), bad]))
    assert sc.store.conn.execute("SELECT COUNT(*) FROM posts").fetchone() == (0,)


def test_text_with_nul_and_controls_is_stored_and_read_back(sc: Scenario) -> None:
    """PostgreSQL text holds no NUL: it goes, as every output drops C0 controls anyway (SPEC §8)."""
    sc.write(post("b\x001", ORG, at(days=1), text="Story\x00time \x1b[31m#Kids", hashtags=("Kids\x00",)))
    (report,) = build_report(sc.store, sc.config, NOW).goals
    assert report.metrics["broadcast"] == 1
    assert sc.store.texts("src", ["b\x001"]) in ({"b\x001": "Story\x00time \x1b[31m#Kids"}, {"b1": "Storytime \x1b[31m#Kids"})


def test_lease_keeps_a_second_poller_out_until_it_expires(sc: Scenario) -> None:
    assert sc.store.acquire_lease("src", "mastodon", "a", NOW, 60)
    assert not sc.store.acquire_lease("src", "mastodon", "b", NOW, 60)
    assert sc.store.acquire_lease("src", "mastodon", "b", NOW + timedelta(seconds=61), 60)
    sc.store.release_lease("src", "b")
    assert sc.store.acquire_lease("src", "mastodon", "a", NOW, 60)


def test_cursor_health_and_followers(sc: Scenario) -> None:
    sc.write(cursor="page-2", followers=120)
    sc.store.record_error("src", "mastodon", NOW + timedelta(minutes=5), "HTTP 503 from https://x.example")
    state = sc.store.source_states()["src"]
    assert state.cursor == "page-2" and state.followers == 120
    assert state.last_success == NOW and state.last_error == "HTTP 503 from https://x.example"
    sc.write(followers=None)  # an unobserved count keeps the last known one
    assert sc.store.source_states()["src"].followers == 120
    assert sc.store.cursor("src") == "page-2"


def test_counter_history_is_kept_and_pruned_to_the_latest(sc: Scenario) -> None:
    sc.write(post("b1", ORG, at(days=300)), counters=[Counters("b1", at(days=299), likes=1)])
    sc.write(counters=[Counters("b1", at(days=200), likes=2)])
    sc.write(counters=[Counters("b1", at(days=1), likes=3)])
    sc.write(counters=[Counters("b1", at(days=1), likes=3)])  # the same observation twice
    history = "SELECT likes FROM counters ORDER BY observed_at"
    assert [r[0] for r in sc.store.conn.execute(history)] == [1, 2, 3]
    sc.store.prune(at(days=100))
    assert [r[0] for r in sc.store.conn.execute(history)] == [3]
    assert sc.store.conn.execute("SELECT likes FROM posts").fetchone() == (3,)


def test_prune_drops_old_community_text_but_keeps_its_keywords(tmp_path: Path) -> None:
    from tests.scenario import goal, make_config

    config = make_config(goals=[goal(keywords=("museum pass",))])
    config = config._replace(dashboard=config.dashboard._replace(store_community_text=True))
    sc = Scenario(tmp_path, config)
    sc.store.close()
    from twoway.store import StorePolicy

    sc.store = Store.open(
        sc.path, StorePolicy(keywords=config.keywords, keep_community_text=True, horizon=config.horizon)
    )
    sc.write(post("m1", "alice", at(days=200), text="Is the museum pass back?", mentions_source=True))
    sc.store.prune(at(days=100))
    text, keywords = sc.store.conn.execute("SELECT text, keywords FROM posts").fetchone()
    assert text is None and keywords == "museum pass"


def test_forget_removes_everything_of_one_source(sc: Scenario) -> None:
    sc.write(post("b1", ORG, at(days=1)), counters=[Counters("b1", NOW, likes=1)])
    assert sc.store.forget("src") == 1
    for table in ("posts", "counters", "accounts", "sources"):
        assert sc.store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)


def test_schema_version_and_a_newer_store_is_refused(sc: Scenario, backend: Backend) -> None:
    assert sc.store.dialect.version(sc.store.conn) == SCHEMA_VERSION
    if backend.name == "sqlite":
        assert sc.store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    sc.store.dialect.set_version(sc.store.conn, SCHEMA_VERSION + 1)
    sc.store.close()
    with pytest.raises(StoreError, match="newer twoway"):
        Store.open(sc.path)
    with pytest.raises(StoreError, match="newer twoway"):
        Store.open_readonly(sc.path)


def test_reopening_keeps_the_salt(sc: Scenario, tmp_path: Path) -> None:
    first = sc.store.author_hash("mastodon", "alice")
    sc.store.close()
    assert Store.open(sc.path).author_hash("mastodon", "alice") == first
    assert Scenario(tmp_path / "other").store.author_hash("mastodon", "alice") != first


def test_pruning_changes_no_metric_of_any_window(tmp_path: Path) -> None:
    from tests.scenario import goal, make_config
    from twoway.metrics import build_report
    from twoway.store import StorePolicy

    config = make_config(goals=[goal("kw", keywords=("museum pass",)), goal("all")], window_days=600)
    config = config._replace(dashboard=config.dashboard._replace(store_community_text=True))
    sc = Scenario(tmp_path, config)
    sc.store.close()
    sc.store = Store.open(
        sc.path, StorePolicy(keywords=config.keywords, keep_community_text=True, horizon=config.horizon)
    )
    sc.write(
        post("b1", ORG, at(days=500), text="Museum pass returns"),
        post("r1", "alice", at(days=499), text="Is the museum pass back?", parent_id="b1", root_id="b1"),
        post("a1", ORG, at(days=499, hours=-2), parent_id="r1", root_id="b1"),
        post("m1", "bob", at(days=450), text="Loving the museum pass", mentions_source=True),
        post("m2", "carol", at(days=10), text="museum pass again", mentions_source=True),
        counters=[Counters("b1", at(days=498), likes=3)],
    )
    sc.write(counters=[Counters("b1", at(days=300), likes=5)])
    before = build_report(sc.store, sc.config, NOW)
    kw = before.goals[0].metrics
    assert (kw["broadcast"], kw["replies"], kw["mentions"], kw["likes"]) == (1, 1, 2, 5)
    sc.store.prune(at(days=400))
    texts = dict(sc.store.conn.execute("SELECT post_id, text FROM posts").fetchall())
    assert texts["r1"] is None and texts["m1"] is None and texts["m2"] is not None  # community text went
    assert build_report(sc.store, sc.config, NOW) == before


def test_a_new_store_is_readable_by_its_owner_only(sc: Scenario, backend: Backend) -> None:
    if backend.name != "sqlite":
        pytest.skip("a file's mode: PostgreSQL's roles and grants say who reads (docs/library-system.md)")
    assert sc.file.stat().st_mode & 0o077 == 0


def test_coverage_is_recorded_once_and_a_schema_2_store_covers_from_its_earliest_post(sc: Scenario) -> None:
    """SPEC §3: the first successful poll's horizon; later polls never move it; an older store,
    migrated, covers each polled source from its earliest stored post."""
    sc.write(post("b1", ORG, at(days=50)))
    assert sc.store.coverage() == {"src": NOW - timedelta(seconds=sc.config.horizon)}
    later = sc.batch([post("b2", ORG, at(days=1))])._replace(polled_at=NOW + timedelta(days=5))
    sc.store.write(later)
    assert sc.store.coverage() == {"src": NOW - timedelta(seconds=sc.config.horizon)}
    _back_to_schema_4(sc.store)
    sc.store.conn.execute("ALTER TABLE sources DROP COLUMN covers_from")
    sc.store.conn.execute("DROP TABLE no_reply_needed")  # schema 2 had neither
    sc.store.dialect.set_version(sc.store.conn, 2)
    sc.store.close()
    store = Store.open(sc.path, sc.policy)
    assert store.dialect.version(store.conn) == SCHEMA_VERSION
    assert store.coverage() == {"src": at(days=50)}
    store.close()


def _thread(sc: Scenario) -> None:
    sc.write(
        post("b1", ORG, at(days=3)),
        post("r1", "alice", at(days=2), parent_id="b1", root_id="b1"),
        post("r2", "bob", at(days=2, hours=-1), parent_id="b1", root_id="b1"),
        post("a2", ORG, at(days=2, hours=-2), parent_id="r2", root_id="b1"),
        post("m1", "carol", at(days=1), mentions_source=True),
    )


def test_marking_done_is_per_message_idempotent_and_reversible(sc: Scenario) -> None:
    """SPEC §9: a waiting message marked "no reply needed" keeps its first mark; undoing removes it."""
    from twoway.store import DoneMark

    _thread(sc)
    url = "https://x.example/r1"
    assert sc.store.mark_done(url, NOW) == (DoneMark("src", "r1", at(days=2), NOW),)
    assert sc.store.mark_done(url, NOW + timedelta(hours=1)) == (DoneMark("src", "r1", at(days=2), NOW),)
    rows = "SELECT source_id, post_id, marked_at FROM no_reply_needed"
    assert sc.store.conn.execute(rows).fetchall() == [("src", "r1", int(NOW.timestamp()))]
    assert sc.store.unmark_done(url) == (DoneMark("src", "r1", at(days=2), NOW),)
    assert sc.store.unmark_done(url) == (DoneMark("src", "r1", at(days=2), None),)  # nothing left to undo
    assert sc.store.conn.execute(rows).fetchall() == []
    assert sc.store.mark_done("https://x.example/m1", NOW) == (DoneMark("src", "m1", at(days=1), NOW),)


def test_only_an_unanswered_community_message_can_be_marked_done(sc: Scenario) -> None:
    _thread(sc)
    for url in ("https://x.example/nowhere", "https://x.example/b1", "https://x.example/a2", "https://x.example/r2"):
        assert sc.store.mark_done(url, NOW) == (), url  # unknown, a broadcast, a response, answered
    assert sc.store.unmark_done("https://x.example/nowhere") == ()
    assert sc.store.unmark_done("https://x.example/b1") == ()
    assert sc.store.conn.execute("SELECT COUNT(*) FROM no_reply_needed").fetchone() == (0,)


def test_a_mark_survives_deriving_again_and_goes_with_its_source(sc: Scenario) -> None:
    _thread(sc)
    sc.store.mark_done("https://x.example/r1", NOW)
    assert [w.url for w in sc.report().waiting] == ["https://x.example/m1"]
    sc.store.close()
    sc.store = Store.open(sc.path, sc.policy._replace(also=("mastodon:@jane",)))  # every thread derived again
    assert [w.url for w in sc.report().waiting] == ["https://x.example/m1"]
    sc.write(post("r3", "dave", at(hours=5), parent_id="b1", root_id="b1"))  # the thread derived again
    assert [w.url for w in sc.report().waiting] == ["https://x.example/m1", "https://x.example/r3"]
    sc.store.forget("src")
    assert sc.store.conn.execute("SELECT COUNT(*) FROM no_reply_needed").fetchone() == (0,)


def _back_to_schema_4(store: Store) -> None:
    """What schema 5 added (the alert ledger, `down_since`), gone: a store as twoway left it before."""
    for statement in ("DROP TABLE alert_deliveries", "DROP TABLE alerts", "ALTER TABLE sources DROP COLUMN down_since"):
        store.conn.execute(statement)
    store.dialect.set_version(store.conn, 4)


def test_down_since_is_the_first_failure_after_the_last_success_and_a_schema_4_store_knows_its_last(
    sc: Scenario,
) -> None:
    sc.write(post("b1", ORG, at(days=1)))
    sc.store.record_error("src", "mastodon", NOW + timedelta(minutes=5), "HTTP 503")
    sc.store.record_error("src", "mastodon", NOW + timedelta(minutes=10), "HTTP 503")
    assert sc.store.source_states()["src"].down_since == NOW + timedelta(minutes=5)
    sc.store.write(sc.batch()._replace(polled_at=NOW + timedelta(minutes=15)))
    assert sc.store.source_states()["src"].down_since is None
    sc.store.record_error("src", "mastodon", NOW + timedelta(minutes=20), "HTTP 503")
    assert sc.store.source_states()["src"].down_since == NOW + timedelta(minutes=20)
    sc.store.record_error("src", "mastodon", NOW + timedelta(minutes=25), "HTTP 503")
    _back_to_schema_4(sc.store)
    sc.store.close()
    store = Store.open(sc.path, sc.policy)
    assert store.source_states()["src"].down_since == NOW + timedelta(minutes=25)
    assert store.ledger.firing() == []
    store.close()


def test_a_lease_is_renewed_by_its_holder_only_and_never_after_it_was_given_back(sc: Scenario) -> None:
    assert sc.store.acquire_lease("src", "mastodon", "a", NOW, 60)
    assert not sc.store.renew_lease("src", "b", NOW, 60)
    assert sc.store.renew_lease("src", "a", NOW + timedelta(seconds=50), 60)
    assert not sc.store.acquire_lease("src", "mastodon", "b", NOW + timedelta(seconds=61), 60)  # renewed: still a's
    sc.store.release_lease("src", "a")
    assert not sc.store.renew_lease("src", "a", NOW, 60)
    assert sc.store.source_states()["src"].lease_owner is None


async def test_a_long_poll_renews_its_lease_while_it_runs(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from twoway import scheduler

    loop = asyncio.get_running_loop()
    renewed = asyncio.Event()
    real = sc.store.renew_lease

    def renew(*args: object) -> bool:
        held = real(*args)  # type: ignore[arg-type]
        loop.call_soon_threadsafe(renewed.set)
        return held

    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(sc.store, "renew_lease", renew)
    monkeypatch.setattr(scheduler, "wait", no_wait)
    moments = iter([NOW] + [NOW + timedelta(seconds=90)] * 10)
    seen: list[object] = []

    class Slow:
        async def poll(self, cursor: str | None, now: object) -> object:
            await renewed.wait()
            seen.append(sc.store.source_states()["src"].lease_until)
            return sc.batch([post("b1", ORG, at(days=1))])

    source = sc.config.source("src")
    results = await scheduler.poll_once(sc.store, [source], lambda s: Slow(), lambda: next(moments))  # type: ignore[arg-type, return-value]
    assert results == {"src": None}
    assert seen == [NOW + timedelta(seconds=90 + scheduler.LEASE_SECONDS)]
    assert sc.store.source_states()["src"].lease_owner is None


def test_twenty_readers_beside_a_writer_each_see_whole_polls(sc: Scenario) -> None:
    """SPEC §3 and §11: readers taking reports while polls land never see half of one.

    Each poll adds a broadcast, two replies and a response: a whole poll keeps
    replies = 2 × broadcast and responses = broadcast, which half of one would break.
    """
    import threading

    polls = 12
    seen: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def poll(n: int) -> None:
        b, day = f"b{n}", at(days=2 + n / 24)
        sc.store.write(sc.batch([
            post(b, ORG, day),
            post(f"r{n}", "alice", day + timedelta(minutes=5), parent_id=b, root_id=b),
            post(f"s{n}", "bob", day + timedelta(minutes=6), parent_id=b, root_id=b),
            post(f"a{n}", ORG, day + timedelta(minutes=9), parent_id=f"r{n}", root_id=b),
        ]))

    def write() -> None:
        try:
            for n in range(polls):
                poll(n)
        finally:
            done.set()

    def read() -> None:
        try:
            while True:
                finished = done.is_set()
                reader = Store.open_readonly(sc.path, sc.policy)
                try:
                    m = build_report(reader, sc.config, NOW).goals[0].metrics
                finally:
                    reader.close()
                counts = [int(m[k] or 0) for k in ("broadcast", "replies", "mentions", "responses", "two_way")]
                seen.append((counts[0], counts[1], counts[3]))
                assert counts[4] == counts[1] + counts[2] + counts[3]
                if finished:
                    return
        except BaseException as e:
            errors.append(e)

    poll(-1)  # the store exists, its source polled once
    readers = [threading.Thread(target=read) for _ in range(20)]
    writer = threading.Thread(target=write)
    for thread in (*readers, writer):
        thread.start()
    for thread in (writer, *readers):
        thread.join()
    assert errors == []
    assert all(replies == 2 * broadcast and responses == broadcast for broadcast, replies, responses in seen)
    assert max(b for b, _, _ in seen) == polls + 1 and len(seen) >= 20


def test_a_message_two_sources_stored_is_marked_in_both(tmp_path: Path) -> None:
    """A mention both accounts saw is one message: marking its link marks it wherever it is stored."""
    from tests.scenario import goal, make_config

    config = make_config(sources=(("a", "mastodon"), ("b", "mastodon")), goals=[goal(sources=("a", "b"))])
    sc = Scenario(tmp_path, config)
    mention = post("m1", "bob", at(days=2), mentions_source=True)
    sc.write(mention, source="b")
    sc.write(mention, source="a")
    assert [w.source for w in sc.report().waiting] == ["a"]
    marks = sc.store.mark_done("https://x.example/m1", NOW)
    assert [(m.source_id, m.post_id, m.marked_at) for m in marks] == [("a", "m1", NOW), ("b", "m1", NOW)]
    assert sc.report().waiting == () and sc.report().waiting_total == 0
    assert [m.source_id for m in sc.store.unmark_done("https://x.example/m1")] == ["a", "b"]
    assert [w.source for w in sc.report().waiting] == ["a"]
