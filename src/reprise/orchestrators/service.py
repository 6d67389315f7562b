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

from reprise import __version__
from reprise.alerts.jobs import JobAlerts
from reprise.alerts.messages import Notification
from reprise.errors import RepriseError
from reprise.orchestrators.monitor import Monitor
from reprise.orchestrators.scheduler import JobScheduler, RunEnded
from reprise.plan.model import Plan
from reprise.plan.schedule import ScheduledJob
from reprise.scheduler.instances import beat, register, stopped
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


class Service:
    """The monitor and the scheduler of one plan, in one event loop."""

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
        command: list[str] | None = None,
    ) -> None:
        self.plan, self.plan_path, self.store, self.clock = plan, plan_path, store, clock
        self.reload_plan = reload
        self.notify: Notify = notify or Silent()
        self.on_job_end = on_job_end
        self.scheduler = JobScheduler(
            plan, plan_path, store, clock, on_end=self._job_ended, command=command
        )
        self.monitor: Monitor | None = None
        self.job_alerts = JobAlerts(plan, store, self._send)
        self.instance_id: int | None = None
        self.started_at = clock()

    def _send(self, notification: Notification) -> None:
        """Through the monitor's dispatcher: one delivery path, recorded and retried."""
        if self.monitor is None:
            logger.error("no dispatcher to send %r", notification.subject)
            return
        self.monitor.dispatcher.submit(notification)

    def _job_ended(self, job: ScheduledJob, run: JobRun) -> None:
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
        running = self.scheduler.running_jobs()
        checks = sum(len(service.checks) for service in self.plan.services)
        line = (
            f"watching {len(self.plan.services)} services ({checks} checks), "
            f"{len(self.scheduler.jobs)} scheduled jobs"
        )
        return line + (f", running: {', '.join(running)}" if running else "")

    def details(self) -> dict[str, Any]:
        """What the heartbeat records: running jobs and the monitor's scheduling lag."""
        details: dict[str, Any] = {
            "running_jobs": self.scheduler.running_jobs(),
            "services": len(self.plan.services),
            "jobs": len(self.scheduler.jobs),
        }
        runner = self.monitor.runner if self.monitor is not None else None
        if runner is not None:
            details["lag"] = runner.lag_figures().to_dict()
        return details

    async def run(self, stop: asyncio.Event, reload: asyncio.Event, *, tick: float = 1.0) -> None:
        """Serve until ``stop`` is set; reload the plan whenever ``reload`` is set."""
        now = self.clock()
        self.instance_id = await asyncio.to_thread(
            register,
            self.store,
            host=socket.gethostname(),
            pid=os.getpid(),
            version=__version__,
            now=now,
            role="leader",
        )
        monitor_stop = asyncio.Event()
        monitor_task = self._start_monitor(monitor_stop)
        self.scheduler.start(now)
        self.notify.ready(self.summary())
        logger.info("service started: %s", self.summary())
        next_beat = now
        pinger = OutboundHeartbeat(self.plan)
        try:
            while not stop.is_set():
                if reload.is_set():
                    reload.clear()
                    monitor_stop, monitor_task = await self._reload(monitor_stop, monitor_task)
                now = self.clock()
                await self.scheduler.tick(now)
                try:
                    self.job_alerts.tick(now, self.scheduler.jobs)
                except Exception:
                    logger.exception("job alerting tick failed")
                if now >= next_beat:
                    await self._beat(now)
                    next_beat = now + BEAT_EVERY
                pinger.maybe_ping(now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_either(stop, reload), tick)
        finally:
            self.notify.stopping()
            logger.info("service stopping")
            await self.scheduler.stop()
            monitor_stop.set()
            await monitor_task
            await pinger.aclose()
            await asyncio.to_thread(stopped, self.store, self.instance_id, self.clock())
            logger.info("service stopped")

    def _start_monitor(self, stop: asyncio.Event) -> asyncio.Task[None]:
        self.monitor = Monitor(self.plan, self.store, clock=self.clock)
        return asyncio.get_running_loop().create_task(self.monitor.run(stop), name="monitor")

    async def _beat(self, now: datetime) -> None:
        assert self.instance_id is not None
        try:
            await asyncio.to_thread(
                beat, self.store, self.instance_id, now, "leader", self.details()
            )
        except Exception:  # the state store down for a moment must not stop the service
            logger.exception("could not record the service's heartbeat")
        self.notify.watchdog()
        self.notify.status(self.summary())

    async def _reload(
        self, monitor_stop: asyncio.Event, monitor_task: asyncio.Task[None]
    ) -> tuple[asyncio.Event, asyncio.Task[None]]:
        """Read the plan again; keep the old one when the new one is invalid."""
        if self.reload_plan is None:
            return monitor_stop, monitor_task
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
            return monitor_stop, monitor_task
        except Exception:
            logger.exception("plan not reloaded, the previous one stays in force")
            self.notify.ready(self.summary())
            return monitor_stop, monitor_task
        monitor_stop.set()
        await monitor_task
        self.plan = plan
        self.scheduler.replace_plan(plan, self.clock())
        self.job_alerts.replace_plan(plan)
        fresh_stop = asyncio.Event()
        task = self._start_monitor(fresh_stop)
        self.notify.ready(self.summary())
        logger.info("plan reloaded: %s", self.summary())
        return fresh_stop, task


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
