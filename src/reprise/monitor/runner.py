"""Run every check on its own schedule: asyncio, at most ``concurrency`` at once, each
check's first run placed at a random point of its interval (no bursts at start, no
thundering herd later), each run bounded by its timeout. Lateness is measured."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from reprise.plan.checks import Check
from reprise.plan.model import Plan
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext, run_check, service_checks

OnResult = Callable[[str, str, ProbeResult, datetime], None]


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
        self.skipped = 0
        """Runs skipped because the previous ones were too late (overload)."""
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until ``stop`` is set, then cancel the runs in flight."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        queue: list[tuple[float, int, Job]] = [
            (now + self.rng.uniform(0, job.check.interval.total_seconds()), index, job)
            for index, job in enumerate(self.jobs)
        ]
        heapq.heapify(queue)
        try:
            while queue and not stop.is_set():
                due, index, job = queue[0]
                delay = due - loop.time()
                if delay > 0:
                    await sleep_unless_stopped(stop, delay)
                    continue
                await self.gate.acquire()
                started = loop.time()
                self.lags.append(started - due)
                task = loop.create_task(self._run(job))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
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

    async def _run(self, job: Job) -> None:
        try:
            result = await run_check(job.check, job.service, self.context)
        finally:
            self.gate.release()
        self.on_result(job.service, job.name, result, datetime.now(UTC))
