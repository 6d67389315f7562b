"""The life of an incident: opening, services joining, their states, tasks, notes, closing.

Every change is written in one transaction together with its timeline entry, so the
timeline is the full story and never disagrees with the state it tells about."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, false, func, insert, select, update

from reprise.errors import InputError, option
from reprise.incidents.records import (
    STATES,
    TASK_STATUSES,
    add_timeline,
    get_incident,
)
from reprise.plan.model import Plan, Service
from reprise.plan.steps import (
    PARAMETER,
    EvidenceStep,
    NotifyStep,
    RestoreStep,
    Step,
    WaitCheckStep,
)
from reprise.reports.wording import Part, english, part
from reprise.store.database import Store
from reprise.store.events import append_event
from reprise.store.tables import incident_services, incident_states, incident_tasks, incidents

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str, what: str, *, limit: int = 200, multiline: bool = False) -> str:
    """A title, cause or note as typed: trimmed, non-empty, bounded, without control
    characters (which would corrupt terminals and reports)."""
    text = value.strip()
    if not multiline:
        text = " ".join(text.split())
    if not text:
        raise InputError(f"the {what} is empty", hint=f"give a {what} in words")
    if len(text) > limit:
        raise InputError(
            f"the {what} is {len(text)} characters long (at most {limit})",
            hint="say it shorter; details go in `reprise incident note`",
        )
    if _CONTROL.search(text):
        raise InputError(f"the {what} contains control characters", hint="use plain text")
    return text


def step_title(step: Step) -> str:
    """How a procedure or runbook step is named in task lists and reports: its title, else
    what its kind says about it (``StepBase.default_title``)."""
    return step.display_title()


def title_parts(step: Step, values: Mapping[str, str] | None = None) -> list[Part]:
    """The name a step's kind gives it (when it has no ``title``) in catalog words
    (``steptitle.*``), with the scenario's ``values`` put in; empty when the step has its
    own title (plan text, shown as written) or when the words would not say what
    :func:`step_title` says in English."""
    if step.title:
        return []
    given = values or {}

    def text(value: str) -> str:
        return PARAMETER.sub(lambda match: given.get(match.group(1), match.group(0)), value)

    parts: list[Part] = []
    if isinstance(step, WaitCheckStep):
        parts = [part("steptitle.wait_check", service=step.service, limit=_limit(step))]
    elif isinstance(step, NotifyStep):
        parts = [part("steptitle.notify", roles=", ".join(step.roles), text=text(step.text))]
    elif isinstance(step, RestoreStep):
        parts = (
            [part("steptitle.restore_pitr", service=step.service)]
            if step.pitr
            else [part("steptitle.restore", service=step.service, backup=text(step.backup))]
        )
    elif isinstance(step, EvidenceStep):
        parts = [part("steptitle.evidence", paths=", ".join(text(p) for p in step.paths))]
    if not parts or english(parts) != text(step_title(step)):
        return []
    return parts


def _limit(step: WaitCheckStep) -> str:
    seconds = int(step.timeout.total_seconds())
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def former_title(step: Step) -> str | None:
    """The name an earlier Reprise gave a step without a ``title``, when it has changed
    since (a wait_check step was ``router: checks pass (at most 30 min)``): the tasks and
    runs stored then keep it, and are worded as the step all the same. None otherwise."""
    if step.title or not isinstance(step, WaitCheckStep):
        return None
    return f"{step.service}: checks pass (at most {_limit(step)})"


def commander_role(plan: Plan) -> str | None:
    """Who leads the recovery unless told otherwise: the first admin role of the plan."""
    return next(
        (role.id for role in plan.roles if role.permission == "admin"),
        plan.roles[0].id if plan.roles else None,
    )


def _service(plan: Plan, service_id: str) -> Service:
    try:
        return plan.service(service_id)
    except KeyError:
        known = ", ".join(service.id for service in plan.services)
        raise InputError(f"unknown service {service_id!r}", hint=f"use one of: {known}") from None


def _existing_row(connection: Connection, incident_id: int) -> str:
    """The incident's status; InputError when there is no such incident."""
    status = connection.execute(
        select(incidents.c.status).where(incidents.c.id == incident_id)
    ).scalar()
    if status is None:
        raise InputError(
            f"no incident {incident_id}",
            hint=f"`reprise incident list {option('all')}` shows them with their numbers",
        )
    return str(status)


def _open_row(connection: Connection, incident_id: int) -> None:
    if _existing_row(connection, incident_id) != "open":
        raise InputError(
            f"incident {incident_id} is closed", hint="open a new one with `reprise incident open`"
        )


