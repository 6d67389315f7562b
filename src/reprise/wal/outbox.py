"""Asynchronous WAL archiving: a durable local spool and the pusher that empties it.

The guarantee, precisely: ``wal push`` exits 0 only once the segment is durable in the
repository (synchronous mode) or once a complete copy of it is in the spool, written to a
temporary name, fsync'd, renamed and the folder fsync'd (asynchronous mode). PostgreSQL may
then recycle its own copy; a crash of PostgreSQL, of the pusher or of the host after that
exit loses nothing. Losing the spool's disk loses what waits there, as losing pg_wal would.

Nothing is ever dropped to keep up: when the spool holds ``max_size`` bytes, ``wal push``
fails, PostgreSQL keeps the segment in pg_wal and retries (its log and pg_stat_archiver
show the failure), unlike archivers that acknowledge and discard past a queue limit.

The pusher uploads the spool oldest first, ``parallel`` segments at a time, through the
same signed push as the synchronous mode, and removes a spooled file only after its
upload and signature are committed. Killed mid-upload, it leaves the file in the spool and
an uncommitted object that the next push replaces. One pusher runs per spool (an flock on
``pusher.lock``): inside ``reprise serve``, or started by ``wal push`` when none runs, in
which case it leaves once the spool has stayed empty for a while.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reprise.errors import InputError, OperationError, RepriseError
from reprise.repository.streams import hash_stream
from reprise.security import ensure_owner_only_writable, make_private_dirs
from reprise.wal.names import WAL_FILE

log = logging.getLogger(__name__)

LOCK = "pusher.lock"
LAST_ERROR = "last-error"
PUSHER_LOG = "pusher.log"
COPY_BLOCK = 8 * 1024 * 1024
MAX_BACKOFF = 60.0


def check_spool(spool: Path) -> None:
    """Create the spool (0700) and refuse it (UnsafePermissionsError) when anyone else
    could plant a file in it: the pusher signs what it finds there."""
    make_private_dirs(spool)
    ensure_owner_only_writable(spool, "WAL spool")


def _same_content(first: Path, second: Path) -> bool:
    def measured(path: Path) -> tuple[int, str]:
        with path.open("rb") as handle:
            return hash_stream(handle)

    return first.stat().st_size == second.stat().st_size and measured(first) == measured(second)


def waiting(spool: Path) -> list[Path]:
    """The complete segments in the spool, oldest (by name) first."""
    try:
        found = [path for path in spool.iterdir() if WAL_FILE.match(path.name)]
    except FileNotFoundError:
        return []
    return sorted(found)


def put(spool: Path, segment: Path, max_size: int) -> bool:
    """Copy ``segment`` durably into the spool; True when copied, False when the identical
    file was already waiting. Raises (nothing copied) when the spool is full or holds a
    different file under that name."""
    name = segment.name
    if not WAL_FILE.match(name):
        raise InputError(
            f"{segment}: not a WAL file name",
            hint="archive_command = 'reprise wal push %p' passes the path "
            "of a segment, history or backup file",
        )
    check_spool(spool)
    target = spool / name
    try:
        size = segment.stat().st_size
    except OSError as error:
        raise OperationError(f"{segment}: cannot read ({error.strerror})") from error
    if target.exists():
        if _same_content(target, segment):
            return False
        raise OperationError(
            f"{target}: a different {name} is already waiting to be archived; refusing to "
            "replace it",
            hint="two servers archive through the same spool, or a restored copy still "
            "archives: give each server its own source, or set archive_mode = off on the copy",
        )
    held = sum(_size(path) for path in waiting(spool))
    if held + size > max_size:
        problem = last_error(spool)
        raise OperationError(
            f"{spool}: the WAL spool is full ({held} of {max_size} bytes waiting); "
            f"{name} stays in pg_wal and PostgreSQL will retry"
            + (f" (the pusher's last error: {problem})" if problem else ""),
            hint="see why the pusher cannot upload (`reprise wal list` shows the spool and "
            "its last error); or raise wal_async.max_size",
        )
    return _durable_copy(segment, spool, name)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _durable_copy(segment: Path, spool: Path, name: str) -> bool:
    """Copy, fsync, then link under the final name: a link never replaces a file that
    another server put there meanwhile (a rename would, silently)."""
    temporary = spool / f".{name}.{os.getpid()}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        with segment.open("rb") as source:
            descriptor = os.open(temporary, flags, 0o600)
            try:
                _copy(source.fileno(), descriptor)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        try:
            os.link(temporary, spool / name, follow_symlinks=False)
            copied = True
        except FileExistsError:
            if not _same_content(spool / name, segment):
                raise OperationError(
                    f"{spool / name}: a different {name} is already waiting to be archived; "
                    "refusing to replace it",
                    hint="two servers archive through the same spool: give each server its "
                    "own source",
                ) from None
            copied = False
        folder = os.open(spool, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return copied


def _copy(source: int, target: int) -> None:
    """Copy in the kernel where it can (copy_file_range), else through a buffer."""
    try:
        while os.copy_file_range(source, target, COPY_BLOCK):
            pass
        return
    except OSError as error:
        if error.errno not in {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}:
            raise
    os.lseek(source, 0, os.SEEK_SET)
    os.lseek(target, 0, os.SEEK_SET)
    os.ftruncate(target, 0)
    while chunk := os.read(source, COPY_BLOCK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(target, view) :]


@contextlib.contextmanager
def pusher_lock(spool: Path, *, create: bool = True) -> Iterator[bool]:
    """Hold the spool's pusher lock while the block runs; yields False (and holds nothing)
    when another pusher has it. Only a pusher creates the lock file (``create``): one
    created by whoever merely looks (root reading postgres's spool) would lock the spool's
    owner out of it."""
    flags = (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY
    descriptor = os.open(spool / LOCK, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)


def pusher_running(spool: Path) -> bool:
    """Whether a pusher holds the spool's lock right now."""
    try:
        with pusher_lock(spool, create=False) as mine:
            return not mine
    except (FileNotFoundError, NotADirectoryError):
        return False  # no pusher ever ran here


def last_error(spool: Path) -> str | None:
    """The pusher's last failure, while it has not succeeded since."""
    try:
        descriptor = os.open(spool / LAST_ERROR, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(2000).decode("utf-8", errors="replace")[:500] or None


@dataclass(frozen=True)
class SpoolStatus:
    """What waits in a spool, for `wal list`, the metrics and the audit."""

    spool: str
    segments: int
    size: int
    oldest: str | None
    oldest_since: datetime | None
    pusher_running: bool
    last_error: str | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (times in UTC ISO 8601)."""
        return {
            "spool": self.spool,
            "segments": self.segments,
            "size": self.size,
            "oldest": self.oldest,
            "oldest_since": self.oldest_since.isoformat() if self.oldest_since else None,
            "pusher_running": self.pusher_running,
            "last_error": self.last_error,
        }


def status(spool: Path) -> SpoolStatus:
    """The spool's backlog and its pusher."""
    files = waiting(spool)
    oldest = files[0] if files else None
    since = None
    if oldest is not None:
        with contextlib.suppress(OSError):
            since = datetime.fromtimestamp(oldest.stat().st_mtime, UTC)
    return SpoolStatus(
        str(spool),
        len(files),
        sum(_size(path) for path in files),
        oldest.name if oldest else None,
        since,
        pusher_running(spool),
        last_error(spool),
    )


@dataclass
class PushReport:
    """What one pusher run did."""

    pushed: int = 0
    failures: int = 0
    ran: bool = True
    """False when another pusher held the spool."""


def _sweep(spool: Path, older_than: float = 3600.0) -> None:
    """Remove copies a killed `wal push` left half-written (never reported archived)."""
    limit = time.time() - older_than
    for path in spool.glob(".*.part"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < limit:
                path.unlink()


class Pusher:
    """Uploads a spool until told to stop (``stop``) or, with ``idle_exit``, once the spool
    has stayed empty that long. ``push_one`` archives one file (raising on failure)."""

    def __init__(
        self,
        spool: Path,
        push_one: Callable[[Path], object],
        *,
        parallel: int,
        idle_exit: float | None = None,
        stop: threading.Event | None = None,
        poll: float = 0.1,
    ) -> None:
        self.spool = spool
        self.push_one = push_one
        self.parallel = parallel
        self.idle_exit = idle_exit
        self.stop = stop or threading.Event()
        self.poll = poll
        self.report = PushReport()

    def run(self) -> PushReport:
        """Push until stopped or idle; returns at once (ran=False) if another pusher runs."""
        check_spool(self.spool)
        with pusher_lock(self.spool) as mine:
            if not mine:
                self.report.ran = False
                return self.report
            with ThreadPoolExecutor(max_workers=self.parallel) as pool:
                self._loop(pool)
        return self.report

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        idle_since = time.monotonic()
        backoff = 0.0
        while not self.stop.is_set():
            batch = waiting(self.spool)[: self.parallel * 4]
            if not batch:
                if self.idle_exit is not None and time.monotonic() - idle_since > self.idle_exit:
                    return
                _sweep(self.spool)
                self.stop.wait(self.poll)
                continue
            failures = [error for error in pool.map(self._push, batch) if error is not None]
            idle_since = time.monotonic()
            if failures:
                self.report.failures += len(failures)
                backoff = min(MAX_BACKOFF, max(1.0, backoff * 2))
                self._record_error(failures[0])
                self.stop.wait(backoff)
            else:
                backoff = 0.0
                with contextlib.suppress(FileNotFoundError):
                    (self.spool / LAST_ERROR).unlink()

    def _push(self, path: Path) -> str | None:
        """Archive one spooled file, then remove it; the failure's text otherwise."""
        try:
            self.push_one(path)
        except FileNotFoundError:
            return None  # taken by another pusher run meanwhile
        except (RepriseError, OSError) as error:
            log.warning("WAL pusher: %s: %s", path.name, error)
            return f"{path.name}: {error}"
        except Exception as error:
            log.exception("WAL pusher: %s", path.name)
            return f"{path.name}: internal error: {type(error).__name__}: {error}"
        path.unlink(missing_ok=True)
        self.report.pushed += 1
        return None

    def _record_error(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        temporary = self.spool / f".{LAST_ERROR}.{os.getpid()}"
        with contextlib.suppress(OSError):
            temporary.write_text(f"{stamp} {text}"[:2000], encoding="utf-8")
            temporary.replace(self.spool / LAST_ERROR)
