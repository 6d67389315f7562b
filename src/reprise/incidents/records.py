"""Incidents as stored: what they are, and reading them back whole.

Writes live in ``lifecycle`` (the rules: grouping, severity, tasks, closing); this module
only knows the rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from reprise.errors import InputError, option
from reprise.store.database import Store
from reprise.store.tables import (
    incident_reports,
    incident_services,
    incident_states,
    incident_tasks,
    incident_timeline,
    incidents,
)

STATES = ("down", "degraded", "up", "unknown")
TASK_STATUSES = ("todo", "doing", "done", "skipped")
MONITOR = "monitor"
"""The author of what the monitor writes into incidents: stored as is, worded by reports
(``report.author_monitor``)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


@dataclass
class AffectedService:
    """A service an incident affects: its state now and the target to be back."""

    service: str
    position: int
    state: str
    initial_state: str
    added_at: datetime
    target_at: datetime
    resolved_at: datetime | None


@dataclass
class StateRecord:
    """One state of one service during the incident, and what set it."""

    service: str
    at: datetime
    state: str
    source: str


@dataclass
class Task:
    """A step of an affected service's procedure, to be done by a role."""

    id: int
    service: str | None
    position: int
    kind: str
    title: str
    role: str | None
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    updated_by: str | None
    note: str | None


@dataclass
class TimelineEntry:
    """Something that happened during the incident, and who or what did it."""

    id: int
    at: datetime
    kind: str
    author: str
    text: str
    details: dict[str, Any]


@dataclass
class StoredReport:
    """A progress or final report as it was sent or written."""

    id: int
    kind: str
    at: datetime
    language: str
    body: str
    path: str | None


