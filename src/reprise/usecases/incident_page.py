"""An incident as the web shows it to responders, every word in the page's language: the
elements and their state, what to do now and who, the tasks, and the timeline (the same
wording as the reports, from the same view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reprise.incidents.records import Incident, get_incident
from reprise.incidents.report_view import build_view
from reprise.incidents.runs import runs_of
from reprise.reports.incident import timeline_text
from reprise.reports.wording import reworded
from reprise.usecases.incidents import task_title_words
from reprise.words import words

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.reports.incident import Row
    from reprise.store.database import Store


@dataclass(frozen=True)
class TaskLine:
    """A task worded: its service's name, title, who does it, status, note."""

    id: int
    service: str
    title: str
    role: str
    status: str
    note: str | None
    movable: bool


@dataclass(frozen=True)
class Line:
    """A timeline entry worded."""

    at: datetime
    author: str
    text: str
    kind: str


@dataclass(frozen=True)
class IncidentPage:
    """Everything the incident page shows."""

    incident: Incident
    rows: list[Row]
    actions: list[str]
    waiting: list[str]
    tasks: list[TaskLine]
    timeline: list[Line]
    names: dict[str, str]
    commander: str | None = None
    """The commanding role's title."""

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for the API."""
        return {
            **self.incident.summary(),
            "elements": [
                {
                    "service": row.id,
                    "name": row.name,
                    "state": row.state,
                    "target_at": row.target_at.isoformat(),
                    "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
                }
                for row in self.rows
            ],
            "now": self.actions,
            "waiting": self.waiting,
            "tasks": [task.__dict__ for task in self.tasks],
            "timeline": [
                {
                    "at": line.at.isoformat(),
                    "author": line.author,
                    "kind": line.kind,
                    "text": line.text,
                }
                for line in self.timeline
            ],
        }


def incident_page(
    plan: Plan, store: Store, incident_id: int, language: str, now: datetime
) -> IncidentPage:
    """The incident, worded in ``language`` (InputError when there is no such incident)."""
    incident = get_incident(store, incident_id)
    view = build_view(plan, incident, runs_of(store, incident_id=incident_id), now=now)
    labels = words(language, "report")
    names = view.names

    def name(service: str | None) -> str:
        return "—" if service is None else names.get(service, service)

    def author(who: str) -> str:
        return labels[view.authors[who]] if who in view.authors else who

    roles = {role.id: role.title for role in plan.roles}
    actions = []
    for action in view.actions:
        if action.task is None:
            text = labels["action_check"].format(state=labels[f"state_{action.state}"].lower())
        else:
            key = "action_continue" if action.task.status == "doing" else "action_start"
            title = reworded(language, action.task.title_parts, action.task.title, names)
            text = labels[key].format(id=action.task.id, title=title)
        who = roles.get(action.role or "", action.role or "")
        people = ", ".join(action.people)
        colon = labels["colon"]
        actions.append(
            f"{name(action.service)} — {text}"
            + (f" ({who}{colon + ' ' + people if people else ''})" if who or people else "")
        )
    waiting = [
        labels["waits_for"].format(
            service=name(line.service), others=", ".join(name(o) for o in line.waits_for)
        )
        for line in view.waiting
    ]
    titles = task_title_words(plan, incident)
    tasks = [
        TaskLine(
            task.id,
            name(task.service),
            reworded(language, titles.get(task.id), task.title, names),
            roles.get(task.role or "", task.role or "—"),
            task.status,
            task.note,
            task.status in ("todo", "doing"),
        )
        for task in incident.tasks
    ]
    zone = plan.organisation.timezone
    timeline = [
        Line(
            entry.at,
            author(entry.author),
            timeline_text(entry, labels, language, zone, names),
            entry.kind,
        )
        for entry in view.timeline
    ]
    commander = roles.get(incident.commander or "", incident.commander)
    return IncidentPage(incident, view.rows, actions, waiting, tasks, timeline, names, commander)
