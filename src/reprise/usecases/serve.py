"""`reprise serve`: run the monitor and the scheduled jobs until SIGTERM or SIGINT; SIGHUP
reloads the plan. And whether a service is running (`reprise serve status`)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reprise.errors import InputError, RepriseError
from reprise.orchestrators.notify import Notifier
from reprise.orchestrators.service import STALE_AFTER, Notify, Service
from reprise.plan.loader import LoadedPlan, export_env_file, load_plan
from reprise.scheduler.instances import Instance, latest_instances
from reprise.scheduler.lease import SingleHostLock
from reprise.store import state_url
from reprise.usecases.wal import start_wal_pushers

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

logger = logging.getLogger(__name__)

__all__ = ["Instance", "ServeRequest", "ServiceState", "serve", "service_state"]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class RunningWeb(Protocol):
    """A web bound to its address: its site's plan is replaced on reload; ``serve()`` runs
    until ``server.should_exit``."""

    site: Any
    server: Any

    async def serve(self) -> None: ...


WebStarter = Callable[["Plan", "Store", "str | None"], RunningWeb]
"""Binds the web of a plan (raises RepriseError when it cannot)."""


@dataclass(frozen=True)
class ServeRequest:
    """Who hears that the service started (with its summary line: leading, or standing by
    behind another), what tells systemd, and the signals that stop and reload it."""

    on_start: Callable[[str], None] | None = None
    notify: Notify | None = None
    stop_signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
    reload_signal: int | None = signal.SIGHUP
    web: WebStarter | None = None
    """Starts the web beside the monitor (the door provides it; None: no web)."""
    listen: str | None = None
    """Where the web listens (None: the plan's ``web.listen``); given, a taken port stops
    the service instead of being logged."""


def serve(loaded: LoadedPlan, store: Store, request: ServeRequest) -> None:
    """Serve until a stop signal; stops cleanly (runs in progress cancelled and recorded,
    results written, deliveries in flight given 10 seconds)."""
    url = state_url(loaded.plan)
    webs: list[RunningWeb] = []

    def reload() -> Plan:
        fresh = load_plan(loaded.path)
        if state_url(fresh.plan) != url:
            raise InputError(
                "the new plan moves the state database; restart the service for that",
                hint="systemctl restart reprise",
            )
        export_env_file(fresh)
        for running in webs:
            running.site.plan = fresh.plan
        return fresh.plan

    async def run() -> None:
        stop, reload_requested = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in request.stop_signals:
            loop.add_signal_handler(signum, stop.set)
        if request.reload_signal is not None:
            loop.add_signal_handler(request.reload_signal, reload_requested.set)
        service = Service(
            loaded.plan,
            loaded.path,
            store,
            utc_now,
            reload=reload,
            notify=request.notify or Notifier.from_environment(),
            on_ready=request.on_start,
        )
        tasks = [loop.create_task(running.serve(), name="web") for running in webs]
        try:
            await service.run(stop, reload_requested)
        finally:
            for running in webs:
                running.server.should_exit = True
            for task in tasks:
                await task

    lock = _single_host_lock(store)
    pushers = start_wal_pushers(loaded)
    try:
        running_web = _web(loaded.plan, store, request)  # once this service holds the state
        webs.extend([running_web] if running_web is not None else [])
        asyncio.run(run())
    finally:
        pushers.close()
        if lock is not None:
            lock.release()


def _web(plan: Plan, store: Store, request: ServeRequest) -> RunningWeb | None:
    """The web, bound: a port the plan names that is taken is logged and the service runs
    without its web (watching comes first); one given on the command line is an error."""
    if request.web is None:
        return None
    try:
        return request.web(plan, store, request.listen)
    except RepriseError as error:
        if request.listen is not None:
            raise
        message, hint = error.render()
        logger.error("the web is not served: %s (fix: %s)", message, hint)
        return None


def _single_host_lock(store: Store) -> SingleHostLock | None:
    """On SQLite, one service per state (InputError when one already runs); PostgreSQL
    states are shared by several, one leading."""
    database = store.engine.url.database
    if store.dialect != "sqlite" or not database:
        return None
    lock = SingleHostLock(Path(database).parent)
    lock.acquire()
    return lock


@dataclass(frozen=True)
class ServiceState:
    """The services heard from lately, newest first, and whether one is running."""

    instances: list[Instance]
    now: datetime

    @property
    def running(self) -> Instance | None:
        """The service running now, if any."""
        return next((i for i in self.instances if i.alive(self.now, STALE_AFTER)), None)

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for --json."""
        running = self.running
        return {
            "running": running is not None,
            "instances": [i.to_dict(self.now, STALE_AFTER) for i in self.instances],
        }


def service_state(store: Store, now: datetime | None = None) -> ServiceState:
    """Which `reprise serve` processes were heard from lately."""
    return ServiceState(latest_instances(store), now or utc_now())
