"""Incidents driven by the monitor: opened when a P1/P2 service goes down, joined by the
failures that follow within the grouping window, kept in step with the checks, and told
to their audiences every ``communication.progress_report_every``. The alert engine asks
the watcher which open incident a service is part of (:meth:`IncidentWatcher.incident_of`):
while one speaks for it, its state changes go into the incident, not into alerts."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, false, select

from reprise.alerts.delivery import send_to_roles
from reprise.alerts.engine import Covering
from reprise.alerts.messages import Notification
from reprise.alerts.records import DeliveryRecord
from reprise.alerts.routing import exercise_plan, exercise_subject
from reprise.errors import RepriseError
from reprise.incidents.lifecycle import (
    add_note,
    add_services,
    grouping_candidate,
    mark_reported,
    open_incident,
    open_incidents_of,
    retitle,
    set_state,
)
from reprise.incidents.records import MONITOR, get_incident, list_incidents, record_report
from reprise.incidents.recovery import incident_plan
from reprise.incidents.report_view import render_report
from reprise.incidents.runs import runs_of
from reprise.plan.model import Plan
from reprise.store.database import Store
from reprise.store.tables import alerts, incident_services, incidents
from reprise.words import say

logger = logging.getLogger(__name__)


class IncidentWatcher:
    """Turns the monitor's state changes into incidents and sends progress reports."""

    def __init__(
        self,
        plan: Plan,
        store: Store,
        send: Callable[[Notification], None],
        send_exercise: Callable[[Notification], None] | None = None,
    ) -> None:
        self.plan, self.store, self.send = plan, store, send
        self.send_exercise = send_exercise or self._to_test_contacts
        """Sends an exercise's notifications (``send`` knows only the real contacts)."""
        self.failing: dict[str, tuple[datetime, str]] = {}
        """Services down now: since when, and why (to join a failure that came first)."""

    def on_change(self, service_id: str, new: str, at: datetime, source: str) -> None:
        """A service changed state (confirmed by its checks)."""
        state = new if new in ("down", "degraded", "up") else "unknown"
        if state == "down":
            self.failing.setdefault(service_id, (at, source))
        else:
            self.failing.pop(service_id, None)
        involved = open_incidents_of(self.store, service_id)
        for incident_id in involved:
            set_state(
                self.store,
                incident_id,
                service_id,
                state,
                source=f"check: {source}",
                at=at,
                author=MONITOR,
            )
        if involved or state != "down":
            return
        service = self.plan.service(service_id)
        candidate = grouping_candidate(self.store, at, self.plan.incidents.grouping_window)
        if candidate is not None:
            incident_id = candidate
            add_services(
                self.store,
                self.plan,
                candidate,
                [service_id],
                by=MONITOR,
                at=at,
                source=f"check: {source}",
            )
        elif service.effective_priority in self.plan.incidents.auto_open:
            incident_id = open_incident(
                self.store,
                self.plan,
                service.name,
                [service_id],
                by=MONITOR,
                at=at,
                source=f"check: {source}",
            )
        else:
            return
        window = self.plan.incidents.grouping_window
        for other, (began, why) in list(self.failing.items()):
            if (
                other != service_id
                and at - began <= window
                and not open_incidents_of(self.store, other)
            ):
                add_services(
                    self.store,
                    self.plan,
                    incident_id,
                    [other],
                    by=MONITOR,
                    at=began,
                    source=f"check: {why}",
                )
        self._title(incident_id)

    def incident_of(self, service_id: str) -> Covering | None:
        """The open incident this service is part of (the most recent one when several),
        with when it opened and all its services; None when there is none."""
        query = (
            select(incidents.c.id, incidents.c.opened_at)
            .join(incident_services, incident_services.c.incident_id == incidents.c.id)
            .where(
                and_(
                    incidents.c.status == "open",
                    incidents.c.exercise == false(),
                    incident_services.c.service == service_id,
                )
            )
            .order_by(incidents.c.opened_at.desc(), incidents.c.id.desc())
            .limit(1)
        )
        with self.store.engine.connect() as connection:
            row = connection.execute(query).first()
            if row is None:
                return None
            services = connection.execute(
                select(incident_services.c.service)
                .where(incident_services.c.incident_id == row.id)
                .order_by(incident_services.c.position)
            ).scalars()
            return Covering(int(row.id), row.opened_at, tuple(services))

    def _title(self, incident_id: int) -> None:
        """Name an incident the monitor opened after its first service in recovery order,
        unless a person has given it a title."""
        incident = get_incident(self.store, incident_id)
        if incident.opened_by != MONITOR or any(
            entry.kind == "update" and "title" in entry.details for entry in incident.timeline
        ):
            return
        entries = incident_plan(self.plan, incident)
        if not entries:
            return
        others = len(entries) - 1
        title = say(
            self.plan.organisation.language,
            "incident.title_several" if others else "incident.title_one",
            name=entries[0].service.name,
            others=others,
        )
        if title != incident.title:
            retitle(self.store, incident_id, title)

    def on_delivery(self, record: DeliveryRecord) -> None:
        """Put an alert notification about an affected service into its incidents."""
        if record.alert_id is None:
            return
        with self.store.engine.connect() as connection:
            service = connection.execute(
                select(alerts.c.service).where(alerts.c.id == record.alert_id)
            ).scalar()
        if service is None:
            return
        outcome = "sent" if record.ok else f"failed ({record.error})"
        for incident_id in open_incidents_of(self.store, service):
            add_note(
                self.store,
                incident_id,
                f"{record.kind} notification to {record.role} ({record.contact}): "
                f"{outcome}: {record.subject}",
                by=MONITOR,
                at=record.at,
                kind="notification",
                details={
                    "alert": record.alert_id,
                    "notification": record.kind,
                    "role": record.role,
                    "contact": record.contact,
                    "ok": record.ok,
                    "error": record.error,
                    "subject": record.subject,
                },
            )

    def tick(self, now: datetime) -> None:
        """Send the progress reports that are due."""
        every = self.plan.communication.progress_report_every
        for summary in list_incidents(self.store):
            last = summary.last_report_at or summary.opened_at
            if now - last >= every:
                self.report_progress(summary.id, now, since=summary.last_report_at)

    def report_progress(
        self, incident_id: int, now: datetime, since: datetime | None = None
    ) -> str:
        """Render, send and keep one progress report."""
        incident = get_incident(self.store, incident_id)
        language = self.plan.organisation.language
        body = render_report(
            self.plan,
            incident,
            runs_of(self.store, incident_id=incident_id),
            now=now,
            kind="progress",
            since=since,
        )
        subject = say(
            language,
            "incident.progress_subject",
            organisation=self.plan.organisation.name,
            id=incident_id,
            title=incident.title,
        )
        audiences = tuple(self.plan.communication.audiences)
        if audiences and incident.exercise:
            notification = Notification(
                "progress", audiences, exercise_subject(self.plan, subject), body
            )
            self.send_exercise(notification)
        elif audiences:
            self.send(Notification("progress", audiences, subject, body))
        record_report(self.store, incident_id, "progress", now, language, body)
        mark_reported(self.store, incident_id, now)
        add_note(
            self.store,
            incident_id,
            f"progress report sent to {', '.join(audiences) or 'nobody (no audience in the plan)'}",
            by=MONITOR,
            at=now,
            kind="report",
            details={"report": "progress", "audiences": list(audiences)},
        )
        return body

    def _to_test_contacts(self, notification: Notification) -> None:
        """Deliver an exercise's notification to the plan's test contacts only, from a
        thread of its own (the monitor's loop is not held up); without test contacts
        nothing is sent."""
        try:
            plan = exercise_plan(self.plan)
        except RepriseError as error:
            logger.warning("exercise notification not sent: %s", error.render()[0])
            return
        threading.Thread(
            target=lambda: asyncio.run(send_to_roles(plan, self.store, notification)),
            name="exercise-notify",
            daemon=True,
        ).start()
