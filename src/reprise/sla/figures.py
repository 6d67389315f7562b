"""The SLA figures as pure functions of what the state recorded (no store access here),
so that each is tested to the second on hand-made inputs.

How time is counted, for a service over [start, end) (end = now for a period in progress):

- **maintenance**: the plan's maintenance windows covering the service; taken out of the
  measured time (as Zabbix SLA does) and shown apart;
- **no data**: time no check result vouches for (a result vouches for its service until
  the next result of the same check or twice the check's interval, whichever comes first),
  or time in the ``unknown`` state; taken out of the measured time and shown apart, never
  counted as up;
- **measured** = period - maintenance - no data; **down** = measured time in the ``down``
  state (and ``degraded`` when ``sla.degraded`` is ``down``), from the service's confirmed
  state changes; **uptime** = (measured - down) / measured;
- an **outage** is one stretch of down state (its measured part); **MTTR** is the mean
  duration of the outages that ended in the period, **MTBF** the up time per outage;
- **RPO achieved** is the longest time during the period since the newest verified restore
  point (from the point before the period, when there is one), **RPO now** the age of the
  newest one; **RTO measured** is the worst of the drills' RTO and of real recoveries.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from reprise.sla.model import (
    Availability,
    Objective,
    ObjectiveName,
    Outage,
    Recovery,
    RestoreGap,
    RpoFigures,
    RtoFigures,
    ServiceSla,
    overall,
)
from reprise.sla.timeline import Span, clip, intersect, length, normalise, subtract


@dataclass(frozen=True)
class StateChange:
    """A confirmed state change of a service (a ``service.state`` event)."""

    at: float
    state: str


@dataclass(frozen=True)
class DrillRun:
    """A drill of the period: when, its RTO achieved, whether it passed."""

    started_at: float
    rto_seconds: float | None
    passed: bool


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def state_spans(
    initial: str, changes: Sequence[StateChange], low: float, high: float
) -> list[tuple[float, float, str]]:
    """The service's state over [low, high): ``initial`` at ``low``, then each change."""
    spans: list[tuple[float, float, str]] = []
    since, state = low, initial
    for change in sorted(changes, key=lambda c: c.at):
        if change.at <= low:
            state = change.state
            continue
        if change.at >= high:
            break
        spans.append((since, change.at, state))
        since, state = change.at, change.state
    spans.append((since, high, state))
    return [span for span in spans if span[1] > span[0]]


def availability(
    low: float,
    high: float,
    *,
    initial: str,
    changes: Sequence[StateChange],
    coverage: Sequence[Span],
    maintenance: Sequence[Span],
    degraded_as: str = "up",
) -> Availability:
    """Uptime, downtime, outages, MTTR and MTBF of one service over [low, high)."""
    window = [(low, high)] if high > low else []
    states = state_spans(initial, changes, low, high)
    bad = {"down"} | ({"degraded"} if degraded_as == "down" else set())

    def of(*names: str) -> list[Span]:
        return normalise((a, b) for a, b, s in states if s in names)

    maint = clip([*maintenance, *of("maintenance")], low, high)
    uncovered = subtract(window, clip(coverage, low, high))
    no_data = subtract(normalise([*uncovered, *of("unknown")]), maint)
    measured = subtract(subtract(window, maint), no_data)
    outages: list[Outage] = []
    ongoing_state = states[-1][2] if states else "unknown"
    for start, end in of(*bad):
        counted = intersect([(start, end)], measured)
        seconds = length(counted)
        if seconds <= 0:
            continue
        worst = "down" if intersect([(start, end)], of("down")) else "degraded"
        ongoing = end >= high and ongoing_state in bad
        outages.append(Outage(_utc(start), _utc(end), seconds, worst, ongoing))
    measured_seconds = length(measured)
    down = sum(outage.seconds for outage in outages)
    ended = [outage.seconds for outage in outages if not outage.ongoing]
    return Availability(
        period_seconds=high - low if high > low else 0.0,
        maintenance_seconds=length(maint),
        no_data_seconds=length(no_data),
        measured_seconds=measured_seconds,
        down_seconds=down,
        degraded_seconds=length(intersect(of("degraded"), measured)),
        uptime_percent=100.0 * (measured_seconds - down) / measured_seconds
        if measured_seconds > 0
        else None,
        outages=outages,
        mttr_seconds=statistics.fmean(ended) if ended else None,
        mtbf_seconds=(measured_seconds - down) / len(outages) if outages else None,
    )


