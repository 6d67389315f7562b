"""Item ``SERVICE.wal``: for a service with physical backups, the WAL archive continues from
the newest base backup without a gap (a PITR replay path exists) and its newest segment is
within the RPO; the PITR window is reported. Not applicable to other services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reprise.audit.items import Finding, part
from reprise.audit.wording import moment, seconds
from reprise.errors import RepriseError
from reprise.restore.pitr import PitrRequest, plan_pitr

if TYPE_CHECKING:
    from reprise.plan.model import Plan, Service
    from reprise.store import Store


def takes_wal(service: Service) -> bool:
    """Whether the service has a physical source whose WAL is archived."""
    return any(entry.takes_wal for entry in service.backups)


def judge_wal(plan: Plan, store: Store, service: Service, rpo: timedelta, now: datetime) -> Finding:
    """Continuity from the newest base backup, and the age of the newest archived WAL."""
    try:
        pitr = plan_pitr(plan, store, PitrRequest(service=service.id))
    except RepriseError as error:
        message, _hint = error.render()
        return Finding(
            "failed",
            part("audit.measured.wal_broken", error=message),
            {"error": message},
            part("audit.fix.wal_broken"),
        )
    start, newest = pitr.window
    raw = {
        "window_start": start.isoformat(),
        "window_end": newest.isoformat() if newest else None,
        "wal_files": len(pitr.path.files),
        "timeline": pitr.path.timeline,
    }
    if newest is None:
        return Finding("failed", part("audit.measured.wal_none"), raw, part("audit.fix.wal_broken"))
    age = now - newest
    raw["age_seconds"] = round(age.total_seconds())
    measured = part(
        "audit.measured.wal",
        start=moment(start),
        end=moment(newest),
        age=seconds(age),
        files=len(pitr.path.files),
    )
    if age <= rpo:
        return Finding("ok", measured, raw)
    return Finding("failed", measured, raw, part("audit.fix.wal_stale"))
