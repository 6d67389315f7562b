"""Status and check: run the plan's checks once and tell each service's state, with what
its dependencies, maintenance windows and silences say about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reprise.errors import InputError
from reprise.orchestrators.status import CheckLine, ServiceStatus, check_services
from reprise.usecases.serve import ServiceState, service_state

if TYPE_CHECKING:
    from collections.abc import Iterable

    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "CheckLine",
    "CheckRequest",
    "ServiceStatus",
    "StatusRequest",
    "StatusResult",
    "check",
    "require_services",
    "status",
]


def require_services(plan: Plan, services: Iterable[str]) -> None:
    """Refuse (InputError) a service id the plan does not have, listing those it has."""
    known = [service.id for service in plan.services]
    for service in services:
        if service not in known:
            raise InputError(f"unknown service {service!r}", hint=f"use one of: {', '.join(known)}")


@dataclass(frozen=True)
class StatusRequest:
    """The services to check; empty means every service."""

    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusResult:
    """Every service checked, by priority then plan order."""

    statuses: list[ServiceStatus] = field(default_factory=list)
    service: ServiceState | None = None
    """Whether `reprise serve` runs (what keeps the schedules and the alerts going)."""

    @property
    def checked(self) -> list[ServiceStatus]:
        """The services that have checks."""
        return [status for status in self.statuses if status.checks]

    @property
    def all_up(self) -> bool:
        """Whether every service with checks is up."""
        return all(status.state == "up" for status in self.checked)


def status(plan: Plan, store: Store, request: StatusRequest) -> StatusResult:
    """Run the checks of the services asked for once; results are stored."""
    require_services(plan, request.services)
    checked = check_services(plan, store, list(request.services) or None)
    return StatusResult(checked, service_state(store))


@dataclass(frozen=True)
class CheckRequest:
    """The service whose checks to run."""

    service: str


def check(plan: Plan, store: Store, request: CheckRequest) -> ServiceStatus:
    """Run one service's checks once, every detail kept; results are stored."""
    require_services(plan, [request.service])
    return check_services(plan, store, [request.service])[0]
