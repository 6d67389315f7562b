"""A short description of a state database, for `reprise state info`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from reprise.store.database import Store, current_revision, head_revision
from reprise.store.plan_versions import latest_plan_version
from reprise.store.tables import events, plan_versions


def describe(store: Store) -> dict[str, Any]:
    """Where the database is, its schema revision and how much it holds."""
    with store.engine.connect() as connection:
        versions = connection.execute(select(func.count()).select_from(plan_versions)).scalar()
        event_count = connection.execute(select(func.count()).select_from(events)).scalar()
    latest = latest_plan_version(store)
    return {
        "url": store.display_url,
        "dialect": store.dialect,
        "revision": current_revision(store),
        "head_revision": head_revision(),
        "plan_versions": versions,
        "events": event_count,
        "plan_sha256": latest.sha256 if latest else None,
        "plan_loaded_at": latest.loaded_at.isoformat() if latest else None,
    }
