"""Verify backups: one, all of them, or the least recently verified share of the bytes.

Beyond the backups themselves, a check of everything also reports what a repository holds
that no backup should: incomplete leftovers, folders kept with a problem, complete-looking
folders the catalog lacks, and where the repository file disagrees with the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reprise.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_VERIFICATION_FAILED,
    InputError,
    OperationError,
    RepriseError,
    VerificationError,
    option,
)
from reprise.repository import keys as keyring
from reprise.repository import open_repository
from reprise.repository.admin import trust_warnings
from reprise.repository.catalog import ProblemEntry, find_backup, list_backups, list_problems
from reprise.repository.drift import uncatalogued
from reprise.repository.verify import (
    Outcome,
    VerifyProgress,
    budget_selection,
    leftovers,
    verify_and_record,
)

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.repository import Repository
    from reprise.store import Store

__all__ = ["Outcome", "VerifyProgress", "VerifyReport", "VerifyRequest", "verify_backups"]

Target = tuple[str, str, str, set[str] | None]
"""(repository, source, backup id, only these parts or every part)."""


@dataclass(frozen=True)
class VerifyRequest:
    """What to verify: ``backup_id``, or every backup (``all_backups``), or the least
    recently verified ``budget`` share of the bytes (0 < budget ≤ 1); ``repository``
    narrows the last two to one repository. ``deep`` also decrypts every part.
    ``progress`` gives each part read its progress callback."""

    backup_id: str | None = None
    all_backups: bool = False
    budget: float | None = None
    repository: str | None = None
    deep: bool = False
    progress: VerifyProgress | None = None


@dataclass
class VerifyReport:
    """What a verification found."""

    deep: bool
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[ProblemEntry] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        """The backups that did not verify."""
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def exit_code(self) -> int:
        """3 when anything did not verify, else 1 when a repository could not be listed."""
        if self.failed or self.problems:
            return EXIT_VERIFICATION_FAILED
        return EXIT_FAILED if self.unreachable else EXIT_OK

    def error(self) -> RepriseError | None:
        """The error that sums the report up for a person, or ``None`` when all is well."""
        failed = self.failed
        if self.problems and not failed:
            first = self.problems[0]
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return VerificationError(
                f"{first.source}/{first.backup_id} in {first.repository} is {first.problem}: "
                f"{first.detail}{more}",
                hint="examine it, then remove it with `reprise backup forget ID` (add "
                f"{option('delete')} to remove its folder too)",
            )
        if self.unreachable and not failed:
            return OperationError(
                "could not list repository " + "; ".join(self.unreachable),
                hint="the backups listed above were checked; fix access to "
                "this repository and run again",
            )
        if failed:
            more = f" (and {len(failed) - 1} more backup(s))" if len(failed) > 1 else ""
            return VerificationError(
                f"verification failed: {failed[0].problems[0]}{more}",
                hint=failed[0].hint
                or "use another backup; find out who or what altered the repository",
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": not self.failed and not self.problems,
            "deep": self.deep,
            "backups": [outcome.to_dict() for outcome in self.outcomes],
            "problems": [entry.to_dict() for entry in self.problems],
            "incomplete": self.incomplete,
            "unreachable": self.unreachable,
            "warnings": self.warnings,
        }


def _targets(store: Store, request: VerifyRequest) -> list[Target]:
    if request.backup_id is not None:
        entry = find_backup(store, request.backup_id)
        return [(entry.repository, entry.manifest.source, entry.backup_id, None)]
    if request.budget is not None:
        selection = budget_selection(store, request.budget, deep=request.deep)
        sources = {
            (entry.repository, entry.backup_id): entry.manifest.source
            for entry in list_backups(store)
        }
        return [
            (repo, sources[(repo, bid)], bid, names)
            for (repo, bid), names in sorted(selection.items())
        ]
    return [
        (entry.repository, entry.manifest.source, entry.backup_id, None)
        for entry in list_backups(store)
    ]


def _survey(
    plan: Plan,
    store: Store,
    repositories: dict[str, Repository],
    request: VerifyRequest,
    report: VerifyReport,
) -> None:
    """Leftovers, trust warnings, uncatalogued and problem folders of every repository the
    plan uses (or the requested one); a repository that cannot be listed is noted."""
    used = {source.repository for service in plan.services for source in service.backups} | set(
        repositories
    )
    if request.repository is not None:
        used = {request.repository}
    for name in sorted(used):
        opened = repositories.setdefault(name, open_repository(plan, name))
        try:
            report.incomplete += [opened.where(folder.prefix) for folder in leftovers(opened)]
            report.warnings += trust_warnings(store, opened)
            report.warnings += [
                f"{name}: {folder} is complete-looking but not in the "
                f"catalog, so it was not verified: run `reprise repo "
                f"reindex {name}`"
                for folder in uncatalogued(store, opened).folders
            ]
        except RepriseError as error:
            report.unreachable.append(f"{name}: {error.render()[0]}")
    report.problems = [
        entry
        for entry in list_problems(store, repository=request.repository)
        if entry.repository in used
    ]


def verify_backups(plan: Plan, store: Store, request: VerifyRequest) -> VerifyReport:
    """Verify the requested backups and record each outcome in the catalog. Failures are
    collected in the report, not raised, so that one run reports them all."""
    whole = request.all_backups or request.budget is not None
    if request.backup_id is None and not whole:
        raise InputError(
            "nothing to verify",
            hint=f"give a backup id, {option('all')} or {option('budget')}",
        )
    if request.repository is not None and request.repository not in plan.repositories:
        raise InputError(f"no repository {request.repository!r} in the plan")
    identities = keyring.identities(plan.keys) if request.deep else None
    report = VerifyReport(request.deep)
    targets = _targets(store, request)
    if request.repository is not None:
        targets = [target for target in targets if target[0] == request.repository]
    repositories = {name: open_repository(plan, name) for name in {target[0] for target in targets}}
    if whole:
        _survey(plan, store, repositories, request, report)
    for repo_name, source, bid, names in targets:
        report.outcomes.append(
            verify_and_record(
                store,
                repositories[repo_name],
                source,
                bid,
                deep=request.deep,
                identities=identities,
                only_parts=names,
                progress=request.progress,
            )
        )
    return report