def open_incident(
    store: Store,
    plan: Plan,
    title: str,
    services: list[str],
    *,
    by: str,
    at: datetime,
    cause: str | None = None,
    commander: str | None = None,
    state: str = "down",
    source: str | None = None,
    exercise: bool = False,
) -> int:
    """Open an incident affecting ``services`` (which may be none yet) and return its id;
    an ``exercise`` is kept apart from real failures (see :func:`grouping_candidate`)."""
    title = clean_text(title, "title")
    cause = clean_text(cause, "cause", limit=2000, multiline=True) if cause else None
    commander = clean_text(commander, "commander") if commander else commander_role(plan)
    for service_id in services:
        _service(plan, service_id)
    with store.engine.begin() as connection:
        key = connection.execute(
            insert(incidents).values(  # severity: set as services join
                title=title,
                cause=cause,
                severity="P3",
                status="open",
                opened_at=at,
                opened_by=by[:200],
                commander=commander,
                last_failure_at=at,
                exercise=exercise,
            )
        ).inserted_primary_key
        assert key is not None
        incident_id = int(key[0])
        add_timeline(
            connection,
            incident_id,
            at,
            "opened",
            by,
            title,
            {"services": services, "cause": cause, "commander": commander}
            | ({"exercise": True} if exercise else {}),
        )
        _join(
            connection,
            plan,
            incident_id,
            services,
            at=at,
            by=by,
            state=state,
            source=source or f"person: {by}",
        )
        append_event(
            connection,
            "incident.opened",
            str(incident_id),
            {"title": title, "services": services, "by": by},
            at=at,
        )
    return incident_id


def add_services(
    store: Store,
    plan: Plan,
    incident_id: int,
    services: list[str],
    *,
    by: str,
    at: datetime,
    state: str = "down",
    source: str | None = None,
) -> list[str]:
    """Add services to an open incident (those already in it are left alone); returns
    the ones added."""
    for service_id in services:
        _service(plan, service_id)
    with store.engine.begin() as connection:
        _open_row(connection, incident_id)
        added = _join(
            connection,
            plan,
            incident_id,
            services,
            at=at,
            by=by,
            state=state,
            source=source or f"person: {by}",
        )
    return added


def _join(
    connection: Connection,
    plan: Plan,
    incident_id: int,
    services: list[str],
    *,
    at: datetime,
    by: str,
    state: str,
    source: str,
) -> list[str]:
    present = {
        row.service
        for row in connection.execute(
            select(incident_services.c.service).where(
                incident_services.c.incident_id == incident_id
            )
        )
    }
    position = connection.execute(
        select(func.count())
        .select_from(incident_services)
        .where(incident_services.c.incident_id == incident_id)
    ).scalar_one()
    task_position = connection.execute(
        select(func.count())
        .select_from(incident_tasks)
        .where(incident_tasks.c.incident_id == incident_id)
    ).scalar_one()
    added = []
    for service_id in dict.fromkeys(services):
        if service_id in present:
            continue
        service = plan.service(service_id)
        position += 1
        connection.execute(
            insert(incident_services).values(
                incident_id=incident_id,
                service=service_id,
                position=position,
                state=state,
                initial_state=state,
                added_at=at,
                target_at=at + plan.rto(service),
                resolved_at=None,
            )
        )
        connection.execute(
            insert(incident_states).values(
                incident_id=incident_id, service=service_id, at=at, state=state, source=source
            )
        )
        for step in service.procedure:
            task_position += 1
            connection.execute(
                insert(incident_tasks).values(
                    incident_id=incident_id,
                    service=service_id,
                    position=task_position,
                    kind=step.kind,
                    title=step_title(step),
                    role=step.role or service.owner or commander_role(plan),
                    status="todo",
                )
            )
        add_timeline(
            connection,
            incident_id,
            at,
            "service",
            by,
            f"{service_id}: {state} ({source})",
            {"service": service_id, "state": state, "source": source},
        )
        added.append(service_id)
    if added:
        _refresh_severity(connection, plan, incident_id, at)
    return added


def _refresh_severity(connection: Connection, plan: Plan, incident_id: int, at: datetime) -> None:
    affected = [
        row.service
        for row in connection.execute(
            select(incident_services.c.service).where(
                incident_services.c.incident_id == incident_id
            )
        )
    ]
    severity = min(
        (plan.service(s).effective_priority for s in affected if _known(plan, s)), default="P3"
    )  # "P1" < "P2" < "P3"
    connection.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(severity=severity, last_failure_at=at)
    )


