"""The store a configuration names, and what it needs to know of the organization."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from twoway.store.database import StorePolicy, default_path
from twoway.store.postgres import PgTarget

if TYPE_CHECKING:
    from twoway.config import Config

__all__ = ["store_location", "store_policy"]


def store_location(config: Config) -> Path | PgTarget:
    """The SQLite file, or the PostgreSQL server and schema, with the password if one is configured."""
    from twoway.config import PostgresURL

    dashboard = config.dashboard
    if not isinstance(dashboard.database, PostgresURL):
        return dashboard.database or default_path()
    credential = dashboard.password
    password = credential.resolve() if credential is not None else None
    unset = str(credential) if credential is not None and password is None else None
    return PgTarget(dashboard.database.url, dashboard.schema, password, unset)


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
