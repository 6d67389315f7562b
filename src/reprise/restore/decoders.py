"""The ``age --decrypt | zstd --decompress`` pipeline a stored part is decoded by, in two
child processes.

python-zstandard holds the GIL while it decompresses, and pyrage while it decrypts: done
in-process, nothing else of ours runs meanwhile. Here the stored bytes go to ``age``,
whose output goes straight to ``zstd`` through a pipe this process never reads; a thread of
ours reads the stored part, hashes it and feeds ``age``. zstd's output is either a pipe we
read (:attr:`Decoder.plain`, the PITR unpacker) or a file we created (``output``: a
restore's staged dump, written by zstd itself). Shared by
:mod:`reprise.restore.unpack_part` and :mod:`reprise.restore.staging`.

What the callers prove (:func:`prove_stored`): the stored bytes' size and SHA-256 against
the signed manifest, and the plain size. The plain bytes need no second hash: age is
authenticated encryption (its header MAC admits one file key, every chunk is
authenticated) and zstd decoding is deterministic, so stored bytes equal to the signed
ones decode to the plain bytes that were backed up, whoever re-wrote the file.

The identity reaches age through a pipe (``/dev/fd/N``), never a file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import queue
import resource
import signal
import subprocess
import tempfile
import threading
from typing import IO, TYPE_CHECKING, BinaryIO

from reprise.errors import OperationError, VerificationError
from reprise.repository.streams import BLOCK, widen
from reprise.restore.pipelined import Cancelled

if TYPE_CHECKING:
    from reprise.repository.manifest import Part
    from reprise.repository.streams import Progress

ZSTD_WRITE_ERROR = 70
"""zstd's exit status when it cannot write its output (a full disk): not a damaged part."""

_POLL = 0.2  # seconds between looks at ``cancel`` while the programs run
_ENDING = 0.05  # seconds a program may take to finish dying before we kill it

STALL_TIMEOUT = 600.0
"""Seconds in which neither a stored byte is read nor a plain byte comes out, before both
programs are killed (a hung program, a stalled store): a restore never waits forever."""


def damaged(where: str, what: str) -> VerificationError:
    """A part whose bytes age or zstd refused."""
    return VerificationError(f"{where}: {what}: the part is damaged", hint="use another backup")


def altered(location: str) -> VerificationError:
    """A part whose stored bytes are not the signed ones."""
    return VerificationError(
        f"{location}: checksum mismatch: the stored bytes were altered",
        hint="use another backup",
    )


class Measured:
    """The plain side: ``readinto`` of zstd's output, counted on the way."""

    def __init__(self, source: IO[bytes], limit: int | None = None, where: str = "") -> None:
        self._source = source
        self._limit = limit
        self._where = where
        self.size = 0

    def readinto(self, buffer: memoryview) -> int:
        count = int(self._source.readinto(buffer) or 0)  # type: ignore[attr-defined]
        self.size += count
        if self._limit is not None and self.size > self._limit:
            # Before a byte past the signed size reaches the unpacker (a zstd bomb).
            raise VerificationError(
                f"{self._where}: decrypted content is larger than what was backed up "
                f"({self._limit} bytes): the stored bytes were altered",
                hint="use another backup",
            )
        return count

    def drain(self) -> None:
        """Read (and measure) what follows the tar's end."""
        buffer = memoryview(bytearray(BLOCK))
        while self.readinto(buffer):
            pass


