"""Restore drills: run them (one service, or every one whose drill is enabled) and read
their history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reprise.drill.records import DrillRecord, list_drills
from reprise.drill.run import DrillOutcome, drill_services, run_drill
from reprise.errors import EXIT_OK

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.restore.staging import PartProgress
    from reprise.store import Store

__all__ = [
    "DrillOutcome",
    "DrillRecord",
    "DrillRequest",
    "DrillsResult",
    "HistoryRequest",
    "drill",
    "history",
]


@dataclass(frozen=True)
class DrillRequest:
    """The service to drill; None means every service whose drill is enabled."""

    service: str | None = None


@dataclass(frozen=True)
class DrillsResult:
    """The drills run, in order."""

    outcomes: list[DrillOutcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """How many drills passed."""
        return sum(1 for outcome in self.outcomes if outcome.exit_code == EXIT_OK)

    @property
    def exit_code(self) -> int:
        """The worst outcome's exit code (0 when every drill passed)."""
        return max((outcome.exit_code for outcome in self.outcomes), default=EXIT_OK)


def drill(
    plan: Plan,
    store: Store,
    request: DrillRequest,
    *,
    progress: PartProgress | None = None,
    on_outcome: Callable[[DrillOutcome], None] | None = None,
) -> DrillsResult:
    """Drill the services asked for, one after the other; ``on_outcome`` hears each as it
    finishes. A drill that ran never raises (its outcome says how it went); bad input found
    before a drill starts does (InputError)."""
    outcomes: list[DrillOutcome] = []
    for service in drill_services(plan, request.service):
        outcome = run_drill(plan, store, service.id, progress=progress)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return DrillsResult(outcomes)


@dataclass(frozen=True)
class HistoryRequest:
    """Which past drills: one service's, or all (None)."""

    service: str | None = None


def history(plan: Plan, store: Store, request: HistoryRequest) -> list[DrillRecord]:
    """Past drills, newest first."""
    del plan  # the history is the state database's; the plan is part of every use case
    return list_drills(store, service=request.service)
