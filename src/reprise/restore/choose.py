"""Which source and which backup a restore uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reprise.errors import InputError
from reprise.plan.jobs import BackupJob, backup_jobs
from reprise.repository.catalog import CatalogEntry, find_backup, list_backups

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

LOGICAL_KINDS = ("postgres", "files", "command")


def choose_job(
    plan: Plan, service: str, source: str | None, *, physical: bool = False
) -> BackupJob:
    """The backup entry to restore from: ``source`` if given, else the service's first
    logical entry (first physical one for point-in-time recovery)."""
    jobs = backup_jobs(plan, service, source)
    if source is not None:
        job = jobs[0]
        if physical and job.source.kind != "postgres_physical":
            raise InputError(
                f"{job.name} is a {job.source.kind} source; point-in-time "
                "recovery needs a postgres_physical one",
                hint="drop --source, or name the physical source",
            )
        return job
    wanted = ("postgres_physical",) if physical else LOGICAL_KINDS
    for job in jobs:
        if job.source.kind in wanted:
            return job
    kinds = "postgres_physical" if physical else "postgres, files or command"
    raise InputError(
        f"service {service} has no {kinds} backup source",
        hint="add one to its `backups`, or name a source with --source",
    )


def choose_backup(
    store: Store, job: BackupJob, backup_id: str | None, *, verified_only: bool = False
) -> CatalogEntry:
    """The backup ``backup_id`` of that source, else its newest (newest verified one)."""
    if backup_id is not None:
        entry = find_backup(store, backup_id)
        if entry.manifest.source != job.name:
            raise InputError(
                f"backup {entry.backup_id} belongs to {entry.manifest.source}, not to {job.name}",
                hint="give a backup of that source, or its --source",
            )
        return entry
    entries = list_backups(store, source=job.name)
    if verified_only:
        entries = [entry for entry in entries if entry.verify_status == "ok"]
    if not entries:
        which = "verified backup" if verified_only else "backup"
        raise InputError(
            f"{job.name} has no {which} in the catalog",
            hint="run `reprise backup run` (and `reprise backup verify`); on a "
            "new machine, `reprise repo reindex NAME` first",
        )
    return entries[-1]
