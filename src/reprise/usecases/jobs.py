"""Scheduled jobs: what the plan schedules and when each next runs (`reprise schedule`), one
job run now and recorded (`reprise jobs run`, which `reprise serve` and cron call), the runs
kept (`reprise jobs list|show`), and crontab lines for people who prefer cron."""

from __future__ import annotations

import os
import shlex
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError, RepriseError
from reprise.orchestrators.scheduler import plan_jobs
from reprise.plan.schedule import ScheduledJob, due_at, latest_due
from reprise.scheduler.records import (
    Claim,
    JobRun,
    Trigger,
    finish_run,
    get_run,
    latest_runs,
    list_runs,
)
from reprise.scheduler.records import claim_run as claim_slot

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "JobResult",
    "JobRun",
    "JobRunRequest",
    "RunsRequest",
    "ScheduleLine",
    "ScheduledJob",
    "Trigger",
    "cron_lines",
    "find_job",
    "job_runs",
    "plan_jobs",
    "run_job",
    "schedule_overview",
    "show_run",
]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def find_job(plan: Plan, job_id: str) -> ScheduledJob:
    """The plan's job with this id; InputError listing them otherwise."""
    jobs = plan_jobs(plan)
    for job in jobs:
        if job.id == job_id:
            return job
    known = ", ".join(job.id for job in jobs) or "none (no backups and no repositories)"
    raise InputError(f"no scheduled job {job_id!r}", hint=f"jobs: {known}")


@dataclass(frozen=True)
class ScheduleLine:
    """One job with its latest run and its next time."""

    job: ScheduledJob
    last: JobRun | None
    next_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for --json."""
        return {
            **self.job.to_dict(),
            "next_at": self.next_at.isoformat(),
            "last": None if self.last is None else self.last.to_dict(),
        }


def schedule_overview(plan: Plan, store: Store, now: datetime | None = None) -> list[ScheduleLine]:
    """Every job of the plan, its latest run and when it next runs."""
    at = now or utc_now()
    latest = latest_runs(store)
    return [ScheduleLine(job, latest.get(job.id), due_at(job, plan, at)) for job in plan_jobs(plan)]


@dataclass(frozen=True)
class JobRunRequest:
    """Run ``job`` now. ``run_id``: a run already claimed (by `reprise serve`, which then
    records its end itself if this process dies); otherwise the run is claimed here, for the
    time slot ``due`` (default: the latest slot of its schedule for cron, now by hand)."""

    job: str
    trigger: Trigger = "manual"
    run_id: int | None = None
    due: datetime | None = None


@dataclass(frozen=True)
class JobResult:
    """A run that ended: its record, and the error when it failed."""

    run: JobRun
    error: RepriseError | None

    @property
    def exit_code(self) -> int:
        """The job's exit code (0 when it succeeded)."""
        return 0 if self.error is None else self.error.exit_code


def _claim(
    plan: Plan, store: Store, job: ScheduledJob, request: JobRunRequest, now: datetime
) -> int:
    due = request.due or (latest_due(job, plan, now) if request.trigger == "cron" else now)
    run_id = claim_slot(
        store,
        Claim(
            job=job.id,
            kind=job.kind,
            due_at=due,
            attempt=1,
            trigger=request.trigger,
            started_at=now,
            deadline=now + job.timeout,
            host=socket.gethostname(),
            pid=os.getpid(),
        ),
    )
    if run_id is None:
        raise InputError(
            f"job {job.id} already ran (or runs) for {due.isoformat()}",
            hint="`reprise jobs list` shows its runs; a run by hand needs no time slot",
        )
    return run_id


def run_job(plan: Plan, store: Store, request: JobRunRequest, clock: Clock = utc_now) -> JobResult:
    """Run one scheduled job in this process and record its end in the jobs table. A
    failure of the job is in the result (never raised); bad input is raised (InputError)."""
    job = find_job(plan, request.job)
    run_id = request.run_id
    if run_id is None:
        run_id = _claim(plan, store, job, request, clock())
    error: RepriseError | None = None
    figures: dict[str, Any] | None = None
    try:
        error, figures = _execute(plan, store, job)
    except RepriseError as raised:
        error = raised
    except Exception as crashed:  # a bug: record the run's end, then let the door report it
        finish_run(
            store,
            run_id,
            status="failed",
            finished_at=clock(),
            exit_code=70,
            error=f"{type(crashed).__name__}: {crashed}",
        )
        raise
    except BaseException:  # interrupted (SIGTERM, Ctrl-C)
        if request.run_id is None:  # our own claim: nobody else will record its end
            finish_run(
                store,
                run_id,
                status="cancelled",
                finished_at=clock(),
                error="interrupted",
            )
        raise  # a service's run: the service records how it ended (timeout, stop)
    message = None if error is None else error.render()[0]
    finish_run(
        store,
        run_id,
        status="ok" if error is None else "failed",
        finished_at=clock(),
        exit_code=0 if error is None else error.exit_code,
        error=message,
        figures=figures,
        retryable=None if error is None else error.retryable,
    )
    return JobResult(get_run(store, run_id), error)


