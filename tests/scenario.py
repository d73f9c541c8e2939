"""Small hand-built scenarios: a config, a store, and posts placed in time around NOW."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests import pg
from twoway.config import Config, Dashboard, Goal, Organization, Source, Target
from twoway.metrics import build_report
from twoway.model import PARTS, Account, Batch, Counters, Part, Post
from twoway.report import GoalReport
from twoway.store import Store, StorePolicy

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)
DAY = 86400
ORG = "org"


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """A moment `days` + `hours` + `minutes` before NOW."""
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def post(pid: str, author: str = "alice", when: datetime | None = None, **kw: object) -> Post:
    return Post(id=pid, author_id=author, created_at=when or at(days=1), url=f"https://x.example/{pid}", **kw)  # type: ignore[arg-type]


def make_config(
    sources: Sequence[tuple[str, str]] = (("src", "mastodon"),),
    goals: Sequence[Goal] | None = None,
    also: Sequence[str] = (),
    window_days: int = 30,
) -> Config:
    ids = tuple(s for s, _ in sources)
    return Config(
        path=None,
        organization=Organization(name="Test Library", also=tuple(also)),
        dashboard=Dashboard(window=window_days * DAY),
        sources=tuple(Source(id=s, platform=p, interval=300) for s, p in sources),
        goals=tuple(goals) if goals is not None else (Goal(name="All", sources=ids),),
    )


def goal(name: str = "G", sources: Sequence[str] = ("src",), targets: Sequence[Target] = (), **kw: object) -> Goal:
    return Goal(name=name, sources=tuple(sources), targets=tuple(targets), **kw)  # type: ignore[arg-type]


class Scenario:
    def __init__(self, tmp: Path, config: Config | None = None) -> None:
        self.config = config or make_config()
        self.path = pg.current.location(tmp)
        """The store's file, or its PostgreSQL schema, on the test's backend (`tests.pg`)."""
        self.store = Store.open(self.path, self.policy)

    @property
    def file(self) -> Path:
        """The SQLite file, for what only SQLite has."""
        assert isinstance(self.path, Path), self.path
        return self.path

    @property
    def policy(self) -> StorePolicy:
        return StorePolicy(
            also=self.config.organization.also,
            keywords=self.config.keywords,
            hours=self.config.organization.hours,
            horizon=self.config.horizon,
        )

    def batch(
        self,
        posts: Sequence[Post] = (),
        *,
        source: str = "src",
        counters: Sequence[Counters] = (),
        measures: frozenset[Part] = frozenset(PARTS),
        accounts: Sequence[Account] = (Account(ORG, "@org"),),
        **kw: object,
    ) -> Batch:
        platform = self.config.source(source).platform
        return Batch(
            source_id=source,
            platform=platform,
            polled_at=NOW,
            posts=tuple(posts),
            counters=tuple(counters),
            accounts=tuple(accounts),
            measures=measures,
            **kw,  # type: ignore[arg-type]
        )

    def write(self, *posts: Post, **kw: object) -> Batch:
        batch = self.batch(posts, **kw)  # type: ignore[arg-type]
        self.store.write(batch)
        return batch

    def report(self, name: str | None = None, window: int | None = None) -> GoalReport:
        report = build_report(self.store, self.config, NOW, window=window)
        if name is None:
            return report.goals[0]
        return next(g for g in report.goals if g.name == name)
