"""Failed scheduled jobs alert like a failing service: one alert per job from its first
failure to its next success, sent to the service's owner with the service's priority,
re-sent and escalated until acknowledged (`reprise alert ack backup:NAME`), and a
recovery message when the job succeeds again.

A repository-wide job (verification, pruning) speaks for the most critical service whose
backups the repository holds: a broken repository threatens that service's RPO first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from reprise.alerts.messages import Notification, Writer
from reprise.alerts.records import (
    Alert,
    acknowledgements,
    claim_alert,
    list_alerts,
    open_alert,
    reread,
    save_alert,
)
from reprise.alerts.routing import Routing
from reprise.plan.model import Plan, Service
from reprise.plan.schedule import ScheduledJob, latest_due
from reprise.scheduler.records import JobRun, latest_success
from reprise.store.database import Store
from reprise.store.events import append_event
from reprise.words import say, words

logger = logging.getLogger(__name__)

KIND = "job"
"""The ``kind`` of job alerts in the alerts table (the engine leaves them to this module)."""
FAILED = ("failed", "timeout", "lost")
OVERDUE_CHECK_EVERY = timedelta(minutes=1)
CRITICALITY_ORDER = {"critical": 0, "major": 1, "minor": 2}

Send = Callable[[Notification], None]


def speaks_for(plan: Plan, job: ScheduledJob) -> Service | None:
    """The service whose owner and priority a job's failure goes to."""
    if job.service is not None:
        try:
            return plan.service(job.service)
        except KeyError:
            return None
    backed_up = [
        service
        for service in plan.services
        if any(entry.repository == job.repository for entry in service.backups)
    ]
    if not backed_up:
        return None
    return min(backed_up, key=lambda s: (s.effective_priority, CRITICALITY_ORDER[s.criticality]))