def rpo_figures(
    low: float,
    high: float,
    *,
    points: Sequence[float],
    continuous: Sequence[Span] = (),
    now: float | None = None,
    watched_from: float | None = None,
) -> RpoFigures:
    """Restore points over [low, high): the longest stretch without one (counted from the
    newest point before ``low`` when there is one, else from ``low``), and with ``now`` (a
    period reaching the present) the age of the newest point. ``continuous`` spans (a base
    backup and unbroken WAL) are restore points at every instant. Without a point before
    the period, the time counts from ``watched_from`` (when Reprise first saw the service
    in the period; with neither, nothing is measured: Reprise was not there)."""
    covered = sorted([(p, p) for p in points if p < high] + list(clip(continuous, -1e18, high)))
    before = [min(end, low) for start, end in covered if start <= low]
    if before:
        cursor = max(before)
    elif watched_from is not None:
        cursor = max(low, watched_from)
    elif covered:
        cursor = covered[0][0]
    else:
        return RpoFigures(0, None, None, bool(clip(continuous, low, high)))
    gaps: list[Span] = []
    for start, end in covered:
        if end < cursor:
            continue
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if high > cursor:
        gaps.append((cursor, high))
    worst = max(gaps, key=lambda g: g[1] - g[0], default=None)
    newest = max((end for _start, end in covered if end <= (now or high)), default=None)
    return RpoFigures(
        restore_points=sum(1 for p in points if low <= p < high),
        worst_gap=RestoreGap(_utc(worst[0]), _utc(worst[1]), worst[1] - worst[0])
        if worst
        else None,
        current_seconds=(now - newest) if now is not None and newest is not None else None,
        continuous=bool(clip(continuous, low, high)),
    )


def rto_figures(drills: Sequence[DrillRun], recoveries: Sequence[Recovery]) -> RtoFigures:
    """The drills' RTO (last, median, worst) and the real recoveries of the period."""
    ordered = sorted(drills, key=lambda d: d.started_at)
    values = [d.rto_seconds for d in ordered if d.rto_seconds is not None]
    return RtoFigures(
        drills=len(ordered),
        drills_failed=sum(1 for d in ordered if not d.passed),
        last_seconds=values[-1] if values else None,
        median_seconds=statistics.median(values) if values else None,
        worst_seconds=max(values) if values else None,
        recoveries=list(recoveries),
    )


def judge(name: ObjectiveName, measured: float | None, objective: float) -> Objective:
    """One figure against its objective: uptime at least the objective (margin in
    percentage points), RPO and RTO at most it (margin in seconds)."""
    if measured is None:
        return Objective(name, objective, None, "no_data", None)
    margin = measured - objective if name == "uptime" else objective - measured
    return Objective(name, objective, measured, "ok" if margin >= 0 else "breached", margin)


def service_objectives(
    availability_figures: Availability,
    rpo: RpoFigures | None,
    rto: RtoFigures,
    *,
    uptime_objective: float,
    rpo_objective: float,
    rto_objective: float,
) -> list[Objective]:
    """The service's lines against its objectives (no RPO line without backups)."""
    lines = (
        [judge("rpo", rpo.worst_gap.seconds if rpo and rpo.worst_gap else None, rpo_objective)]
        if rpo is not None
        else []
    )
    return [
        judge("uptime", availability_figures.uptime_percent, uptime_objective),
        *lines,
        judge("rto", rto.worst_measured, rto_objective),
    ]


def plan_objectives(
    services: Sequence[ServiceSla], *, uptime: float, rpo: float, rto: float
) -> list[Objective]:
    """The plan's own line: uptime weighted by measured time over its services against the
    plan's objective; RPO and RTO the worst service figure, breached when any service
    breached its own objective, the margin the tightest of the services'."""
    measured = sum(s.availability.measured_seconds for s in services)
    down = sum(s.availability.down_seconds for s in services)
    lines = [judge("uptime", 100.0 * (measured - down) / measured if measured else None, uptime)]
    pairs: tuple[tuple[ObjectiveName, float], ...] = (("rpo", rpo), ("rto", rto))
    for name, objective in pairs:
        judged = [o for s in services for o in s.objectives if o.name == name]
        values = [o.measured for o in judged if o.measured is not None]
        margins = [o.margin for o in judged if o.margin is not None]
        if not judged:
            continue
        lines.append(
            Objective(
                name,
                objective,
                max(values) if values else None,
                overall([o.verdict for o in judged]),
                min(margins) if margins else None,
            )
        )
    return lines
