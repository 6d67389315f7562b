"""The ``zstd | age --encrypt`` pipeline a part is stored by, in two child processes.

In-process, python-zstandard and pyrage take turns with our own hashing and writing for
the GIL (pyrage holds it while it encrypts): the backup then runs behind the stock
``pg_dump | zstd`` pipe by the cost of that contention. Here the producer's output goes
to ``zstd`` without passing through Python (``splice`` from pipe to pipe, counted on the
way), zstd's output goes straight to ``age`` through a pipe this process never reads, and
we only read age's output, hash it and hand it to the repository: the stored SHA-256
that the signed manifest records.

No SHA-256 of the plain bytes is taken: zstd writes a checksum of the plain content into
the frame (``--check``), which every decompression verifies, and the stored checksum in the
signed manifest fixes the stored bytes, which age (authenticated) and zstd (deterministic)
turn into exactly one plain content. The plain size is counted and signed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from typing import Any, BinaryIO

from reprise.errors import OperationError
from reprise.repository.streams import widen

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


def programs() -> tuple[str, str] | None:
    """The ``zstd`` and ``age`` programs on PATH, or None when one is missing."""
    zstd, age = shutil.which("zstd"), shutil.which("age")
    return (zstd, age) if zstd and age else None


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
    ) -> None:
        self._source = source
        self._name = name
        self._errors = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
        self._said_text: list[str] = []
        self._stopped: list[subprocess.Popen[bytes]] = []
        self.plain_size = 0
        self.feed_failure: BaseException | None = None
        self.zstd = subprocess.Popen(
            [zstd, "--quiet", "--stdout", f"-{level}", f"-T{threads}", "--check"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors[0],
            start_new_session=True,
            bufsize=0,
        )
        assert self.zstd.stdin is not None and self.zstd.stdout is not None
        widen(self.zstd.stdin.fileno())
        widen(self.zstd.stdout.fileno())
        argv = [age, "--encrypt"]
        for recipient in recipients:
            argv += ["--recipient", recipient]
        try:
            self.age = subprocess.Popen(
                argv,
                stdin=self.zstd.stdout,
                stdout=subprocess.PIPE,
                stderr=self._errors[1],
                start_new_session=True,
                bufsize=0,
            )
        except BaseException:
            self._kill(self.zstd)
            raise
        finally:
            self.zstd.stdout.close()  # age holds it now
        assert self.age.stdout is not None
        widen(self.age.stdout.fileno())
        self.stored: BinaryIO = self.age.stdout  # type: ignore[assignment]
        self._feeder = threading.Thread(target=self._feed, name="store-feed", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        into = self.zstd.stdin
        assert into is not None
        try:
            descriptor = _is_pipe(self._source)
            if descriptor is not None:
                target = into.fileno()
                while moved := os.splice(descriptor, target, SPLICE_BLOCK):
                    self.plain_size += moved
                    pause_after(moved)
            else:
                while data := self._source.read(SPLICE_BLOCK):
                    self.plain_size += len(data)
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
        self.zstd.wait()
        # Stopped: the feeder may be blocked on the producer, which the caller stops next.
        self._feeder.join(None if not stop else _ENDING)
        with contextlib.suppress(OSError):
            self.stored.close()
        for errors in self._errors:
            errors.seek(0)
            self._said_text.append(errors.read()[-2000:].decode(errors="replace"))
            errors.close()

    def _said(self, index: int, process: subprocess.Popen[bytes]) -> str:
        lines = self._said_text[index].strip().splitlines()
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
