"""Closing an incident: the final report written (Markdown and HTML, in the plan's
language), kept in the state store, and sent to the communication audiences: the Markdown
as the mail's text (and its HTML rendering), the HTML report attached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reprise.alerts.delivery import Sender, apprise_send, send_to_roles
from reprise.alerts.messages import Notification
from reprise.alerts.records import DeliveryRecord
from reprise.alerts.routing import exercise_plan, exercise_subject
from reprise.incidents.lifecycle import add_note, close_incident
from reprise.incidents.records import Incident, get_incident, record_report
from reprise.incidents.report_view import render_report
from reprise.incidents.runs import runs_of
from reprise.plan.model import Plan
from reprise.security import make_private_dirs, write_private_file
from reprise.store import state_dir
from reprise.store.database import Store
from reprise.words import say


@dataclass
class Closed:
    """The closed incident, its report files and the deliveries of the report."""

    incident: Incident
    paths: list[Path]
    deliveries: list[DeliveryRecord]


def report_folder(plan: Plan, incident_id: int) -> Path:
    """Where an incident's final reports are written."""
    return state_dir(plan) / "reports" / "incidents" / f"incident-{incident_id}"


def write_final_report(
    plan: Plan, store: Store, incident_id: int, now: datetime
) -> tuple[list[Path], str]:
    """Render the final report in both formats, write and record it; returns the paths
    and the Markdown text."""
    incident = get_incident(store, incident_id)
    runs = runs_of(store, incident_id=incident_id)
    language = plan.organisation.language
    folder = report_folder(plan, incident_id)
    make_private_dirs(folder)
    paths = []
    markdown = ""
    for fmt in ("md", "html"):
        text = render_report(plan, incident, runs, now=now, fmt=fmt, kind="final")
        path = folder / f"report-{language}.{fmt}"
        write_private_file(path, text.encode())
        paths.append(path)
        if fmt == "md":
            markdown = text
    record_report(store, incident_id, "final", now, language, markdown, str(paths[0]))
    return paths, markdown


def close_and_report(
    plan: Plan,
    store: Store,
    incident_id: int,
    *,
    by: str,
    at: datetime,
    note: str | None = None,
    force: bool = False,
    sender: Sender = apprise_send,
) -> Closed:
    """Close the incident, write its final report and send it to the audiences (a failed
    delivery is recorded, never undoes the closing); an exercise's report goes to the test
    contacts only, its subject marked (InputError before closing when there are none)."""
    exercise = get_incident(store, incident_id).exercise
    recipients = exercise_plan(plan) if exercise else plan
    close_incident(store, incident_id, by=by, at=at, note=note, force=force)
    paths, markdown = write_final_report(plan, store, incident_id, at)
    incident = get_incident(store, incident_id)
    deliveries: list[DeliveryRecord] = []
    audiences = tuple(plan.communication.audiences)
    if audiences:
        subject = say(
            plan.organisation.language,
            "incident.final_subject",
            organisation=plan.organisation.name,
            id=incident_id,
            title=incident.title,
        )
        if exercise:
            subject = exercise_subject(plan, subject)
        notification = Notification("final", audiences, subject, markdown)
        html_report = [path for path in paths if path.suffix == ".html"]
        deliveries = asyncio.run(
            send_to_roles(recipients, store, notification, sender, attachments=html_report)
        )
    sent = sum(1 for record in deliveries if record.ok)
    add_note(
        store,
        incident_id,
        f"final report written ({', '.join(p.name for p in paths)}) "
        f"and sent to {sent} of {len(deliveries)} contact(s)",
        by=by,
        at=at,
        kind="report",
        details={
            "report": "final",
            "files": [p.name for p in paths],
            "sent": sent,
            "contacts": len(deliveries),
        },
    )
    return Closed(get_incident(store, incident_id), paths, deliveries)
