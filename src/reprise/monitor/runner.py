"""Run every check on its own schedule: asyncio, at most ``concurrency`` at once, each run
bounded by its timeout (see :func:`reprise.probes.run.judge_check`). At start-up every
check runs once, dependencies before their dependents; later runs are spread by jitter (no
thundering herd). Lateness is measured, exposed (:meth:`Runner.lag_figures`) and logged
when the monitor is starved."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from reprise.plan.checks import Check
from reprise.plan.model import Plan
from reprise.plan.order import recovery_order
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext, judge_check, run_check, service_checks

OnResult = Callable[[str, str, ProbeResult, datetime], None]

logger = logging.getLogger(__name__)

WINDOW = 60.0
"""Seconds of lag figures kept for :meth:`Runner.lag_figures` and the starvation warning."""
STARVED_P99 = 1.0
"""The monitor is starved when the p99 of its scheduling lag over the window exceeds this."""
RUSH_EVERY = 30.0
"""A dependency without a verdict is run out of turn at most this often (seconds)."""
WARN_EVERY = 60.0
"""At most one starvation warning per this many seconds."""


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, returning early when ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass(frozen=True)
class Job:
    """One check of one service."""

    service: str
    name: str
    check: Check


@dataclass(frozen=True)
class LagFigures:
    """How late the monitor's check runs started over the last minute (seconds)."""

    runs: int
    """Runs started in the window."""
    p50: float
    p99: float
    max: float
    skipped: int
    """Runs skipped since the start because the previous ones were too late."""
    inconclusive: int
    """Runs since the start that gave no verdict (their timeouts expired while the
    monitor was overloaded) and were not recorded."""
    loop_lag: float
    """The event loop's worst lag over the window (its heartbeat's wake-up delay)."""

    @property
    def starved(self) -> bool:
        """The p99 lag is over :data:`STARVED_P99`."""
        return self.p99 > STARVED_P99

    def to_dict(self) -> dict[str, float | bool]:
        """A JSON form (milliseconds), for the service and the web interface."""
        return {
            "runs": self.runs,
            "p50_ms": round(self.p50 * 1000, 1),
            "p99_ms": round(self.p99 * 1000, 1),
            "max_ms": round(self.max * 1000, 1),
            "skipped": self.skipped,
            "inconclusive": self.inconclusive,
            "loop_lag_ms": round(self.loop_lag * 1000, 1),
            "starved": self.starved,
        }


def summarize_lags(
    lags: list[float], skipped: int, inconclusive: int, loop_lag: float
) -> LagFigures:
    """The figures of the runs' lateness over the last minute (one runner, or all shards)."""
    ordered = sorted(lags)
    return LagFigures(
        runs=len(ordered),
        p50=percentile(ordered, 0.5),
        p99=percentile(ordered, 0.99),
        max=ordered[-1] if ordered else 0.0,
        skipped=skipped,
        inconclusive=inconclusive,
        loop_lag=loop_lag,
    )


def plan_jobs(plan: Plan, services: list[str] | None = None) -> list[Job]:
    """Every check of the plan (or of some services) as a job."""
    return [
        Job(service.id, name, check)
        for service in plan.services
        if services is None or service.id in services
        for name, check in service_checks(service)
    ]


async def run_once(
    jobs: list[Job], context: ProbeContext, concurrency: int, on_result: OnResult
) -> None:
    """Run each job once, ``concurrency`` at a time (for `reprise status`)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Job) -> None:
        async with gate:
            result = await run_check(job.check, job.service, context)
        on_result(job.service, job.name, result, datetime.now(UTC))

    await asyncio.gather(*(one(job) for job in jobs))


def percentile(ordered: list[float], share: float) -> float:
    """The value at ``share`` (0 to 1) of an ordered list (0.0 for an empty one)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