class JobAlerts:
    """The alerts of failed scheduled jobs of one plan."""

    def __init__(self, plan: Plan, store: Store, send: Send) -> None:
        self.store, self.send = store, send
        self.replace_plan(plan)
        self.open: dict[str, Alert] = {
            alert.service: alert for alert in reversed(list_alerts(store)) if alert.kind == KIND
        }
        self.failures: dict[str, int] = {}
        self.next_overdue_check: datetime | None = None

    def replace_plan(self, plan: Plan) -> None:
        """A reloaded plan: its routing and words from now on."""
        self.plan = plan
        self.routing = Routing(plan)
        self.writer = Writer(plan)
        self.language = plan.organisation.language
        self.text = words(self.language, "jobalert")

    def title(self, job: ScheduledJob) -> str:
        """The job as people name it (``Sauvegarde akig-db-postgres de Base AKIG``)."""
        service = speaks_for(self.plan, job)
        name = service.name if service is not None and job.service is not None else job.target
        return self.text[job.kind].format(target=job.target, service=name)

    def ended(self, job: ScheduledJob, run: JobRun, now: datetime) -> None:
        """A run ended: a failure opens (or updates) the job's alert, a success resolves it."""
        if run.status in FAILED:
            self.failures[job.id] = self.failures.get(job.id, 0) + 1
            self._failed(job, run, now)
        elif run.status == "ok":
            self.failures.pop(job.id, None)
            alert = self.open.pop(job.id, None)
            if alert is not None:
                self._recovered(job, run, alert, now)

    def _failed(self, job: ScheduledJob, run: JobRun, now: datetime) -> None:
        alert = self.open.get(job.id)
        message = self._message(run)
        if alert is not None:
            alert.message = message
            save_alert(self.store, alert)
            return
        self._open(job, run, message, now, opened_at=run.started_at)

    def _open(
        self,
        job: ScheduledJob,
        run: JobRun | None,
        message: str,
        now: datetime,
        *,
        opened_at: datetime,
    ) -> None:
        service = speaks_for(self.plan, job)
        roles = self.routing.base_roles(service) if service else self.routing.admins()
        alert = open_alert(
            self.store,
            service=job.id,
            kind=KIND,
            priority=service.effective_priority if service else "P2",
            opened_at=opened_at,
            message=message,
            roles=roles,
        )
        self.open[job.id] = alert
        append_event(self.store, "alert.opened", job.id, {"alert": alert.id, "kind": KIND}, at=now)
        self._announce(job, run, alert, now, level=0)

    def _message(self, run: JobRun) -> str:
        status = self.text.get(f"status_{run.status}", run.status)
        return f"{status}: {run.error}" if run.error else status

    def _announce(
        self, job: ScheduledJob, run: JobRun | None, alert: Alert, now: datetime, level: int
    ) -> None:
        service = speaks_for(self.plan, job)
        roles = (
            self.routing.roles_at(service, level) if service is not None else self.routing.admins()
        )
        subject, body = self._problem(job, run, alert)
        kind = "problem"
        if level:
            kind = "escalation"
            subject, body = self.writer.escalation(
                subject, body, level, now - alert.opened_at, roles, told=alert.roles
            )
        repeat = self.routing.repeat_every(service) if service is not None else None
        seen = {"level": alert.level, "notified_at": alert.notified_at}
        alert.level, alert.roles = level, roles
        alert.notified_at = alert.notified_at or now
        alert.next_at = now + repeat if repeat else None
        if not claim_alert(self.store, alert, **seen):
            self._reread(job.id, alert)  # another service sharing the state sent it first
            return
        self.send(Notification(kind, tuple(roles), subject, body, alert.id, job.id))
        append_event(
            self.store,
            "alert.notified",
            job.id,
            {"kind": kind, "roles": roles, "subject": subject, "alert": alert.id},
            at=now,
        )

    def _problem(self, job: ScheduledJob, run: JobRun | None, alert: Alert) -> tuple[str, str]:
        text, colon, writer = self.text, self.writer.colon, self.writer
        subject = f"[{alert.priority}] {text['failed']} — {self.title(job)}"
        lines = [f"{text['what']}{colon} {self.title(job)} ({job.id})"]
        if run is not None:
            took = timedelta(seconds=round(run.duration or 0))
            lines.append(
                f"{text['run']}{colon} "
                + text["run_line"].format(
                    run=run.id,
                    due=writer.when(run.due_at),
                    started=writer.when(run.started_at),
                    duration=writer.duration(took),
                )
            )
        lines.append(f"{text['error']}{colon} {alert.message}")
        failures = self.failures.get(job.id)
        if failures and failures > 1:
            lines.append(f"{text['failures']}{colon} {failures}")
        service = speaks_for(self.plan, job)
        if service is not None:
            lines.append(f"{say(self.language, 'alert.priority')}{colon} {alert.priority}")
        if run is not None:
            lines.append(f"{text['details']}{colon} reprise jobs show {run.id}")
        lines.append(f"{say(self.language, 'alert.ack')}{colon} reprise alert ack {job.id}")
        return subject, "\n".join(lines)

    def _reread(self, job_id: str, alert: Alert) -> None:
        if reread(self.store, alert):
            self.open.pop(job_id, None)

    def _recovered(self, job: ScheduledJob, run: JobRun, alert: Alert, now: datetime) -> None:
        alert.resolved_at = now
        if not claim_alert(self.store, alert):
            return  # another service sharing the state resolved and told it
        append_event(self.store, "alert.resolved", job.id, {"alert": alert.id}, at=now)
        if alert.notified_at is None:
            return
        took = timedelta(seconds=round((now - alert.opened_at).total_seconds()))
        subject = f"[{alert.priority}] {self.text['ok']} — {self.title(job)}"
        body = self.text["recovered"].format(
            name=self.title(job), run=run.id, duration=self.writer.duration(took)
        )
        self.send(Notification("recovery", tuple(alert.roles), subject, body, alert.id, job.id))
        append_event(
            self.store,
            "alert.notified",
            job.id,
            {"kind": "recovery", "roles": alert.roles, "subject": subject, "alert": alert.id},
            at=now,
        )

    def overdue(self, job: ScheduledJob, now: datetime) -> JobRun | None:
        """A drill whose latest success is older than the slot before its latest one (a
        whole period went by without a proven restore): that success; None otherwise,
        and for a job that never succeeded (its failures alert already)."""
        success = latest_success(self.store, job.id)
        if success is None:
            return None
        latest = latest_due(job, self.plan, now)
        previous = latest_due(job, self.plan, latest - timedelta(microseconds=1))
        return success if success.due_at < previous else None

    def _check_overdue(self, now: datetime, jobs: dict[str, ScheduledJob]) -> None:
        if self.next_overdue_check is not None and now < self.next_overdue_check:
            return
        self.next_overdue_check = now + OVERDUE_CHECK_EVERY
        for job in jobs.values():
            if job.kind != "drill" or job.id in self.open:
                continue
            success = self.overdue(job, now)
            if success is None:
                continue
            last = success.finished_at or success.started_at
            message = self.text["overdue"].format(
                when=self.writer.when(last),
                ago=self.writer.duration(timedelta(seconds=round((now - last).total_seconds()))),
            )
            self._open(job, None, message, now, opened_at=now)

    def tick(self, now: datetime, jobs: dict[str, ScheduledJob]) -> None:
        """Read acknowledgements; re-send and escalate unacknowledged alerts when due; open
        an alert for a drill overdue (once a minute)."""
        self._check_overdue(now, jobs)
        acks = acknowledgements(self.store, [alert.id for alert in self.open.values()])
        for job_id, alert in list(self.open.items()):
            if alert.id in acks and alert.acked_at is None:
                alert.acked_at, alert.acked_by = acks[alert.id]
            job = jobs.get(job_id)
            if job is None or alert.acked_at is not None:
                continue
            if alert.next_at is not None and now >= alert.next_at:
                self._announce(job, None, alert, now, level=alert.level + 1)
