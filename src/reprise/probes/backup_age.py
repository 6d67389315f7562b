"""``backup_age``: the newest verified backup of a service is younger than its RPO.

Read from the catalog. A backup newer than that, not verified yet, makes the check
degraded rather than down: the data was saved but is not proven restorable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from reprise.plan.checks import BackupAgeCheck
from reprise.plan.units import format_duration
from reprise.probes.result import ProbeResult, degraded, down, up
from reprise.store.database import Store

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_backup_age(
    check: BackupAgeCheck, run: ProbeRun, now: datetime | None = None
) -> ProbeResult:
    """Judge the age of the service's newest verified backup against its RPO."""
    target = check.service or run.service_id
    plan, store = run.context.plan, run.context.store
    limit = check.max_age or plan.rpo(plan.service(target))
    if store is None:
        return down("no state database: the backup catalog cannot be read")
    return await asyncio.to_thread(_judge, store, target, limit, now or datetime.now(UTC))


def _judge(store: Store, service: str, limit: timedelta, now: datetime) -> ProbeResult:
    from reprise.repository.catalog import list_backups

    entries = list_backups(store, service=service)
    verified = [entry for entry in entries if entry.verify_status == "ok"]
    unverified = [entry for entry in entries if entry.verify_status is None]
    newest = verified[-1].manifest.finished_at if verified else None
    newer = unverified[-1].manifest.finished_at if unverified else None
    objective = format_duration(limit)
    if newest is not None and now - newest <= limit:
        return up(
            f"newest verified backup of {service} is {_age(now - newest)} old (RPO {objective})",
            age_seconds=round((now - newest).total_seconds()),
        )
    what = (
        f"newest verified backup of {service} is {_age(now - newest)} old"
        if newest
        else f"no verified backup of {service}"
    )
    if newer is not None and (newest is None or newer > newest) and now - newer <= limit:
        return degraded(
            f"{what}; a backup from {_age(now - newer)} ago is not verified yet "
            f"(run `reprise backup verify`)"
        )
    return down(f"{what}, RPO is {objective}")


def _age(delta: timedelta) -> str:
    return (
        format_duration(timedelta(seconds=max(60, round(delta.total_seconds() / 60) * 60)))
        if delta >= timedelta(minutes=1)
        else f"{delta.total_seconds():.0f}s"
    )
