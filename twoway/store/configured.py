"""The store a configuration names, and what it needs to know of the organization."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from twoway.store.database import StorePolicy, default_path

if TYPE_CHECKING:
    from twoway.config import Config

__all__ = ["store_path", "store_policy"]


def store_path(config: Config) -> Path:
    from twoway.config import PostgresURL
    from twoway.errors import StoreError

    database = config.dashboard.database
    if isinstance(database, PostgresURL):  # never a file named after the URL
        raise StoreError(f"{database}: this twoway has no PostgreSQL store yet")
    return database or default_path()


def store_policy(config: Config) -> StorePolicy:
    """Who counts as the organization and what is kept: re-derived whenever these change."""
    return StorePolicy(
        also=config.organization.also,
        keywords=config.keywords,
        keep_community_text=config.dashboard.store_community_text,
        hours=config.organization.hours,
        timeout=config.dashboard.timeout,
        horizon=config.horizon,
    )
