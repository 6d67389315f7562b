"""Backups: make them (one source, a service's, or every service's), list, show, forget.

Making several backups goes on past a failed one, so that a broken source never keeps
the others from being backed up; the result says which failed and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reprise.backup.run import BackupResult, ProgressFactory, run_backup, summary
from reprise.errors import EXIT_OK, RepriseError
from reprise.plan.jobs import BackupJob, backup_jobs
from reprise.repository.admin import ForgetResult, forget
from reprise.repository.catalog import (
    CatalogEntry,
    ProblemEntry,
    find_backup,
    list_backups,
    list_problems,
)
from reprise.repository.drift import Uncatalogued, uncatalogued_local
from reprise.store import state_dir

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "BackupListing",
    "BackupRequest",
    "BackupResult",
    "BackupRun",
    "CatalogEntry",
    "ForgetRequest",
    "ForgetResult",
    "JobOutcome",
    "ListRequest",
    "ProblemEntry",
    "ProgressFactory",
    "ShowRequest",
    "forget_backup",
    "list_catalog",
    "run_backups",
    "show_backup",
]


@dataclass(frozen=True)
class JobOutcome:
    """One backup of a run: completed (``result``) or failed (``error``)."""

    source: str
    service: str
    result: BackupResult | None = None
    error: RepriseError | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the backup's summary, or its source and error."""
        if self.result is not None:
            return summary(self.result)
        assert self.error is not None
        message, _hint = self.error.render()
        return {"source": self.source, "service": self.service, "error": message}


@dataclass(frozen=True)
class BackupRequest:
    """Which backups to make: every source of ``service`` (``None``: of every service with
    backups), or only ``source``. ``progress`` gives each part its progress callback;
    ``on_outcome`` hears of each backup as soon as it ends."""

    service: str | None = None
    source: str | None = None
    progress: ProgressFactory | None = None
    on_outcome: Callable[[JobOutcome], None] | None = None


@dataclass
class BackupRun:
    """Every backup of a run, in order."""

    outcomes: list[JobOutcome] = field(default_factory=list)

    @property
    def failures(self) -> list[RepriseError]:
        """The errors of the backups that failed."""
        return [outcome.error for outcome in self.outcomes if outcome.error is not None]

    @property
    def completed(self) -> int:
        """How many backups completed."""
        return sum(1 for outcome in self.outcomes if outcome.result is not None)

    @property
    def exit_code(self) -> int:
        """The worst failure's exit code, 0 when every backup completed."""
        return max((error.exit_code for error in self.failures), default=EXIT_OK)

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON form: one entry per backup."""
        return [outcome.to_dict() for outcome in self.outcomes]


def run_backups(plan: Plan, store: Store, request: BackupRequest) -> BackupRun:
    """Make the requested backups one after the other. A single backup's failure is raised;
    among several, a failed one is recorded in the result and the others still run."""
    jobs: list[BackupJob] = backup_jobs(plan, request.service, request.source)
    work_dir = state_dir(plan) / "work"
    run = BackupRun()
    for job in jobs:
        try:
            result = run_backup(plan, store, job, work_dir=work_dir, progress=request.progress)
        except RepriseError as error:
            if len(jobs) == 1:
                raise
            outcome = JobOutcome(job.name, job.service.id, error=error)
        else:
            outcome = JobOutcome(job.name, job.service.id, result=result)
        run.outcomes.append(outcome)
        if request.on_outcome is not None:
            request.on_outcome(outcome)
    return run


@dataclass(frozen=True)
class ListRequest:
    """Which backups to list: ``service``'s, or every one."""

    service: str | None = None


@dataclass
class BackupListing:
    """Complete backups oldest first, folders kept with a problem, and local repositories'
    complete-looking folders that the catalog lacks (a lost state, a copied repository)."""

    entries: list[CatalogEntry]
    problems: list[ProblemEntry]
    uncatalogued: list[Uncatalogued]

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON form: backups (``problem`` null), then problem folders."""
        return [{**entry.to_dict(), "problem": None} for entry in self.entries] + [
            entry.to_dict() for entry in self.problems
        ]


def list_catalog(plan: Plan, store: Store, request: ListRequest) -> BackupListing:
    """The catalog's backups and problem folders (of one service, when asked)."""
    service = request.service
    entries = list_backups(store, service=service)
    problems = [
        entry
        for entry in list_problems(store)
        if service is None or (entry.claimed or {}).get("service") == service
    ]
    return BackupListing(entries, problems, uncatalogued_local(plan, store))


@dataclass(frozen=True)
class ShowRequest:
    """Which backup: its id, or a unique beginning of it."""

    backup_id: str


def show_backup(store: Store, request: ShowRequest) -> CatalogEntry:
    """One complete backup of the catalog."""
    return find_backup(store, request.backup_id)


@dataclass(frozen=True)
class ForgetRequest:
    """Which backup to forget, whether its folder goes too, and who asked."""

    backup_id: str
    delete: bool = False
    by: str = "reprise"


def forget_backup(plan: Plan, store: Store, request: ForgetRequest) -> ForgetResult:
    """Remove a backup from the catalog (and its folder, when asked); journaled."""
    return forget(plan, store, request.backup_id, delete_folder=request.delete, by=request.by)
