"""Drills in the state store: one row per drill, newest first in listings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from reprise.restore.report import Report
from reprise.store.database import Store
from reprise.store.tables import drills


@dataclass(frozen=True)
class DrillRecord:
    """One drill as stored."""

    id: int
    service: str
    source: str
    repository: str
    backup_id: str
    backup_time: datetime
    started_at: datetime
    finished_at: datetime
    seconds: float
    rto_seconds: float | None
    objective_seconds: float | None
    result: str
    failures: list[str]
    steps: list[dict[str, Any]]
    report: str | None

    @property
    def backup_age_seconds(self) -> float:
        """Age of the backup when the drill started."""
        return (self.started_at - self.backup_time).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """JSON form of `drill list --json`."""
        return {
            "id": self.id,
            "service": self.service,
            "source": self.source,
            "repository": self.repository,
            "backup_id": self.backup_id,
            "backup_time": self.backup_time.isoformat(),
            "backup_age_seconds": round(self.backup_age_seconds),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "seconds": self.seconds,
            "rto_seconds": self.rto_seconds,
            "objective_seconds": self.objective_seconds,
            "result": self.result,
            "failures": self.failures,
            "steps": self.steps,
            "report": self.report,
        }


def record_drill(
    store: Store,
    report: Report,
    *,
    rto_seconds: float | None,
    objective_seconds: float | None,
    failures: list[str],
    report_path: str | None,
) -> int:
    """Store a finished drill; returns its id."""
    assert report.finished_at is not None
    with store.engine.begin() as connection:
        result = connection.execute(
            insert(drills).values(
                service=report.service,
                source=report.source,
                repository=report.repository,
                backup_id=report.backup_id,
                backup_time=report.backup_time,
                started_at=report.started_at,
                finished_at=report.finished_at,
                seconds=report.seconds,
                rto_seconds=rto_seconds,
                objective_seconds=objective_seconds,
                result=report.result,
                failures=failures,
                steps=[step.to_dict() for step in report.steps],
                report=report_path,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def list_drills(store: Store, *, service: str | None = None, limit: int = 100) -> list[DrillRecord]:
    """Stored drills, newest first."""
    query = select(drills).order_by(drills.c.started_at.desc(), drills.c.id.desc()).limit(limit)
    if service:
        query = query.where(drills.c.service == service)
    with store.engine.connect() as connection:
        return [DrillRecord(**row._mapping) for row in connection.execute(query)]
