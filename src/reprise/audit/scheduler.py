"""Item ``scheduler``: when a `reprise serve` has ever run on this state, it is alive (a
recent heartbeat) and every scheduled job started for its latest slot. When none ever ran,
the item is not applicable: backups and drills are then run by cron or by hand, and the
other items judge their results (the hint says how to have them run by the service)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reprise.audit.items import Finding, part
from reprise.audit.wording import listing, moment, seconds
from reprise.plan.schedule import latest_due

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.plan.schedule import ScheduledJob
    from reprise.scheduler.instances import Instance
    from reprise.scheduler.records import JobRun

GRACE = timedelta(minutes=5)
"""A slot younger than this is not judged yet (the job may be starting)."""


def judge_scheduler(
    plan: Plan,
    instances: Sequence[Instance],
    running: Instance | None,
    jobs: Sequence[tuple[ScheduledJob, JobRun | None]],
    now: datetime,
) -> Finding:
    """``instances``: the services heard from, newest first; ``running``: the one alive
    now; ``jobs``: every job of the plan with its latest run."""
    if not instances:
        return Finding(
            "not_applicable", part("audit.measured.no_service"), fix=part("audit.fix.no_service")
        )
    newest = instances[0]
    if running is None:
        return Finding(
            "failed",
            part("audit.measured.service_silent", at=moment(newest.beat_at), host=newest.host),
            {"alive": False, "beat_at": newest.beat_at.isoformat(), "host": newest.host},
            part("audit.fix.service_silent"),
        )
    since = min(instance.started_at for instance in instances)
    late: list[str] = []
    lines = []
    for job, last in jobs:
        slot = latest_due(job, plan, now - GRACE)
        judged = slot >= since
        missed = judged and (last is None or last.due_at < slot)
        if missed:
            late.append(job.id)
        lines.append(
            {
                "job": job.id,
                "slot": slot.isoformat(),
                "last_due_at": last.due_at.isoformat() if last else None,
                "last_status": last.status if last else None,
                "on_time": not missed,
            }
        )
    raw = {
        "alive": True,
        "host": running.host,
        "beat_age_seconds": round((now - running.beat_at).total_seconds()),
        "jobs": lines,
    }
    if late:
        return Finding(
            "failed",
            part("audit.measured.jobs_late", late=len(late), count=len(lines), names=listing(late)),
            raw,
            part("audit.fix.jobs_late"),
        )
    return Finding(
        "ok",
        part(
            "audit.measured.service_alive",
            host=running.host,
            beat=seconds(now - running.beat_at),
            count=len(lines),
        ),
        raw,
    )
