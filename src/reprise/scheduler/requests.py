"""Runs asked for from the web or the API ("back up now"): recorded in the state, taken by
the leading service at its next tick and run as manual runs of the job, so that one
process (the scheduler) starts every job and its limits hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, select, update

from reprise.store.tables import job_requests

if TYPE_CHECKING:
    from reprise.store.database import Store


@dataclass(frozen=True)
class JobRequest:
    """One request: the job, who asked and when, and when a service took it."""

    id: int
    job: str
    requested_at: datetime
    requested_by: str
    taken_at: datetime | None
    taken_by: str | None

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for the API."""
        return {
            "id": self.id,
            "job": self.job,
            "requested_at": self.requested_at.isoformat(),
            "requested_by": self.requested_by,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "taken_by": self.taken_by,
        }


def add_request(store: Store, job: str, by: str, at: datetime) -> JobRequest:
    """Ask for a run of ``job``; a request for the same job still waiting is reused."""
    r = job_requests.c
    with store.engine.begin() as connection:
        waiting = connection.execute(
            select(job_requests).where(and_(r.job == job, r.taken_at.is_(None)))
        ).first()
        if waiting is not None:
            return JobRequest(*waiting)
        inserted = connection.execute(
            insert(job_requests).values(job=job, requested_at=at, requested_by=by[:200])
        ).inserted_primary_key
        assert inserted is not None
        row = connection.execute(select(job_requests).where(r.id == inserted[0])).one()
    return JobRequest(*row)


def waiting_requests(store: Store) -> list[JobRequest]:
    """Requests no service has taken yet, oldest first."""
    r = job_requests.c
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(job_requests).where(r.taken_at.is_(None)).order_by(r.id)
        ).all()
    return [JobRequest(*row) for row in rows]


def take_requests(store: Store, holder: str, at: datetime) -> list[JobRequest]:
    """Take every waiting request (each taken once, even with several services)."""
    taken = []
    for request in waiting_requests(store):
        with store.engine.begin() as connection:
            changed = connection.execute(
                update(job_requests)
                .where(and_(job_requests.c.id == request.id, job_requests.c.taken_at.is_(None)))
                .values(taken_at=at, taken_by=holder[:200])
            ).rowcount
        if changed:
            taken.append(request)
    return taken