def _known(plan: Plan, service_id: str) -> bool:
    return any(service.id == service_id for service in plan.services)


def set_state(
    store: Store,
    incident_id: int,
    service_id: str,
    state: str,
    *,
    source: str,
    at: datetime,
    author: str,
) -> bool:
    """Record a new state of an affected service; returns False when it was already in
    that state. Coming back up sets its resolution time (and finishes its wait_check
    tasks); failing again clears it."""
    if state not in STATES:
        raise InputError(f"unknown state {state!r}", hint="use down, degraded or up")
    with store.engine.begin() as connection:
        _open_row(connection, incident_id)
        row = connection.execute(
            select(incident_services).where(
                and_(
                    incident_services.c.incident_id == incident_id,
                    incident_services.c.service == service_id,
                )
            )
        ).first()
        if row is None:
            raise InputError(
                f"incident {incident_id} does not affect {service_id!r}",
                hint=f"add it with `reprise incident update N {option('add')} SERVICE`",
            )
        if row.state == state:
            return False
        values: dict[str, object] = {"state": state}
        if state == "up":
            values["resolved_at"] = at
        else:
            values["resolved_at"] = None
            connection.execute(
                update(incidents).where(incidents.c.id == incident_id).values(last_failure_at=at)
            )
        connection.execute(
            update(incident_services)
            .where(
                and_(
                    incident_services.c.incident_id == incident_id,
                    incident_services.c.service == service_id,
                )
            )
            .values(values)
        )
        connection.execute(
            insert(incident_states).values(
                incident_id=incident_id, service=service_id, at=at, state=state, source=source
            )
        )
        add_timeline(
            connection,
            incident_id,
            at,
            "state",
            author,
            f"{service_id}: {row.state} → {state} ({source})",
            {"service": service_id, "from": row.state, "to": state, "source": source},
        )
        if state == "up":
            connection.execute(
                update(incident_tasks)
                .where(
                    and_(
                        incident_tasks.c.incident_id == incident_id,
                        incident_tasks.c.service == service_id,
                        incident_tasks.c.kind == "wait_check",
                        incident_tasks.c.status.in_(("todo", "doing")),
                    )
                )
                .values(
                    status="done",
                    finished_at=at,
                    updated_by=author,
                    note=f"checks passed ({source})",
                )
            )
    return True


def set_target(
    store: Store, incident_id: int, service_id: str, target: datetime, *, by: str, at: datetime
) -> None:
    """Change when a service is expected back."""
    with store.engine.begin() as connection:
        _open_row(connection, incident_id)
        result = connection.execute(
            update(incident_services)
            .where(
                and_(
                    incident_services.c.incident_id == incident_id,
                    incident_services.c.service == service_id,
                )
            )
            .values(target_at=target)
        )
        if result.rowcount == 0:
            raise InputError(
                f"incident {incident_id} does not affect {service_id!r}",
                hint="`reprise incident show N` lists its services",
            )
        add_timeline(
            connection,
            incident_id,
            at,
            "target",
            by,
            f"{service_id}: expected back by {target.isoformat()}",
            {"service": service_id, "target_at": target},
        )


def update_incident(
    store: Store,
    incident_id: int,
    *,
    by: str,
    at: datetime,
    title: str | None = None,
    cause: str | None = None,
    commander: str | None = None,
) -> None:
    """Change the title, cause or commander of an open incident."""
    values: dict[str, str] = {}
    if title is not None:
        values["title"] = clean_text(title, "title")
    if cause is not None:
        values["cause"] = clean_text(cause, "cause", limit=2000, multiline=True)
    if commander is not None:
        values["commander"] = clean_text(commander, "commander")
    if not values:
        return
    with store.engine.begin() as connection:
        _open_row(connection, incident_id)
        connection.execute(update(incidents).where(incidents.c.id == incident_id).values(values))
        for name, value in values.items():
            add_timeline(
                connection, incident_id, at, "update", by, f"{name}: {value}", {name: value}
            )


def retitle(store: Store, incident_id: int, title: str) -> None:
    """Give an incident the title Reprise derives for it (no timeline entry: the title
    only sums up what the timeline already says)."""
    with store.engine.begin() as connection:
        connection.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(title=clean_text(title, "title"))
        )


