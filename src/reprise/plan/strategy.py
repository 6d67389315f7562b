"""The recovery strategy of a plan: services grouped by priority, as in the PCRA's
"Stratégie de reprise" table, with each service's effective objectives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from reprise.plan.model import Plan, PriorityName, Service
from reprise.plan.units import format_duration


@dataclass(frozen=True)
class ServiceLine:
    """A service as the strategy shows it."""

    service: Service
    rpo: timedelta
    rto: timedelta
    uptime: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        service = self.service
        return {
            "id": service.id,
            "name": service.name,
            "category": service.category,
            "criticality": service.criticality,
            "priority": service.effective_priority,
            "priority_set_in_plan": service.priority is not None,
            "owner": service.owner,
            "depends_on": service.depends_on,
            "rpo": format_duration(self.rpo),
            "rto": format_duration(self.rto),
            "uptime": self.uptime,
            "checks": len(service.checks),
            "backups": len(service.backups),
            "procedure_steps": len(service.procedure),
        }


@dataclass(frozen=True)
class PriorityGroup:
    """One priority, its response time and its services (in plan order)."""

    priority: PriorityName
    response: str
    services: list[ServiceLine]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {
            "priority": self.priority,
            "response": self.response,
            "services": [line.to_dict() for line in self.services],
        }


def recovery_strategy(plan: Plan) -> list[PriorityGroup]:
    """P1, P2 and P3 with their services; a priority without services is still listed."""
    groups = []
    levels: tuple[PriorityName, ...] = ("P1", "P2", "P3")
    for level in levels:
        response = getattr(plan.priorities, level).response
        response_text = response if isinstance(response, str) else format_duration(response)
        lines = [
            ServiceLine(s, plan.rpo(s), plan.rto(s), plan.uptime(s))
            for s in plan.services
            if s.effective_priority == level
        ]
        groups.append(PriorityGroup(level, response_text, lines))
    return groups
