"""Item ``SERVICE.drill``: the newest verified backup restored into a scratch PostgreSQL by
the existing drill, its integrity checks passing and the RTO achieved within the objective."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reprise.audit.items import Finding, part
from reprise.audit.wording import listing, seconds
from reprise.drill.records import list_drills
from reprise.drill.run import run_drill
from reprise.plan.units import format_duration
from reprise.restore.registry import restorer_for

if TYPE_CHECKING:
    from datetime import timedelta

    from reprise.plan.model import Plan, Service
    from reprise.restore.staging import PartProgress
    from reprise.store import Store


def drillable(service: Service) -> bool:
    """Whether the service has a backup a drill can restore."""
    return any(restorer_for(entry.kind).drills for entry in service.backups)


def drill_objective(plan: Plan, service: Service) -> timedelta:
    """The drill's own limit (``drill.max_duration``), else the service's RTO: what the
    drill itself judges the RTO achieved against."""
    if service.drill and service.drill.max_duration:
        return service.drill.max_duration
    return plan.rto(service)


def judge_drill(
    plan: Plan, store: Store, service: Service, progress: PartProgress | None = None
) -> Finding:
    """Run the drill and judge it: integrity findings, then the RTO achieved."""
    outcome = run_drill(plan, store, service.id, progress=progress)
    if outcome.error is not None:
        raise outcome.error
    record = next(
        (drill for drill in list_drills(store, service=service.id) if drill.id == outcome.drill_id),
        None,
    )
    rto = record.rto_seconds if record else None
    objective = drill_objective(plan, service)
    checks = outcome.report.checks
    broken = [check["name"] for check in checks if check["result"] != "ok"]
    raw = {
        "drill_id": outcome.drill_id,
        "backup_id": outcome.report.backup_id,
        "rto_seconds": rto,
        "objective_seconds": objective.total_seconds(),
        "checks": checks,
        "failures": outcome.failures,
        "report": str(outcome.path),
    }
    if broken:
        return Finding(
            "failed",
            part(
                "audit.measured.drill_integrity",
                failed=len(broken),
                count=len(checks),
                names=listing(broken),
            ),
            raw,
            part("audit.fix.drill_integrity", drill=outcome.drill_id),
        )
    measured = part(
        "audit.measured.drill",
        rto=seconds(rto or 0.0),
        count=len(checks),
        backup=outcome.report.backup_id,
    )
    if rto is not None and rto <= objective.total_seconds():
        return Finding("ok", measured, raw)
    return Finding(
        "failed", measured, raw, part("audit.fix.drill_rto", objective=format_duration(objective))
    )
