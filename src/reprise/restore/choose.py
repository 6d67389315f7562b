"""Which source and which backup a restore uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reprise.errors import InputError, option
from reprise.plan.jobs import BackupJob, backup_jobs
from reprise.repository.catalog import CatalogEntry, find_backup, list_backups
from reprise.restore.registry import kinds_where, restorer_for, spoken

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

DEFAULT_KINDS = kinds_where(lambda restorer: restorer.default)
"""The kinds a plain restore picks when no source is named."""
POINT_IN_TIME_KINDS = kinds_where(lambda restorer: restorer.point_in_time)
"""The kinds point-in-time recovery starts from."""


def choose_job(
    plan: Plan, service: str, source: str | None, *, physical: bool = False
) -> BackupJob:
    """The backup entry to restore from: ``source`` if given, else the service's first
    logical entry (first physical one for point-in-time recovery)."""
    jobs = backup_jobs(plan, service, source)
    if source is not None:
        job = jobs[0]
        if physical and not restorer_for(job.source.kind).point_in_time:
            raise InputError(
                f"{job.name} is a {job.source.kind} source; point-in-time "
                f"recovery needs a {spoken(POINT_IN_TIME_KINDS)} one",
                hint=f"drop {option('source')}, or name the physical source",
            )
        return job
    wanted = POINT_IN_TIME_KINDS if physical else DEFAULT_KINDS
    for job in jobs:
        if job.source.kind in wanted:
            return job
    raise InputError(
        f"service {service} has no {spoken(wanted)} backup source",
        hint=f"add one to its `backups`, or name a source with {option('source')}",
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
                hint=f"give a backup of that source, or its {option('source')}",
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
