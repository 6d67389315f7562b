"""The WAL archive of a physical source: the settings `wal push` (PostgreSQL's
archive_command) and `wal fetch` (its restore_command) work from, the asynchronous
archiver's pusher, and what the archive holds per timeline."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import InputError, RepriseError
from reprise.paths import default_state_dir
from reprise.plan.jobs import backup_jobs
from reprise.repository import open_backend
from reprise.wal import cache, outbox
from reprise.wal.access import open_archive, push_now
from reprise.wal.inventory import TimelineRange, inventory
from reprise.wal.names import WAL_FILE
from reprise.wal.outbox import Pusher, PushReport, SpoolStatus
from reprise.wal.select import wal_job
from reprise.wal.settings import WalSettings, compile_settings

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob
    from reprise.plan.loader import LoadedPlan
    from reprise.plan.model import Plan
    from reprise.repository.backend import Backend
    from reprise.store import Store

__all__ = [
    "PushReport",
    "SpoolStatus",
    "TimelineRange",
    "WalInventory",
    "WalListRequest",
    "WalPusherRequest",
    "WalPushers",
    "WalSettings",
    "check_wal_name",
    "list_wal",
    "remember_settings",
    "run_pusher",
    "spool_status",
    "start_wal_pushers",
    "wal_backend",
    "wal_spool",
]


def remember_settings(loaded: LoadedPlan, source: str | None) -> WalSettings:
    """What `wal push`/`wal fetch` need from the plan (paths, public keys, limits) for the
    physical source ``source`` (else the only one), kept in the user's cache for the next
    runs (see :mod:`reprise.wal.settings` and :mod:`reprise.wal.cache`)."""
    settings = compile_settings(loaded, source)
    cache.store(loaded.path, source, settings, loaded.env_file_values)
    return settings


def wal_backend(plan: Plan, settings: WalSettings) -> Backend:
    """The repository the source archives into, opened from the plan (any kind)."""
    return open_backend(plan, settings.repository)


def check_wal_name(name: str) -> None:
    """Refuse (InputError) a name that is not a WAL file's, before anything is read."""
    if not WAL_FILE.match(name):
        raise InputError(
            f"{name!r} is not a WAL file name", hint="restore_command = 'reprise wal fetch %f %p'"
        )


@dataclass(frozen=True)
class WalPusherRequest:
    """Run the asynchronous archiver of a source: until ``stop`` is set, or, with
    ``idle_exit``, once its spool has stayed empty that many seconds (0: as soon as it is
    empty)."""

    source: str | None = None
    idle_exit: float | None = None
    stop: threading.Event | None = None


def run_pusher(loaded: LoadedPlan, request: WalPusherRequest) -> PushReport:
    """Upload the source's WAL spool into its repository; ``ran`` is False when another
    pusher already holds that spool."""
    settings = compile_settings(loaded, request.source)
    if settings.asynchronous is None:
        raise InputError(
            f"source {settings.source!r} archives synchronously: there is no spool to push",
            hint="add wal_async: {} to its backups entry to archive asynchronously",
        )
    archive = open_archive(settings, wal_backend(loaded.plan, settings))
    return Pusher(
        Path(settings.asynchronous.spool),
        lambda path: push_now(settings, path, archive),
        parallel=settings.asynchronous.parallel,
        idle_exit=request.idle_exit,
        stop=request.stop,
    ).run()


@dataclass(frozen=True)
class WalListRequest:
    """The service whose physical source's archive to describe (and which source, when it
    has several)."""

    service: str
    source: str | None = None


@dataclass
class WalInventory:
    """The archive of one source, per timeline, oldest first; and, when it archives
    asynchronously, what still waits in its spool on this host."""

    source: str
    timelines: list[TimelineRange]
    spool: SpoolStatus | None = None


def list_wal(plan: Plan, store: Store, request: WalListRequest) -> WalInventory:
    """What the WAL archive of the source holds: ranges, sizes, newest time and gaps."""
    job = wal_job(plan, request.source, request.service)
    return WalInventory(job.name, inventory(plan, store, job), spool_status(plan, job))


def wal_spool(plan: Plan, request: WalListRequest) -> SpoolStatus:
    """What waits in the source's asynchronous spool on this host (the repository is not
    read: this answers while it is unreachable); InputError when it archives synchronously."""
    job = wal_job(plan, request.source, request.service)
    found = spool_status(plan, job)
    if found is None:
        raise InputError(
            f"source {job.name!r} archives synchronously: it has no spool",
            hint="add wal_async: {} to its backups entry to archive asynchronously",
        )
    return found


def spool_status(plan: Plan, job: BackupJob) -> SpoolStatus | None:
    """The asynchronous spool of ``job`` on this host (None: it archives synchronously)."""
    wal_async = getattr(job.source, "wal_async", None)
    if wal_async is None:
        return None
    folder = Path(wal_async.spool or (plan.state.dir or default_state_dir()) / "wal-out" / job.name)
    return outbox.status(folder)


@dataclass
class WalPushers:
    """The asynchronous archivers a long-running service keeps going (one thread per
    source whose spool is on this host and belongs to the service's user)."""

    stop: threading.Event
    threads: list[threading.Thread]

    def close(self, timeout: float = 30.0) -> None:
        """Stop them after the uploads in flight."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)


def start_wal_pushers(loaded: LoadedPlan) -> WalPushers:
    """Start a pusher for each asynchronously archived source whose spool this process
    may empty; a spool held by another pusher (the one `wal push` starts) is left to it,
    and the thread waits its turn: the lock is tried again every few seconds."""
    stop = threading.Event()
    threads = []
    for job in backup_jobs(loaded.plan):
        if not job.source.takes_wal or getattr(job.source, "wal_async", None) is None:
            continue
        try:
            settings = compile_settings(loaded, job.name)
        except RepriseError as error:
            logger.error("WAL pusher of %s not started: %s", job.name, error)
            continue
        assert settings.asynchronous is not None
        spool = Path(settings.asynchronous.spool)
        if spool.is_dir() and spool.stat().st_uid != os.geteuid():
            logger.info("WAL spool %s belongs to another user; its `wal push` pushes it", spool)
            continue
        thread = threading.Thread(
            target=_keep_pushing,
            args=(loaded, settings, stop),
            name=f"wal-pusher-{job.name}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return WalPushers(stop, threads)


def _keep_pushing(loaded: LoadedPlan, settings: WalSettings, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            report = run_pusher(loaded, WalPusherRequest(settings.source, None, stop))
        except RepriseError as error:
            logger.error("WAL pusher of %s: %s", settings.source, error)
            report = None
        if report is None or not report.ran:
            stop.wait(5.0)
