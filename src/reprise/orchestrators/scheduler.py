"""Run the plan's scheduled jobs on time, each in its own process.

Semantics, as sysadmins expect from a scheduler:

- a job's time slot is claimed in the state store before it runs (``scheduler.records``):
  a slot runs once, even with two services sharing the state;
- never two runs of one job at once: a slot that comes while the job runs waits for it,
  and only the latest waiting slot runs (no burst);
- a slot missed while the service was down runs once at start-up (catch-up), as does a
  run cut short by the stop or death of the service that ran it; a job that never ran
  waits for its first slot;
- at most ``scheduler.max_parallel`` jobs at once, ``scheduler.per_repository`` per
  repository;
- each run is a child process (`reprise jobs run JOB --run-id N`) in its own process group,
  stopped past the job's timeout (SIGTERM, then SIGKILL 10 s later): a backup stopped that
  way is never listed, since only a signed manifest makes it complete;
- a failure the job marks retryable runs again after ``retry_backoff`` (doubled each time),
  up to ``retries`` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from reprise.plan.model import Plan
from reprise.plan.schedule import ScheduledJob, latest_due, scheduled_jobs
from reprise.restore.registry import kinds_where
from reprise.scheduler.records import (
    Claim,
    JobRun,
    Status,
    Trigger,
    claim_run,
    finish_run,
    get_run,
    latest_runs,
    mark_lost,
    set_pid,
)
from reprise.scheduler.requests import take_requests
from reprise.store.database import Store
from reprise.words.format import duration

logger = logging.getLogger(__name__)

KILL_GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL for a run past its timeout or at shutdown."""
LOST_MARGIN = timedelta(minutes=2)
"""A run still "running" this long past its deadline has lost its process."""

Clock = Callable[[], datetime]
RunEnded = Callable[[ScheduledJob, JobRun], None]


def plan_jobs(plan: Plan) -> list[ScheduledJob]:
    """The plan's jobs (drills where the restore registry can drill)."""
    return scheduled_jobs(plan, drillable=kinds_where(lambda restorer: restorer.drills))


@dataclass(order=True)
class Pending:
    """A run waiting for its job to be free or for capacity."""

    not_before: datetime
    job_id: str = field(compare=False)
    due_at: datetime = field(compare=False)
    attempt: int = field(compare=False)
    trigger: Trigger = field(compare=False)


