"""The recovery plan of an incident: its services in recovery order (priority, then
dependencies), each with its tasks, and what to do now and who does it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reprise.incidents.records import AffectedService, Incident, Task
from reprise.plan.model import Plan, Service
from reprise.plan.order import recovery_order


@dataclass(frozen=True)
class PlanEntry:
    """One affected service at its place in the recovery."""

    position: int
    service: Service
    affected: AffectedService
    recovery_priority: str
    waits_for: list[str]
    """Affected dependencies that are not back up yet."""
    tasks: list[Task]

    def to_dict(self) -> dict[str, Any]:
        """JSON form of `incident plan --json`."""
        return {
            "position": self.position,
            "service": self.service.id,
            "name": self.service.name,
            "state": self.affected.state,
            "priority": self.service.effective_priority,
            "recovery_priority": self.recovery_priority,
            "target_at": self.affected.target_at.isoformat(),
            "resolved_at": self.affected.resolved_at.isoformat()
            if self.affected.resolved_at
            else None,
            "waits_for": self.waits_for,
            "tasks": [
                {"id": t.id, "title": t.title, "kind": t.kind, "role": t.role, "status": t.status}
                for t in self.tasks
            ],
        }


@dataclass(frozen=True)
class NextAction:
    """Something to do now on one service, and who does it."""

    service: str
    state: str
    task: Task | None
    """None when every task is done or skipped and the service is still not up."""
    role: str | None
    people: list[str]

    @property
    def text(self) -> str:
        """The action in a sentence."""
        if self.task is None:
            return (
                f"every task is done or skipped but {self.service} is {self.state}: "
                "check it, or mark it up by hand"
            )
        verb = "carry on with" if self.task.status == "doing" else "start"
        return f"{verb} task {self.task.id}: {self.task.title}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form of `incident next --json`."""
        return {
            "service": self.service,
            "task": self.task.id if self.task else None,
            "role": self.role,
            "people": self.people,
            "text": self.text,
        }


@dataclass(frozen=True)
class Waiting:
    """A service that cannot be recovered before others."""

    service: str
    waits_for: list[str]

    def __str__(self) -> str:
        return f"{self.service} waits for {', '.join(self.waits_for)}"


def incident_plan(plan: Plan, incident: Incident) -> list[PlanEntry]:
    """The affected services in recovery order (a service since removed from the plan is
    left out: its procedure is gone with it)."""
    entries: list[PlanEntry] = []
    affected = {entry.service: entry for entry in incident.services}
    for order in recovery_order(plan):
        entry = affected.get(order.service.id)
        if entry is None:
            continue
        waits_for = [
            dep
            for dep in _dependencies(plan, order.service.id, affected)
            if affected[dep].state != "up"
        ]
        entries.append(
            PlanEntry(
                len(entries) + 1,
                order.service,
                entry,
                order.recovery_priority,
                waits_for,
                [t for t in incident.tasks if t.service == entry.service],
            )
        )
    return entries


def _dependencies(plan: Plan, service_id: str, affected: dict[str, AffectedService]) -> list[str]:
    """Affected services this one depends on, directly or through unaffected ones."""
    services = {service.id: service for service in plan.services}
    found: list[str] = []
    stack = list(services[service_id].depends_on)
    seen: set[str] = set()
    while stack:
        dependency = stack.pop(0)
        if dependency in seen or dependency not in services:
            continue
        seen.add(dependency)
        if dependency in affected:
            found.append(dependency)
        else:
            stack.extend(services[dependency].depends_on)
    return found


def members(plan: Plan, role_id: str | None) -> list[str]:
    """Names of the people in a role."""
    return [member.name for role in plan.roles if role.id == role_id for member in role.members]


def next_actions(plan: Plan, incident: Incident) -> tuple[list[NextAction], list[Waiting]]:
    """What can be done now (in recovery order, one action per service whose
    dependencies are back), and the services that wait for others."""
    actions: list[NextAction] = []
    waiting: list[Waiting] = []
    for entry in incident_plan(plan, incident):
        if entry.affected.state == "up":
            continue
        if entry.waits_for:
            waiting.append(Waiting(entry.service.id, entry.waits_for))
            continue
        task = next((t for t in entry.tasks if t.status == "doing"), None) or next(
            (t for t in entry.tasks if t.status == "todo"), None
        )
        role = task.role if task else entry.service.owner or incident.commander
        actions.append(
            NextAction(entry.service.id, entry.affected.state, task, role, members(plan, role))
        )
    return actions, waiting
