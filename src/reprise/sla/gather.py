"""Read what the SLA figures need from the state (state changes, check results and
roll-ups, backups, drills, incidents) and compute them for a period: a handful of indexed
queries per period, whatever the number of results (raw results give their gaps through a
window function; older time comes from the roll-ups)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, or_, select

from reprise.alerts.calendar import window_spans
from reprise.errors import InputError
from reprise.plan.model import Plan, Service
from reprise.probes.run import service_checks
from reprise.sla.figures import (
    DrillRun,
    StateChange,
    availability,
    plan_objectives,
    rpo_figures,
    rto_figures,
    service_objectives,
)
from reprise.sla.model import (
    IncidentLine,
    MonthTrend,
    Objective,
    Period,
    PlanSla,
    Recovery,
    ServiceSla,
    overall,
)
from reprise.sla.periods import months_before
from reprise.sla.timeline import Span
from reprise.store.database import Store
from reprise.store.tables import (
    backups,
    check_results,
    check_rollups,
    drills,
    events,
    incident_services,
    incidents,
)

PASSED = "passed"
"""A drill's result when it passed (src/reprise/drill/run.py)."""


def compute_sla(
    plan: Plan,
    store: Store,
    period: Period,
    now: datetime,
    services: list[str] | None = None,
    trend_months: int = 12,
) -> PlanSla:
    """The SLA figures of the plan (or of some services) over ``period``, measured up to
    ``now``, with the trend of the ``trend_months`` months ending with the period's."""
    chosen = _chosen(plan, services)
    zone = plan.organisation.timezone
    months = months_before(period, trend_months, zone) if trend_months > 0 else []
    first = min([period.start, *(month.start for month in months)])
    last = min(max([period.end, *(month.end for month in months)]), now)
    with store.engine.connect() as connection:
        ids = [service.id for service in chosen]
        initial, changes = _states(connection, ids, first, last)
        raw = check_results.c
        oldest = connection.execute(select(func.min(raw.at)).where(raw.service.in_(ids))).scalar()
        book = _Book(
            initial,
            changes,
            _restore_points(connection, ids, first, last),
            float(oldest) if oldest is not None else None,
            _continuous(plan, store, chosen),
        )
        lines, objectives = _figures(plan, connection, book, period, now, chosen, "hour")
        trend = []
        if months:
            for month in months:
                if month.start >= now:
                    continue
                month_lines, month_objectives = (
                    (lines, objectives)
                    if (month.start, month.end) == (period.start, period.end)
                    else _figures(plan, connection, book, month, now, chosen, "day")
                )
                trend.append(_trend_point(month.label, month_lines, month_objectives))
        listed = _incident_lines(connection, period, now)
    return PlanSla(
        period=period,
        generated_at=now,
        degraded_counts_as=plan.sla.degraded,
        services=lines,
        objectives=objectives,
        incidents=listed,
        trend=trend,
    )


def _chosen(plan: Plan, services: list[str] | None) -> list[Service]:
    if not services:
        return list(plan.services)
    known = {service.id: service for service in plan.services}
    missing = [name for name in services if name not in known]
    if missing:
        raise InputError(
            f"no service {missing[0]!r} in the plan", hint="services: " + ", ".join(known)
        )
    return [known[name] for name in services]


