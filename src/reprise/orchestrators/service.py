"""`reprise serve`: one process that keeps the plan's promises by itself. It runs the
monitor (checks, alerts, incidents, progress reports) and the job scheduler, says it is
alive (a heartbeat in the state store, systemd's watchdog, an optional outbound ping),
reloads the plan on request (an invalid plan is logged and the old one kept) and stops
cleanly (runs in progress cancelled and recorded, results flushed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from reprise import __version__
from reprise.alerts.jobs import JobAlerts
from reprise.alerts.messages import Notification
from reprise.errors import RepriseError
from reprise.orchestrators.monitor import Monitor
from reprise.orchestrators.scheduler import JobScheduler, RunEnded
from reprise.plan.model import Plan
from reprise.plan.schedule import ScheduledJob
from reprise.scheduler.instances import beat, register, stopped
from reprise.scheduler.lease import release, take_or_renew
from reprise.scheduler.records import JobRun
from reprise.store.database import Store

logger = logging.getLogger(__name__)

BEAT_EVERY = timedelta(seconds=10)
"""How often the service records that it is alive (``reprise status`` reads it)."""
STALE_AFTER = timedelta(seconds=45)
"""A service not heard from for this long is shown as not running."""

Clock = Callable[[], datetime]
Reload = Callable[[], Plan]
"""Read the plan again; raises (PlanError) when the new plan is invalid."""


class Notify(Protocol):
    """What the service tells its supervisor (systemd's notify protocol, or nothing)."""

    def ready(self, status: str) -> None: ...

    def status(self, text: str) -> None: ...

    def watchdog(self) -> None: ...

    def reloading(self) -> None: ...

    def stopping(self) -> None: ...


class Silent:
    """No supervisor to tell."""

    def ready(self, status: str) -> None:
        """Nothing to tell."""

    def status(self, text: str) -> None:
        """Nothing to tell."""

    def watchdog(self) -> None:
        """Nothing to tell."""

    def reloading(self) -> None:
        """Nothing to tell."""

    def stopping(self) -> None:
        """Nothing to tell."""


class Leadership:
    """Whether this service leads now. Shared (PostgreSQL) state: a lease of
    ``ha.takeover_after`` minus two polls, renewed every tenth of it; a leader that could
    not renew for most of the lease steps down before a standby may take over. Otherwise
    the service always leads (a file lock keeps it alone on its state)."""

    def __init__(self, store: Store, holder: str, takeover_after: timedelta, *, shared: bool):
        self.store, self.holder, self.shared = store, holder, shared
        self.poll = takeover_after / 10
        self.ttl = takeover_after - 2 * self.poll
        self.leading = not shared
        self.renewed_at: datetime | None = None
        self.next_try: datetime | None = None

    async def step(self, now: datetime) -> bool:
        """Take or renew the lease when due; whether this service leads now."""
        if not self.shared:
            return True
        if self.next_try is None or now >= self.next_try:
            self.next_try = now + self.poll
            try:
                held = await asyncio.to_thread(take_or_renew, self.store, self.holder, self.ttl)
            except SQLAlchemyError as error:  # the database unreachable: keep trying
                logger.warning("could not renew the leader lease: %s", error)
            else:
                self.leading = held
                if held:
                    self.renewed_at = now
        renewed = self.renewed_at
        if self.leading and renewed is not None and now - renewed > self.ttl - self.poll:
            logger.error("leader lease not renewed for %s: stepping down", now - renewed)
            self.leading = False
        return self.leading

    async def release(self) -> None:
        """Give the lease up on a clean stop, so that a standby takes over at once."""
        if self.shared and self.leading:
            try:
                await asyncio.to_thread(release, self.store, self.holder)
            except SQLAlchemyError as error:
                logger.warning("could not release the leader lease: %s", error)
        self.leading = False


class Service:
    """The monitor and the scheduler of one plan, in one event loop; with a shared state,
    only while this service leads."""

    def __init__(
        self,
        plan: Plan,
        plan_path: Path,
        store: Store,
        clock: Clock,
        *,
        reload: Reload | None = None,
        notify: Notify | None = None,
        on_job_end: RunEnded | None = None,
        on_ready: Callable[[str], None] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.plan, self.plan_path, self.store, self.clock = plan, plan_path, store, clock
        self.on_ready = on_ready
        self.reload_plan = reload
        self.notify: Notify = notify or Silent()
        self.on_job_end = on_job_end
        self.command = command
        self.scheduler: JobScheduler | None = None
        self.job_alerts: JobAlerts | None = None
        self.monitor: Monitor | None = None
        self.monitor_stop = asyncio.Event()
        self.monitor_task: asyncio.Task[None] | None = None
        self.instance_id: int | None = None
        self.leadership: Leadership | None = None

    @property
    def leading(self) -> bool:
        """Whether the monitor and the scheduler run here now."""
        return self.monitor_task is not None

    def _send(self, notification: Notification) -> None:
        """Through the monitor's dispatcher: one delivery path, recorded and retried."""
        if self.monitor is None:
            logger.error("no dispatcher to send %r", notification.subject)
            return
        self.monitor.dispatcher.submit(notification)

    def _job_ended(self, job: ScheduledJob, run: JobRun) -> None:
        if self.job_alerts is not None:
            try:
                self.job_alerts.ended(job, run, self.clock())
            except Exception:
                logger.exception("could not alert on the end of job %s", job.id)
        if self.on_job_end is not None:
            try:
                self.on_job_end(job, run)
            except Exception:
                logger.exception("could not act on the end of job %s", job.id)

    def summary(self) -> str:
        """One line for systemd's STATUS and the log."""
        if not self.leading:
            return "standing by (another service leads)"
        assert self.scheduler is not None
        running = self.scheduler.running_jobs()
        checks = sum(len(service.checks) for service in self.plan.services)
        line = (
            f"watching {len(self.plan.services)} services ({checks} checks), "
            f"{len(self.scheduler.jobs)} scheduled jobs"
        )
        return line + (f", running: {', '.join(running)}" if running else "")

    def details(self) -> dict[str, Any]:
        """What the heartbeat records: running jobs and the monitor's scheduling lag."""
        details: dict[str, Any] = {"services": len(self.plan.services)}
        if self.scheduler is not None:
            details["running_jobs"] = self.scheduler.running_jobs()
            details["jobs"] = len(self.scheduler.jobs)
        runner = self.monitor.runner if self.monitor is not None else None
        if runner is not None:
            details["lag"] = runner.lag_figures().to_dict()
        return details

    async def run(self, stop: asyncio.Event, reload: asyncio.Event, *, tick: float = 1.0) -> None:
        """Serve until ``stop`` is set; reload the plan whenever ``reload`` is set."""
        now = self.clock()
        host, pid = socket.gethostname(), os.getpid()
        self.instance_id = await asyncio.to_thread(
            register, self.store, host=host, pid=pid, version=__version__, now=now, role="standby"
        )
        self.leadership = Leadership(
            self.store,
            f"{host}:{pid}:{self.instance_id}",
            self.plan.ha.takeover_after,
            shared=self.store.dialect == "postgresql",
        )
        next_beat = now
        pinger = OutboundHeartbeat(self.plan)
        first = True
        try:
            while not stop.is_set():
                now = self.clock()
                leads = await self.leadership.step(now)
                if leads and not self.leading:
                    await self._lead(now)
                elif not leads and self.leading:
                    await self._step_down()
                if first:  # leading or standing by: ready either way
                    self.notify.ready(self.summary())
                    logger.info("service started: %s", self.summary())
                    if self.on_ready is not None:
                        self.on_ready(self.summary())
                    first = False
                if reload.is_set():
                    reload.clear()
                    await self._reload()
                if self.leading:
                    await self._tick(now)
                if now >= next_beat:
                    await self._beat(now)
                    next_beat = now + BEAT_EVERY
                pinger.maybe_ping(now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_either(stop, reload), tick)
        finally:
            self.notify.stopping()
            logger.info("service stopping")
            if self.leading:
                await self._step_down()
            await self.leadership.release()
            await pinger.aclose()
            await asyncio.to_thread(stopped, self.store, self.instance_id, self.clock())
            logger.info("service stopped")

    async def _lead(self, now: datetime) -> None:
        """Become the leader: the monitor, alerts and jobs start here, from the state as the
        previous leader left it (open alerts, latest runs)."""
        logger.info("leading: starting the monitor and the scheduled jobs")
        self._start_monitor()
        self.scheduler = JobScheduler(
            self.plan,
            self.plan_path,
            self.store,
            self.clock,
            on_end=self._job_ended,
            command=self.command,
        )
        self.scheduler.start(now)
        self.job_alerts = JobAlerts(self.plan, self.store, self._send)
        self.notify.status(self.summary())

    async def _step_down(self) -> None:
        """Stop leading: runs in progress are stopped and recorded, the monitor stops."""
        logger.info("no longer leading: stopping the monitor and the scheduled jobs")
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self._stop_monitor()
        self.scheduler, self.job_alerts = None, None
        self.notify.status(self.summary())

    async def _tick(self, now: datetime) -> None:
        assert self.scheduler is not None and self.job_alerts is not None
        await self.scheduler.tick(now)
        try:
            self.job_alerts.tick(now, self.scheduler.jobs)
        except Exception:
            logger.exception("job alerting tick failed")

    def _start_monitor(self) -> None:
        self.monitor_stop = asyncio.Event()
        self.monitor = Monitor(self.plan, self.store, clock=self.clock)
        self.monitor_task = asyncio.get_running_loop().create_task(
            self.monitor.run(self.monitor_stop), name="monitor"
        )

    async def _stop_monitor(self) -> None:
        if self.monitor_task is not None:
            self.monitor_stop.set()
            await self.monitor_task
        self.monitor_task, self.monitor = None, None

    async def _beat(self, now: datetime) -> None:
        assert self.instance_id is not None
        role = "leader" if self.leading else "standby"
        try:
            await asyncio.to_thread(beat, self.store, self.instance_id, now, role, self.details())
        except Exception:  # the state store down for a moment must not stop the service
            logger.exception("could not record the service's heartbeat")
        self.notify.watchdog()
        self.notify.status(self.summary())

    async def _reload(self) -> None:
        """Read the plan again; keep the old one when the new one is invalid."""
        if self.reload_plan is None:
            return
        self.notify.reloading()
        try:
            plan = await asyncio.to_thread(self.reload_plan)
        except RepriseError as error:  # an invalid plan: the old one stays in force
            message, hint = error.render()
            logger.error(
                "plan not reloaded, the previous one stays in force: %s%s",
                message,
                f" (fix: {hint})" if hint else "",
            )
            self.notify.ready(self.summary())
            return
        except Exception:
            logger.exception("plan not reloaded, the previous one stays in force")
            self.notify.ready(self.summary())
            return
        self.plan = plan
        if self.leading:
            await self._stop_monitor()
            self._start_monitor()
            assert self.scheduler is not None and self.job_alerts is not None
            self.scheduler.replace_plan(plan, self.clock())
            self.job_alerts.replace_plan(plan)
        self.notify.ready(self.summary())
        logger.info("plan reloaded: %s", self.summary())


async def _either(*events: asyncio.Event) -> None:
    """Return as soon as one of the events is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


class OutboundHeartbeat:
    """``serve.heartbeat_url`` pinged every ``serve.heartbeat_every`` (healthchecks.io's
    model): a service that dies stops pinging, and the outside pages someone."""

    def __init__(self, plan: Plan) -> None:
        self.url = plan.serve.heartbeat_url
        self.every = plan.serve.heartbeat_every
        self.next_at: datetime | None = None
        self.task: asyncio.Task[None] | None = None
        self.client: Any = None

    def maybe_ping(self, now: datetime) -> None:
        """Ping when due, without waiting for the answer (a slow endpoint must not stall
        the service)."""
        if self.url is None or (self.next_at is not None and now < self.next_at):
            return
        if self.task is not None and not self.task.done():
            return
        self.next_at = now + self.every
        self.task = asyncio.get_running_loop().create_task(self._ping(self.url))

    async def _ping(self, url: str) -> None:
        import httpx

        if self.client is None:
            self.client = httpx.AsyncClient(timeout=10.0)
        try:
            response = await self.client.get(url)
            if response.status_code >= 400:
                logger.warning("heartbeat ping answered HTTP %d", response.status_code)
        except httpx.HTTPError as error:
            logger.warning("heartbeat ping failed: %s", error)

    async def aclose(self) -> None:
        """Wait for a ping in flight (briefly) and close the connection pool."""
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)
        if self.client is not None:
            await self.client.aclose()
