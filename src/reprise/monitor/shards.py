"""Checks shared over worker processes, one event loop each, when one loop is not enough.

One Python process runs a few thousand checks every ten seconds before its core is full.
With ``monitoring.workers`` above one (``auto``: one per core for plans of more than
:data:`AUTO_LIMIT` checks), the monitor splits the checks into shards, starts a worker
process per shard (:mod:`reprise.monitor.worker`) and keeps for itself what must be in
one place: the board of states, the alerts, the incidents and the state store. Workers
send compact results back in batches every few tens of milliseconds
(:mod:`reprise.monitor.frames`); the monitor feeds them to its ``on_result`` one by one,
as the single-process runner does.

A shard holds whole groups of services linked by dependencies, so that a worker can
check a dependency first (start-up order, rushed runs) as the single runner does; groups
are balanced by runs per second. A worker that dies is started again after a second,
with the same checks (it runs each once at start, as the monitor does). Stopping the
monitor stops the workers: told to stop, they cancel their runs, send what they have and
exit; one still there after :data:`STOP_WAIT` seconds is killed. A worker whose parent
died sees its stdin end and exits too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import pickle
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import reprise
from reprise.monitor.frames import Setup, encode, from_row, read_frame
from reprise.monitor.runner import (
    WINDOW,
    Job,
    LagFigures,
    OnResult,
    sleep_unless_stopped,
    summarize_lags,
)
from reprise.plan.model import Plan
from reprise.probes.context import LoopLag
from reprise.store.database import Store

logger = logging.getLogger(__name__)

AUTO_LIMIT = 2000
"""``workers: auto`` runs plans of up to this many checks in the monitor's own process."""
STORE_KINDS = frozenset({"backup_age", "heartbeat"})
"""Check kinds whose probe reads the state store: their worker opens it too."""
RESTART_AFTER = 1.0
"""Seconds before a worker that died is started again; doubled (up to
:data:`RESTART_AT_MOST`) each time it dies again within :data:`STABLE_AFTER` seconds."""
RESTART_AT_MOST = 60.0
STABLE_AFTER = 30.0
STOP_WAIT = 10.0
"""Seconds a worker is given to stop before it is killed."""


def worker_count(plan: Plan) -> int:
    """How many worker processes the plan asks for; 1 means none (the checks run in the
    monitor's own process, as before workers existed)."""
    setting = plan.monitoring.workers
    if setting == "auto":
        checks = sum(len(service.checks) for service in plan.services)
        return 1 if checks <= AUTO_LIMIT else max(1, os.cpu_count() or 1)
    return max(1, setting)


def shard(plan: Plan, jobs: Sequence[Job], count: int) -> list[list[int]]:
    """Job indices in at most ``count`` non-empty shards: services linked by
    dependencies stay together; groups go, heaviest first, to the lightest shard (weight:
    runs per second)."""
    parent = {service.id: service.id for service in plan.services}

    def root(service_id: str) -> str:
        while parent[service_id] != service_id:
            parent[service_id] = parent[parent[service_id]]
            service_id = parent[service_id]
        return service_id

    for service in plan.services:
        for dependency in service.depends_on:
            if dependency in parent:
                parent[root(service.id)] = root(dependency)
    groups: dict[str, list[int]] = {}
    weights: dict[str, float] = {}
    for index, job in enumerate(jobs):
        group = root(job.service)
        groups.setdefault(group, []).append(index)
        weights[group] = weights.get(group, 0.0) + 1 / job.check.interval.total_seconds()
    shards: list[list[int]] = [[] for _ in range(max(1, count))]
    loads = [0.0] * len(shards)
    for group in sorted(groups, key=lambda key: -weights[key]):
        lightest = loads.index(min(loads))
        shards[lightest].extend(groups[group])
        loads[lightest] += weights[group]
    return [sorted(indices) for indices in shards if indices]