def _figures(
    plan: Plan,
    connection: Connection,
    book: _Book,
    period: Period,
    now: datetime,
    services: Sequence[Service],
    resolution: str,
) -> tuple[list[ServiceSla], list[Objective]]:
    low = period.start.timestamp()
    high = min(period.end, now).timestamp()
    reaches_now = period.end >= now
    ids = [service.id for service in services]
    coverage = _coverage(connection, services, low, high, resolution, book.raw_from)
    drill_runs = _drills(connection, ids, low, high)
    recoveries = _recoveries(connection, ids, low, high)
    zone = ZoneInfo(plan.organisation.timezone)
    lines: list[ServiceSla] = []
    for service in services:
        maintenance = [
            (start.timestamp(), end.timestamp())
            for window in plan.alerting.maintenance
            if not window.services or service.id in window.services
            for start, end in window_spans(window, period.start, min(period.end, now), zone)
        ]
        initial, changes = book.states(service.id, low, high)
        figures = availability(
            low,
            high,
            initial=initial,
            changes=changes,
            coverage=coverage[service.id],
            maintenance=maintenance,
            degraded_as=plan.sla.degraded,
        )
        rpo = None
        if service.backups:
            known = _around(book.points.get(service.id, []), low, high)
            watched = coverage[service.id]
            rpo = rpo_figures(
                low,
                high,
                points=known,
                continuous=book.continuous.get(service.id, []),
                now=now.timestamp() if reaches_now else None,
                watched_from=min((start for start, _end in watched), default=None),
            )
        rto = rto_figures(drill_runs[service.id], recoveries[service.id])
        lines.append(
            ServiceSla(
                service=service.id,
                name=service.name,
                priority=service.effective_priority,
                availability=figures,
                rpo=rpo if rpo is not None else rpo_figures(low, low, points=[]),
                rto=rto,
                objectives=service_objectives(
                    figures,
                    rpo,
                    rto,
                    uptime_objective=plan.uptime(service),
                    rpo_objective=plan.rpo(service).total_seconds(),
                    rto_objective=plan.rto(service).total_seconds(),
                ),
            )
        )
    objectives = plan_objectives(
        lines,
        uptime=plan.objectives.uptime,
        rpo=plan.objectives.rpo.total_seconds(),
        rto=plan.objectives.rto.total_seconds(),
    )
    return lines, objectives


def _trend_point(label: str, lines: list[ServiceSla], objectives: list[Objective]) -> MonthTrend:
    by_name = {o.name: o for o in objectives}
    return MonthTrend(
        label=label,
        uptime_percent=by_name["uptime"].measured if "uptime" in by_name else None,
        worst_rpo_seconds=by_name["rpo"].measured if "rpo" in by_name else None,
        worst_rto_seconds=by_name["rto"].measured if "rto" in by_name else None,
        verdict=overall([s.verdict for s in lines] + [o.verdict for o in objectives]),
    )


@dataclass
class _Book:
    """What the whole range (the period and its trend) needs, read once: each service's
    state at the range's start and its changes, its restore points, and when the oldest
    raw check result is."""

    initial: dict[str, str]
    changes: dict[str, list[StateChange]]
    points: dict[str, list[float]]
    raw_from: float | None
    continuous: dict[str, list[Span]]

    def states(self, service: str, low: float, high: float) -> tuple[str, list[StateChange]]:
        """The service's state at ``low`` and its changes in [low, high)."""
        changes = self.changes.get(service, [])
        moments = [change.at for change in changes]
        first, last = bisect_right(moments, low), bisect_left(moments, high)
        state = changes[first - 1].state if first else self.initial.get(service, "unknown")
        return state, changes[first:last]


