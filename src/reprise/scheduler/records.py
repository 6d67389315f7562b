"""Runs of scheduled jobs in the state store (the ``jobs`` table).

A run is claimed by inserting its row: the unique (job, due_at, attempt) turns two
services racing for the same time slot into one insert and one refusal, so a slot runs
once even across a takeover (Healthchecks' ``sendalerts`` claims its flips the same way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from reprise.errors import InputError
from reprise.store.database import Store
from reprise.store.tables import jobs

Trigger = Literal["schedule", "catch_up", "retry", "manual", "cron"]
Status = Literal["running", "ok", "failed", "timeout", "cancelled", "lost"]
FINISHED: tuple[Status, ...] = ("ok", "failed", "timeout", "cancelled", "lost")


@dataclass(frozen=True)
class JobRun:
    """One run of one job."""

    id: int
    job: str
    kind: str
    due_at: datetime
    attempt: int
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    deadline: datetime
    host: str
    pid: int | None
    exit_code: int | None
    error: str | None
    figures: dict[str, Any] | None
    retryable: bool | None = None
    """Whether a failure may pass if run again (a lost connection, a busy server)."""

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, when it ended."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for --json."""
        return {
            "id": self.id,
            "job": self.job,
            "kind": self.kind,
            "due_at": self.due_at.isoformat(),
            "attempt": self.attempt,
            "trigger": self.trigger,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "duration_seconds": self.duration,
            "host": self.host,
            "pid": self.pid,
            "exit_code": self.exit_code,
            "error": self.error,
            "figures": self.figures,
            "retryable": self.retryable,
        }


def _run(row: Any) -> JobRun:
    return JobRun(**{column.name: getattr(row, column.name) for column in jobs.columns})


@dataclass(frozen=True)
class Claim:
    """What a run is about to do, for :func:`claim_run`."""

    job: str
    kind: str
    due_at: datetime
    attempt: int
    trigger: Trigger
    started_at: datetime
    deadline: datetime
    host: str
    pid: int | None


def claim_run(store: Store, claim: Claim) -> int | None:
    """Insert the run as running and return its id; None when that slot (job, due time,
    attempt) is already claimed, by this service or another one."""
    try:
        with store.engine.begin() as connection:
            key = connection.execute(
                insert(jobs).values(
                    job=claim.job,
                    kind=claim.kind,
                    due_at=claim.due_at,
                    attempt=claim.attempt,
                    trigger=claim.trigger,
                    status="running",
                    started_at=claim.started_at,
                    deadline=claim.deadline,
                    host=claim.host,
                    pid=claim.pid,
                )
            ).inserted_primary_key
    except IntegrityError:
        return None
    assert key is not None
    return int(key[0])


def set_pid(store: Store, run_id: int, pid: int) -> None:
    """Record the process that does the work (a job runs in its own process)."""
    with store.engine.begin() as connection:
        connection.execute(update(jobs).where(jobs.c.id == run_id).values(pid=pid))


def finish_run(
    store: Store,
    run_id: int,
    *,
    status: Status,
    finished_at: datetime,
    exit_code: int | None = None,
    error: str | None = None,
    figures: dict[str, Any] | None = None,
    retryable: bool | None = None,
) -> bool:
    """Record how a run ended; False when it had already ended (the first end wins: a run
    marked lost by another service stays lost)."""
    with store.engine.begin() as connection:
        changed = connection.execute(
            update(jobs)
            .where(and_(jobs.c.id == run_id, jobs.c.status == "running"))
            .values(
                status=status,
                finished_at=finished_at,
                exit_code=exit_code,
                error=None if error is None else error[:4000],
                figures=figures,
                retryable=retryable,
            )
        ).rowcount
    return bool(changed)


def mark_lost(store: Store, now: datetime) -> list[JobRun]:
    """Runs still "running" past their deadline (their process or service died): marked
    lost and returned, so that their slot counts as run and the failure is told."""
    with store.engine.begin() as connection:
        rows = connection.execute(
            select(jobs).where(and_(jobs.c.status == "running", jobs.c.deadline < now))
        ).all()
        for row in rows:
            connection.execute(
                update(jobs)
                .where(and_(jobs.c.id == row.id, jobs.c.status == "running"))
                .values(
                    status="lost",
                    finished_at=now,
                    error="the run's process ended without a result (service stopped or killed)",
                )
            )
    return [_run(row) for row in rows]


def latest_runs(store: Store) -> dict[str, JobRun]:
    """Each job's latest run (by due time, then attempt)."""
    newest = select(jobs.c.job, func.max(jobs.c.id).label("id")).group_by(jobs.c.job).subquery()
    with store.engine.connect() as connection:
        rows = connection.execute(select(jobs).join(newest, jobs.c.id == newest.c.id)).all()
    return {row.job: _run(row) for row in rows}


def latest_success(store: Store, job: str) -> JobRun | None:
    """The job's latest run that succeeded."""
    with store.engine.connect() as connection:
        row = connection.execute(
            select(jobs)
            .where(and_(jobs.c.job == job, jobs.c.status == "ok"))
            .order_by(jobs.c.id.desc())
            .limit(1)
        ).first()
    return None if row is None else _run(row)


def list_runs(
    store: Store, *, job: str | None = None, status: str | None = None, limit: int = 50
) -> list[JobRun]:
    """Runs newest first, of one job or all, of one status or all."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if job is not None:
        query = query.where(jobs.c.job == job)
    if status is not None:
        query = query.where(jobs.c.status == status)
    with store.engine.connect() as connection:
        return [_run(row) for row in connection.execute(query).all()]


def get_run(store: Store, run_id: int) -> JobRun:
    """One run; InputError naming how to find them when there is no such run."""
    with store.engine.connect() as connection:
        row = connection.execute(select(jobs).where(jobs.c.id == run_id)).first()
    if row is None:
        raise InputError(f"no job run {run_id}", hint="`reprise jobs list` shows them")
    return _run(row)
