"""The recovery order of a plan: by priority, then by dependencies, with the reason for
each place.

A service cannot come back before what it depends on. When a P1 service depends on a P2
one, the P2 service is recovered with the P1s (and the reason says so) rather than the P1
waiting for all of P2: the priority says how urgent a service is, and its dependencies
inherit that urgency.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from reprise.plan.model import PRIORITY_FROM_CRITICALITY, Plan, PriorityName, Service

_PRIORITY_RANK = {"P1": 1, "P2": 2, "P3": 3}
_CRITICALITY_RANK = {"critical": 0, "major": 1, "minor": 2}


@dataclass(frozen=True)
class OrderEntry:
    """One place in the recovery order."""

    position: int
    service: Service
    priority: PriorityName
    """The service's own priority (set in the plan or implied by its criticality)."""
    recovery_priority: PriorityName
    """The priority it is recovered with: its own, or raised by a service that needs it."""
    after: list[str]
    """Direct dependencies, all placed earlier."""
    needed_by: list[str]
    """Services placed later that depend on it directly."""
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly form for ``--json`` output."""
        return {
            "position": self.position,
            "service": self.service.id,
            "name": self.service.name,
            "priority": self.priority,
            "recovery_priority": self.recovery_priority,
            "criticality": self.service.criticality,
            "after": self.after,
            "needed_by": self.needed_by,
            "reasons": self.reasons,
        }


def _recovery_priorities(plan: Plan) -> tuple[dict[str, PriorityName], dict[str, str]]:
    """Each service's recovery priority, and which dependent raised it (if one did)."""
    services = {service.id: service for service in plan.services}
    priority: dict[str, PriorityName] = {s.id: s.effective_priority for s in plan.services}
    raised_by: dict[str, str] = {}
    for service in plan.services:
        stack = list(service.depends_on)
        seen: set[str] = set()
        while stack:
            dependency = stack.pop()
            if dependency in seen or dependency not in services:
                continue
            seen.add(dependency)
            if _PRIORITY_RANK[service.effective_priority] < _PRIORITY_RANK[priority[dependency]]:
                priority[dependency] = service.effective_priority
                raised_by[dependency] = service.id
            stack.extend(services[dependency].depends_on)
    return priority, raised_by


def recovery_order(plan: Plan) -> list[OrderEntry]:
    """Services in the order to recover them.

    Sorted by recovery priority, then criticality, then the plan's own order, under the
    constraint that every service comes after its dependencies. The plan must already be
    free of cycles (``reprise.plan.references`` checks that).
    """
    index = {service.id: position for position, service in enumerate(plan.services)}
    services = {service.id: service for service in plan.services}
    recovery, raised_by = _recovery_priorities(plan)
    dependents: dict[str, list[str]] = {service.id: [] for service in plan.services}
    waiting: dict[str, int] = {}
    for service in plan.services:
        dependencies = [d for d in dict.fromkeys(service.depends_on) if d in services]
        waiting[service.id] = len(dependencies)
        for dependency in dependencies:
            dependents[dependency].append(service.id)

    def sort_key(service_id: str) -> tuple[int, int, int]:
        return (
            _PRIORITY_RANK[recovery[service_id]],
            _CRITICALITY_RANK[services[service_id].criticality],
            index[service_id],
        )

    by_key = {sort_key(s): s for s in services}
    ready = [sort_key(s) for s in services if waiting[s] == 0]
    heapq.heapify(ready)
    order: list[OrderEntry] = []
    while ready:
        service_id = by_key[heapq.heappop(ready)]
        service = services[service_id]
        order.append(
            _entry(plan, len(order) + 1, service, recovery, raised_by, dependents[service_id])
        )
        for dependent in dependents[service_id]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, sort_key(dependent))
    return order


def _entry(
    plan: Plan,
    position: int,
    service: Service,
    recovery: dict[str, PriorityName],
    raised_by: dict[str, str],
    dependents: list[str],
) -> OrderEntry:
    own = service.effective_priority
    reasons = []
    if service.priority is None:
        reasons.append(f"{own}: implied by criticality {service.criticality}")
    elif service.priority != PRIORITY_FROM_CRITICALITY[service.criticality]:
        reasons.append(
            f"{own}: set in the plan (criticality {service.criticality} would give "
            f"{PRIORITY_FROM_CRITICALITY[service.criticality]})"
        )
    else:
        reasons.append(f"{own}: set in the plan")
    if recovery[service.id] != own:
        cause = raised_by[service.id]
        reasons.append(
            f"recovered with {recovery[service.id]}: {cause} "
            f"({plan.service(cause).effective_priority}) depends on it"
        )
    dependencies = list(dict.fromkeys(service.depends_on))
    if dependencies:
        reasons.append(
            "after "
            + ", ".join(dependencies)
            + " (depends on "
            + ("it" if len(dependencies) == 1 else "them")
            + ")"
        )
    else:
        reasons.append("depends on nothing")
    if dependents:
        reasons.append("needed by " + ", ".join(dependents))
    return OrderEntry(
        position, service, own, recovery[service.id], dependencies, dependents, reasons
    )
