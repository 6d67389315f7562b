"""The figures of an incident report, computed once from the stored incident and the plan:
rows per affected service, times to recover against the RTO, strategy, roles, timeline,
runbook runs, follow-ups and next actions. ``reprise.reports`` words and lays them out."""

from __future__ import annotations

from datetime import datetime, timedelta

from reprise.incidents.records import Incident
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
    check_request,
    render_incident,
)


def _problem(incident: Incident, service: str) -> str:
    first = next((r for r in incident.history(service) if r.state != "up"), None)
    return first.source if first else "-"


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
                [task.title for task in entry.tasks],
                rto,
                ttr,
                end - failed_at,
                None if ttr is None else ttr <= rto,
                [(r.at, r.state, r.source) for r in incident.history(service.id)],
            )
        )
    return rows


def _followups(incident: Incident, runs: list[RunRecord]) -> list[FollowUp]:
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
            items.append(FollowUp("task", fields))
        elif task.status == "skipped":
            fields = {
                "id": task.id,
                "service": task.service or "-",
                "title": task.title,
                "note": task.note or "-",
            }
            items.append(FollowUp("skipped", fields))
    for run in runs:
        if run.status in ("failed", "waiting") and run.steps:
            last = run.steps[-1]
            fields = {"scenario": run.scenario, "step": last.position + 1, "message": last.message}
            items.append(FollowUp("run", fields))
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
        runs=[
            Run(
                run.scenario,
                run.status,
                run.started_at,
                [
                    RunStep(s.position, s.title, s.status, s.started_at, s.finished_at, s.message)
                    for s in run.steps
                ],
            )
            for run in runs
        ],
        followups=_followups(incident, runs),
        actions=[
            Action(
                a.service,
                a.state,
                None if a.task is None else TaskRef(a.task.id, a.task.title, a.task.status),
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
