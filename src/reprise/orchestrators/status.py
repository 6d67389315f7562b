"""`reprise status` and `reprise check`: every check run once, the services' states with
what their dependencies, maintenance windows and silences say about them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reprise.alerts.calendar import maintenance
from reprise.alerts.records import list_silences
from reprise.monitor.board import Board
from reprise.monitor.results import ResultBuffer, write_results
from reprise.monitor.runner import plan_jobs, run_once
from reprise.plan.model import Plan
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext, check_line
from reprise.store.database import Store


@dataclass
class CheckLine:
    """One check of a service and its result."""

    name: str
    kind: str
    result: ProbeResult

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"name": self.name, "kind": self.kind, **self.result.to_dict()}


@dataclass
class ServiceStatus:
    """One service after one run of its checks."""

    id: str
    name: str
    priority: str
    category: str
    state: str
    """up, degraded, down, or unknown (no checks)."""
    root: list[str] = field(default_factory=list)
    """Failed dependencies that explain this service's failure."""
    checks: list[CheckLine] = field(default_factory=list)
    paused: str | None = None
    """``maintenance`` or ``silence`` when one is in force."""
    paused_until: datetime | None = None
    """When the silence ends (a maintenance window's end is the plan's)."""
    paused_reason: str = ""

    @property
    def note(self) -> str | None:
        """The maintenance or silence in force, in English for ``--json`` (people get the
        parts above in their language)."""
        if self.paused == "maintenance":
            return f"maintenance: {self.paused_reason}"
        if self.paused == "silence" and self.paused_until is not None:
            return f"silenced until {self.paused_until:%Y-%m-%d %H:%M} UTC: {self.paused_reason}"
        return None

    @property
    def display_state(self) -> str:
        """``impacted`` when a dependency is the cause, else the state."""
        return "impacted" if self.root else self.state

    @property
    def latency(self) -> float | None:
        """The slowest check's latency."""
        values = [c.result.latency for c in self.checks if c.result.latency is not None]
        return max(values) if values else None

    @property
    def message(self) -> str:
        """The first problem, else the first check's message."""
        for line in self.checks:
            if line.result.state != "up":
                return check_line(line.name, line.result.message)
        return self.checks[0].result.message if self.checks else "no checks in the plan"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of `status --json`."""
        latency = self.latency
        return {
            "service": self.id,
            "name": self.name,
            "priority": self.priority,
            "category": self.category,
            "state": self.state,
            "impacted_by": self.root,
            "note": self.note,
            "latency_ms": None if latency is None else round(latency * 1000, 1),
            "message": self.message,
            "checks": [c.to_dict() for c in self.checks],
        }


def check_services(
    plan: Plan, store: Store | None, services: list[str] | None = None
) -> list[ServiceStatus]:
    """Run the checks of every service (or of ``services``) once; results are stored."""
    board = Board(plan)
    buffer = ResultBuffer()
    jobs = plan_jobs(plan, services)
    kinds = {(job.service, job.name): job.check for job in jobs}
    lines: dict[str, list[CheckLine]] = {}

    def take(service: str, name: str, result: ProbeResult, at: datetime) -> None:
        board.observe(service, name, result, at, confirm=True)
        buffer.add(service, name, result, at)
        lines.setdefault(service, []).append(CheckLine(name, kinds[(service, name)].kind, result))

    async def run() -> None:
        context = ProbeContext(plan, store)
        try:
            await run_once(jobs, context, plan.monitoring.concurrency, take)
        finally:
            await context.aclose()

    asyncio.run(run())
    if store is not None:
        write_results(store, buffer.take())
    now = datetime.now(UTC)
    silences = {s.service: s for s in list_silences(store, active_at=now)} if store else {}
    order = {job.name: index for index, job in enumerate(jobs)}
    statuses = []
    for service in plan.services:
        if services is not None and service.id not in services:
            continue
        checks = sorted(lines.get(service.id, []), key=lambda line: order[line.name])
        window = maintenance(plan, service.id, now)
        silence = silences.get(service.id)
        silenced = silence if silence and silence.active(now) and not window else None
        paused = "maintenance" if window else "silence" if silenced else None
        paused_until = silenced.ends_at if silenced else None
        paused_reason = window.reason if window else silenced.reason if silenced else ""
        statuses.append(
            ServiceStatus(
                service.id,
                service.name,
                service.effective_priority,
                service.category,
                board.state[service.id],
                board.roots(service.id) if board.impacted(service.id) else [],
                checks,
                paused,
                paused_until,
                paused_reason,
            )
        )
    rank = {service.id: index for index, service in enumerate(plan.services)}
    return sorted(statuses, key=lambda s: (s.priority, rank[s.id]))
