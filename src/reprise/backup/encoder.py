"""The ``zstd | age --encrypt`` pipeline a part is stored by, in two child processes.

In-process, python-zstandard and pyrage take turns with our own hashing and writing for
the GIL (pyrage holds it while it encrypts): the backup then runs behind the stock
``pg_dump | zstd`` pipe by the cost of that contention. Here the producer's output goes
to ``zstd`` without passing through Python (``splice`` from pipe to pipe, counted on the
way), zstd's output goes straight to ``age`` through a pipe this process never reads, and
we only read age's output, hash it and hand it to the repository: the stored SHA-256
that the signed manifest records.

No SHA-256 of the plain bytes is taken from a pipe: zstd writes a checksum of the plain
content into the frame (``--check``), which every decompression verifies, and the stored
checksum in the signed manifest fixes the stored bytes, which age (authenticated) and zstd
(deterministic) turn into exactly one plain content. The plain size is counted and signed.
A regular file is read, not spliced, and hashed (see :func:`is_file`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from reprise.errors import OperationError
from reprise.repository.streams import widen

log = logging.getLogger("reprise.backup")

SPLICE_BLOCK = 1024 * 1024
"""Bytes moved per ``splice`` call (a pipe's size)."""

SMALL = 256 * 1024
PAUSE = 0.001
"""After moving fewer than SMALL bytes, wait PAUSE seconds before the next call: pg_dump
writes 8 KiB at a time, and draining each write as it comes costs a wake-up of every
program down the pipeline (measured: 0.7 s of CPU on a 1 GB dump, a fifth of the stock
pipe's). In PAUSE a producer writes a few hundred KiB, far below the 1 MiB pipe, so it
never waits for us; a fast one fills whole blocks and is never paused."""


def pause_after(count: int) -> None:
    """Let a few hundred KiB gather in the pipe after a small read (see SMALL)."""
    if count < SMALL:
        time.sleep(PAUSE)


_ENDING = 0.05  # seconds a program may take to finish dying before we kill it


def native_recipients(recipients: list[Any]) -> list[str] | None:
    """The recipients as ``age1…`` strings for the age program, or None when one is not a
    native X25519 recipient (then pyrage encrypts in-process)."""
    import pyrage

    found = []
    for recipient in recipients:
        if not isinstance(recipient, pyrage.x25519.Recipient):
            return None
        found.append(str(recipient))
    return found or None


def _trusted(path: str) -> bool:
    """Whether the program at ``path`` may be run on the plain bytes: a regular executable
    file that nobody else can replace (neither it nor its folder writable by everyone,
    unless the folder is sticky; owned by root when we run as root). A ``zstd`` dropped
    in a shared folder on PATH must not see a root backup's data."""
    try:
        program = Path(path).stat()
        folder = Path(path).parent.stat()
    except OSError:
        return False
    if not stat.S_ISREG(program.st_mode) or program.st_mode & stat.S_IWOTH:
        return False
    if folder.st_mode & stat.S_IWOTH and not folder.st_mode & stat.S_ISVTX:
        return False
    return not (os.geteuid() == 0 and program.st_uid != 0)


def _find(name: str) -> str | None:
    """``name`` in the absolute folders of PATH (a relative entry, such as ``.`` or an
    empty one, would make the program depend on the working folder)."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if not Path(folder).is_absolute():
            continue
        found = shutil.which(name, path=folder)
        if found is None:
            continue
        if _trusted(found):
            return found
        log.warning("not running %s: others could have replaced it", found)
    return None


def programs() -> tuple[str, str] | None:
    """The ``zstd`` and ``age`` programs on PATH, or None when one is missing."""
    zstd, age = _find("zstd"), _find("age")
    return (zstd, age) if zstd and age else None


_ENVIRONMENT = {"LC_ALL": "C"}
"""The programs' whole environment: none of ours (credentials for a repository, a
database password, ZSTD_CLEVEL) is theirs to see or to change their work."""


def is_file(source: BinaryIO) -> bool:
    """Whether ``source`` is a regular file (a WAL file above the archive's in-memory
    limit): its bytes pass through this process anyway, and its reader compares their
    SHA-256 with the file's, so the plain bytes are hashed (see :class:`Encoder`)."""
    try:
        return stat.S_ISREG(os.fstat(source.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


def _is_pipe(source: BinaryIO) -> int | None:
    """The descriptor of ``source`` when it is a pipe (then ``splice`` moves its bytes
    without copying them through Python). Sources are handed over fresh, nothing read
    from them yet, so no byte waits in a buffer of theirs."""
    try:
        descriptor = source.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    try:
        if not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
            return None
    except OSError:
        return None
    return descriptor if hasattr(os, "splice") else None


class Encoder:
    """zstd and age running on one part's plain bytes; a thread feeds zstd from
    ``source``. Read the stored bytes from :attr:`stored`; then :meth:`close` and
    :meth:`failure`."""

    def __init__(
        self,
        source: BinaryIO,
        *,
        zstd: str,
        age: str,
        recipients: list[str],
        level: int,
        threads: int,
        name: str,
        hash_plain: bool = False,
    ) -> None:
        self._source = source
        self.plain_hash = hashlib.sha256() if hash_plain else None
        self._name = name
        self._errors = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
        self._said_text: list[str] = []
        self._stopped: list[subprocess.Popen[bytes]] = []
        self.plain_size = 0
        self.feed_failure: BaseException | None = None
        try:
            self.zstd = self._start(
                "zstd",
                [zstd, "--quiet", "--stdout", f"-{level}", f"-T{threads}", "--check"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors[0],
            )
        except BaseException:
            self._drop_errors()
            raise
        assert self.zstd.stdin is not None and self.zstd.stdout is not None
        widen(self.zstd.stdin.fileno())
        widen(self.zstd.stdout.fileno())
        argv = [age, "--encrypt"]
        for recipient in recipients:
            argv += ["--recipient", recipient]
        try:
            self.age = self._start(
                "age", argv, stdin=self.zstd.stdout, stdout=subprocess.PIPE, stderr=self._errors[1]
            )
        except BaseException:
            self._kill(self.zstd)
            self.zstd.wait()
            with contextlib.suppress(OSError):
                self.zstd.stdin.close()
            self._drop_errors()
            raise
        finally:
            self.zstd.stdout.close()  # age holds it now
        assert self.age.stdout is not None
        widen(self.age.stdout.fileno())
        self.stored: BinaryIO = self.age.stdout  # type: ignore[assignment]
        # A descriptor of our own: the caller closes the source once we return, and a
        # feeder still waiting on it (after a failure) must never read from whatever file
        # is opened next under the same number.
        descriptor = None if hash_plain else _is_pipe(source)
        self._descriptor = os.dup(descriptor) if descriptor is not None else None
        self._feeder = threading.Thread(target=self._feed, name="store-feed", daemon=True)
        self._feeder.start()

    def _start(self, label: str, argv: list[str], **streams: Any) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                argv, env=_ENVIRONMENT, start_new_session=True, bufsize=0, **streams
            )
        except OSError as error:
            raise OperationError(
                f"{self._name}: cannot start {argv[0]}: {error.strerror or error}",
                hint=f"check that the `{label}` program works, then run the backup again",
            ) from error

    def _drop_errors(self) -> None:
        for errors in self._errors:
            errors.close()

    def _feed(self) -> None:
        into = self.zstd.stdin
        assert into is not None
        try:
            if self._descriptor is not None:
                source, target = self._descriptor, into.fileno()
                while moved := os.splice(source, target, SPLICE_BLOCK):
                    self.plain_size += moved
                    pause_after(moved)
            else:
                while data := self._source.read(SPLICE_BLOCK):
                    self.plain_size += len(data)
                    if self.plain_hash is not None:
                        self.plain_hash.update(data)
                    view = memoryview(data)
                    while view:  # a raw pipe may take part of a block
                        view = view[into.write(view) or 0 :]
        except BrokenPipeError:
            pass  # zstd stopped reading: its exit status says why
        except BaseException as error:  # noqa: BLE001 - raised on the calling thread
            self.feed_failure = error
        finally:
            with contextlib.suppress(OSError):
                into.close()
            if self._descriptor is not None:
                with contextlib.suppress(OSError):
                    os.close(self._descriptor)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            process.kill()

    def close(self, *, stop: bool) -> None:
        """Wait for (or with ``stop``, kill) both programs and the feeding thread."""
        if stop:
            for process in (self.zstd, self.age):
                try:  # one that already ended on its own keeps its exit status
                    process.wait(timeout=_ENDING)
                except subprocess.TimeoutExpired:
                    self._stopped.append(process)
                    self._kill(process)
            with contextlib.suppress(OSError):
                self.stored.close()
        self.age.wait()
        if self.age.returncode != 0 and self.age not in self._stopped:
            # age failed (or was killed) on its own: zstd, which may be waiting for plain
            # bytes the producer is slow to give, would only learn it at its next write.
            # What becomes of it follows from age's failure, which is the one reported.
            self._stopped.append(self.zstd)
            self._kill(self.zstd)
        self.zstd.wait()
        # The feeder ends once zstd took all the plain bytes. When zstd failed or was
        # stopped, it may be waiting on the producer, which the caller stops next.
        ended = self.zstd.returncode == 0
        self._feeder.join(None if ended else _ENDING)
        with contextlib.suppress(OSError):
            self.stored.close()
        # Once only: an interrupt during a first close leads to a second one (stopping).
        kept, self._errors = self._errors, []
        for errors in kept:
            errors.seek(0)
            self._said_text.append(errors.read()[-2000:].decode(errors="replace"))
            errors.close()

    def _said(self, index: int, process: subprocess.Popen[bytes]) -> str:
        said = self._said_text[index] if index < len(self._said_text) else ""
        lines = said.strip().splitlines()
        return lines[-1] if lines else f"exited with code {process.returncode}"

    def failure(self) -> BaseException | None:
        """Why the encoding failed, once :meth:`close` returned: the producer's read
        error, or zstd or age failing or killed by a signal we did not send."""
        if self.feed_failure is not None:
            return self.feed_failure
        for index, (label, process) in enumerate((("zstd", self.zstd), ("age", self.age))):
            code = process.returncode
            if code == 0 or any(process is ours for ours in self._stopped):
                continue
            reason = f"killed by signal {-code}" if code < 0 else self._said(index, process)
            return OperationError(
                f"{self._name}: {label} failed while storing the part: {reason}",
                hint=f"check that the `{label}` program works, then run the backup again",
            )
        return None
