"""The figures of an incident report, computed once from the stored incident and the plan:
rows per affected service, times to recover against the RTO, strategy, roles, timeline,
runbook runs, follow-ups and next actions. ``reprise.reports`` words and lays them out."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import Any

from reprise.incidents.lifecycle import title_parts
from reprise.incidents.records import Incident, Task
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
        if step.kind == task.kind and step.display_title() == task.title:
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
    parts = title_parts(scenario.steps[position], values)
    return json_parts(parts) if parts and english(parts) == title else []


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


def _followups(plan: Plan, incident: Incident, runs: list[Run]) -> list[FollowUp]:
    not_up = {s.service for s in incident.services if s.state != "up"}
    items = [
        FollowUp("service", {"service": s.service, "state": s.state})
        for s in incident.services
        if s.state != "up"
    ]
    for task in incident.tasks:
        if task.status in ("todo", "doing") and (task.service in not_up or task.service is None):
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
            [SentReport(r.at, r.kind, r.language) for r in incident.reports],
        ),
        organisation=plan.organisation.name,
        timezone=plan.organisation.timezone,
        now=now,
        duration=(incident.closed_at or now) - incident.opened_at,
        commander=roles[incident.commander].title
        if incident.commander in roles
        else incident.commander,
        objectives=Objectives(plan.objectives.rpo, plan.objectives.rto, plan.objectives.uptime),
        responses={p: _response(plan, p) for p in priorities},
        rows=rows,
        strategy=[(p, [row for row in rows if row.priority == p]) for p in priorities],
        roles=[
            (roles[r].title, members(plan, r), roles[r].responsibilities)
            for r in involved
            if r in roles
        ],
        every=plan.communication.progress_report_every,
        audiences=[roles[a].title for a in plan.communication.audiences if a in roles],
        timeline=[
            Event(e.at, e.author, e.kind, e.text, e.details)
            for e in incident.timeline
            if since is None or e.at > since
        ],
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
