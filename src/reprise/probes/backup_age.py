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
from reprise.words import say

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
        return down(say(run.language, "probe.no_store"))
    moment = now or datetime.now(UTC)
    return await asyncio.to_thread(_judge, run.language, store, target, limit, moment)


def _judge(
    language: str, store: Store, service: str, limit: timedelta, now: datetime
) -> ProbeResult:
    from reprise.repository.catalog import list_backups

    entries = list_backups(store, service=service)
    verified = [entry for entry in entries if entry.verify_status == "ok"]
    unverified = [entry for entry in entries if entry.verify_status is None]
    newest = verified[-1].manifest.finished_at if verified else None
    newer = unverified[-1].manifest.finished_at if unverified else None
    objective = format_duration(limit)
    if newest is not None and now - newest <= limit:
        return up(
            say(
                language,
                "probe.backup_fresh",
                service=service,
                age=_age(now - newest),
                objective=objective,
            ),
            age_seconds=round((now - newest).total_seconds()),
        )
    what = (
        say(language, "probe.backup_age", service=service, age=_age(now - newest))
        if newest
        else say(language, "probe.backup_none", service=service)
    )
    if newer is not None and (newest is None or newer > newest) and now - newer <= limit:
        return degraded(say(language, "probe.backup_unverified", what=what, age=_age(now - newer)))
    return down(say(language, "probe.backup_stale", what=what, objective=objective))


def _age(delta: timedelta) -> str:
    return (
        format_duration(timedelta(seconds=max(60, round(delta.total_seconds() / 60) * 60)))
        if delta >= timedelta(minutes=1)
        else f"{delta.total_seconds():.0f}s"
    )
