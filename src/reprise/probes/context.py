"""What a probe gets besides its check: the run's shared context and its service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reprise.probes.http import HttpClients

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store.database import Store


@dataclass
class ProbeContext:
    """What probes share during one run of the monitor (or of `reprise status`)."""

    plan: Plan
    store: Store | None = None
    http: HttpClients = field(default_factory=HttpClients)

    @property
    def language(self) -> str:
        """The plan's language, for probe messages ("en" without a plan)."""
        plan: Plan | None = self.plan
        return plan.organisation.language if plan is not None else "en"

    async def aclose(self) -> None:
        """Release shared connections."""
        await self.http.aclose()


@dataclass(frozen=True)
class ProbeRun:
    """One check being run: the shared context and the service the check belongs to."""

    context: ProbeContext
    service_id: str

    @property
    def language(self) -> str:
        """The language the probe speaks in."""
        return self.context.language
