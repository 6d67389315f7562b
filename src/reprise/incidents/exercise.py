"""Exercises: incidents opened to rehearse the plan, which page nobody. Their notifications
reach ``communication.test_contacts`` only (``reprise.alerts.routing.exercise_plan``),
subjects marked ``[EXERCICE]``/``[EXERCISE]``; the monitor never groups real failures with
them (``lifecycle.grouping_candidate``)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from reprise.alerts.delivery import Sender, apprise_send, send_to_roles
from reprise.alerts.messages import Notification
from reprise.alerts.records import DeliveryRecord
from reprise.alerts.routing import exercise_plan, exercise_subject
from reprise.incidents import lifecycle
from reprise.incidents.records import Incident, get_incident
from reprise.plan.model import Plan
from reprise.store.database import Store
from reprise.words import say


def open_exercise(
    plan: Plan,
    store: Store,
    title: str,
    services: list[str],
    *,
    by: str,
    at: datetime,
    cause: str | None = None,
    commander: str | None = None,
    sender: Sender = apprise_send,
) -> tuple[Incident, list[DeliveryRecord]]:
    """Open an exercise incident and announce it to the test contacts. InputError, before
    anything is written, when the plan has no test contacts."""
    recipients = exercise_plan(plan)
    incident_id = lifecycle.open_incident(
        store,
        plan,
        title,
        services,
        by=by,
        at=at,
        cause=cause,
        commander=commander,
        exercise=True,
    )
    incident = get_incident(store, incident_id)
    language, organisation = plan.organisation.language, plan.organisation.name
    subject = say(
        language,
        "exercise.opened_subject",
        organisation=organisation,
        id=incident_id,
        title=incident.title,
    )
    notification = Notification(
        "exercise",
        tuple(role.id for role in recipients.roles),
        exercise_subject(plan, subject),
        say(language, "exercise.opened_body", id=incident_id, title=incident.title),
    )
    deliveries = asyncio.run(send_to_roles(recipients, store, notification, sender))
    sent = sum(1 for record in deliveries if record.ok)
    lifecycle.add_note(
        store,
        incident_id,
        f"exercise announced to {sent} of {len(deliveries)} test contact(s)",
        by=by,
        at=at,
        kind="report",
        details={"report": "exercise", "sent": sent, "contacts": len(deliveries)},
    )
    return get_incident(store, incident_id), deliveries
