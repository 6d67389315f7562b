"""Repository administration: create repositories, rebuild the catalog from them, and
compare (or accept) the age recipients their backups are encrypted to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reprise.repository import keys as keyring
from reprise.repository import open_repository
from reprise.repository.admin import InitResult, ReindexResult, accept_recipients, init_repository
from reprise.repository.admin import reindex as reindex_repository
from reprise.repository.recipients import RecipientsDiff, compare

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "InitRequest",
    "InitResult",
    "RecipientsDiff",
    "RecipientsOutcome",
    "RecipientsRequest",
    "ReindexRequest",
    "ReindexResult",
    "init_repositories",
    "recipients",
    "reindex",
]


def _names(plan: Plan, name: str | None) -> list[str]:
    """``name``, or every repository of the plan."""
    return [name] if name else sorted(plan.repositories)


@dataclass(frozen=True)
class InitRequest:
    """Which repository to create (``None``: every one of the plan), and who asked."""

    name: str | None = None
    by: str = "reprise"


def init_repositories(plan: Plan, store: Store, request: InitRequest) -> list[InitResult]:
    """Create each repository's file (an initialised one is left unchanged); a new one's
    recipients become its accepted set."""
    return [
        init_repository(plan, name, store, by=request.by) for name in _names(plan, request.name)
    ]


@dataclass(frozen=True)
class ReindexRequest:
    """Which repository's catalog to rebuild (``None``: every one of the plan)."""

    name: str | None = None


def reindex(plan: Plan, store: Store, request: ReindexRequest) -> list[ReindexResult]:
    """Rebuild the catalog of each repository from its signed manifests alone."""
    return [
        reindex_repository(store, open_repository(plan, name))
        for name in _names(plan, request.name)
    ]


@dataclass(frozen=True)
class RecipientsRequest:
    """Which repository; ``accept`` makes the plan's recipients its accepted set."""

    name: str
    accept: bool = False
    by: str = "reprise"


@dataclass
class RecipientsOutcome:
    """The plan's recipients against the accepted set (as it was before any acceptance),
    and whether they were accepted now."""

    diff: RecipientsDiff
    accepted_now: bool

    @property
    def refused(self) -> bool:
        """Backups to this repository are refused: the sets differ and nothing was accepted."""
        return not self.diff.same and not self.accepted_now

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.diff.to_dict(), "accepted_now": self.accepted_now}


def recipients(plan: Plan, store: Store, request: RecipientsRequest) -> RecipientsOutcome:
    """Compare the plan's recipients with the accepted set of a repository and, when asked,
    accept them (journaled)."""
    repository = open_repository(plan, request.name)
    plan_recipients = keyring.recipients(plan.keys)
    if request.accept:
        before = compare(store, repository, plan_recipients, bootstrap=False)
        accept_recipients(plan, store, request.name, by=request.by)
        return RecipientsOutcome(before, accepted_now=not before.same)
    return RecipientsOutcome(compare(store, repository, plan_recipients), accepted_now=False)
