"""One card per service for the overview: state, uptime, restore point, drill, next jobs,
open incidents and alerts, all read in a few grouped queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from reprise.dashboard.uptime import DAY, ServiceUptime, uptimes
from reprise.store.latest import current_states, latest_drills, restore_points
from reprise.store.tables import alerts, incident_services, incidents

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from reprise.plan.model import Plan, Service
    from reprise.store.database import Store

HISTORY_DAYS = 90


@dataclass(slots=True)
class DayBar:
    """One day of the 90-day bar: its date (UTC) and the share of check runs that passed
    (None: no check ran that day)."""

    day: date
    percent: float | None

    @property
    def level(self) -> str:
        """How the day looks: none, up (≥ 99.9 %), degraded (≥ 95 %) or down."""
        if self.percent is None:
            return "none"
        if self.percent >= 99.9:
            return "up"
        return "degraded" if self.percent >= 95.0 else "down"


@dataclass(frozen=True)
class DrillLine:
    """A service's latest restore drill."""

    id: int
    at: datetime
    rto_seconds: float | None
    result: str


@dataclass(frozen=True)
class Card:
    """What the overview shows of one service."""

    service: Service
    priority: str
    state: str
    since: datetime | None
    uptime_24h: float | None
    uptime_30d: float | None
    uptime_90d: float | None
    uptime_objective: float
    bars: list[DayBar]
    rpo: timedelta
    rto: timedelta
    backed_up: bool
    restore_point: datetime | None
    last_drill: DrillLine | None
    next_backup: datetime | None
    next_drill: datetime | None
    incidents: list[int] = field(default_factory=list)
    alerts: int = 0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def restore_point_age(self) -> timedelta | None:
        """How old the newest verified restore point is."""
        return None if self.restore_point is None else self.now - self.restore_point

    @property
    def rpo_met(self) -> bool | None:
        """Whether the newest verified restore point is within the RPO (None: no backups
        in the plan for this service)."""
        if not self.backed_up:
            return None
        age = self.restore_point_age
        return age is not None and age <= self.rpo

    @property
    def rto_met(self) -> bool | None:
        """Whether the last drill restored within the RTO and passed (None: never drilled)."""
        drill = self.last_drill
        if drill is None:
            return None
        return (
            drill.result == "passed"
            and drill.rto_seconds is not None
            and drill.rto_seconds <= self.rto.total_seconds()
        )

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for the JSON API."""
        drill = self.last_drill
        return {
            "id": self.service.id,
            "name": self.service.name,
            "category": self.service.category,
            "priority": self.priority,
            "state": self.state,
            "since": _iso(self.since),
            "uptime": {
                "24h": self.uptime_24h,
                "30d": self.uptime_30d,
                "90d": self.uptime_90d,
                "objective": self.uptime_objective,
            },
            "days": [{"day": bar.day.isoformat(), "percent": bar.percent} for bar in self.bars],
            "rpo_seconds": self.rpo.total_seconds(),
            "rto_seconds": self.rto.total_seconds(),
            "restore_point": _iso(self.restore_point),
            "restore_point_age_seconds": (
                None if self.restore_point_age is None else self.restore_point_age.total_seconds()
            ),
            "rpo_met": self.rpo_met,
            "last_drill": None
            if drill is None
            else {
                "id": drill.id,
                "at": drill.at.isoformat(),
                "rto_seconds": drill.rto_seconds,
                "result": drill.result,
            },
            "rto_met": self.rto_met,
            "next_backup": _iso(self.next_backup),
            "next_drill": _iso(self.next_drill),
            "open_incidents": self.incidents,
            "open_alerts": self.alerts,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _open_incidents(connection: Connection) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    rows = connection.execute(
        select(incident_services.c.service, incidents.c.id)
        .join(incidents, incidents.c.id == incident_services.c.incident_id)
        .where(and_(incidents.c.status == "open", incidents.c.exercise.is_(False)))
        .order_by(incidents.c.id)
    )
    for service, incident_id in rows:
        found[service].append(int(incident_id))
    return found


def _open_alerts(connection: Connection) -> dict[str, int]:
    a = alerts.c
    rows = connection.execute(
        select(a.service, func.count()).where(a.resolved_at.is_(None)).group_by(a.service)
    )
    return {service: int(count) for service, count in rows}


def _next_jobs(plan: Plan, now: datetime) -> dict[tuple[str, str], datetime]:
    """(service, backup|drill) → the soonest next run."""
    from reprise.orchestrators.scheduler import plan_jobs
    from reprise.plan.schedule import job_offset, next_fire

    found: dict[tuple[str, str], datetime] = {}
    fired: dict[tuple[str, timedelta], datetime] = {}  # 500 services share a few schedules
    zone, jitter = plan.organisation.timezone, plan.scheduler.jitter
    for job in plan_jobs(plan):
        if job.service is None or job.kind not in ("backup", "drill"):
            continue
        offset = job_offset(job.id, jitter)
        key = (job.schedule, offset)
        if key not in fired:
            fired[key] = next_fire(job.schedule, now - offset, zone) + offset
        at = fired[key]
        slot = (job.service, job.kind)
        if slot not in found or at < found[slot]:
            found[slot] = at
    return found


def _bars(uptime: ServiceUptime | None, days: list[tuple[int, date]]) -> list[DayBar]:
    if uptime is None:
        return [DayBar(when, None) for _day, when in days]
    found = uptime.days
    return [
        DayBar(when, None if (counts := found.get(day)) is None else counts.percent)
        for day, when in days
    ]


def cards(plan: Plan, store: Store, now: datetime, services: list[str] | None = None) -> list[Card]:
    """The cards of the plan's services (or of ``services``), in plan order."""
    chosen = [s for s in plan.services if services is None or s.id in services]
    ids = [service.id for service in chosen]
    with store.engine.connect() as connection:
        states = current_states(connection, ids)
        ups = uptimes(connection, services, now, HISTORY_DAYS)
        points = restore_points(connection, ids)
        last_drills = {
            service: DrillLine(row.id, row.finished_at, row.rto_seconds, row.result)
            for service, row in latest_drills(connection, ids).items()
        }
        opened = _open_incidents(connection)
        alerting = _open_alerts(connection)
    next_jobs = _next_jobs(plan, now)
    today = int(now.timestamp() // DAY)
    epoch = date(1970, 1, 1).toordinal()
    days = [
        (day, date.fromordinal(epoch + day)) for day in range(today - HISTORY_DAYS + 1, today + 1)
    ]
    found = []
    for service in chosen:
        state, since = states.get(service.id, ("unknown", None))
        uptime = ups.get(service.id)
        found.append(
            Card(
                service=service,
                priority=service.effective_priority,
                state=state,
                since=since,
                uptime_24h=uptime.last_day.percent if uptime else None,
                uptime_30d=uptime.over(today - 29, today) if uptime else None,
                uptime_90d=uptime.over(today - HISTORY_DAYS + 1, today) if uptime else None,
                uptime_objective=plan.uptime(service),
                bars=_bars(uptime, days),
                rpo=plan.rpo(service),
                rto=plan.rto(service),
                backed_up=bool(service.backups),
                restore_point=points.get(service.id),
                last_drill=last_drills.get(service.id),
                next_backup=next_jobs.get((service.id, "backup")),
                next_drill=next_jobs.get((service.id, "drill")),
                incidents=opened.get(service.id, []),
                alerts=alerting.get(service.id, 0),
                now=now,
            )
        )
    return found
