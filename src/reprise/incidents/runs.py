"""Runbook runs as stored: each run, where it stopped, and every step attempt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, insert, select, true, update

from reprise.store.database import Store
from reprise.store.tables import runbook_runs, runbook_steps


@dataclass
class StepRecord:
    """One attempt of one step."""

    position: int
    kind: str
    title: str
    status: str
    """done, failed, waiting (for a person) or skipped (not run: an exercise)."""
    started_at: datetime
    finished_at: datetime
    message: str
    output: str | None
    by: str

    @property
    def seconds(self) -> float:
        """How long the attempt took."""
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "step": self.position + 1,
            "kind": self.kind,
            "title": self.title,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "message": self.message,
            "output": self.output,
            "by": self.by,
        }


@dataclass
class RunRecord:
    """A run of a scenario; ``next_step`` (0-based) is where it resumes."""

    id: int
    scenario: str
    incident_id: int | None
    parameters: dict[str, str]
    status: str
    """running, waiting, failed or done."""
    next_step: int
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    exercise: bool = False
    steps: list[StepRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form of `runbook run --json`."""
        return {
            "run": self.id,
            "scenario": self.scenario,
            "incident": self.incident_id,
            "parameters": self.parameters,
            "status": self.status,
            "next_step": self.next_step + 1,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "exercise": self.exercise,
            "steps": [step.to_dict() for step in self.steps],
        }


def _run(row: Any) -> RunRecord:
    return RunRecord(
        row.id,
        row.scenario,
        row.incident_id,
        row.parameters,
        row.status,
        row.next_step,
        row.started_at,
        row.finished_at,
        row.started_by,
        bool(row.exercise),
    )


def create_run(
    store: Store,
    scenario: str,
    incident_id: int | None,
    parameters: dict[str, str],
    *,
    by: str,
    at: datetime,
    exercise: bool = False,
) -> RunRecord:
    """Start a new run at its first step (``exercise``: a rehearsal, marked as such)."""
    values = {
        "scenario": scenario,
        "incident_id": incident_id,
        "parameters": parameters,
        "status": "running",
        "next_step": 0,
        "started_at": at,
        "started_by": by[:200],
        "exercise": exercise,
    }
    with store.engine.begin() as connection:
        key = connection.execute(insert(runbook_runs).values(values)).inserted_primary_key
    assert key is not None
    return RunRecord(
        int(key[0]), scenario, incident_id, parameters, "running", 0, at, None, by, exercise
    )


def resumable_run(
    store: Store, scenario: str, incident_id: int | None, *, exercise: bool = False
) -> RunRecord | None:
    """The latest unfinished run of this scenario for this incident, with its steps; an
    exercise resumes only an exercise (without an incident: the latest, whichever its
    incident), a real run only a real one."""
    condition = (
        runbook_runs.c.incident_id.is_(None)
        if incident_id is None
        else runbook_runs.c.incident_id == incident_id
    )
    if exercise and incident_id is None:
        condition = true()
    query = (
        select(runbook_runs)
        .where(
            and_(
                runbook_runs.c.scenario == scenario,
                runbook_runs.c.exercise == (true() if exercise else false()),
                condition,
            )
        )
        .order_by(runbook_runs.c.id.desc())
        .limit(1)
    )
    with store.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None or row.status == "done":
        return None
    run = _run(row)
    run.steps = _steps(store, [run.id])[run.id]
    return run


def _steps(store: Store, run_ids: list[int]) -> dict[int, list[StepRecord]]:
    found: dict[int, list[StepRecord]] = {run_id: [] for run_id in run_ids}
    query = (
        select(runbook_steps)
        .where(runbook_steps.c.run_id.in_(run_ids))
        .order_by(runbook_steps.c.id)
    )
    with store.engine.connect() as connection:
        for r in connection.execute(query):
            found[r.run_id].append(
                StepRecord(
                    r.position,
                    r.kind,
                    r.title,
                    r.status,
                    r.started_at,
                    r.finished_at,
                    r.message,
                    r.output,
                    r.by,
                )
            )
    return found


def save_step(store: Store, run: RunRecord, step: StepRecord) -> None:
    """Record a step attempt and move the run on (or stop it there)."""
    run.steps.append(step)
    if step.status in ("done", "skipped"):
        run.next_step = step.position + 1
    run.status = {
        "done": "running",
        "skipped": "running",
        "failed": "failed",
        "waiting": "waiting",
    }[step.status]
    with store.engine.begin() as connection:
        connection.execute(
            insert(runbook_steps).values(
                run_id=run.id,
                position=step.position,
                kind=step.kind,
                title=step.title,
                status=step.status,
                started_at=step.started_at,
                finished_at=step.finished_at,
                message=step.message,
                output=step.output,
                by=step.by[:200],
            )
        )
        connection.execute(
            update(runbook_runs)
            .where(runbook_runs.c.id == run.id)
            .values(status=run.status, next_step=run.next_step)
        )


def finish_run(store: Store, run: RunRecord, at: datetime) -> None:
    """Mark a run whose every step is done."""
    run.status, run.finished_at = "done", at
    with store.engine.begin() as connection:
        connection.execute(
            update(runbook_runs)
            .where(runbook_runs.c.id == run.id)
            .values(status="done", finished_at=at)
        )


def runs_of(store: Store, *, incident_id: int | None = None, limit: int = 100) -> list[RunRecord]:
    """Runs (of one incident, or all), oldest first, with their steps."""
    query = select(runbook_runs).order_by(runbook_runs.c.id.desc()).limit(limit)
    if incident_id is not None:
        query = query.where(runbook_runs.c.incident_id == incident_id)
    with store.engine.connect() as connection:
        runs = [_run(row) for row in connection.execute(query)][::-1]
    steps = _steps(store, [run.id for run in runs]) if runs else {}
    for run in runs:
        run.steps = steps[run.id]
    return runs