def _states(
    connection: Connection, ids: list[str], first: datetime, last: datetime
) -> tuple[dict[str, str], dict[str, list[StateChange]]]:
    """Each service's state at ``first`` and its changes up to ``last``."""
    e = events.c
    initial: dict[str, str] = {}
    for service in ids:
        row = connection.execute(
            select(e.payload)
            .where(and_(e.subject == service, e.kind == "service.state", e.time < first))
            .order_by(e.time.desc(), e.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            initial[service] = str(row.payload.get("to", "unknown"))
    changes: dict[str, list[StateChange]] = defaultdict(list)
    rows = connection.execute(
        select(e.subject, e.time, e.payload)
        .where(
            and_(
                e.kind == "service.state",
                e.subject.in_(ids),
                e.time >= first,
                e.time < last,
            )
        )
        .order_by(e.time, e.id)
    )
    for row in rows:
        changes[row.subject].append(
            StateChange(row.time.timestamp(), str(row.payload.get("to", "unknown")))
        )
    return initial, changes


def _coverage(
    connection: Connection,
    services: Sequence[Service],
    low: float,
    high: float,
    resolution: str,
    raw_from: float | None,
) -> dict[str, list[Span]]:
    """The time each service's check results vouch for: from raw results (gaps found by a
    window function, only the rows around a gap come back), and before the oldest raw
    result from the roll-ups (each bucket covered for its share of the expected results)."""
    grace = {
        (service.id, name): 2 * check.interval.total_seconds()
        for service in services
        for name, check in service_checks(service)
    }
    coverage: dict[str, list[Span]] = defaultdict(list)
    if not grace:
        return coverage
    ids = sorted({service for service, _name in grace})
    raw_from = high if raw_from is None else raw_from
    if raw_from < high:
        _raw_coverage(connection, ids, grace, max(low, raw_from), high, coverage)
    if low < raw_from:
        _rolled_coverage(connection, services, low, min(raw_from, high), resolution, coverage)
    return coverage


def _raw_coverage(
    connection: Connection,
    ids: list[str],
    grace: dict[tuple[str, str], float],
    low: float,
    high: float,
    coverage: dict[str, list[Span]],
) -> None:
    raw = check_results.c
    widest, narrowest = max(grace.values()), min(grace.values())
    partition = (raw.service, raw.check_name)
    inner = (
        select(
            raw.service,
            raw.check_name,
            raw.at,
            func.lag(raw.at).over(partition_by=partition, order_by=raw.at).label("before"),
            func.lead(raw.at).over(partition_by=partition, order_by=raw.at).label("after"),
        )
        .where(and_(raw.service.in_(ids), raw.at >= low - widest, raw.at < high))
        .subquery()
    )
    edges = connection.execute(
        select(inner.c.service, inner.c.check_name, inner.c.at, inner.c.before, inner.c.after)
        .where(
            or_(
                inner.c.before.is_(None),
                inner.c.after.is_(None),
                inner.c.at - inner.c.before > narrowest,
                inner.c.after - inner.c.at > narrowest,
            )
        )
        .order_by(inner.c.service, inner.c.check_name, inner.c.at)
    )
    opened: dict[tuple[str, str], float] = {}
    for row in edges:
        key = (row.service, row.check_name)
        limit = grace.get(key)
        if limit is None:  # a check no longer in the plan: its results still vouch
            limit = narrowest
        if row.before is None or row.at - row.before > limit:
            opened[key] = row.at
        if (row.after is None or row.after - row.at > limit) and key in opened:
            coverage[row.service].append((opened.pop(key), row.at + limit))


def _rolled_coverage(
    connection: Connection,
    services: Sequence[Service],
    low: float,
    high: float,
    resolution: str,
    coverage: dict[str, list[Span]],
) -> None:
    size = 86400 if resolution == "day" else 3600
    expected = {
        service.id: sum(
            size / check.interval.total_seconds() for _n, check in service_checks(service)
        )
        for service in services
    }
    rolled = check_rollups.c
    rows = connection.execute(
        select(rolled.service, rolled.bucket, func.sum(rolled.total).label("total"))
        .where(
            and_(
                rolled.service.in_(list(expected)),
                rolled.period == resolution,
                rolled.bucket >= int(low // size),
                rolled.bucket <= int(high // size),
            )
        )
        .group_by(rolled.service, rolled.bucket)
    )
    for row in rows:
        if not expected.get(row.service):
            continue
        share = min(1.0, float(row.total) / expected[row.service])
        start = float(row.bucket) * size
        coverage[row.service].append((start, start + share * size))


def _restore_points(
    connection: Connection, ids: list[str], first: datetime, last: datetime
) -> dict[str, list[float]]:
    """Every restore point of each service up to ``last`` (read once for the period and
    its trend, sorted): the catalog's verified backups, and the backups the journal saw
    complete from a while before ``first`` that are no longer in the catalog (pruned: they
    were restorable for as long as they were kept). A catalog row not verified, or found
    damaged, is no restore point."""
    b = backups.c
    catalog: set[str] = set()
    moments: dict[str, list[float]] = defaultdict(list)
    for row in connection.execute(
        select(b.service, b.backup_id, b.started_at, b.verify_status, b.problem).where(
            and_(b.service.in_(ids), b.started_at < last)
        )
    ):
        catalog.add(row.backup_id)
        if row.verify_status == "ok" and row.problem is None:
            moments[row.service].append(row.started_at.timestamp())
    e = events.c
    journal = select(
        e.subject,
        e.payload["backup_id"].as_string().label("backup_id"),
        e.payload["started_at"].as_string().label("started_at"),
    ).where(
        and_(
            e.kind == "backup.completed",
            e.subject.in_(ids),
            e.time >= first - JOURNAL_LOOKBACK,
            e.time < last + timedelta(days=1),
        )
    )
    high = last.timestamp()
    for subject, backup_id, started in connection.execute(journal):
        if backup_id in catalog:
            continue
        moment = _journal_moment(backup_id, started)
        if moment is not None and moment < high:
            moments[subject].append(moment)
    return {service: sorted(found) for service, found in moments.items()}


def _continuous(plan: Plan, store: Store, services: Sequence[Service]) -> dict[str, list[Span]]:
    """For services whose WAL is archived, the current PITR window (the newest base backup
    to the newest segment, without a gap): a restore point at every instant. Only the
    current window is known (the repository keeps no history of older ones); an archive
    that cannot be read counts for nothing, and is the audit's and the checks' business."""
    from reprise.restore.pitr import current_window

    spans: dict[str, list[Span]] = {}
    for service in services:
        window = current_window(plan, store, service)
        if window is not None and window[1] is not None:
            spans[service.id] = [(window[0].timestamp(), window[1].timestamp())]
    return spans


def _around(points: list[float], low: float, high: float) -> list[float]:
    """The points of [low, high) and the newest one before (what one period needs)."""
    start, end = bisect_left(points, low), bisect_left(points, high)
    return points[max(0, start - 1) : end]


JOURNAL_LOOKBACK = timedelta(days=40)
"""How far before a period the journal is read for the restore point preceding it."""


def _journal_moment(backup_id: str | None, started: str | None) -> float | None:
    """When a journaled backup started: its ``started_at``, else the time its id begins
    with (``20261126T223131Z-…``)."""
    try:
        if started:
            return datetime.fromisoformat(started).timestamp()
        if backup_id:
            moment = datetime.strptime(backup_id[:16], "%Y%m%dT%H%M%SZ")
            return moment.replace(tzinfo=UTC).timestamp()
    except ValueError:
        pass
    return None


def _drills(
    connection: Connection, ids: list[str], low: float, high: float
) -> dict[str, list[DrillRun]]:
    start, end = datetime.fromtimestamp(low, UTC), datetime.fromtimestamp(high, UTC)
    d = drills.c
    runs: dict[str, list[DrillRun]] = defaultdict(list)
    for row in connection.execute(
        select(d.service, d.started_at, d.rto_seconds, d.result).where(
            and_(d.service.in_(ids), d.started_at >= start, d.started_at < end)
        )
    ):
        runs[row.service].append(
            DrillRun(row.started_at.timestamp(), row.rto_seconds, row.result == PASSED)
        )
    return runs


def _recoveries(
    connection: Connection, ids: list[str], low: float, high: float
) -> dict[str, list[Recovery]]:
    """Time to recover each element of the real incidents opened in the period."""
    start, end = datetime.fromtimestamp(low, UTC), datetime.fromtimestamp(high, UTC)
    i, s = incidents.c, incident_services.c
    found: dict[str, list[Recovery]] = defaultdict(list)
    for row in connection.execute(
        select(i.id, i.opened_at, s.service, s.resolved_at)
        .join(incident_services, s.incident_id == i.id)
        .where(
            and_(
                s.service.in_(ids),
                i.exercise.is_(False),
                i.opened_at >= start,
                i.opened_at < end,
            )
        )
        .order_by(i.id)
    ):
        until = row.resolved_at if row.resolved_at is not None else end
        found[row.service].append(
            Recovery(
                int(row.id), (until - row.opened_at).total_seconds(), row.resolved_at is not None
            )
        )
    return found


def _incident_lines(connection: Connection, period: Period, now: datetime) -> list[IncidentLine]:
    """Real incidents that were open at some time during the period."""
    i, s = incidents.c, incident_services.c
    end = min(period.end, now)
    rows = connection.execute(
        select(i.id, i.title, i.opened_at, i.closed_at, i.severity, i.exercise)
        .where(
            and_(
                i.exercise.is_(False),
                i.opened_at < end,
                or_(i.closed_at.is_(None), i.closed_at >= period.start),
            )
        )
        .order_by(i.opened_at, i.id)
    ).all()
    members: dict[int, list[str]] = defaultdict(list)
    if rows:
        for row in connection.execute(
            select(s.incident_id, s.service)
            .where(s.incident_id.in_([r.id for r in rows]))
            .order_by(s.incident_id, s.position)
        ):
            members[int(row.incident_id)].append(row.service)
    return [
        IncidentLine(
            id=int(row.id),
            title=row.title,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            severity=row.severity,
            services=members[int(row.id)],
            exercise=bool(row.exercise),
        )
        for row in rows
    ]
