"""The figures of an incident report, computed once from the stored incident and the plan:
rows per affected service, times to recover against the RTO, strategy, roles, timeline,
runbook runs, follow-ups and next actions. ``reprise.reports`` words and lays them out."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import Any

from reprise.incidents.lifecycle import former_title, title_parts
from reprise.incidents.records import MONITOR, Incident, Task
from reprise.incidents.recovery import incident_plan, members, next_actions
from reprise.incidents.runs import RunRecord
from reprise.plan.model import Plan
from reprise.reports.incident import (
    Action,
    Event,
    FollowUp,
    Header,
    IncidentView,
    Objectives,
    Row,
    Run,
    RunStep,
    SentReport,
    TaskRef,
    WaitingLine,
    Worded,
    check_request,
    render_incident,
)
from reprise.reports.wording import english, json_parts
from reprise.words import say


def _problem(incident: Incident, service: str) -> str:
    first = next((r for r in incident.history(service) if r.state != "up"), None)
    return first.source if first else "-"


def task_words(plan: Plan, task: Task) -> list[Any]:
    """A task's title in catalog words when it is the name Reprise gave a step of the
    service's procedure (a step without a title of its own); else empty."""
    if task.service is None:
        return []
    try:
        procedure = plan.service(task.service).procedure
    except KeyError:
        return []
    for step in procedure:
        if step.kind == task.kind and task.title in (step.display_title(), former_title(step)):
            return json_parts(title_parts(step))
    return []


def _rows(plan: Plan, incident: Incident, now: datetime) -> list[Row]:
    rows = []
    for entry in incident_plan(plan, incident):
        service, affected = entry.service, entry.affected
        failed_at = incident.failed_at(service.id)
        ttr = affected.resolved_at - failed_at if affected.resolved_at else None
        rto = plan.rto(service)
        end = incident.closed_at or now
        rows.append(
            Row(
                service.id,
                service.name,
                service.category,
                service.criticality,
                entry.recovery_priority,
                affected.initial_state,
                affected.state,
                affected.target_at,
                affected.resolved_at,
                _problem(incident, service.id),
                [Worded(task.title, task_words(plan, task)) for task in entry.tasks],
                rto,
                ttr,
                end - failed_at,
                None if ttr is None else ttr <= rto,
                [(r.at, r.state, r.source) for r in incident.history(service.id)],
            )
        )
    return rows


StepWords = dict[tuple[int, int], deque[tuple[list[Any], list[Any]]]]
"""(run, position) → the catalog words (message, title) of each attempt, in order."""


def step_words(incident: Incident) -> StepWords:
    """The catalog words of each runbook step attempt, kept in the incident's timeline
    (see ``reprise.reports.wording``)."""
    found: StepWords = defaultdict(deque)
    for entry in incident.timeline:
        details = entry.details
        run, step = details.get("run"), details.get("step")
        if (
            entry.kind == "runbook"
            and details.get("event") == "step"
            and isinstance(run, int)
            and isinstance(step, int)
        ):
            message, title = details.get("message"), details.get("title_words")
            found[(run, step - 1)].append(
                (
                    message if isinstance(message, list) else [],
                    title if isinstance(title, list) else [],
                )
            )
    return found


def _plan_title(plan: Plan, run: RunRecord, position: int, title: str) -> list[Any]:
    """A step's title in catalog words from the plan's scenario, for runs whose timeline
    kept none (recorded before it did): only when it is the name Reprise gives that step."""
    scenario = next((s for s in plan.scenarios if s.id == run.scenario), None)
    if scenario is None or not 0 <= position < len(scenario.steps):
        return []
    values = {**run.parameters, "incident": str(run.incident_id)}
    step = scenario.steps[position]
    parts = title_parts(step, values)
    return json_parts(parts) if parts and title in (english(parts), former_title(step)) else []


def _steps(plan: Plan, run: RunRecord, words: StepWords) -> list[RunStep]:
    steps = []
    for s in run.steps:
        attempts = words.get((run.id, s.position))
        message, title = attempts.popleft() if attempts else ([], [])
        title = title or _plan_title(plan, run, s.position, s.title)
        steps.append(
            RunStep(
                s.position,
                s.title,
                s.status,
                s.started_at,
                s.finished_at,
                s.message,
                message,
                title,
            )
        )
    return steps


