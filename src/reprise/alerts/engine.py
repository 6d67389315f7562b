"""From service states to notifications: alerts opened and resolved, routed to roles,
escalated until acknowledged, held back while a dependency is the cause, silenced,
in maintenance or flapping, and gathered into next-business-day digests for P3.

A failed service others depend on (the router) is the root cause: its alert waits, at
most ``alerting.root_cause_wait`` and one check period of each, for the services behind
it to be checked after the failure began, then names every one of them with its state;
its recovery names those still down. While a service is part of an open incident that
has had its alert (``alerting.during_incident: incident``), the incident speaks for it:
no alert, reminder or recovery of its own until the incident is closed.

The engine never sleeps and never reads the wall clock: it is driven by ``on_change``
(a service changed state) and ``tick(now)``; notifications go to ``send``. Tests drive it
with their own clock; the monitor drives it with real time."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reprise.alerts.calendar import maintenance, next_digest
from reprise.alerts.messages import Notification, Writer
from reprise.alerts.records import (
    Alert,
    Silence,
    acknowledgements,
    claim_alert,
    first_notified_since,
    list_alerts,
    list_silences,
    open_alert,
    reread,
    save_alert,
)
from reprise.alerts.routing import Routing
from reprise.monitor.board import BAD, Board
from reprise.plan.model import Plan, Service
from reprise.store.database import Store
from reprise.store.events import append_event

Send = Callable[[Notification], None]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Covering:
    """An open incident a service is part of, as the engine needs to know it."""

    id: int
    opened_at: datetime
    services: tuple[str, ...]


IncidentOf = Callable[[str], "Covering | None"]
"""The open incident a service is part of (None: none); given by the incident watcher."""


class AlertEngine:
    """Alerting for one plan, its board of states and its state store."""

    def __init__(
        self,
        plan: Plan,
        store: Store,
        board: Board,
        send: Send,
        incident_of: IncidentOf | None = None,
    ) -> None:
        self.plan, self.store, self.board, self.send = plan, store, board, send
        self.incident_of = incident_of
        self._incidents: dict[str, Covering | None] = {}
        """incident_of's answers, kept for one change or one evaluation."""
        self.announced: dict[int, datetime] = {}
        """Open incidents known to have had their alert: when it was sent."""
        self.covered: set[int] = set()
        """Alerts held back because an incident speaks for them (recorded once each)."""
        self.writer = Writer(plan, ack_link=self._ack_link if plan.web.base_url else None)
        self.routing = Routing(plan)
        self.open: dict[str, Alert] = {
            alert.service: alert
            for alert in reversed(list_alerts(store))
            if alert.kind not in ("flapping", "job")  # failed jobs: alerts.jobs
        }
        self.digest_pending: dict[int, Alert] = {
            alert.id: alert
            for alert in self.open.values()
            if alert.digest_due is not None and alert.notified_at is None
        }
        self.notified_roles: dict[str, list[str]] = {}
        self.changes: dict[str, deque[datetime]] = {s.id: deque() for s in plan.services}
        self.flapping: set[str] = set()
        self.silences: dict[str, Silence] = {}

    def _ack_link(self, alert_id: int) -> str | None:
        """The signed web link that acknowledges the alert (never stops a message)."""
        from reprise.alerts.links import ack_url

        try:
            return ack_url(self.plan, self.store, alert_id)
        except Exception:
            logger.exception("could not make the acknowledgement link of alert %d", alert_id)
            return None

    # -- incidents -------------------------------------------------------------------------

    def _incident(self, service_id: str) -> Covering | None:
        if self.incident_of is None:
            return None
        if service_id not in self._incidents:
            self._incidents[service_id] = self.incident_of(service_id)
        return self._incidents[service_id]

    def covered_by(self, alert: Alert) -> int | None:
        """The open incident that speaks for this alert, if any: with ``during_incident:
        incident``, once an alert of the incident's services went out (the incident's
        alert, which itself keeps its course), every other alert of them is held back —
        its state changes are in the incident's timeline and progress reports. One
        exception: a new root cause, a service whose failure began after the incident's
        alert and that others now fail because of, is told on its own."""
        if self.plan.alerting.during_incident != "incident":
            return None
        incident = self._incident(alert.service)
        if incident is None:
            return None
        if alert.notified_at is not None and alert.notified_at >= incident.opened_at:
            return None  # the incident's own alert
        if incident.id not in self.announced:
            first = first_notified_since(self.store, list(incident.services), incident.opened_at)
            if first is None:
                return None
            self.announced[incident.id] = first
        began = self.board.failing_since(alert.service)
        if (
            began is not None
            and began > self.announced[incident.id]
            and self.board.impacted_by(alert.service)
        ):
            return None  # a new root cause during the incident
        return incident.id

    def _hold_for_incident(self, alert: Alert, at: datetime) -> bool:
        incident = self.covered_by(alert)
        if incident is None:
            return False
        if alert.id not in self.covered:
            self.covered.add(alert.id)
            append_event(
                self.store,
                "alert.in_incident",
                alert.service,
                {"alert": alert.id, "incident": incident},
                at=at,
            )
        return True

    # -- state changes ---------------------------------------------------------------------

    def on_change(self, service_id: str, old: str, new: str, at: datetime) -> None:
        """A service changed state: record it, count it for flapping, open or resolve."""
        self._incidents.clear()
        service = self.plan.service(service_id)
        append_event(
            self.store,
            "service.state",
            service_id,
            {"from": old, "to": new, "failures": self.board.failures(service_id)},
            at=at,
        )
        starts_flapping = (old != "unknown" or new in BAD) and self._count_change(service, new, at)
        if starts_flapping or service_id in self.flapping:
            return
        if new in BAD:
            self._open_or_worsen(service, new, at)
        elif new == "up" and service_id in self.open:
            self._resolve(self.open[service_id], at)

    def _count_change(self, service: Service, new: str, at: datetime) -> bool:
        """Track changes; True when this change starts a flapping period."""
        settings = self.plan.alerting.flapping
        changes = self.changes[service.id]
        changes.append(at)
        while changes and at - changes[0] > settings.window:
            changes.popleft()
        if service.id in self.flapping or len(changes) <= settings.changes:
            return False
        self.flapping.add(service.id)
        subject, body = self.writer.flapping(service, len(changes), new)
        self._send("flapping", service, self.routing.base_roles(service), subject, body, None, at)
        append_event(self.store, "alert.flapping", service.id, {"changes": len(changes)}, at=at)
        return True

    def _open_or_worsen(self, service: Service, state: str, at: datetime) -> None:
        message = "; ".join(self.board.failures(service.id))[:2000]
        alert = self.open.get(service.id)
        if alert is not None:
            alert.message = message
            if state == "down" and alert.kind == "degraded":
                # Worse than what was announced: announce it again as down.
                alert.kind, alert.notified_at, alert.level, alert.next_at = "down", None, 0, None
            save_alert(self.store, alert)
            return
        opened = self.board.failing_since(service.id) or at
        alert = open_alert(
            self.store,
            service=service.id,
            kind=state,
            priority=service.effective_priority,
            opened_at=opened,
            message=message,
            roles=self.routing.base_roles(service),
        )
        self.open[service.id] = alert
        append_event(
            self.store,
            "alert.opened",
            service.id,
            {"alert": alert.id, "kind": state, "message": message},
            at=at,
        )

    def _resolve(self, alert: Alert, at: datetime, *, quiet: bool = False) -> None:
        service = self.plan.service(alert.service)
        alert.resolved_at = at
        self.open.pop(alert.service, None)
        if not claim_alert(self.store, alert):
            return  # another service sharing the state resolved and told it

        append_event(self.store, "alert.resolved", alert.service, {"alert": alert.id}, at=at)
        self.covered.discard(alert.id)
        if quiet or self.covered_by(alert) is not None:
            return  # an incident speaks for it: its timeline has the recovery
        if alert.notified_at is not None:
            roles = alert.roles
        elif alert.root is not None and alert.root in self.notified_roles:
            roles = self.notified_roles[alert.root]
        else:
            return  # never announced (held back, silenced, or waiting for its digest)
        root = self.plan.service(alert.root) if alert.root else None
        still = [
            self.plan.service(other)
            for other in self.board.dependents[alert.service]
            if self.board.state[other] == "down"
        ]
        subject, body = self.writer.recovery(service, alert.opened_at, at, root, still)
        self._send("recovery", service, roles, subject, body, alert.id, at)

    # -- time ------------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Read acknowledgements and silences, end flapping, then evaluate every alert."""
        self._incidents.clear()
        acks = acknowledgements(self.store, [alert.id for alert in self.open.values()])
        for alert in self.open.values():
            if alert.id in acks and alert.acked_at is None:
                alert.acked_at, alert.acked_by = acks[alert.id]
        self.silences = {
            silence.service: silence
            for silence in list_silences(self.store, active_at=now)
            if silence.active(now)
        }
        self._end_flapping(now)
        self.evaluate(now)

    def _end_flapping(self, now: datetime) -> None:
        window = self.plan.alerting.flapping.window
        for service_id in sorted(self.flapping):
            changed = self.board.changed_at[service_id]
            if changed is not None and now - changed < window:
                continue
            self.flapping.discard(service_id)
            self.changes[service_id].clear()
            service = self.plan.service(service_id)
            state = self.board.state[service_id]
            subject, body = self.writer.stable(service, state)
            self._send(
                "stable", service, self.routing.base_roles(service), subject, body, None, now
            )
            if state in BAD:
                self._open_or_worsen(service, state, now)
            elif service_id in self.open:
                self._resolve(self.open[service_id], now, quiet=True)

    def suppressed_by(self, service_id: str, now: datetime) -> str | None:
        """Why alerts of this service are held back now (None: they are not)."""
        window = maintenance(self.plan, service_id, now)
        if window is not None:
            return f"maintenance: {window.reason}"
        silence = self.silences.get(service_id)
        if silence is not None and silence.active(now):
            return f"silenced until {silence.ends_at.isoformat()}: {silence.reason}"
        if service_id in self.flapping:
            return "flapping"
        roots = self.board.roots(service_id) if self.board.state[service_id] in BAD else []
        if roots:
            return "impacted by " + ", ".join(roots)
        return None

    def evaluate(self, now: datetime) -> None:
        """Announce, escalate or hold each open alert; send due digests."""
        self._incidents.clear()
        for alert in list(self.open.values()):
            self._evaluate(alert, now)
        self._digests(now)

    def _evaluate(self, alert: Alert, now: datetime) -> None:
        service = self.plan.service(alert.service)
        roots = self.board.roots(service.id)
        root = roots[0] if roots and self.board.state[service.id] in BAD else None
        if root is not None and root != alert.root and alert.notified_at is None:
            alert.root = root  # kept after the root recovers: its recovery names the cause
            save_alert(self.store, alert)
        if root is not None or alert.acked_at is not None:
            return
        if self.suppressed_by(service.id, now) or self.board.held(service.id, now):
            return
        if self._hold_for_incident(alert, now):
            return
        if alert.notified_at is None:
            limit = self.plan.alerting.root_cause_wait
            if self.board.awaiting_dependents(service.id, now, limit):
                return  # the root cause's alert names every service behind it
            if self.routing.priority(service).response == "next_business_day":
                if alert.digest_due is None:
                    alert.digest_due = next_digest(
                        self.plan, self.routing.priority(service).digest_at, alert.opened_at
                    )
                    save_alert(self.store, alert)
                    self.digest_pending[alert.id] = alert
                return
            self._announce(alert, service, now, level=0)
        elif alert.next_at is not None and now >= alert.next_at:
            self._announce(alert, service, now, level=alert.level + 1)

    def _announce(self, alert: Alert, service: Service, now: datetime, level: int) -> None:
        roles = self.routing.roles_at(service, level)
        dependents = [
            (self.plan.service(other), self.board.dependent_state(service.id, other))
            for other in self.board.dependents[service.id]
        ]
        subject, body = self.writer.problem(
            service,
            alert.kind,
            alert.opened_at,
            self.board.failures(service.id) or [alert.message],
            dependents,
            alert.id,
        )
        kind = "problem"
        if level:
            kind = "escalation"
            subject, body = self.writer.escalation(
                subject, body, level, now - alert.opened_at, roles, told=alert.roles
            )
        repeat = self.routing.repeat_every(service) if alert.kind == "down" else None
        seen = {"level": alert.level, "notified_at": alert.notified_at}
        alert.level, alert.roles = level, roles
        alert.notified_at = alert.notified_at or now
        alert.next_at = now + repeat if repeat else None
        if not claim_alert(self.store, alert, **seen):
            self._reread(alert)  # another service sharing the state sent it first
            return
        self.notified_roles[service.id] = roles
        self._send(kind, service, roles, subject, body, alert.id, now)

    def _reread(self, alert: Alert) -> None:
        """Take the stored fields of an alert another service changed first."""
        if reread(self.store, alert):
            self.open.pop(alert.service, None)

    def _digests(self, now: datetime) -> None:
        due = [
            alert
            for alert in self.digest_pending.values()
            if alert.digest_due is not None and alert.digest_due <= now
        ]
        if not due:
            return
        by_roles: dict[tuple[str, ...], list[Alert]] = {}
        for alert in sorted(due, key=lambda a: a.opened_at):
            self.digest_pending.pop(alert.id, None)
            alert.notified_at = now
            if alert.resolved_at is not None:
                save_alert(self.store, alert)  # a resolved one is reported in the digest too
            elif not claim_alert(self.store, alert, notified_at=None):
                self._reread(alert)
                continue
            by_roles.setdefault(tuple(alert.roles), []).append(alert)
        if not by_roles:
            return
        for roles, alerts in by_roles.items():
            items = [
                (self.plan.service(a.service), a.message, a.opened_at, a.resolved_at)
                for a in alerts
            ]
            subject, body = self.writer.digest(items)
            self.send(Notification("digest", roles, subject, body))
            append_event(
                self.store,
                "alert.notified",
                "digest",
                {"kind": "digest", "roles": list(roles), "alerts": [a.id for a in alerts]},
                at=now,
            )

    def _send(
        self,
        kind: str,
        service: Service,
        roles: list[str],
        subject: str,
        body: str,
        alert_id: int | None,
        at: datetime,
    ) -> None:
        self.send(Notification(kind, tuple(roles), subject, body, alert_id, service.id))
        append_event(
            self.store,
            "alert.notified",
            service.id,
            {"kind": kind, "roles": roles, "subject": subject, "alert": alert_id},
            at=at,
        )
