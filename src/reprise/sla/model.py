"""What the SLA figures are: plain values that the reports, the CLI, the web and the audit
read. Durations are seconds (floats), times are aware UTC datetimes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ObjectiveName = Literal["uptime", "rpo", "rto"]
"""The three promises of a plan."""

Verdict = Literal["ok", "breached", "no_data"]
"""Against an objective: met, missed, or nothing measured to say."""


@dataclass(frozen=True)
class Period:
    """A half-open span of time [start, end): a month by default (``label`` "2026-11")."""

    start: datetime
    end: datetime
    label: str

    @property
    def seconds(self) -> float:
        """Its length."""
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Outage:
    """One stretch of a service down (or degraded, when the plan counts it as down),
    clipped to the period; ``ongoing`` when it had not ended by the period's end."""

    start: datetime
    end: datetime
    seconds: float
    state: str
    ongoing: bool = False


@dataclass(frozen=True)
class Availability:
    """How a service's period splits: maintenance and time with no data are taken out of
    the measured time and shown apart; uptime is (measured - down) / measured."""

    period_seconds: float
    maintenance_seconds: float
    no_data_seconds: float
    measured_seconds: float
    down_seconds: float
    degraded_seconds: float
    uptime_percent: float | None
    outages: list[Outage] = field(default_factory=list)
    mttr_seconds: float | None = None
    mtbf_seconds: float | None = None


@dataclass(frozen=True)
class RestoreGap:
    """The longest stretch without a verified restore point: from ``start`` (the previous
    point, or the period's start) to ``end`` (the next point, or the period's end/now)."""

    start: datetime
    end: datetime
    seconds: float


@dataclass(frozen=True)
class RpoFigures:
    """Restore points of a service over the period: the worst gap (the RPO achieved) and,
    when the period reaches now, the age of the newest verified point (the RPO right now)."""

    restore_points: int
    worst_gap: RestoreGap | None
    current_seconds: float | None
    continuous: bool = False
    """Whether a physical base backup and continuous WAL covered part of the period."""


@dataclass(frozen=True)
class Recovery:
    """Time to recover one element in a real incident (opening to back up)."""

    incident_id: int
    seconds: float
    resolved: bool


@dataclass(frozen=True)
class RtoFigures:
    """Drills of the period (their achieved RTO) and real recoveries."""

    drills: int
    drills_failed: int
    last_seconds: float | None
    median_seconds: float | None
    worst_seconds: float | None
    recoveries: list[Recovery] = field(default_factory=list)

    @property
    def worst_measured(self) -> float | None:
        """The worst of drills and real recoveries: what is held against the objective."""
        values = [v for v in (self.worst_seconds,) if v is not None]
        values += [r.seconds for r in self.recoveries]
        return max(values) if values else None


@dataclass(frozen=True)
class Objective:
    """One figure against its objective: ``margin`` is how far inside the objective it is
    (negative when breached), in the objective's unit (percentage points or seconds)."""

    name: ObjectiveName
    objective: float
    measured: float | None
    verdict: Verdict
    margin: float | None


@dataclass(frozen=True)
class ServiceSla:
    """One service over the period."""

    service: str
    name: str
    priority: str
    availability: Availability
    rpo: RpoFigures
    rto: RtoFigures
    objectives: list[Objective]

    @property
    def verdict(self) -> Verdict:
        """Breached if any objective is, no_data if none could be judged, else ok."""
        return overall([o.verdict for o in self.objectives])


@dataclass(frozen=True)
class IncidentLine:
    """An incident of the period, as the report lists it."""

    id: int
    title: str
    opened_at: datetime
    closed_at: datetime | None
    severity: str
    services: list[str]
    exercise: bool


@dataclass(frozen=True)
class MonthTrend:
    """One month of the trend: the plan's uptime (time-weighted over services), the worst
    RPO gap and the worst RTO measured, with the verdict of each."""

    label: str
    uptime_percent: float | None
    worst_rpo_seconds: float | None
    worst_rto_seconds: float | None
    verdict: Verdict


@dataclass(frozen=True)
class PlanSla:
    """The whole plan over the period: every service, the plan's own line (uptime weighted
    over services, worst RPO and RTO), the incidents, and the trend of the last months."""

    period: Period
    generated_at: datetime
    degraded_counts_as: str
    services: list[ServiceSla]
    objectives: list[Objective]
    incidents: list[IncidentLine]
    trend: list[MonthTrend] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """The plan is compliant when every service is."""
        return overall([s.verdict for s in self.services] + [o.verdict for o in self.objectives])

    def to_dict(self) -> dict[str, Any]:
        """JSON form (times in UTC ISO 8601)."""
        data = asdict(self)
        data["verdict"] = self.verdict
        for line, service in zip(data["services"], self.services, strict=True):
            line["verdict"] = service.verdict
        result: dict[str, Any] = _iso(data)
        return result


def overall(verdicts: list[Verdict]) -> Verdict:
    """Breached if any is, ok if at least one is ok and none breached, else no_data."""
    if "breached" in verdicts:
        return "breached"
    return "ok" if "ok" in verdicts else "no_data"


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value