def add_note(
    store: Store,
    incident_id: int,
    text: str,
    *,
    by: str,
    at: datetime,
    kind: str = "note",
    details: dict[str, object] | None = None,
) -> None:
    """Add a note (or another timeline entry) to an incident, open or closed."""
    text = clean_text(text, "note", limit=10000, multiline=True)
    with store.engine.begin() as connection:
        _existing_row(connection, incident_id)
        add_timeline(connection, incident_id, at, kind, by, text, details)


def set_task(
    store: Store,
    incident_id: int,
    task_id: int,
    status: str,
    *,
    by: str,
    at: datetime,
    note: str | None = None,
) -> None:
    """Move a task to todo, doing, done or skipped (skipping needs a reason)."""
    if status not in TASK_STATUSES:
        raise InputError(f"unknown task status {status!r}", hint="use " + ", ".join(TASK_STATUSES))
    note = clean_text(note, "note", limit=2000, multiline=True) if note else None
    if status == "skipped" and not note:
        raise InputError(
            "skipping a task needs a reason", hint=f"add {option('note')} 'why it is not needed'"
        )
    with store.engine.begin() as connection:
        _open_row(connection, incident_id)
        row = connection.execute(
            select(incident_tasks).where(
                and_(incident_tasks.c.incident_id == incident_id, incident_tasks.c.id == task_id)
            )
        ).first()
        if row is None:
            raise InputError(
                f"incident {incident_id} has no task {task_id}",
                hint="`reprise incident show N` lists its tasks and their ids",
            )
        values: dict[str, object] = {"status": status, "updated_by": by[:200]}
        if note:
            values["note"] = note
        if status == "todo":
            values.update(started_at=None, finished_at=None)
        elif status == "doing":
            values.update(started_at=at, finished_at=None)
        else:
            values.update(started_at=row.started_at or at, finished_at=at)
        connection.execute(
            update(incident_tasks).where(incident_tasks.c.id == task_id).values(values)
        )
        add_timeline(
            connection,
            incident_id,
            at,
            "task",
            by,
            f"task {task_id} ({row.service or '-'}: {row.title}): {row.status} → "
            f"{status}" + (f" — {note}" if note else ""),
            {"task": task_id, "from": row.status, "to": status},
        )


def close_incident(
    store: Store,
    incident_id: int,
    *,
    by: str,
    at: datetime,
    note: str | None = None,
    force: bool = False,
) -> None:
    """Close an incident. Refused while services are not up, unless ``force`` (they stay
    listed as unresolved in the final report)."""
    note = clean_text(note, "note", limit=10000, multiline=True) if note else None
    with store.engine.begin() as connection:
        _open_row(connection, incident_id)
        incident = get_incident(connection, incident_id)
        pending = [s.service for s in incident.services if s.state != "up"]
        if pending and not force:
            raise InputError(
                f"incident {incident_id}: {', '.join(pending)} not back up",
                hint=f"mark them up (`reprise incident update N {option('state')} "
                f"SERVICE=up`) or close anyway with {option('force')}",
            )
        connection.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(status="closed", closed_at=at)
        )
        add_timeline(
            connection,
            incident_id,
            at,
            "closed",
            by,
            note or "closed",
            {"unresolved": pending, "note": note},
        )
        append_event(
            connection,
            "incident.closed",
            str(incident_id),
            {"by": by, "unresolved": pending},
            at=at,
        )


def grouping_candidate(store: Store, at: datetime, window: timedelta) -> int | None:
    """The open incident a failure beginning at ``at`` joins: the one whose latest failure
    began within ``window`` before it (never an exercise)."""
    query = (
        select(incidents.c.id)
        .where(
            and_(
                incidents.c.status == "open",
                incidents.c.exercise == false(),
                incidents.c.last_failure_at >= at - window,
            )
        )
        .order_by(incidents.c.last_failure_at.desc())
        .limit(1)
    )
    with store.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else int(row.id)


def open_incidents_of(store: Store, service_id: str) -> list[int]:
    """Open incidents that affect this service, exercises left out: the monitor's real
    checks neither feed an exercise nor are silenced by one."""
    query = (
        select(incidents.c.id)
        .join(incident_services, incident_services.c.incident_id == incidents.c.id)
        .where(
            and_(
                incidents.c.status == "open",
                incidents.c.exercise == false(),
                incident_services.c.service == service_id,
            )
        )
    )
    with store.engine.connect() as connection:
        return [int(row.id) for row in connection.execute(query)]


def mark_reported(store: Store, incident_id: int, at: datetime) -> None:
    """Remember when the last progress report went out."""
    with store.engine.begin() as connection:
        connection.execute(
            update(incidents).where(incidents.c.id == incident_id).values(last_report_at=at)
        )
