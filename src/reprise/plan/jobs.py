"""The plan's backup jobs: one per backup entry of a service, named as its repository folder.

Backups make them, restores, WAL archiving and drills choose among them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reprise.errors import InputError
from reprise.plan.sources import default_source_name

if TYPE_CHECKING:
    from reprise.plan.model import Plan, Service
    from reprise.plan.sources import BackupSource


@dataclass(frozen=True)
class BackupJob:
    """One backup entry of one service."""

    service: Service
    source: BackupSource

    @property
    def name(self) -> str:
        """The source's folder name in the repository."""
        return default_source_name(self.service.id, self.source)


def backup_jobs(
    plan: Plan, service_id: str | None = None, source: str | None = None
) -> list[BackupJob]:
    """The backup entries of one service, or of every service; only ``source`` if given."""
    if service_id is not None:
        try:
            service = plan.service(service_id)
        except KeyError:
            known = ", ".join(item.id for item in plan.services)
            raise InputError(
                f"no service {service_id!r} in the plan", hint=f"services: {known}"
            ) from None
        if not service.backups:
            raise InputError(
                f"service {service_id} has no backups in the plan",
                hint="add a `backups:` entry to it",
            )
        services = [service]
    else:
        services = [service for service in plan.services if service.backups]
        if not services:
            raise InputError(
                "no service of the plan has backups", hint="add a `backups:` entry to a service"
            )
    jobs = [BackupJob(service, entry) for service in services for entry in service.backups]
    if source is not None:
        chosen = [job for job in jobs if job.name == source]
        if not chosen:
            raise InputError(
                f"no backup source named {source!r}",
                hint=f"sources: {', '.join(job.name for job in jobs)}",
            )
        return chosen
    return jobs
