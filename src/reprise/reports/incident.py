"""Incident reports (progress and final), in Markdown or HTML, in French or English.

The figures are computed here, once, from the stored incident; the Jinja2 templates only
lay them out. Text typed by people (titles, notes, causes) is escaped for the format: HTML
through autoescaping, Markdown by backslash-escaping what would change the layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from reprise.errors import InputError
from reprise.incidents.records import Incident, TimelineEntry
from reprise.incidents.recovery import NextAction, incident_plan, members, next_actions
from reprise.incidents.runs import RunRecord
from reprise.plan.model import Plan
from reprise.reports.labels import LABELS

FORMATS = ("md", "html")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def markdown_text(value: object) -> str:
    """Text made inert in Markdown: one line, every layout character escaped (tables,
    links, emphasis, raw HTML)."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def human_duration(delta: timedelta | None, language: str = "en") -> str:
    """``2 h 05 min``, ``12 min 30 s``, ``45 s`` (days: ``j`` in French)."""
    if delta is None:
        return "-"
    seconds = max(0, round(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} {'j' if language == 'fr' else 'd'}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes:02d} min" if minutes else "")
    if minutes:
        return f"{minutes} min" + (f" {seconds:02d} s" if seconds else "")
    return f"{seconds} s"


@dataclass(frozen=True)
class Row:
    """One affected service with every figure a report shows about it."""

    id: str
    name: str
    category: str
    criticality: str
    priority: str
    initial_state: str
    state: str
    target_at: datetime
    resolved_at: datetime | None
    problem: str
    actions: list[str]
    rto: timedelta
    time_to_recover: timedelta | None
    elapsed: timedelta
    met: bool | None
    history: list[tuple[datetime, str, str]]


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


def _followups(
    plan: Plan, incident: Incident, runs: list[RunRecord], labels: dict[str, str]
) -> list[str]:
    not_up = {s.service for s in incident.services if s.state != "up"}
    items = [
        labels["followup_service"].format(service=s.service, state=labels[f"state_{s.state}"])
        for s in incident.services
        if s.state != "up"
    ]
    for task in incident.tasks:
        if task.status in ("todo", "doing") and (task.service in not_up or task.service is None):
            items.append(
                labels["followup_task"].format(
                    id=task.id,
                    service=task.service or "-",
                    title=task.title,
                    status=labels[f"task_{task.status}"],
                    role=task.role or "-",
                )
            )
        elif task.status == "skipped":
            items.append(
                labels["followup_skipped"].format(
                    id=task.id, service=task.service or "-", title=task.title, note=task.note or "-"
                )
            )
    for run in runs:
        if run.status in ("failed", "waiting") and run.steps:
            last = run.steps[-1]
            items.append(
                labels["followup_run"].format(
                    scenario=run.scenario, step=last.position + 1, message=last.message
                )
            )
    return items


def timeline_text(entry: TimelineEntry, labels: dict[str, str]) -> str:
    """A timeline entry in the report's language when Reprise wrote it (state and task
    changes); people's notes as they typed them."""
    details = entry.details
    if entry.kind == "state" and {"service", "from", "to"} <= details.keys():
        return labels["timeline_state"].format(
            service=details["service"],
            old=labels.get(f"state_{details['from']}", ""),
            new=labels.get(f"state_{details['to']}", ""),
            source=details.get("source", ""),
        )
    if entry.kind == "service" and {"service", "state"} <= details.keys():
        return labels["timeline_joined"].format(
            service=details["service"],
            state=labels.get(f"state_{details['state']}", ""),
            source=details.get("source", ""),
        )
    if entry.kind == "task" and {"task", "from", "to"} <= details.keys():
        return labels["timeline_task"].format(
            id=details["task"],
            old=labels.get(f"task_{details['from']}", ""),
            new=labels.get(f"task_{details['to']}", ""),
        ) + _after(entry.text, " — ")
    return entry.text


def _after(text: str, marker: str) -> str:
    return text[text.index(marker) :] if marker in text else ""


def _environment(language: str) -> Environment:
    environment = Environment(
        loader=PackageLoader("reprise.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = markdown_text
    environment.filters["duration"] = lambda delta: human_duration(delta, language)
    return environment


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
    """Render a report. ``kind`` is ``final`` (the default once closed) or ``progress``
    (the default while open); ``since`` limits a progress report's news."""
    language = language or plan.organisation.language
    if language not in LABELS:
        raise InputError(f"no report language {language!r}", hint="use fr or en")
    if fmt not in FORMATS:
        raise InputError(f"no report format {fmt!r}", hint="use md or html")
    kind = kind or ("final" if incident.status == "closed" else "progress")
    labels = LABELS[language]
    zone = ZoneInfo(plan.organisation.timezone)
    pattern = "%d/%m/%Y %H:%M" if language == "fr" else "%Y-%m-%d %H:%M"

    def when(value: datetime | None) -> str:
        return labels["pending"] if value is None else value.astimezone(zone).strftime(pattern)

    def response(priority: str) -> str:
        setting = getattr(plan.priorities, priority).response
        return (
            labels["next_business_day"]
            if setting == "next_business_day"
            else human_duration(setting, language)
        )

    def describe(action: NextAction) -> str:
        if action.task is None:
            return labels["action_check"].format(state=labels[f"state_{action.state}"].lower())
        key = "action_continue" if action.task.status == "doing" else "action_start"
        return labels[key].format(id=action.task.id, title=action.task.title)

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
    context: dict[str, Any] = {
        "t": labels,
        "kind": kind,
        "language": language,
        "incident": incident,
        "organisation": plan.organisation.name,
        "timezone": plan.organisation.timezone,
        "now": now,
        "when": when,
        "response": response,
        "rows": rows,
        "objectives": plan.objectives,
        "strategy": [
            (p, [row for row in rows if row.priority == p])
            for p in ("P1", "P2", "P3")
            if any(row.priority == p for row in rows)
        ],
        "roles": [
            (roles[r].title, members(plan, r), roles[r].responsibilities)
            for r in involved
            if r in roles
        ],
        "commander": roles[incident.commander].title
        if incident.commander in roles
        else incident.commander,
        "every": human_duration(plan.communication.progress_report_every, language),
        "audiences": ", ".join(roles[a].title for a in plan.communication.audiences if a in roles)
        or labels["nobody"],
        "timeline": [e for e in incident.timeline if since is None or e.at > since],
        "runs": runs,
        "followups": _followups(plan, incident, runs, labels),
        "actions": actions,
        "waiting": waiting,
        "describe": describe,
        "event_text": lambda entry: timeline_text(entry, labels),
        "duration": (incident.closed_at or now) - incident.opened_at,
    }
    template = "progress.md.j2" if kind == "progress" and fmt == "md" else f"incident.{fmt}.j2"
    return _environment(language).get_template(template).render(context)
