"""Incidents: open, change and close them; read them, their recovery plan, what to do next
and their reports. Every change goes through here, whichever door asks for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError, option
from reprise.incidents import lifecycle, records
from reprise.incidents.closing import Closed, close_and_report
from reprise.incidents.exercise import open_exercise
from reprise.incidents.records import Incident, get_incident
from reprise.incidents.recovery import NextAction, PlanEntry, Waiting, incident_plan, next_actions
from reprise.incidents.report_view import open_manual_tasks, render_report, task_words
from reprise.incidents.runs import runs_of
from reprise.restore.pitr import parse_target_time
from reprise.statuspage import PUBLIC_KIND
from reprise.usecases.status import require_services

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "CloseRequest",
    "Closed",
    "Incident",
    "IncidentListRequest",
    "IncidentRequest",
    "IncidentUpdate",
    "NextAction",
    "NextSteps",
    "NoteRequest",
    "OpenRequest",
    "PlanEntry",
    "RecoveryPlan",
    "ReportRequest",
    "StateRequest",
    "TaskRequest",
    "UpdateRequest",
    "Waiting",
    "add_note",
    "close_incident",
    "incident_report",
    "list_incidents",
    "move_task",
    "next_steps",
    "open_incident",
    "override_state",
    "recovery_plan",
    "show_incident",
    "task_title_words",
    "update_incident",
]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class OpenRequest:
    """A new incident: what happened, the services affected (more can join later), the
    cause if known, who leads (default: the plan's first admin role) and who opens it."""

    title: str
    by: str
    services: tuple[str, ...] = ()
    cause: str | None = None
    commander: str | None = None
    exercise: bool = False
    """An exercise: announced to ``communication.test_contacts`` only (refused when the
    plan has none), its notifications and reports marked, never grouped with real ones."""


def open_incident(
    plan: Plan, store: Store, request: OpenRequest, clock: Clock = utc_now
) -> Incident:
    """Open an incident by hand (the monitor opens them on its own for P1/P2 failures)."""
    if request.exercise:
        incident, _deliveries = open_exercise(
            plan,
            store,
            request.title,
            list(request.services),
            by=request.by,
            at=clock(),
            cause=request.cause,
            commander=request.commander,
        )
        return incident
    incident_id = lifecycle.open_incident(
        store,
        plan,
        request.title,
        list(request.services),
        by=request.by,
        at=clock(),
        cause=request.cause,
        commander=request.commander,
    )
    return get_incident(store, incident_id)


@dataclass(frozen=True)
class IncidentListRequest:
    """Open incidents only, or ``all`` (closed ones too)."""

    all: bool = False


def list_incidents(store: Store, request: IncidentListRequest) -> list[Incident]:
    """Incidents, newest first."""
    return records.list_incidents(store, open_only=not request.all)


@dataclass(frozen=True)
class IncidentRequest:
    """One incident, by number."""

    incident_id: int


def show_incident(store: Store, request: IncidentRequest) -> Incident:
    """Everything about an incident: services, tasks, timeline (InputError when there is
    no such incident)."""
    return get_incident(store, request.incident_id)


def task_title_words(plan: Plan, incident: Incident) -> dict[int, list[Any]]:
    """The catalog words of each task title Reprise gave (a step without a title of its
    own), by task id: what a door words in the plan's language with
    ``reprise.reports.wording.reworded``, as the reports do; a title of the plan is absent
    (shown as written)."""
    return {task.id: found for task in incident.tasks if (found := task_words(plan, task))}


@dataclass(frozen=True)
class RecoveryPlan:
    """An incident and its affected services in priority then dependency order."""

    incident: Incident
    entries: list[PlanEntry]


def recovery_plan(plan: Plan, store: Store, request: IncidentRequest) -> RecoveryPlan:
    """The recovery plan: affected services in order, each with its tasks."""
    incident = get_incident(store, request.incident_id)
    return RecoveryPlan(incident, incident_plan(plan, incident))


@dataclass(frozen=True)
class NextSteps:
    """What to do now and who does it, and the services waiting for others."""

    incident: Incident
    actions: list[NextAction]
    waiting: list[Waiting]


def next_steps(plan: Plan, store: Store, request: IncidentRequest) -> NextSteps:
    """The next actions of an incident (none and nothing waiting: every service is up)."""
    incident = get_incident(store, request.incident_id)
    actions, waiting = next_actions(plan, incident)
    return NextSteps(incident, actions, waiting)


@dataclass(frozen=True)
class UpdateRequest:
    """Changes to an open incident, all made by one call: a new ``title``, ``cause`` or
    ``commander``; services to ``add``; ``state`` overrides (service, down/degraded/up);
    new ``target`` times (service, time as typed, in the plan's time zone)."""

    incident_id: int
    by: str
    title: str | None = None
    cause: str | None = None
    commander: str | None = None
    add: tuple[str, ...] = ()
    state: tuple[tuple[str, str], ...] = ()
    target: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class IncidentUpdate:
    """What changed: services added, services whose state changed, services whose target
    moved."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    targeted: list[str] = field(default_factory=list)


def update_incident(
    plan: Plan, store: Store, request: UpdateRequest, clock: Clock = utc_now
) -> IncidentUpdate:
    """Change an open incident: title, cause, commander, services, states, targets. Every
    service named and every time given is checked before anything changes."""
    states, targets = request.state, request.target
    require_services(plan, [s for s, _ in states + targets] + list(request.add))
    moments = [
        (
            service,
            parse_target_time(
                text, plan.organisation.timezone, label=f"{option('target')} {service}="
            ),
        )
        for service, text in targets
    ]
    person, now, incident_id = request.by, clock(), request.incident_id
    lifecycle.update_incident(
        store,
        incident_id,
        by=person,
        at=now,
        title=request.title,
        cause=request.cause,
        commander=request.commander,
    )
    added = (
        lifecycle.add_services(store, plan, incident_id, list(request.add), by=person, at=now)
        if request.add
        else []
    )
    changed = [
        service
        for service, value in states
        if lifecycle.set_state(
            store, incident_id, service, value, source=f"person: {person}", at=now, author=person
        )
    ]
    for service, moment in moments:
        lifecycle.set_target(store, incident_id, service, moment, by=person, at=now)
    return IncidentUpdate(added, changed, [service for service, _ in moments])


@dataclass(frozen=True)
class StateRequest:
    """Set the state of one affected service by hand (down, degraded or up)."""

    incident_id: int
    service: str
    state: str
    by: str


def override_state(store: Store, request: StateRequest, clock: Clock = utc_now) -> bool:
    """Record a state a person gives a service of an open incident; False when it was
    already in that state (``update_incident`` does the same for several at once)."""
    return lifecycle.set_state(
        store,
        request.incident_id,
        request.service,
        request.state,
        source=f"person: {request.by}",
        at=clock(),
        author=request.by,
    )


@dataclass(frozen=True)
class NoteRequest:
    """A note for an incident's timeline, and who writes it; a ``public`` note is also an
    update of the public status page."""

    incident_id: int
    text: str
    by: str
    public: bool = False


def add_note(store: Store, request: NoteRequest, clock: Clock = utc_now) -> None:
    """Add a note to an incident's timeline (open or closed)."""
    lifecycle.add_note(
        store,
        request.incident_id,
        request.text,
        by=request.by,
        at=clock(),
        kind=PUBLIC_KIND if request.public else "note",
    )


@dataclass(frozen=True)
class TaskRequest:
    """Move task ``task_id`` of an incident to ``status`` (todo, doing, done, skipped);
    ``note`` says why (required to skip)."""

    incident_id: int
    task_id: int
    status: str
    by: str
    note: str | None = None


def move_task(store: Store, request: TaskRequest, clock: Clock = utc_now) -> None:
    """Move a task to todo, doing, done or skipped."""
    lifecycle.set_task(
        store,
        request.incident_id,
        request.task_id,
        request.status,
        by=request.by,
        at=clock(),
        note=request.note,
    )


@dataclass(frozen=True)
class CloseRequest:
    """Close an incident, with a closing ``note``; ``force`` closes it although services
    are not back up or manual tasks are still to do or in progress (they are listed as
    unresolved, the tasks as follow-ups)."""

    incident_id: int
    by: str
    note: str | None = None
    force: bool = False


def close_incident(
    plan: Plan, store: Store, request: CloseRequest, clock: Clock = utc_now
) -> Closed:
    """Close the incident: the final report is written and sent to the audiences. Refused
    while manual tasks are still to do or in progress, unless ``force`` (services not back
    up are refused first, by the closing itself)."""
    incident = get_incident(store, request.incident_id)
    settled = incident.status == "open" and all(s.state == "up" for s in incident.services)
    left = open_manual_tasks(incident) if settled else []
    if left and not request.force:
        listed = "; ".join(f"task {t.id} ({t.service or '-'}: {t.title}) {t.status}" for t in left)
        raise InputError(
            f"incident {request.incident_id}: {len(left)} manual task(s) still open: {listed}",
            hint=f"finish or skip them (`reprise incident task {request.incident_id} TASK "
            f"done`) or close anyway with {option('force')} (they stay listed as "
            "follow-ups)",
        )
    return close_and_report(
        plan,
        store,
        request.incident_id,
        by=request.by,
        at=clock(),
        note=request.note,
        force=request.force,
    )


@dataclass(frozen=True)
class ReportRequest:
    """An incident's report in ``format`` (md or html) and ``lang`` (fr or en; default:
    the plan's), of ``kind`` final or progress (default: progress while open, final once
    closed)."""

    incident_id: int
    format: str = "md"
    lang: str | None = None
    kind: str | None = None


def incident_report(
    plan: Plan, store: Store, request: ReportRequest, clock: Clock = utc_now
) -> str:
    """Render an incident's report now."""
    incident = get_incident(store, request.incident_id)
    return render_report(
        plan,
        incident,
        runs_of(store, incident_id=request.incident_id),
        now=clock(),
        fmt=request.format,
        language=request.lang,
        kind=request.kind,
    )
