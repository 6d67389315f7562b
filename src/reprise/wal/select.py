"""Which physical source a WAL command is about."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reprise.errors import InputError, option
from reprise.plan.jobs import BackupJob, backup_jobs

if TYPE_CHECKING:
    from reprise.plan.model import Plan


def wal_job(plan: Plan, source: str | None, service: str | None = None) -> BackupJob:
    """The postgres_physical source named ``source``, else the only one (of ``service``)."""
    jobs = [job for job in backup_jobs(plan, service) if job.source.takes_wal]
    if source is not None:
        chosen = [job for job in jobs if job.name == source]
        if not chosen:
            names = ", ".join(job.name for job in jobs) or "none"
            raise InputError(
                f"no postgres_physical source named {source!r}", hint=f"physical sources: {names}"
            )
        return chosen[0]
    if len(jobs) != 1:
        names = ", ".join(job.name for job in jobs)
        raise InputError(
            "the plan has no postgres_physical source"
            if not jobs
            else f"several physical sources ({names}): say which with {option('source')}",
            hint="archive_command = 'reprise wal push %p --source NAME'",
        )
    return jobs[0]