@dataclass
class Incident:
    """An incident with everything about it."""

    id: int
    title: str
    cause: str | None
    severity: str
    status: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    commander: str | None
    last_failure_at: datetime
    last_report_at: datetime | None
    exercise: bool = False
    """An exercise: notifications to the test contacts only, reports marked, never grouped
    with real failures."""
    services: list[AffectedService] = field(default_factory=list)
    states: list[StateRecord] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    reports: list[StoredReport] = field(default_factory=list)

    def affected(self, service: str) -> AffectedService | None:
        """The entry of this service, if the incident affects it."""
        return next((entry for entry in self.services if entry.service == service), None)

    def history(self, service: str) -> list[StateRecord]:
        """The states of one service, oldest first."""
        return [record for record in self.states if record.service == service]

    def failed_at(self, service: str) -> datetime:
        """When the service was first seen failing in this incident."""
        entry = self.affected(service)
        assert entry is not None
        return min((r.at for r in self.history(service) if r.state != "up"), default=entry.added_at)

    def summary(self) -> dict[str, Any]:
        """The JSON form of `incident list --json`."""
        counts = {state: sum(1 for s in self.services if s.state == state) for state in STATES}
        data: dict[str, Any] = _jsonable(
            {
                "id": self.id,
                "title": self.title,
                "severity": self.severity,
                "status": self.status,
                "opened_at": self.opened_at,
                "closed_at": self.closed_at,
                "commander": self.commander,
                "services": [s.service for s in self.services],
                "states": {k: v for k, v in counts.items() if v},
                "exercise": self.exercise,
            }
        )
        return data

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of `incident show --json`."""
        data = asdict(self)
        data.pop("reports")
        data["reports"] = [
            {"id": r.id, "kind": r.kind, "at": r.at, "language": r.language, "path": r.path}
            for r in self.reports
        ]
        result: dict[str, Any] = _jsonable(data)
        return result


def _incident(row: Any) -> Incident:
    return Incident(
        row.id,
        row.title,
        row.cause,
        row.severity,
        row.status,
        row.opened_at,
        row.opened_by,
        row.closed_at,
        row.commander,
        row.last_failure_at,
        row.last_report_at,
        bool(row.exercise),
    )


def get_incident(target: Store | Connection, incident_id: int) -> Incident:
    """The incident with its services, states, tasks, timeline and reports.

    Raises InputError when there is no such incident."""
    if isinstance(target, Store):
        with target.engine.connect() as connection:
            return get_incident(connection, incident_id)
    connection = target
    row = connection.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    if row is None:
        raise InputError(
            f"no incident {incident_id}",
            hint=f"`reprise incident list {option('all')}` shows them with their numbers",
        )
    incident = _incident(row)
    incident.services = [
        AffectedService(
            r.service, r.position, r.state, r.initial_state, r.added_at, r.target_at, r.resolved_at
        )
        for r in connection.execute(
            select(incident_services)
            .where(incident_services.c.incident_id == incident_id)
            .order_by(incident_services.c.position)
        )
    ]
    incident.states = [
        StateRecord(r.service, r.at, r.state, r.source)
        for r in connection.execute(
            select(incident_states)
            .where(incident_states.c.incident_id == incident_id)
            .order_by(incident_states.c.at, incident_states.c.id)
        )
    ]
    incident.tasks = [
        Task(
            r.id,
            r.service,
            r.position,
            r.kind,
            r.title,
            r.role,
            r.status,
            r.started_at,
            r.finished_at,
            r.updated_by,
            r.note,
        )
        for r in connection.execute(
            select(incident_tasks)
            .where(incident_tasks.c.incident_id == incident_id)
            .order_by(incident_tasks.c.position, incident_tasks.c.id)
        )
    ]
    incident.timeline = [
        TimelineEntry(r.id, r.at, r.kind, r.author, r.text, r.details)
        for r in connection.execute(
            select(incident_timeline)
            .where(incident_timeline.c.incident_id == incident_id)
            .order_by(incident_timeline.c.at, incident_timeline.c.id)
        )
    ]
    incident.reports = [
        StoredReport(r.id, r.kind, r.at, r.language, r.body, r.path)
        for r in connection.execute(
            select(incident_reports)
            .where(incident_reports.c.incident_id == incident_id)
            .order_by(incident_reports.c.id)
        )
    ]
    return incident


def list_incidents(store: Store, *, open_only: bool = True, limit: int = 100) -> list[Incident]:
    """Incidents, newest first, with their services (not their timelines)."""
    query = select(incidents).order_by(incidents.c.id.desc()).limit(limit)
    if open_only:
        query = query.where(incidents.c.status == "open")
    with store.engine.connect() as connection:
        found = [_incident(row) for row in connection.execute(query)]
        ids = [incident.id for incident in found]
        by_id = {incident.id: incident for incident in found}
        if ids:
            for r in connection.execute(
                select(incident_services)
                .where(incident_services.c.incident_id.in_(ids))
                .order_by(incident_services.c.position)
            ):
                by_id[r.incident_id].services.append(
                    AffectedService(
                        r.service,
                        r.position,
                        r.state,
                        r.initial_state,
                        r.added_at,
                        r.target_at,
                        r.resolved_at,
                    )
                )
    return found


def add_timeline(
    connection: Connection,
    incident_id: int,
    at: datetime,
    kind: str,
    author: str,
    text: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry to an incident's timeline (inside the caller's transaction)."""
    connection.execute(
        insert(incident_timeline).values(
            incident_id=incident_id,
            at=at,
            kind=kind,
            author=author[:200],
            text=text,
            details=_jsonable(details or {}),
        )
    )


def record_report(
    store: Store,
    incident_id: int,
    kind: str,
    at: datetime,
    language: str,
    body: str,
    path: str | None = None,
) -> int:
    """Keep a report as sent or written."""
    with store.engine.begin() as connection:
        key = connection.execute(
            insert(incident_reports).values(
                incident_id=incident_id, kind=kind, at=at, language=language, body=body, path=path
            )
        ).inserted_primary_key
    assert key is not None
    return int(key[0])