class Runner:
    """The scheduling loop of the monitor."""

    def __init__(
        self,
        jobs: list[Job],
        context: ProbeContext,
        on_result: OnResult,
        concurrency: int,
        rng: random.Random | None = None,
    ) -> None:
        self.jobs, self.context, self.on_result = jobs, context, on_result
        self.gate = asyncio.Semaphore(concurrency)
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.lags: deque[float] = deque(maxlen=200_000)
        """Seconds between when each run was due and when it started."""
        self.recent: deque[tuple[float, float]] = deque()
        """(loop time, lag) of the runs started in the last :data:`WINDOW` seconds."""
        self.skipped = 0
        """Runs skipped because the previous ones were too late (overload)."""
        self.inconclusive = 0
        """Runs that gave no verdict (monitor overloaded), not recorded."""
        self.unknown: set[int] = set(range(len(jobs)))
        """Jobs without a verdict yet (never run, or their last run inconclusive)."""
        self.running: set[int] = set()
        self.rushed_at: dict[int, float] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._warned_at: float | None = None
        self._checked_at: float | None = None
        self._dependencies = self._dependency_jobs()

    def _dependency_jobs(self) -> dict[int, list[int]]:
        """For each job, the jobs of the services its service depends on (transitively)."""
        plan: Plan | None = self.context.plan
        if plan is None:
            return {}
        by_service: dict[str, list[int]] = {}
        for index, job in enumerate(self.jobs):
            by_service.setdefault(job.service, []).append(index)
        known = {service.id for service in plan.services}
        ancestors: dict[str, list[int]] = {}
        for service_id in by_service:
            seen: set[str] = set()
            todo = list(plan.service(service_id).depends_on) if service_id in known else []
            while todo:
                current = todo.pop()
                if current in seen or current not in known:
                    continue
                seen.add(current)
                todo.extend(plan.service(current).depends_on)
            ancestors[service_id] = [i for dep in sorted(seen) for i in by_service.get(dep, [])]
        return {index: ancestors[job.service] for index, job in enumerate(self.jobs)}

    # -- figures ---------------------------------------------------------------------------

    def lag_figures(self) -> LagFigures:
        """The scheduling lag over the last minute, for the service and the web to show
        (call it on the monitor's event loop)."""
        loop = asyncio.get_running_loop()
        self._forget(loop.time())
        return summarize_lags(
            [lag for _, lag in self.recent],
            self.skipped,
            self.inconclusive,
            self.context.lag.worst_since(loop.time() - WINDOW),
        )

    def _forget(self, now: float) -> None:
        while self.recent and self.recent[0][0] < now - WINDOW:
            self.recent.popleft()

    def _note_lag(self, now: float, lag: float, job: Job) -> None:
        """Keep a run's lateness; warn (once a minute at most) when the monitor starves."""
        self.lags.append(lag)
        self.recent.append((now, lag))
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
            return
        late = lag > job.check.timeout.total_seconds()
        if not late and self._checked_at is not None and now - self._checked_at < 1.0:
            return
        self._checked_at = now
        figures = self.lag_figures()
        if late or figures.starved:
            self._warned_at = now
            logger.warning(
                "the monitor is starved: check runs start late (last minute: p50 %.3fs, "
                "p99 %.3fs, max %.3fs; event loop lag %.3fs; %d runs skipped, %d without a "
                "verdict); %s of %s started %.3fs late",
                figures.p50,
                figures.p99,
                figures.max,
                figures.loop_lag,
                figures.skipped,
                figures.inconclusive,
                job.name,
                job.service,
                lag,
            )

    # -- scheduling ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run every check once in dependency order, then schedule until ``stop`` is set;
        then cancel the runs in flight."""
        loop = asyncio.get_running_loop()
        self.context.lag.start()
        first: dict[int, float] = {}
        try:
            start_up = loop.create_task(self._start_up(first))
            stopped = loop.create_task(stop.wait())
            try:
                await asyncio.wait({start_up, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
                if not start_up.done():
                    start_up.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await start_up
            now = loop.time()
            queue: list[tuple[float, int, Job]] = [
                (first.get(index, now), index, job) for index, job in enumerate(self.jobs)
            ]
            heapq.heapify(queue)
            while queue and not stop.is_set():
                due, index, job = queue[0]
                delay = due - loop.time()
                if delay > 0:
                    await sleep_unless_stopped(stop, delay)
                    continue
                for dependency in self._dependencies.get(index, []):
                    if self._rush(dependency, loop.time()):
                        # A dependency without a verdict is checked at once, first.
                        await self.gate.acquire()
                        self._launch(loop, dependency)
                await self.gate.acquire()
                started = loop.time()
                self._note_lag(started, started - due, job)
                self._launch(loop, index)
                interval = job.check.interval.total_seconds()
                following = due + interval
                while following <= started:
                    following += interval
                    self.skipped += 1
                heapq.heapreplace(queue, (following, index, job))
        finally:
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=5)

    async def _start_up(self, first: dict[int, float]) -> None:
        """Run every job once: a service's checks after those of the services it depends
        on (roots in recovery order first), ``concurrency`` at a time. Each job's next run
        is set at a random point between half an interval and one and a half intervals
        after this one (jitter: no herd)."""
        loop = asyncio.get_running_loop()
        by_service: dict[str, list[int]] = {}
        for index, job in enumerate(self.jobs):
            by_service.setdefault(job.service, []).append(index)
        plan: Plan | None = self.context.plan
        if plan is None:
            order, depends = list(by_service), {key: list[str]() for key in by_service}
        else:
            order = [entry.service.id for entry in recovery_order(plan)]
            depends = {service.id: list(service.depends_on) for service in plan.services}
        done = {service_id: asyncio.Event() for service_id in order}

        async def one(index: int) -> None:
            await self.gate.acquire()
            started = loop.time()
            interval = self.jobs[index].check.interval.total_seconds()
            first[index] = started + interval * self.rng.uniform(0.5, 1.5)
            await self._launch(loop, index)

        async def service_pass(service_id: str) -> None:
            try:
                for dependency in depends.get(service_id, []):
                    if dependency in done:
                        await done[dependency].wait()
                # Sequential acquisition keeps the gate's order: dependencies first.
                runs = []
                for index in by_service.get(service_id, []):
                    runs.append(loop.create_task(one(index)))
                    await asyncio.sleep(0)
                await asyncio.gather(*runs)
            finally:
                done[service_id].set()

        await asyncio.gather(*(service_pass(service_id) for service_id in order))

    def _rush(self, index: int, now: float) -> bool:
        """Whether to run job ``index`` now, out of turn, because a dependent is due: it has
        no verdict and is not running, and was not rushed in the last ``RUSH_EVERY`` (or
        its interval, when shorter)."""
        if index not in self.unknown or index in self.running:
            return False
        gap = min(RUSH_EVERY, self.jobs[index].check.interval.total_seconds())
        last = self.rushed_at.get(index)
        if last is not None and now - last < gap:
            return False
        self.rushed_at[index] = now
        return True

    def _launch(self, loop: asyncio.AbstractEventLoop, index: int) -> asyncio.Task[None]:
        """Start a run of job ``index`` (the gate already acquired)."""
        self.running.add(index)
        task = loop.create_task(self._run(index))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _run(self, index: int) -> None:
        job = self.jobs[index]
        try:
            result = await judge_check(job.check, job.service, self.context)
        finally:
            self.gate.release()
            self.running.discard(index)
        if result is None:
            self.inconclusive += 1
            self.unknown.add(index)
            return
        self.unknown.discard(index)
        self.on_result(job.service, job.name, result, datetime.now(UTC))