class Decoder:
    """age and zstd running on a stored part; a thread feeds age and hashes the stored
    bytes. zstd writes to ``output`` (a file descriptor of ours) when given, else to a pipe
    read through :attr:`plain`. ``cancel`` stops the feeding."""

    def __init__(
        self,
        stored: BinaryIO,
        *,
        age: str,
        zstd: str,
        secret: bytes,
        progress: Progress | None,
        output: int | None = None,
        cancel: threading.Event | None = None,
        name: str = "base-feed",
        max_stored: int | None = None,
        max_output: int | None = None,
        where: str = "",
        chunks: tuple[int, list[str]] | None = None,
    ) -> None:
        self._stored = stored
        self._chunks = chunks
        self._max_stored = max_stored
        self.stalled = False
        self._stopped: list[subprocess.Popen[bytes]] = []
        self._progress = progress
        self._cancel = cancel
        self._errors = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
        self._said_text: list[str] = []  # what age and zstd wrote to stderr, once ended
        self.stored_size = 0
        self.stored_hash = hashlib.sha256()
        self.feed_failure: BaseException | None = None
        self.fed = False
        self.over = False  # more stored bytes than ``max_stored``: feeding stopped
        self.chunks_matched = 0  # with ``chunks``: how many were verified and fed
        key_read, key_write = os.pipe()
        try:
            os.write(key_write, secret)  # far below a pipe's buffer
        finally:
            os.close(key_write)
        try:
            self.age = subprocess.Popen(
                [age, "--decrypt", "--identity", f"/dev/fd/{key_read}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors[0],
                pass_fds=(key_read,),
                start_new_session=True,
                bufsize=0,
            )
        finally:
            os.close(key_read)
        assert self.age.stdin is not None and self.age.stdout is not None
        widen(self.age.stdin.fileno())
        widen(self.age.stdout.fileno())
        try:
            self.zstd = subprocess.Popen(
                [zstd, "--decompress", "--stdout", "--quiet"],
                stdin=self.age.stdout,
                stdout=subprocess.PIPE if output is None else output,
                stderr=self._errors[1],
                start_new_session=True,
                bufsize=0,
            )
        except BaseException:
            self._kill(self.age)
            raise
        finally:
            self.age.stdout.close()  # zstd holds it now
        if output is not None and max_output is not None:
            # A file larger than the signed plain size (a re-encrypted "zstd bomb") stops
            # zstd with SIGXFSZ instead of filling the disk. Set before any input exists.
            with contextlib.suppress(OSError, ValueError):
                resource.prlimit(self.zstd.pid, resource.RLIMIT_FSIZE, (max_output, max_output))
        self._plain: Measured | None = None
        if output is None:
            assert self.zstd.stdout is not None
            widen(self.zstd.stdout.fileno())
            self._plain = Measured(self.zstd.stdout, max_output, where)
        self._feeder = threading.Thread(target=self._feed, name=name, daemon=True)
        self._feeder.start()
        self._ended = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name=f"{name}-watch", daemon=True)
        self._watchdog.start()

    def _watch(self) -> None:
        """Kill both programs once neither side moved for :data:`STALL_TIMEOUT` seconds."""
        seen = None
        while not self._ended.wait(STALL_TIMEOUT):
            now = (self.stored_size, self._plain.size if self._plain is not None else 0)
            if now == seen:
                self.stalled = True
                for process in (self.age, self.zstd):
                    self._kill(process)
                return
            seen = now

    @property
    def verified_chunks(self) -> bool:
        """The stored bytes were verified chunk by chunk as they were fed."""
        return self._chunks is not None

    @property
    def plain(self) -> Measured:
        """zstd's output, when it goes to a pipe."""
        assert self._plain is not None, "zstd writes to a file"
        return self._plain

    def _feed(self) -> None:
        into = self.age.stdin
        assert into is not None
        try:
            if self._chunks is not None:
                self._feed_chunks(into, *self._chunks)
                return
            while data := self._stored.read(BLOCK):
                if self._cancel is not None and self._cancel.is_set():
                    return  # age sees a cut stream; the caller raises Cancelled
                self.stored_hash.update(data)
                self.stored_size += len(data)
                if self._max_stored is not None and self.stored_size > self._max_stored:
                    self.over = True  # more than was signed: not worth decoding
                    return
                if self._progress is not None:
                    self._progress(len(data))
                view = memoryview(data)
                while view:  # a raw pipe may take part of a block
                    view = view[into.write(view) or 0 :]
            self.fed = True
        except BrokenPipeError:
            pass  # age stopped reading: its exit status says why
        except BaseException as error:  # noqa: BLE001 - raised on the calling thread
            self.feed_failure = error
        finally:
            with contextlib.suppress(OSError):
                into.close()

    def _feed_chunks(self, into: IO[bytes], size: int, digests: list[str]) -> None:
        """Feed age one chunk at a time, each only once its SHA-256 is the signed one:
        what comes out of zstd is then the backup's, byte for byte, as it comes (the
        whole-part checksum is not needed on top). A mismatch or a chunk too many stops
        the feeding there (:attr:`over`). A helper thread writes each verified chunk to
        age while this one reads and checks the next (two buffers, in turn)."""
        free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(2):
            free.put(bytearray(size))
        ready: queue.Queue[memoryview | None] = queue.Queue()
        broken = threading.Event()

        def write() -> None:
            while (chunk := ready.get()) is not None:
                try:
                    while chunk and not broken.is_set():  # a raw pipe may take part of it
                        chunk = chunk[into.write(chunk) or 0 :]
                except (BrokenPipeError, ValueError):
                    broken.set()  # age stopped reading: its exit status says why
                except BaseException as error:  # noqa: BLE001 - raised by the feeder
                    self.feed_failure = error
                    broken.set()
                finally:
                    free.put(chunk.obj)  # type: ignore[arg-type]

        writer = threading.Thread(target=write, name="feed-writer", daemon=True)
        writer.start()
        try:
            for index in itertools.count():
                buffer = free.get()
                if broken.is_set():
                    return
                view = memoryview(buffer)
                filled = self._read_chunk(view, size)
                if not filled:
                    self.fed = True
                    return
                if (
                    index >= len(digests)
                    or hashlib.sha256(view[:filled]).hexdigest() != (digests[index])
                ):
                    self.over = True  # not the signed bytes: nothing of this chunk goes on
                    return
                if self._cancel is not None and self._cancel.is_set():
                    return  # age sees a cut stream; the caller raises Cancelled
                self.chunks_matched += 1
                ready.put(view[:filled])
        finally:
            ready.put(None)
            writer.join()

    def _read_chunk(self, view: memoryview, size: int) -> int:
        """Fill ``view`` with up to ``size`` stored bytes; how many (0 at the end)."""
        filled = 0
        while filled < size:
            data = self._stored.read(min(BLOCK, size - filled))  # any store has read()
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
            self.stored_size += len(data)
            if self._progress is not None:
                self._progress(len(data))
        return filled

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            process.kill()

    def _said(self, index: int, process: subprocess.Popen[bytes]) -> str:
        lines = self._said_text[index].strip().splitlines()
        return lines[-1] if lines else f"exited with {process.returncode}"

    def wait(self) -> None:
        """Wait for zstd to end (raises ``Cancelled`` once ``cancel`` is set; then
        :meth:`close` with ``stop``)."""
        while True:
            try:
                self.zstd.wait(timeout=_POLL)
            except subprocess.TimeoutExpired:
                if self._cancel is not None and self._cancel.is_set():
                    raise Cancelled from None
                continue
            if self._cancel is not None and self._cancel.is_set():
                raise Cancelled  # the feeding may have stopped early: the output is cut
            return

    def output_too_large(self) -> bool:
        """zstd stopped at ``max_output`` (once both programs have ended)."""
        return self.zstd.returncode == -signal.SIGXFSZ or (
            self.zstd.returncode == ZSTD_WRITE_ERROR and "too large" in self._said(1, self.zstd)
        )

    def write_failure(self, where: str) -> OperationError | None:
        """zstd could not write its output (a full disk), once both programs have ended:
        the part is not to blame."""
        if self.zstd.returncode != ZSTD_WRITE_ERROR:
            return None
        said = self._said(1, self.zstd)
        if "No space left" in said:
            from reprise.repository.local import storage_error

            return storage_error(OSError(errno.ENOSPC, said), where, "writing")
        return OperationError(f"{where}: cannot write ({said})", retryable=True)

    def failure(self, where: str) -> BaseException | None:
        """Why the decoding failed, once both programs have ended: the store's error, age's
        refusal (a damaged or foreign part), zstd's, or either killed by a signal we did
        not send (:meth:`close` records those it killed)."""
        if self.feed_failure is not None:
            return self.feed_failure
        if self.over:
            return altered(where)
        if self.stalled:
            return OperationError(
                f"{where}: age and zstd made no progress for {STALL_TIMEOUT:.0f} s: stopped",
                hint="check the repository's storage, then restore again",
                retryable=True,
            )

        def killed(process: subprocess.Popen[bytes], *, broken_pipe: bool) -> bool:
            """Killed by a signal we did not send (SIGPIPE only when ``broken_pipe``: age
            gets it when zstd dies first)."""
            code = process.returncode
            return (
                code is not None
                and code < 0
                and all(process is not ours for ours in self._stopped)
                and (broken_pipe or code != -signal.SIGPIPE)
            )

        # In stream order: what happened upstream explains what came downstream.
        age_code, zstd_code = self.age.returncode, self.zstd.returncode
        if killed(self.age, broken_pipe=False):  # zstd then only saw a cut stream
            return OperationError(f"{where}: age was killed by signal {-age_code}")
        if age_code is not None and age_code > 0:
            return damaged(where, f"cannot decrypt ({self._said(0, self.age)})")
        if killed(self.zstd, broken_pipe=True) and not self.output_too_large():
            return OperationError(f"{where}: zstd was killed by signal {-zstd_code}")
        if zstd_code is not None and zstd_code > 0:
            return damaged(where, f"decrypts but does not decompress ({self._said(1, self.zstd)})")
        if killed(self.age, broken_pipe=True):
            return OperationError(f"{where}: age was killed by signal {-age_code}")
        return None

    def close(self, *, stop: bool) -> None:
        """Wait for (or with ``stop``, kill) both programs and the feeding thread."""
        if stop:
            # A program that already failed on its own keeps its exit status.
            for process in (self.age, self.zstd):
                try:  # one that closed its output is ending on its own: its status stays
                    process.wait(timeout=_ENDING)
                except subprocess.TimeoutExpired:
                    self._stopped.append(process)
                    self._kill(process)
        for stream in (self.zstd.stdout,):
            if stream is not None and stop:
                with contextlib.suppress(OSError):
                    stream.close()
        self.zstd.wait()
        self.age.wait()
        self._ended.set()
        self._watchdog.join()
        self._feeder.join(None if not self.stalled else _POLL)  # a stalled store read
        for stream in (self.zstd.stdout,):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        for errors in self._errors:
            errors.seek(0)
            self._said_text.append(errors.read()[-2000:].decode(errors="replace"))
            errors.close()


def prove_stored(decoder: Decoder, part: Part, location: str, plain_size: int) -> None:
    """Raise VerificationError unless the stored bytes fed were the signed ones, whole,
    and ``plain_size`` (what zstd gave) is the signed plain size (the stored checksum
    proved the rest)."""
    if decoder.over or not decoder.fed or decoder.stored_size != part.stored_size:
        raise altered(location)
    if decoder.verified_chunks:
        if decoder.chunks_matched != len(part.chunk_sha256 or ()):
            raise altered(location)
    elif decoder.stored_hash.hexdigest() != part.sha256:
        raise altered(location)
    if plain_size != part.plain_size:
        raise VerificationError(
            f"{location}: decrypted content differs from what was backed up",
            hint="use another backup",
        )
