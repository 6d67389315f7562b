"""Fetching WAL ahead of replay, so that recovery is not bound by one download at a time.

Two users of a local spool folder:

- ``reprise wal fetch %f %p`` (restore_command written by hand): a file found in the spool
  is moved into place at once; otherwise the requested file and the next ones of the same
  timeline are downloaded in parallel, the requested one into place, the rest into the
  spool for the next calls.
- ``reprise restore --pitr --start``: a feeder thread downloads the whole replay path in
  order, a bounded window ahead of the server, and the server's restore_command is a
  small shell script that takes files from the spool (it needs neither Python nor keys).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from reprise.errors import RepriseError
from reprise.security import make_private_dirs, write_private_file
from reprise.wal.archive import ArchivedFile, WalArchive
from reprise.wal.names import is_segment

PREFETCH = 8
"""Segments fetched per `wal fetch` call when the spool does not have the one asked for."""


def _take(spooled: Path, destination: Path) -> None:
    try:
        spooled.replace(destination)
    except OSError:  # another file system: copy then remove
        shutil.copyfile(spooled, destination)
        spooled.unlink()


def fetch_with_prefetch(
    archive: WalArchive,
    name: str,
    destination: Path,
    identities: list[Any],
    spool: Path,
    *,
    prefetch: int = PREFETCH,
) -> bool:
    """Put WAL file ``name`` at ``destination``; False when the archive does not have it."""
    spooled = spool / name
    if spooled.exists():
        _take(spooled, destination)
        return True
    files = list(archive.files(name[:8]))
    wanted = next((item for item in files if item.name == name), None)
    if wanted is None:
        return False
    make_private_dirs(spool)
    _forget_older(spool, name)
    following = (
        [
            item
            for item in files
            if item.name > name and is_segment(item.name) and not (spool / item.name).exists()
        ][:prefetch]
        if is_segment(name)
        else []
    )
    with ThreadPoolExecutor(max_workers=1 + len(following)) as pool:
        main = pool.submit(archive.fetch, wanted, destination, identities)
        extra = [
            pool.submit(archive.fetch, item, spool / item.name, identities) for item in following
        ]
        main.result()
        for future in extra:  # a failed prefetch is only a missed shortcut
            with contextlib.suppress(RepriseError, OSError):
                future.result()
    return True


def _forget_older(spool: Path, name: str) -> None:
    """Segments before the one asked for will not be asked for again."""
    for path in spool.iterdir():
        if is_segment(path.name) and path.name[:8] == name[:8] and path.name < name:
            with contextlib.suppress(OSError):
                path.unlink()


SCRIPT = """#!/bin/sh
# restore_command of a recovery run by `reprise restore --pitr`, which fills this folder.
# exit 0: file delivered; 1: not in the archive (end of WAL); 255: stop recovery (a fault:
# the fetcher failed, or a file asked again after the spool dropped it).
d={spool}
while :; do
  if [ -f "$d/$1" ]; then
    cp "$d/$1" "$2" || exit 255
    : > "$d/$1.used"
    exit 0
  fi
  [ -f "$d/$1.used" ] && exit 255
  grep -qx -- "$1" "$d/expected" || exit 1
  [ -f "$d/failed" ] && exit 255
  sleep 0.05
done
"""


class Feeder:
    """Downloads a replay path into a spool, ``window`` files ahead of consumption, with
    ``workers`` downloads at a time. The spool belongs to the server's user."""

    def __init__(
        self,
        archive: WalArchive,
        files: Iterable[ArchivedFile],
        identities: list[Any],
        spool: Path,
        *,
        owner: tuple[int, int] | None,
        workers: int = 4,
        window: int = 16,
    ) -> None:
        self.archive = archive
        self.files = list(files)
        self.identities = identities
        self.spool = spool
        self.owner = owner
        self.workers = workers
        self.window = window
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-feeder", daemon=True)

    @property
    def script(self) -> Path:
        """The restore_command script."""
        return self.spool / "fetch.sh"

    def restore_command(self) -> str:
        """The value for restore_command."""
        return f"{shlex.quote(str(self.script))} %f %p"

    def prepare(self) -> None:
        """Create the spool, the list of expected names and the script."""
        make_private_dirs(self.spool)
        write_private_file(
            self.spool / "expected", "".join(item.name + "\n" for item in self.files).encode()
        )
        write_private_file(
            self.script, SCRIPT.format(spool=shlex.quote(str(self.spool))).encode(), mode=0o700
        )
        self._own(self.spool, self.spool / "expected", self.script)

    def _own(self, *paths: Path) -> None:
        if self.owner is not None:
            for path in paths:
                os.chown(path, *self.owner)

    def start(self) -> None:
        """Start feeding in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop feeding (recovery is over) and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=60)

    def _deliver(self, item: ArchivedFile) -> None:
        temporary = self.spool / f".{item.name}.part"
        self.archive.fetch(item, temporary, self.identities)
        self._own(temporary)
        temporary.chmod(0o600)
        temporary.replace(self.spool / item.name)

    def _run(self) -> None:
        futures: list[Future[None]] = []
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                for index, item in enumerate(self.files):
                    while not self._stop.is_set() and self._ahead(index) >= self.window:
                        time.sleep(0.02)
                    if self._stop.is_set():
                        break
                    futures.append(pool.submit(self._deliver, item))
                    self._raise_failures(futures)
                for future in futures:
                    if self._stop.is_set():
                        future.cancel()
                        continue
                    future.result()
        except BaseException as error:  # noqa: BLE001 - reported to the restore
            self.error = error
            with contextlib.suppress(OSError):
                write_private_file(self.spool / "failed", str(error).encode())
                self._own(self.spool / "failed")

    def _ahead(self, index: int) -> int:
        """Files submitted and not yet taken by the server; a segment is removed from the
        spool once the server has taken the next one (it may re-read the latest)."""
        count = 0
        recent = self.files[max(0, index - self.window * 2) : index]
        for position, item in enumerate(recent):
            used = (self.spool / f"{item.name}.used").exists()
            if not used and is_segment(item.name):
                count += 1
            elif (
                used
                and position + 1 < len(recent)
                and is_segment(item.name)
                and (self.spool / f"{recent[position + 1].name}.used").exists()
            ):
                with contextlib.suppress(OSError):
                    (self.spool / item.name).unlink()
        return count

    @staticmethod
    def _raise_failures(futures: list[Future[None]]) -> None:
        for future in futures[-8:]:
            if future.done() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