def open_manual_tasks(incident: Incident) -> list[Task]:
    """Manual tasks still to do or in progress: only people can finish them, so closing
    the incident leaves them open."""
    return [t for t in incident.tasks if t.kind == "manual" and t.status in ("todo", "doing")]


def _followups(plan: Plan, incident: Incident, runs: list[Run]) -> list[FollowUp]:
    not_up = {s.service for s in incident.services if s.state != "up"}
    left_open = (
        {t.id for t in open_manual_tasks(incident)} if incident.status == "closed" else set()
    )
    items = [
        FollowUp("service", {"service": s.service, "state": s.state})
        for s in incident.services
        if s.state != "up"
    ]
    for task in incident.tasks:
        if task.status in ("todo", "doing") and (
            task.service in not_up or task.service is None or task.id in left_open
        ):
            fields: dict[str, str | int] = {
                "id": task.id,
                "service": task.service or "-",
                "title": task.title,
                "status": task.status,
                "role": task.role or "-",
            }
            items.append(FollowUp("task", fields, {"title": task_words(plan, task)}))
        elif task.status == "skipped":
            fields = {
                "id": task.id,
                "service": task.service or "-",
                "title": task.title,
                "note": task.note or "-",
            }
            items.append(FollowUp("skipped", fields, {"title": task_words(plan, task)}))
    for run in runs:
        if run.status in ("failed", "waiting") and run.steps:
            last = run.steps[-1]
            fields = {"scenario": run.scenario, "step": last.position + 1, "message": last.message}
            items.append(FollowUp("run", fields, {"message": last.parts}))
    return items


def _response(plan: Plan, priority: str) -> timedelta | None:
    setting = getattr(plan.priorities, priority).response
    return None if setting == "next_business_day" else setting


def _detected(plan: Plan, incident: Incident, order: dict[str, int]) -> Event | None:
    """The failure that opened an incident the monitor detected: its root cause (the
    element, among those seen failing first, that comes first in recovery order, the others
    depending on it), when it was seen failing and why; None for an incident a person
    opened."""
    first: list[tuple[datetime, int, str, str]] = []
    for affected in incident.services:
        failing = next((r for r in incident.history(affected.service) if r.state != "up"), None)
        if failing is not None:
            rank = order.get(affected.service, len(order))
            first.append((failing.at, rank, affected.service, failing.source))
    if not first:
        return None
    at, _, service, source = min(first)
    if not source.startswith("check: "):
        return None
    try:
        name = plan.service(service).name
    except KeyError:
        name = service
    text = f"failure detected: {name} ({source})"
    return Event(at, incident.opened_by, "detected", text, {"service": name, "source": source})


def _opened_on(details: dict[str, Any]) -> bool:
    """Whether an ``opened`` entry opened the incident on failing elements (as the monitor
    does), rather than empty, for people to fill."""
    return bool(details.get("services"))


def _timeline(plan: Plan, incident: Incident, since: datetime | None) -> list[Event]:
    """The timeline in time order, then in the order written; the opening of an incident
    the monitor detected told as the failure it saw, first; elements that joined at the
    same time in recovery order (the root cause, which others depend on, first)."""
    order = {entry.service.id: i for i, entry in enumerate(incident_plan(plan, incident))}
    keyed: list[tuple[datetime, int, Event]] = []
    for index, e in enumerate(incident.timeline):
        event = Event(e.at, e.author, e.kind, e.text, e.details)
        opening = e.kind == "opened" and _opened_on(e.details)
        detected = _detected(plan, incident, order) if opening else None
        if detected is not None:
            keyed.append((detected.at, -1, detected))
            continue
        keyed.append((e.at, index, event))
    keyed.sort(key=lambda item: (item[0], item[1]))
    events = [event for _, _, event in keyed]
    start = 0
    while start < len(events):  # runs of joinings at one moment: in recovery order
        end = start
        while (
            end < len(events)
            and events[end].kind == "service"
            and events[end].at == events[start].at
        ):
            end += 1
        if end - start > 1:
            events[start:end] = sorted(
                events[start:end],
                key=lambda event: order.get(str(event.details.get("service")), len(order)),
            )
        start = max(end, start + 1)
    return [event for event in events if since is None or event.at > since]


