"""The monitor daemon: watch every service until told to stop, running the checks on their
schedules, recording results and state changes, and sending alerts."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass

from reprise.alerts.records import DeliveryRecord
from reprise.orchestrators.monitor import Monitor, StateChange
from reprise.plan.model import Plan
from reprise.store.database import Store

__all__ = ["DeliveryRecord", "MonitorRequest", "MonitorScope", "StateChange", "watch"]


@dataclass(frozen=True)
class MonitorScope:
    """What the monitor watches."""

    services: int
    checks: int


@dataclass(frozen=True)
class MonitorRequest:
    """Who hears what: the start (with the scope), each state change, each delivery; and
    the signals that stop the monitor."""

    on_start: Callable[[MonitorScope], None] | None = None
    on_change: StateChange | None = None
    on_delivery: Callable[[DeliveryRecord], None] | None = None
    stop_signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)


def watch(
    plan: Plan, store: Store, request: MonitorRequest, *, stop: asyncio.Event | None = None
) -> MonitorScope:
    """Watch until one of the request's signals arrives (or ``stop`` is set). Stops
    cleanly: checks in flight are cancelled, results written, deliveries in flight given
    10 seconds."""
    scope = MonitorScope(len(plan.services), sum(len(service.checks) for service in plan.services))

    async def run() -> None:
        stopped = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in request.stop_signals:
            loop.add_signal_handler(signum, stopped.set)
        monitor = Monitor(plan, store, on_change=request.on_change, on_delivery=request.on_delivery)
        if request.on_start is not None:
            request.on_start(scope)
        await monitor.run(stopped)

    asyncio.run(run())
    return scope
