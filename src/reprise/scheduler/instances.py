"""Each `reprise serve` process in the state store: registered at start, a heartbeat every
few seconds (with its lag figures and running jobs), marked stopped on a clean stop. What
`reprise status` and `reprise serve status` read to say whether Reprise itself is alive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from reprise.store.database import Store
from reprise.store.tables import service_instances


@dataclass(frozen=True)
class Instance:
    """One service process as last recorded."""

    id: int
    host: str
    pid: int
    version: str
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None
    role: str
    details: dict[str, Any]

    def alive(self, now: datetime, stale_after: timedelta) -> bool:
        """Running and heard from within ``stale_after``."""
        return self.stopped_at is None and now - self.beat_at <= stale_after

    def to_dict(self, now: datetime, stale_after: timedelta) -> dict[str, Any]:
        """Stable fields for --json."""
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "version": self.version,
            "started_at": self.started_at.isoformat(),
            "beat_at": self.beat_at.isoformat(),
            "stopped_at": None if self.stopped_at is None else self.stopped_at.isoformat(),
            "role": self.role,
            "alive": self.alive(now, stale_after),
            "details": self.details,
        }


def _instance(row: Any) -> Instance:
    return Instance(**{column.name: getattr(row, column.name) for column in service_instances.c})


def register(store: Store, *, host: str, pid: int, version: str, now: datetime, role: str) -> int:
    """Record a service process starting; its id."""
    with store.engine.begin() as connection:
        key = connection.execute(
            insert(service_instances).values(
                host=host[:200],
                pid=pid,
                version=version[:40],
                started_at=now,
                beat_at=now,
                role=role,
                details={},
            )
        ).inserted_primary_key
    assert key is not None
    return int(key[0])


def beat(store: Store, instance_id: int, now: datetime, role: str, details: dict[str, Any]) -> None:
    """The process is alive now, in this role, with these figures."""
    with store.engine.begin() as connection:
        connection.execute(
            update(service_instances)
            .where(service_instances.c.id == instance_id)
            .values(beat_at=now, role=role, details=details)
        )


def stopped(store: Store, instance_id: int, now: datetime) -> None:
    """The process stopped cleanly."""
    with store.engine.begin() as connection:
        connection.execute(
            update(service_instances)
            .where(service_instances.c.id == instance_id)
            .values(stopped_at=now, beat_at=now)
        )


def latest_instances(store: Store, limit: int = 5) -> list[Instance]:
    """The most recently heard-from processes, newest first."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(service_instances).order_by(service_instances.c.beat_at.desc()).limit(limit)
        ).all()
    return [_instance(row) for row in rows]
