"""The monitor: runs the checks, keeps the board of states, feeds the alert engine, writes
results in batches, rolls them up every hour, and stops cleanly when asked.

The checks run on this process's event loop, or, when ``monitoring.workers`` gives more
than one (large plans with ``auto``), in worker processes that send their results back
here (:mod:`reprise.monitor.shards`): the board, the alerts, the incidents and the writes
stay in this one process either way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from reprise.alerts.delivery import Dispatcher, Sender, apprise_send
from reprise.alerts.engine import AlertEngine
from reprise.alerts.records import DeliveryRecord
from reprise.incidents.watcher import IncidentWatcher
from reprise.monitor.board import Board
from reprise.monitor.results import ResultBuffer, roll_up, write_results
from reprise.monitor.runner import Runner, plan_jobs, sleep_unless_stopped
from reprise.monitor.shards import ShardedRunner, shard, worker_count
from reprise.plan.model import Plan
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext
from reprise.store.database import Store

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
StateChange = Callable[[str, str, str, datetime], None]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class Monitor:
    """One plan watched: checks, states, alerts and results."""

    def __init__(
        self,
        plan: Plan,
        store: Store,
        *,
        clock: Clock = utc_now,
        sender: Sender = apprise_send,
        on_change: StateChange | None = None,
        on_delivery: Callable[[DeliveryRecord], None] | None = None,
    ) -> None:
        self.plan, self.store, self.clock = plan, store, clock
        self.board = Board(plan)
        self.dispatcher = Dispatcher(plan, store, sender, on_result=self._delivered)
        self.incidents = IncidentWatcher(plan, store, self.dispatcher.submit)
        self.engine = AlertEngine(
            plan, store, self.board, self.dispatcher.submit, self.incidents.incident_of
        )
        self.on_delivery = on_delivery
        self.buffer = ResultBuffer()
        self.on_change = on_change
        self.runner: Runner | ShardedRunner | None = None

    def observe(self, service: str, check: str, result: ProbeResult, at: datetime) -> None:
        """Take one result: store it, update the board, and alert on a change."""
        self.buffer.add(service, check, result, at)
        change = self.board.observe(service, check, result, at)
        if change is None:
            return
        old, new = change
        if self.on_change is not None:
            self.on_change(service, old, new, at)
        # The incident first: the alert engine asks whether an incident speaks for the
        # service before it alerts on its own.
        try:
            source = "; ".join(self.board.failures(service)) if new != "up" else "checks pass"
            self.incidents.on_change(service, new, at, source or new)
        except Exception:
            logger.exception("incident tracking failed on a change of %s", service)
        try:
            now = self.clock()
            self.engine.on_change(service, old, new, now)
            self.engine.evaluate(now)
        except Exception:  # a state-store hiccup must not stop the checks
            logger.exception("alerting failed on a change of %s", service)

    def _delivered(self, record: DeliveryRecord) -> None:
        try:
            self.incidents.on_delivery(record)
        except Exception:
            logger.exception("could not add a notification to an incident timeline")
        if self.on_delivery is not None:
            self.on_delivery(record)

    async def run(self, stop: asyncio.Event, *, tick: float = 1.0) -> None:
        """Watch until ``stop`` is set."""
        context = ProbeContext(self.plan, self.store)
        jobs, concurrency = plan_jobs(self.plan), self.plan.monitoring.concurrency
        workers = worker_count(self.plan)
        if workers > 1:  # the checks run in worker processes, the results come back here
            shards = shard(self.plan, jobs, workers)
            self.runner = ShardedRunner(
                self.plan, jobs, shards, self.observe, self.store, concurrency
            )
            logger.info("monitor: %d checks over %d worker processes", len(jobs), len(shards))
        else:
            self.runner = Runner(jobs, context, self.observe, concurrency)
        runner = asyncio.get_running_loop().create_task(self.runner.run(stop))
        next_rollup = self.clock()
        try:
            while not stop.is_set():
                await sleep_unless_stopped(stop, tick)
                now = self.clock()
                await self._housekeeping(now, rollup=now >= next_rollup)
                if now >= next_rollup:
                    next_rollup = now + timedelta(hours=1)
        finally:
            stop.set()
            await runner
            await self._flush()
            await self.dispatcher.drain(timeout=10)
            self.dispatcher.close()
            await context.aclose()

    async def _housekeeping(self, now: datetime, *, rollup: bool) -> None:
        try:
            self.engine.tick(now)
        except Exception:
            logger.exception("alerting tick failed")
        try:
            self.incidents.tick(now)
        except Exception:
            logger.exception("progress reports failed")
        await self._flush()
        if rollup:
            try:
                await asyncio.to_thread(
                    roll_up, self.store, now, self.plan.monitoring.raw_retention
                )
            except Exception:
                logger.exception("rolling up check results failed")

    async def _flush(self) -> None:
        rows = self.buffer.take()
        try:
            await asyncio.to_thread(write_results, self.store, rows)
        except Exception:
            logger.exception("could not write %d check results", len(rows))