def _execute(
    plan: Plan, store: Store, job: ScheduledJob
) -> tuple[RepriseError | None, dict[str, Any] | None]:
    """Do the job's work through the same use cases as the commands; (error, figures)."""
    if job.kind == "backup":
        from reprise.usecases.backups import BackupRequest, run_backups

        run = run_backups(plan, store, BackupRequest(service=job.service, source=job.target))
        failures = run.failures
        return (failures[0] if failures else None), {"backups": run.to_dict()}
    if job.kind == "drill":
        from reprise.usecases.drill import DrillRequest, drill

        (outcome,) = drill(plan, store, DrillRequest(job.target)).outcomes
        figures = {"drill_id": outcome.drill_id, "report": str(outcome.path)}
        if outcome.error is not None:
            return outcome.error, figures
        if outcome.failures:
            from reprise.errors import VerificationError

            return VerificationError("drill failed: " + "; ".join(outcome.failures)), figures
        return None, figures
    if job.kind == "verify":
        from reprise.usecases.verify import VerifyRequest, verify_backups

        report = verify_backups(
            plan,
            store,
            VerifyRequest(
                budget=plan.verification.budget / 100,
                repository=job.target,
                deep=_identity_present(plan),
            ),
        )
        figures = {
            "deep": report.deep,
            "verified": len(report.outcomes),
            "failed": len(report.failed),
            "problems": len(report.problems),
        }
        return report.error(), figures
    if job.kind == "report":
        from reprise.usecases.sla import send_monthly_report

        sent = send_monthly_report(plan, store)
        figures = sent.to_dict()
        if sent.deliveries and not any(record.ok for record in sent.deliveries):
            from reprise.errors import OperationError

            return OperationError("the SLA report reached no contact"), figures
        return None, figures
    from reprise.usecases.prune import PruneRequest, prune_backups, unreachable_error

    result = prune_backups(plan, store, PruneRequest(repository=job.target))
    return unreachable_error(result), result.to_dict()


def _identity_present(plan: Plan) -> bool:
    """Deep verification needs the identity; a backup host usually has none."""
    identity = plan.keys.identity
    return identity is not None and Path(identity).is_file() and os.access(identity, os.R_OK)


@dataclass(frozen=True)
class RunsRequest:
    """Runs of one job (or all), of one status (or all), newest first, at most ``limit``."""

    job: str | None = None
    status: str | None = None
    limit: int = 50


def job_runs(plan: Plan, store: Store, request: RunsRequest) -> list[JobRun]:
    """The runs asked for; an unknown job id is refused (a typo must not look like "never
    ran")."""
    if request.job is not None:
        known = {job.id for job in plan_jobs(plan)}
        if request.job not in known and not list_runs(store, job=request.job, limit=1):
            find_job(plan, request.job)
    return list_runs(store, job=request.job, status=request.status, limit=request.limit)


def show_run(store: Store, run_id: int) -> JobRun:
    """One run with its figures."""
    return get_run(store, run_id)


def cron_lines(plan: Plan, plan_path: Path, command: str = "reprise") -> list[str]:
    """Crontab lines that run the plan's jobs as `reprise serve` would, each under flock
    (never two runs of one job at once) and recorded in the jobs table. Schedules with
    seconds cannot be written for cron: they are listed as comments."""
    zone = plan.organisation.timezone
    lines = [
        f"# Reprise scheduled jobs of {plan.organisation.name} ({plan_path})",
        f"# Times are in {zone}: cron uses the system's time zone; set it to {zone}",
        "# (timedatectl set-timezone) or adjust the hours. Runs appear in `reprise jobs list`.",
        "SHELL=/bin/sh",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]
    for job in plan_jobs(plan):
        if len(job.schedule.split(" ")) == 6:
            lines.append(f"# {job.id}: '{job.schedule}' has seconds, which cron cannot run")
            continue
        lock = f"/run/lock/reprise-{job.id.replace(':', '-')}.lock"
        timeout = int(job.timeout.total_seconds())
        lines.append(
            f"{job.schedule} flock -n {lock} timeout --kill-after=60 {timeout} "
            f"{shlex.quote(command)} --plan {shlex.quote(str(plan_path))} "
            f"jobs run {shlex.quote(job.id)} --cron"
        )
    return lines