class JobScheduler:
    """The plan's scheduled jobs, run on time until stopped."""

    def __init__(
        self,
        plan: Plan,
        plan_path: Path,
        store: Store,
        clock: Clock,
        *,
        on_end: RunEnded | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.plan, self.plan_path, self.store, self.clock = plan, plan_path, store, clock
        self.on_end = on_end
        self.command = command or [sys.executable, "-m", "reprise"]
        self.jobs: dict[str, ScheduledJob] = {job.id: job for job in plan_jobs(plan)}
        self.last_slot: dict[str, datetime] = {}
        self.pending: dict[str, Pending] = {}
        self.running: dict[str, asyncio.Task[None]] = {}
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.host = socket.gethostname()

    # -- the plan --------------------------------------------------------------------------

    def start(self, now: datetime) -> None:
        """Read each job's latest run: a slot missed since then runs once now (catch-up)."""
        latest = latest_runs(self.store)
        for job in self.jobs.values():
            slot = latest_due(job, self.plan, now)
            last = latest.get(job.id)
            if last is None:
                self.last_slot[job.id] = slot  # never ran: wait for the first slot
            elif last.due_at < slot:
                self.last_slot[job.id] = slot
                self._queue(Pending(now, job.id, slot, 1, "catch_up"))
            elif last.status in ("cancelled", "lost"):
                # the service that ran it stopped or died during the run: once more
                self.last_slot[job.id] = last.due_at
                self._queue(Pending(now, job.id, last.due_at, last.attempt + 1, "catch_up"))
            else:
                self.last_slot[job.id] = last.due_at

    def replace_plan(self, plan: Plan, now: datetime) -> None:
        """A reloaded plan: new and changed jobs take their schedule from now on; runs in
        progress go on."""
        self.plan = plan
        self.jobs = {job.id: job for job in plan_jobs(plan)}
        for job in self.jobs.values():
            self.last_slot.setdefault(job.id, latest_due(job, plan, now))
        for job_id in list(self.pending):
            if job_id not in self.jobs:
                del self.pending[job_id]

    def running_jobs(self) -> list[str]:
        """Jobs running now."""
        return sorted(self.running)

    # -- time ------------------------------------------------------------------------------

    async def tick(self, now: datetime) -> None:
        """Queue the slots that came, then start what capacity allows."""
        try:
            lost = await asyncio.to_thread(mark_lost, self.store, now - LOST_MARGIN)
        except Exception:
            logger.exception("could not look for lost job runs")
            lost = []
        for run in lost:
            logger.warning(
                "job run %d (%s) lost its process", run.id, run.job, extra={"job": run.job}
            )
            job = self.jobs.get(run.job)
            if job is not None and self.on_end is not None:
                self.on_end(job, get_run(self.store, run.id))
        for job in self.jobs.values():
            slot = latest_due(job, self.plan, now)
            if slot > self.last_slot.get(job.id, slot):
                self.last_slot[job.id] = slot
                self._queue(Pending(now, job.id, slot, 1, "schedule"))
        await self._take_requests(now)
        self._start_ready(now)

    async def _take_requests(self, now: datetime) -> None:
        """Runs asked for from the web or the API: queued as manual runs (a request for a
        job the plan no longer has is logged and dropped)."""
        try:
            taken = await asyncio.to_thread(take_requests, self.store, self.host, now)
        except Exception:
            logger.exception("could not read the runs asked for")
            return
        for request in taken:
            if request.job not in self.jobs:
                logger.warning("run of %s asked for, but the plan has no such job", request.job)
                continue
            logger.info(
                "job %s asked for by %s",
                request.job,
                request.requested_by,
                extra={"job": request.job},
            )
            self._queue(Pending(now, request.job, request.requested_at, 1, "manual"))

    def _queue(self, pending: Pending) -> None:
        """Keep one waiting run per job: a newer slot replaces an older one still waiting."""
        self.pending[pending.job_id] = pending

    def _start_ready(self, now: datetime) -> None:
        per_repository: dict[str, int] = {}
        for job_id in self.running:
            repository = self.jobs[job_id].repository if job_id in self.jobs else None
            if repository is not None:
                per_repository[repository] = per_repository.get(repository, 0) + 1
        settings = self.plan.scheduler
        for pending in sorted(self.pending.values()):
            if len(self.running) >= settings.max_parallel:
                return
            job = self.jobs.get(pending.job_id)
            if job is None or pending.not_before > now or job.id in self.running:
                continue
            repository = job.repository
            if repository is not None:
                if per_repository.get(repository, 0) >= settings.per_repository:
                    continue
                per_repository[repository] = per_repository.get(repository, 0) + 1
            del self.pending[job.id]
            self.running[job.id] = asyncio.get_running_loop().create_task(
                self._run(job, pending), name=f"job {job.id}"
            )

    # -- one run ---------------------------------------------------------------------------

    async def _run(self, job: ScheduledJob, pending: Pending) -> None:
        try:
            run = await self._claim_and_run(job, pending)
            if run is not None:
                self._after(job, pending, run)
        except Exception:
            logger.exception("job %s could not run", job.id, extra={"job": job.id})
        finally:
            self.running.pop(job.id, None)
            self.processes.pop(job.id, None)

    async def _claim_and_run(self, job: ScheduledJob, pending: Pending) -> JobRun | None:
        started = self.clock()
        claim = Claim(
            job=job.id,
            kind=job.kind,
            due_at=pending.due_at,
            attempt=pending.attempt,
            trigger=pending.trigger,
            started_at=started,
            deadline=started + job.timeout,
            host=self.host,
            pid=None,
        )
        run_id = await asyncio.to_thread(claim_run, self.store, claim)
        if run_id is None:
            logger.info("job %s: slot %s already claimed", job.id, pending.due_at.isoformat())
            return None
        logger.info(
            "job %s started (%s, attempt %d)",
            job.id,
            pending.trigger,
            pending.attempt,
            extra={"job": job.id, "run": run_id},
        )
        process = await asyncio.create_subprocess_exec(
            *self.command,
            "--plan",
            str(self.plan_path),
            "jobs",
            "run",
            job.id,
            "--run-id",
            str(run_id),
            "--json",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "REPRISE_LOG_FORMAT": "json"},
        )
        self.processes[job.id] = process
        await asyncio.to_thread(set_pid, self.store, run_id, process.pid)
        stderr = asyncio.get_running_loop().create_task(_tail(process))
        status: Status | None = None
        try:
            await asyncio.wait_for(process.wait(), job.timeout.total_seconds())
        except TimeoutError:
            status = "timeout"
            await _stop(process)
        except asyncio.CancelledError:
            await _stop(process)
            await asyncio.to_thread(
                finish_run,
                self.store,
                run_id,
                status="cancelled",
                finished_at=self.clock(),
                error="the service stopped during the run",
            )
            raise
        tail = await stderr
        run = await asyncio.to_thread(get_run, self.store, run_id)
        if run.status == "running" or status == "timeout":
            # the child ended without recording its end: killed, crashed or timed out
            error = (
                f"stopped after {duration(job.timeout, 'en')} (the job's timeout)"
                if status == "timeout"
                else f"the run's process ended with code {process.returncode}: {tail}"
            )
            await asyncio.to_thread(
                finish_run,
                self.store,
                run_id,
                status=status or "failed",
                finished_at=self.clock(),
                exit_code=process.returncode,
                error=error,
            )
            run = await asyncio.to_thread(get_run, self.store, run_id)
        logger.log(
            logging.INFO if run.status == "ok" else logging.WARNING,
            "job %s %s in %.1f s%s",
            job.id,
            run.status,
            run.duration or 0.0,
            f": {run.error}" if run.error else "",
            extra={"job": job.id, "run": run.id, "status": run.status},
        )
        return run

    def _after(self, job: ScheduledJob, pending: Pending, run: JobRun) -> None:
        """Retry a retryable failure; tell whoever listens how the run ended."""
        settings = self.plan.scheduler
        if run.status == "failed" and run.retryable and pending.attempt <= settings.retries:
            wait = settings.retry_backoff * (2 ** (pending.attempt - 1))
            if job.id not in self.pending:
                self._queue(
                    Pending(
                        self.clock() + wait, job.id, pending.due_at, pending.attempt + 1, "retry"
                    )
                )
                logger.info("job %s: retry in %s", job.id, wait, extra={"job": job.id})
                return
        if self.on_end is not None:
            self.on_end(job, run)

    async def stop(self) -> None:
        """Stop every run in progress (each recorded as cancelled) and drop waiting ones."""
        self.pending.clear()
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _tail(process: asyncio.subprocess.Process, keep: int = 4000) -> str:
    """The end of a child's stderr, read as it comes (a full pipe would block it)."""
    assert process.stderr is not None
    tail = b""
    while chunk := await process.stderr.read(65536):
        tail = (tail + chunk)[-keep:]
    lines = tail.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM to the run's process group, SIGKILL after :data:`KILL_GRACE`."""
    for signum, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            await asyncio.wait_for(process.wait(), wait)
            return
        except TimeoutError:
            continue
