"""Who is told about a service's problem, how urgently, and how often it is re-sent: the
plan's owner, routes, priorities and escalation. Shared by service alerts (the engine)
and failed scheduled jobs (``alerts.jobs``)."""

from __future__ import annotations

from datetime import timedelta

from reprise.errors import InputError
from reprise.plan.model import Member, Plan, Priority, Service
from reprise.words import say


class Routing:
    """The routing rules of one plan."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def priority(self, service: Service) -> Priority:
        """The service's priority settings."""
        return getattr(self.plan.priorities, service.effective_priority)  # type: ignore[no-any-return]

    def admins(self) -> list[str]:
        """The admin roles (every role when there is none)."""
        return [r.id for r in self.plan.roles if r.permission == "admin"] or [
            r.id for r in self.plan.roles
        ]

    def base_roles(self, service: Service) -> list[str]:
        """Roles told first: the owner and matching routes, else the admins (else all)."""
        roles = [service.owner] if service.owner else []
        for route in self.plan.alerting.routes:
            if (
                (not route.priorities or service.effective_priority in route.priorities)
                and (not route.services or service.id in route.services)
                and (not route.categories or service.category in route.categories)
            ):
                roles += route.roles
        return list(dict.fromkeys(roles or self.admins()))

    def roles_at(self, service: Service, level: int) -> list[str]:
        """Roles told at an escalation level: the base roles plus the first ``level`` roles
        of the priority's escalate_to."""
        escalate = self.priority(service).escalate_to[:level]
        return list(dict.fromkeys(self.base_roles(service) + escalate))

    def repeat_every(self, service: Service) -> timedelta | None:
        """How often an unacknowledged problem is re-sent and escalated."""
        priority = self.priority(service)
        if priority.repeat_every is not None:
            return priority.repeat_every
        return priority.response if isinstance(priority.response, timedelta) else None


def exercise_plan(plan: Plan) -> Plan:
    """The plan as an exercise sees it: every role reaches ``communication.test_contacts``
    and nobody else, so whatever an exercise sends (through the usual delivery) can only go
    there. InputError when the plan has no test contacts: never a fall back to real ones."""
    contacts = list(plan.communication.test_contacts)
    if not contacts:
        raise InputError(
            "the plan has no communication.test_contacts: an exercise notifies only them, "
            "never the real contacts, so it cannot start",
            hint="add communication.test_contacts (Apprise URLs, e.g. "
            "mailto://smtp.example.org?to=exercise@example.org) to the plan",
        )
    member = Member(name="test_contacts", contacts=contacts)
    roles = [role.model_copy(update={"members": [member]}) for role in plan.roles]
    return plan.model_copy(update={"roles": roles})


def exercise_subject(plan: Plan, subject: str) -> str:
    """A subject marked as an exercise (``[EXERCICE] …``) in the plan's language."""
    return say(plan.organisation.language, "exercise.subject_prefix") + subject
