"""Prune: apply each source's retention and remove incomplete leftovers, in every
reachable repository of the plan (or one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from reprise.backup.prune import DEFAULT_GRACE, DEFAULT_PROBLEM_GRACE, Decision, PruneResult, prune
from reprise.errors import OperationError, option

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = ["Decision", "PruneRequest", "PruneResult", "prune_backups", "unreachable_error"]


@dataclass(frozen=True)
class PruneRequest:
    """How to prune: ``dry_run`` decides without deleting; leftovers older than ``grace``
    and problem folders catalogued for ``problem_grace`` go; ``repository`` limits it to
    one repository of the plan."""

    dry_run: bool = False
    grace: timedelta = DEFAULT_GRACE
    problem_grace: timedelta = DEFAULT_PROBLEM_GRACE
    repository: str | None = None


def prune_backups(plan: Plan, store: Store, request: PruneRequest) -> PruneResult:
    """Every decision taken (or that would be, in a dry run), and the repositories that
    could not be reached (the others are pruned all the same)."""
    return prune(
        plan,
        store,
        dry_run=request.dry_run,
        grace=request.grace,
        problem_grace=request.problem_grace,
        repository=request.repository,
    )


def unreachable_error(result: PruneResult) -> OperationError | None:
    """The error naming the repositories left unpruned, or ``None`` when all were reached."""
    if not result.unreachable:
        return None
    return OperationError(
        "not pruned, unreachable: "
        + "; ".join(f"{name} ({why})" for name, why in sorted(result.unreachable.items())),
        hint="the other repositories were pruned; fix access and run again, or "
        f"{option('repository')} NAME for one",
        retryable=True,
    )
