"""Which version of the plan was in force when: one row per distinct plan content."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import SQLAlchemyError

from reprise.errors import StateStoreError
from reprise.store.database import Store
from reprise.store.events import append_event
from reprise.store.tables import plan_versions


@dataclass(frozen=True)
class PlanVersion:
    """A plan content (by its SHA-256) and when this state database first saw it."""

    id: int
    sha256: str
    path: str
    loaded_at: datetime


def latest_plan_version(store: Store) -> PlanVersion | None:
    """The plan version seen most recently, if any."""
    query = select(plan_versions).order_by(plan_versions.c.id.desc()).limit(1)
    with store.engine.connect() as connection:
        row = connection.execute(query).first()
    return PlanVersion(row.id, row.sha256, row.path, row.loaded_at) if row else None


def record_plan_version(store: Store, sha256: str, path: str) -> bool:
    """Record the plan in force; return True when it differs from the latest one.

    A change also appends a ``plan.changed`` event in the same transaction.
    """
    now = datetime.now(UTC)
    with store.engine.begin() as connection:
        if store.dialect == "sqlite":
            # Bookkeeping, not the command's job: wait 1 s for a writer, not the usual 10.
            connection.exec_driver_sql("PRAGMA busy_timeout=1000")
        try:
            return _record(connection, sha256, path, now)
        finally:
            if store.dialect == "sqlite":
                with contextlib.suppress(SQLAlchemyError, StateStoreError):
                    connection.exec_driver_sql("PRAGMA busy_timeout=10000")


def _record(connection: Connection, sha256: str, path: str, now: datetime) -> bool:
    latest = connection.execute(
        select(plan_versions.c.sha256).order_by(plan_versions.c.id.desc()).limit(1)
    ).scalar()
    if latest == sha256:
        return False
    connection.execute(insert(plan_versions).values(sha256=sha256, path=path, loaded_at=now))
    append_event(
        connection, "plan.changed", path, {"sha256": sha256, "previous_sha256": latest}, at=now
    )
    return True
