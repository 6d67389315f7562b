"""The plan's scheduled jobs and when they fire: a backup per source, a drill per service
whose drill is enabled, a verification and a pruning per repository, and the monthly SLA
report.

Times are computed in the plan's time zone (``0 2 * * *`` is 02:00 in Paris, summer and
winter), with a per-job jitter that is the same on every host, so that services sharing a
state agree on which run is due.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from reprise.plan.jobs import backup_jobs

if TYPE_CHECKING:
    from collections.abc import Collection

    from reprise.plan.model import Plan

JobKind = Literal["backup", "drill", "verify", "prune", "report"]
JOB_KINDS: tuple[JobKind, ...] = ("backup", "drill", "verify", "prune", "report")

REPORT_TIMEOUT = timedelta(minutes=30)
"""The monthly SLA report (a year of figures, a chart, mails) is stopped past this."""

DRILL_MARGIN = timedelta(minutes=30)
"""A drill fails itself past its max duration; the scheduler stops it this much later
(cleaning up a scratch server takes time)."""


@dataclass(frozen=True)
class ScheduledJob:
    """One job the service runs on its own."""

    id: str
    """``backup:<source>``, ``drill:<service>``, ``verify:<repository>``,
    ``prune:<repository>``, ``report:sla``."""
    kind: JobKind
    target: str
    """The source's folder name, the service, the repository, or the report (``sla``)."""
    schedule: str
    timeout: timedelta
    service: str | None
    """Whose owner hears about a failure (None for repository-wide jobs)."""
    repository: str | None
    """The repository the job reads or writes: at most ``scheduler.per_repository`` at once."""

    def to_dict(self) -> dict[str, object]:
        """Stable fields for --json."""
        return {
            "job": self.id,
            "kind": self.kind,
            "target": self.target,
            "schedule": self.schedule,
            "timeout_seconds": int(self.timeout.total_seconds()),
            "service": self.service,
            "repository": self.repository,
        }


def scheduled_jobs(plan: Plan, *, drillable: Collection[str]) -> list[ScheduledJob]:
    """Every scheduled job of the plan, in a stable order (kind, then plan order); a drill
    for each service whose drill is enabled and that has a backup of a ``drillable`` kind
    (the restore registry knows which)."""
    jobs: list[ScheduledJob] = []
    has_backups = any(service.backups for service in plan.services)
    if has_backups:
        for backup in backup_jobs(plan):
            jobs.append(
                ScheduledJob(
                    f"backup:{backup.name}",
                    "backup",
                    backup.name,
                    backup.source.schedule,
                    backup.source.timeout,
                    backup.service.id,
                    backup.source.repository,
                )
            )
    for service in plan.services:
        drill = service.drill
        kinds = {entry.kind for entry in service.backups}
        if drill is not None and drill.enabled and kinds & set(drillable):
            limit = drill.max_duration or plan.rto(service)
            jobs.append(
                ScheduledJob(
                    f"drill:{service.id}",
                    "drill",
                    service.id,
                    drill.schedule,
                    limit + DRILL_MARGIN,
                    service.id,
                    service.backups[0].repository,
                )
            )
    for name in plan.repositories:
        if plan.verification.enabled:
            jobs.append(
                ScheduledJob(
                    f"verify:{name}",
                    "verify",
                    name,
                    plan.verification.schedule,
                    plan.verification.timeout,
                    None,
                    name,
                )
            )
        if plan.pruning.enabled:
            jobs.append(
                ScheduledJob(
                    f"prune:{name}",
                    "prune",
                    name,
                    plan.pruning.schedule,
                    plan.pruning.timeout,
                    None,
                    name,
                )
            )
    if plan.sla.report and plan.communication.audiences:
        jobs.append(
            ScheduledJob(
                "report:sla", "report", "sla", plan.sla.report_schedule, REPORT_TIMEOUT, None, None
            )
        )
    return jobs


def job_offset(job_id: str, jitter: timedelta) -> timedelta:
    """The job's own delay within ``jitter``: derived from its id, the same on every host
    and every run."""
    seconds = int(jitter.total_seconds())
    if seconds <= 0:
        return timedelta(0)
    digest = hashlib.sha256(job_id.encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:4], "big") % (seconds + 1))


def next_fire(schedule: str, after: datetime, zone: str) -> datetime:
    """The first time strictly after ``after`` at which ``schedule`` fires, in ``zone``
    (aware datetime in that zone)."""
    from croniter import croniter

    start = after.astimezone(ZoneInfo(zone))
    fired: datetime = croniter(schedule, start).get_next(datetime)
    return fired


def previous_fire(schedule: str, at: datetime, zone: str) -> datetime:
    """The latest time at or before ``at`` at which ``schedule`` fires, in ``zone``."""
    from croniter import croniter

    start = at.astimezone(ZoneInfo(zone)) + timedelta(microseconds=1)
    fired: datetime = croniter(schedule, start).get_prev(datetime)
    return fired


def due_at(job: ScheduledJob, plan: Plan, after: datetime) -> datetime:
    """When the job next starts after ``after``: its schedule's next time plus its jitter."""
    offset = job_offset(job.id, plan.scheduler.jitter)
    fired = next_fire(job.schedule, after - offset, plan.organisation.timezone)
    return fired + offset


def latest_due(job: ScheduledJob, plan: Plan, at: datetime) -> datetime:
    """The latest start time at or before ``at`` (what a service that was down missed)."""
    offset = job_offset(job.id, plan.scheduler.jitter)
    fired = previous_fire(job.schedule, at - offset, plan.organisation.timezone)
    return fired + offset