class ShardedRunner:
    """The scheduling of the monitor spread over worker processes; the same figures as
    :class:`~reprise.monitor.runner.Runner` (``lags``, ``skipped``, :meth:`lag_figures`)."""

    def __init__(
        self,
        plan: Plan,
        jobs: list[Job],
        shards: list[list[int]],
        on_result: OnResult,
        store: Store | None,
        concurrency: int,
    ) -> None:
        self.plan, self.jobs, self.shards, self.on_result = plan, jobs, shards, on_result
        self.store = store
        self.concurrency = max(1, math.ceil(concurrency / max(1, len(shards))))
        self.lags: deque[float] = deque(maxlen=200_000)
        """Seconds between when each run was due and when it started, every worker."""
        self.recent: deque[tuple[float, float]] = deque()
        """(loop time received, lag) over the last :data:`WINDOW` seconds."""
        self.loop_lags: deque[tuple[float, float]] = deque()
        """(loop time received, a worker's worst loop lag over its last report)."""
        self.counts = [(0, 0)] * len(shards)
        """(skipped, inconclusive) of each live worker since it started."""
        self.retired = (0, 0)
        """(skipped, inconclusive) of workers that died."""
        self.processes: list[asyncio.subprocess.Process | None] = [None] * len(shards)
        self.restarts = 0
        """Workers started again after they died."""
        self.lag = LoopLag()
        """The monitor's own event loop (results, alerts): slow, it delays alerts."""

    # -- figures ---------------------------------------------------------------------------

    @property
    def skipped(self) -> int:
        """Runs skipped because the previous ones were too late, all workers."""
        return self.retired[0] + sum(count[0] for count in self.counts)

    @property
    def inconclusive(self) -> int:
        """Runs without a verdict, all workers."""
        return self.retired[1] + sum(count[1] for count in self.counts)

    def pids(self) -> list[int]:
        """The process ids of the workers running now."""
        return [p.pid for p in self.processes if p is not None and p.returncode is None]

    def lag_figures(self) -> LagFigures:
        """The scheduling lag of every worker over the last minute (call it on the
        monitor's event loop); the loop lag is the worst of the workers' and the
        monitor's own."""
        now = asyncio.get_running_loop().time()
        self._forget(now)
        loop_lag = max([self.lag.worst_since(now - WINDOW)] + [lag for _, lag in self.loop_lags])
        return summarize_lags(
            [lag for _, lag in self.recent], self.skipped, self.inconclusive, loop_lag
        )

    def _forget(self, now: float) -> None:
        for samples in (self.recent, self.loop_lags):
            while samples and samples[0][0] < now - WINDOW:
                samples.popleft()

    # -- workers ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a worker per shard until ``stop`` is set; then stop them all."""
        self.lag.start()
        loop = asyncio.get_running_loop()
        keepers = [loop.create_task(self._keep(number, stop)) for number in range(len(self.shards))]
        try:
            await asyncio.gather(*keepers)
        finally:
            for keeper in keepers:
                keeper.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            for process in self.processes:
                if process is not None and process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
            await self.lag.aclose()

    async def _keep(self, number: int, stop: asyncio.Event) -> None:
        """Run shard ``number``'s worker until ``stop``, starting it again when it dies."""
        loop = asyncio.get_running_loop()
        delay = RESTART_AFTER
        while not stop.is_set():
            began = loop.time()
            try:
                process = await self._spawn(number)
            except OSError:  # out of processes or file descriptors: try again later
                logger.exception("could not start monitor worker %d", number + 1)
                await sleep_unless_stopped(stop, delay)
                delay = min(delay * 2, RESTART_AT_MOST)
                continue
            self.processes[number] = process
            try:
                await self._follow(number, process, stop)
            finally:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                await process.wait()
            if stop.is_set():
                return
            delay = RESTART_AFTER if loop.time() - began > STABLE_AFTER else delay
            logger.warning(
                "monitor worker %d (pid %d, %d checks) ended unexpectedly (exit status %s); "
                "starting it again in %g s",
                number + 1,
                process.pid,
                len(self.shards[number]),
                process.returncode,
                delay,
            )
            skipped, inconclusive = self.counts[number]
            self.retired = (self.retired[0] + skipped, self.retired[1] + inconclusive)
            self.counts[number] = (0, 0)
            self.restarts += 1
            await sleep_unless_stopped(stop, delay)
            delay = min(delay * 2, RESTART_AT_MOST)

    async def _spawn(self, number: int) -> asyncio.subprocess.Process:
        indices = self.shards[number]
        store_url = None
        if self.store is not None and any(
            self.jobs[index].check.kind in STORE_KINDS for index in indices
        ):
            store_url = self.store.engine.url.render_as_string(hide_password=False)
        # The worker gets the plan with its shard's services only (whole dependency
        # groups, so nothing it runs refers to a service it lacks): less to send, and
        # less memory in each worker.
        services = {self.jobs[index].service for index in indices}
        plan = self.plan.model_copy(
            update={"services": [s for s in self.plan.services if s.id in services]}
        )
        setup = Setup(
            plan,
            indices,
            self.concurrency,
            store_url,
            logging.getLogger("reprise").getEffectiveLevel(),
        )
        environment = dict(os.environ)
        source = str(Path(reprise.__file__).resolve().parent.parent)
        environment["PYTHONPATH"] = os.pathsep.join(
            [source] + ([environment["PYTHONPATH"]] if environment.get("PYTHONPATH") else [])
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "reprise.monitor.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,  # a Ctrl-C reaches the monitor, which stops its workers
        )
        assert process.stdin is not None
        process.stdin.write(encode(("setup", setup)))
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()
        return process

    async def _follow(
        self, number: int, process: asyncio.subprocess.Process, stop: asyncio.Event
    ) -> None:
        """Take the worker's frames until its output ends; on ``stop``, tell it to stop
        and kill it when it has not after :data:`STOP_WAIT` seconds."""
        assert process.stdout is not None
        stopper = asyncio.get_running_loop().create_task(self._stop_when(stop, process))
        try:
            while (frame := await read_frame(process.stdout)) is not None:
                self._take(number, frame)
        except (pickle.UnpicklingError, ValueError, EOFError, TypeError, AttributeError):
            # Not our frames (a library writing to the worker's pipe?): start it afresh.
            logger.exception("monitor worker %d sent what is not a frame; stopping it", number + 1)
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper

    @staticmethod
    async def _stop_when(stop: asyncio.Event, process: asyncio.subprocess.Process) -> None:
        await stop.wait()
        assert process.stdin is not None
        with contextlib.suppress(ConnectionError, RuntimeError):
            process.stdin.write(encode(("stop",)))
            process.stdin.close()
        await asyncio.sleep(STOP_WAIT)
        with contextlib.suppress(ProcessLookupError):
            process.kill()

    def _take(self, number: int, frame: tuple[Any, ...]) -> None:
        kind = frame[0]
        if kind == "results":
            for row in frame[1]:
                index, result, at = from_row(row)
                job = self.jobs[index]
                try:
                    self.on_result(job.service, job.name, result, at)
                except Exception:  # one bad result must not stop the others
                    logger.exception("could not take a result of %s", job.service)
        elif kind == "lags":
            now = asyncio.get_running_loop().time()
            _, lags, skipped, inconclusive, loop_lag = frame
            self.lags.extend(lags)
            self.recent.extend((now, lag) for lag in lags)
            self.loop_lags.append((now, loop_lag))
            self.counts[number] = (skipped, inconclusive)
            self._forget(now)
        elif kind == "log":
            _, name, level, message = frame
            logging.getLogger(name).log(level, "%s (monitor worker %d)", message, number + 1)
