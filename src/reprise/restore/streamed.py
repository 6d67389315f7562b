"""Loading a custom-format dump while its part is still being read.

Staging first costs a whole decoding pass (``age -d | zstd -d`` of a 1 GB dump: about a
second on one core) before ``pg_restore`` can open the file. Here ``pg_restore`` loads the
schema and the data from zstd's output as it comes, while the same bytes are written to
the staged file (``tee`` then ``splice``: no copy through Python); the indexes and
constraints (post-data) are then built with ``--jobs`` from that file, once the whole part
is proven. With one job there is no file: one ``pg_restore`` reads everything.

What reaches ``pg_restore`` is the backup's, byte for byte: the part's chunks are signed
(``Part.chunk_sha256``) and age gets a chunk only once its checksum matched
(:class:`reprise.restore.decoders.Decoder`). A damaged chunk stops the stream there: the
caller drops the database it was creating, so nothing of a damaged part stays. That is
why only a database the restore creates is streamed (:func:`streamable`); one that exists
is restored from a part verified whole first, as before.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import OperationError
from reprise.repository.streams import BLOCK, widen
from reprise.restore.decoders import altered, prove_stored
from reprise.restore.logical import run_tool, tool_failure
from reprise.restore.pipelined import Cancelled
from reprise.restore.staging import part_decoder
from reprise.security import create_private_file

if TYPE_CHECKING:
    from reprise.repository import Repository
    from reprise.repository.manifest import Manifest, Part
    from reprise.repository.streams import Progress

_ENDING = 5.0  # seconds pg_restore may take to end once killed
IGNORED_ERRORS = "errors ignored on restore"
"""What pg_restore says at the end when it went past errors (and exits 1)."""

FIRST_PROBE = 1024 * 1024
LAST_PROBE = 256 * 1024 * 1024
"""The staged file is asked (:class:`_Fork`'s ``enough``) whether it holds the dump's whole
table of contents when it reaches FIRST_PROBE bytes, then four times as many each time up
to LAST_PROBE; past that, the whole dump is written."""


def streamable(part: Part, *, creates_database: bool, programs: object | None) -> bool:
    """A custom-format database part whose chunks are signed, restored into a database
    this restore creates, with the age and zstd programs at hand."""
    return (
        creates_database
        and programs is not None
        and part.role == "database"
        and part.format == "custom"
        and part.chunked
    )


def staging_need(part: Part, streamed: bool, jobs: int) -> int:
    """Staging space a part takes: all its plain bytes when staged; when streamed, none
    with one job (no file), else at most what the table of contents needs (LAST_PROBE)."""
    if not streamed:
        return part.plain_size
    return 0 if jobs <= 1 else min(part.plain_size, LAST_PROBE)


def _tee_function() -> Callable[[int, int, int], int] | None:
    """Linux's ``tee(2)`` (duplicate a pipe's bytes into another pipe without consuming
    them), or None where the C library lacks it."""
    import ctypes  # only once a stream forks: not on every command's start-up

    from reprise import libc

    function = libc.function("tee")
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint]
    function.restype = ctypes.c_ssize_t

    def tee(source: int, target: int, count: int) -> int:
        while True:
            moved = int(function(source, target, count, 0))
            if moved >= 0:
                return moved
            code = ctypes.get_errno()
            if code != errno.EINTR:
                raise OSError(code, os.strerror(code))

    return tee


class _Fork:
    """Moves zstd's output (a pipe) to pg_restore's input (a pipe) and to the staged file
    (``file``), until ``enough()`` says the file holds what the post-data step reads (the
    archive's table of contents: it names every index and constraint, and they have no
    data), then to pg_restore alone. pg_restore may stop reading before the end (it has
    what it needs, or it failed): the rest is then read and dropped, or still written
    while the file needs it. More bytes than ``limit`` stop it (:attr:`over`)."""

    def __init__(
        self,
        source: int,
        restore: int,
        file: int | None,
        limit: int,
        enough: Callable[[], bool] | None = None,
    ) -> None:
        self._source = source
        self._restore: int | None = restore
        self._file = file
        self._limit = limit
        self._enough = enough
        self._next_probe = FIRST_PROBE
        self.moved = 0
        self.over = False
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stream-fork", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end of zstd's output; False when still running after ``timeout``."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _stop_restore(self) -> None:
        if self._restore is not None:
            with contextlib.suppress(OSError):
                os.close(self._restore)
            self._restore = None

    def _run(self) -> None:
        tee = _tee_function() if self._file is not None else None
        buffer = memoryview(bytearray(BLOCK))
        try:
            while True:
                count = self._move(tee, buffer)
                if not count:
                    return
                self.moved += count
                if self.moved > self._limit:
                    self.over = True  # cannot happen with signed chunks; never unbounded
                    return
                self._probe()
        except BaseException as error:  # noqa: BLE001 - raised on the calling thread
            self.failure = error
        finally:
            self._stop_restore()  # pg_restore sees the end of its input
            os.close(self._source)

    def _probe(self) -> None:
        """Stop writing the file once it holds enough (see FIRST_PROBE)."""
        if self._file is None or self._enough is None or self.moved < self._next_probe:
            return
        if self._enough():
            self._file = None
            return
        self._next_probe *= 4
        if self._next_probe > LAST_PROBE:
            self._enough = None  # the whole dump goes to the file

    def _move(self, tee: Callable[[int, int, int], int] | None, buffer: memoryview) -> int:
        """One step: up to a block from zstd to wherever it goes; 0 at the end."""
        try:
            if self._restore is not None and self._file is not None and tee is not None:
                count = tee(self._source, self._restore, BLOCK)
                _splice_all(self._source, self._file, count)
                return count
            if self._restore is not None and self._file is None:
                return os.splice(self._source, self._restore, BLOCK)
        except BrokenPipeError:  # pg_restore stopped reading
            self._stop_restore()
            return self._move(tee, buffer)
        if self._restore is None and self._file is not None:
            return os.splice(self._source, self._file, BLOCK)
        count = os.readv(self._source, [buffer])  # no tee(2), or nobody left to read it
        for target in (self._restore, self._file):
            if target is None:
                continue
            try:
                _write_all(target, buffer[:count])
            except BrokenPipeError:
                if target != self._restore:
                    raise
                self._stop_restore()
        return count


def _lists(pg_restore: str, path: Path) -> bool:
    """``pg_restore --list`` reads the file's whole table of contents (the post-data step
    needs nothing else)."""
    result = subprocess.run(
        [pg_restore, "--list", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return result.returncode == 0


def _splice_all(source: int, target: int, count: int) -> None:
    while count:
        moved = os.splice(source, target, count)
        if not moved:
            raise OSError(errno.EIO, "the stream ended before the bytes tee saw")
        count -= moved


def _write_all(target: int, data: memoryview) -> None:
    while data:
        data = data[os.write(target, data) :]


class DumpStream:
    """One custom-format part, to be loaded by pg_restore while it is read (see the
    module's documentation). ``path`` is where the staged file goes when one is needed."""

    def __init__(
        self,
        repository: Repository,
        manifest: Manifest,
        part: Part,
        programs: tuple[str, str, bytes],
        path: Path,
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.repository = repository
        self.manifest = manifest
        self.part = part
        self.programs = programs
        self.path = path
        self.progress = progress
        self.cancel = cancel
        self.proven = False
        """Every stored byte matched the signed manifest: the load is whole (whatever
        pg_restore made of it)."""

    def restore(
        self, argv: list[str], database: str, env: dict[str, str], *, jobs: int, what: str
    ) -> None:
        """Run ``argv`` (pg_restore and its options) into ``database`` (a ``--dbname=``
        argument) from the decoded stream: everything with one job, else the schema and
        data from the stream and the post-data with ``jobs`` from the staged file. Raises
        VerificationError naming the part when its bytes are not the signed ones,
        OperationError when pg_restore fails. Until :attr:`proven` is set, whatever ends
        the call (a damaged chunk, a killed program, Ctrl-C) left a stream that was cut:
        the caller drops the database it created."""
        staged = jobs > 1
        first = [*argv, "--section=pre-data", "--section=data"] if staged else list(argv)
        try:
            with contextlib.ExitStack() as files:
                file = None
                if staged:
                    file = create_private_file(self.path)
                    files.callback(os.close, file)
                ignored = self._load([*first, database], env, file, what)
            if staged:
                # Errors pg_restore went past (an owner it could not set) leave the data
                # whole: the indexes and constraints are still built, as one pg_restore
                # -j would, and the errors are reported after.
                run_tool(
                    [*argv, "--section=post-data", f"--jobs={jobs}", database, str(self.path)],
                    what=what,
                    env=env,
                )
            if ignored is not None:
                raise ignored
        finally:
            if staged:
                with contextlib.suppress(OSError):
                    self.path.unlink()

    def _load(
        self, argv: list[str], env: dict[str, str], file: int | None, what: str
    ) -> OperationError | None:
        """Feed pg_restore the decoded stream; raise when it or the stream fails, except
        for errors pg_restore went past ("errors ignored on restore"): those are returned,
        for after the post-data step."""
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
        with (
            errors,
            part_decoder(
                self.repository,
                self.manifest,
                self.part,
                self.programs,
                progress=self.progress,
                cancel=self.cancel,
                name="stream-feed",
            ) as (decoder, location),
        ):
            restore = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=env,
                start_new_session=True,
            )
            assert restore.stdin is not None and decoder.zstd.stdout is not None
            widen(restore.stdin.fileno())
            fork = _Fork(  # on its own descriptors: ours close whatever the fork is doing
                os.dup(decoder.zstd.stdout.fileno()),
                os.dup(restore.stdin.fileno()),
                file,
                self.part.plain_size,
                enough=lambda: _lists(argv[0], self.path),
            )
            restore.stdin.close()  # the fork holds its own descriptor
            try:
                # The fork first: it ends with zstd's output, or on its own failure (a
                # full disk), after which zstd would wait forever for a reader.
                while not fork.join(0.2):
                    if self.cancel is not None and self.cancel.is_set():
                        raise Cancelled
                if fork.over:
                    raise altered(location)
                if fork.failure is not None:
                    raise self._fork_failure(fork.failure)  # below: zstd and the rest stopped
                decoder.wait()
            except BaseException:
                _kill(restore)
                decoder.close(stop=True)
                fork.join()
                raise
            decoder.close(stop=False)
            failure = decoder.failure(location)
            if decoder.over or failure is not None:
                _kill(restore)  # a cut stream: what it loaded is dropped by the caller
                if decoder.over:
                    raise altered(location)
                assert failure is not None
                raise failure
            try:
                prove_stored(decoder, self.part, location, fork.moved)
            except BaseException:
                _kill(restore)
                raise
            self.proven = True
            code = restore.wait()
            if code == 0:
                return None
            errors.seek(0)
            said = errors.read().decode(errors="replace")
            failure = tool_failure(what, code, said)
            if code == 1 and IGNORED_ERRORS in said:
                return failure
            raise failure

    def _fork_failure(self, error: BaseException | None) -> BaseException:
        """The fork's error as the user should see it: the staged file's disk is full
        (or failing), not the backup."""
        if isinstance(error, OSError):
            from reprise.repository.local import storage_error

            return storage_error(error, self.path, "writing")
        assert error is not None
        return error


def _kill(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(OSError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_ENDING)
