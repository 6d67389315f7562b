"""The WAL archive of a physical source: archive one file (PostgreSQL's archive_command),
deliver one (its restore_command, fetching the next segments ahead), and describe what
the archive holds per timeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import InputError
from reprise.repository import keys as keyring
from reprise.repository import open_repository
from reprise.store import state_dir
from reprise.wal.archive import WalArchive
from reprise.wal.inventory import TimelineRange, inventory
from reprise.wal.names import WAL_FILE
from reprise.wal.select import wal_job
from reprise.wal.spool import PREFETCH, fetch_with_prefetch

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "TimelineRange",
    "WalFetchRequest",
    "WalInventory",
    "WalListRequest",
    "WalPushRequest",
    "check_wal_name",
    "fetch_wal",
    "list_wal",
    "push_wal",
]


@dataclass(frozen=True)
class WalPushRequest:
    """The WAL file to archive and, when the plan has several, its physical source."""

    path: Path
    source: str | None = None


def push_wal(plan: Plan, request: WalPushRequest) -> bool:
    """Archive one WAL file, compressed, encrypted and signed; False when the identical file
    was already archived. A different file under an archived name is refused."""
    job = wal_job(plan, request.source)
    repository = open_repository(plan, job.source.repository)
    recipients = keyring.age_recipients(keyring.recipients(plan.keys))
    signer = keyring.signing_key(plan.keys)
    return WalArchive(repository, job.name).push(request.path, recipients, signer, level=1)


def check_wal_name(name: str) -> None:
    """Refuse (InputError) a name that is not a WAL file's, before anything is read."""
    if not WAL_FILE.match(name):
        raise InputError(
            f"{name!r} is not a WAL file name", hint="restore_command = 'reprise wal fetch %f %p'"
        )


@dataclass(frozen=True)
class WalFetchRequest:
    """The WAL file wanted and where to put it; the physical source (when the plan has
    several), the folder for segments fetched ahead (default: ``wal-spool/<source>`` in the
    state directory) and how many to fetch ahead."""

    name: str
    destination: Path
    source: str | None = None
    spool: Path | None = None
    prefetch: int = PREFETCH


def fetch_wal(plan: Plan, request: WalFetchRequest) -> bool:
    """Deliver one archived WAL file, fetching the next segments ahead in parallel; False
    when the archive does not have it (the normal end of the WAL)."""
    check_wal_name(request.name)
    job = wal_job(plan, request.source)
    archive = WalArchive(open_repository(plan, job.source.repository), job.name)
    folder = request.spool or state_dir(plan) / "wal-spool" / job.name
    return fetch_with_prefetch(
        archive,
        request.name,
        request.destination,
        keyring.identities(plan.keys),
        folder,
        prefetch=request.prefetch,
    )


@dataclass(frozen=True)
class WalListRequest:
    """The service whose physical source's archive to describe (and which source, when it
    has several)."""

    service: str
    source: str | None = None


@dataclass
class WalInventory:
    """The archive of one source, per timeline, oldest first."""

    source: str
    timelines: list[TimelineRange]


def list_wal(plan: Plan, store: Store, request: WalListRequest) -> WalInventory:
    """What the WAL archive of the source holds: ranges, sizes, newest time and gaps."""
    job = wal_job(plan, request.source, request.service)
    return WalInventory(job.name, inventory(plan, store, job))