def _recovered(plan: Plan, incident: Incident) -> list[str]:
    """The names of the incident's elements when all are back and its title is still the
    one Reprise gave it (naming them down); else empty (a person's title is kept)."""
    entries = incident_plan(plan, incident)
    if not entries or any(entry.affected.state != "up" for entry in entries):
        return []
    if any(e.kind == "update" and "title" in e.details for e in incident.timeline):
        return []
    others = len(entries) - 1
    derived = say(
        plan.organisation.language,
        "incident.title_several" if others else "incident.title_one",
        name=entries[0].service.name,
        others=others,
    )
    return [entry.service.name for entry in entries] if incident.title == derived else []


def _sent(plan: Plan, incident: Incident, kind: str) -> list[SentReport]:
    """The reports sent; a final report of a closed incident counts itself, being the
    report written and sent at closing."""
    sent = [SentReport(r.at, r.kind, r.language) for r in incident.reports]
    closed_at = incident.closed_at
    if kind == "final" and closed_at is not None and all(r.kind != "final" for r in sent):
        sent.append(SentReport(closed_at, "final", plan.organisation.language))
    return sent


def _commander(plan: Plan, commander: str | None) -> str | None:
    """The recovery lead by name: the role's first member, with the role's title."""
    role = next((r for r in plan.roles if r.id == commander), None)
    if role is None:
        return commander
    people = members(plan, role.id)
    return f"{people[0]} ({role.title})" if people else role.title


def build_view(
    plan: Plan,
    incident: Incident,
    runs: list[RunRecord],
    *,
    now: datetime,
    kind: str | None = None,
    since: datetime | None = None,
) -> IncidentView:
    """The report's figures. ``kind`` is ``final`` (the default once closed) or
    ``progress`` (the default while open); ``since`` limits a progress report's news."""
    kind = kind or ("final" if incident.status == "closed" else "progress")
    rows = _rows(plan, incident, now)
    actions, waiting = next_actions(plan, incident) if incident.status == "open" else ([], [])
    roles = {role.id: role for role in plan.roles}
    involved = list(
        dict.fromkeys(
            [incident.commander or ""]
            + [t.role or "" for t in incident.tasks]
            + list(plan.communication.audiences)
        )
    )
    priorities = [p for p in ("P1", "P2", "P3") if any(row.priority == p for row in rows)]
    words = step_words(incident)
    shown = [
        Run(run.scenario, run.status, run.started_at, _steps(plan, run, words)) for run in runs
    ]
    return IncidentView(
        kind=kind,
        incident=Header(
            incident.id,
            incident.title,
            incident.status,
            incident.severity,
            incident.opened_at,
            incident.closed_at,
            incident.opened_by,
            incident.cause,
            _sent(plan, incident, kind),
            _recovered(plan, incident),
            incident.exercise,
        ),
        organisation=plan.organisation.name,
        timezone=plan.organisation.timezone,
        now=now,
        duration=(incident.closed_at or now) - incident.opened_at,
        commander=_commander(plan, incident.commander),
        objectives=Objectives(plan.objectives.rpo, plan.objectives.rto, plan.objectives.uptime),
        responses={p: _response(plan, p) for p in priorities},
        rows=rows,
        strategy=[(p, [row for row in rows if row.priority == p]) for p in priorities],
        roles=[
            (roles[r].title, members(plan, r), roles[r].responsibilities)
            for r in involved + [r for r in roles if r not in involved]
            if r in roles
        ],
        every=plan.communication.progress_report_every,
        audiences=[roles[a].title for a in plan.communication.audiences if a in roles],
        timeline=_timeline(plan, incident, since),
        runs=shown,
        followups=_followups(plan, incident, shown),
        actions=[
            Action(
                a.service,
                a.state,
                None
                if a.task is None
                else TaskRef(a.task.id, a.task.title, a.task.status, task_words(plan, a.task)),
                a.role,
                a.people,
            )
            for a in actions
        ],
        waiting=[WaitingLine(w.service, w.waits_for) for w in waiting],
        since=since,
        names={service.id: service.name for service in plan.services},
        authors={MONITOR: "author_monitor"},
    )


def render_report(
    plan: Plan,
    incident: Incident,
    runs: list[RunRecord],
    *,
    now: datetime,
    fmt: str = "md",
    language: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
) -> str:
    """Render a report in ``fmt`` (md or html) and ``language`` (default: the plan's);
    ``kind`` and ``since`` as for :func:`build_view`."""
    language = language or plan.organisation.language
    check_request(language, fmt)
    view = build_view(plan, incident, runs, now=now, kind=kind, since=since)
    return render_incident(view, fmt, language)
