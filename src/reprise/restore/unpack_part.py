"""Unpack one stored tar part in one pass, ``age`` and ``zstd`` decoding in their own processes.

A physical base backup is one large tar (1.3 GB of data directory: 1.1 s of zstd alone on
this class of CPU). Decompressing it in-process holds the GIL (python-zstandard's stream
reader does not release it), so the tar could not be written while the next block
decompressed. Here the stored bytes go to ``age --decrypt``, whose output goes straight to
``zstd -d`` through a pipe this process never reads; this process hashes the stored bytes
on one thread and, on another, unpacks zstd's output with
:func:`reprise.restore.unpack.unpack_stream`, counting it on the way. The three programs
share the two cores without waiting on a lock.

What is proven: the stored bytes' size and SHA-256 against the signed manifest, and the
plain size. The plain bytes are not hashed a second time (0.7 to 0.9 s of a core for
1.3 GB, on a machine whose two cores are both busy here): they are a function of the
stored bytes alone. age is authenticated encryption (its header MAC admits one file key,
every chunk is authenticated) and zstd decompression is deterministic, so stored bytes
equal to the signed ones decode to the plain bytes that were backed up, whoever re-wrote
the file; a re-encrypted or altered part fails the stored checksum. ``into`` is a
private folder that nobody uses before this returns; on any failure the caller removes
it. When ``age`` or ``zstd`` is not installed, or the identities are not native ones,
the part is decoded in-process (:func:`reprise.restore.staging.read_verified`, both
sides hashed) and unpacked the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from reprise.errors import OperationError, VerificationError
from reprise.repository.layout import backup_prefix
from reprise.repository.streams import BLOCK
from reprise.restore.external_age import age_program, secret_lines
from reprise.restore.unpack import UnpackSummary, unpack_stream

if TYPE_CHECKING:
    from reprise.repository import Repository
    from reprise.repository.manifest import Manifest, Part
    from reprise.repository.streams import Progress

PIPE_SIZE = 1024 * 1024
"""Asked for each pipe between the programs (the most Linux allows without privileges)."""


def _widen(descriptor: int) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(descriptor, set_size, PIPE_SIZE)


def _damaged(where: str, what: str) -> VerificationError:
    return VerificationError(f"{where}: {what}: the part is damaged", hint="use another backup")


class _Measured:
    """The plain side: ``readinto`` of zstd's output, counted on the way."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.size = 0

    def readinto(self, buffer: memoryview) -> int:
        count = int(self._source.readinto(buffer) or 0)  # type: ignore[attr-defined]
        self.size += count
        return count

    def drain(self) -> None:
        """Read (and measure) what follows the tar's end."""
        buffer = memoryview(bytearray(BLOCK))
        while self.readinto(buffer):
            pass


class _Decoder:
    """age and zstd running on a stored part; a thread feeds age and hashes the stored
    bytes. ``plain`` is zstd's output."""

    def __init__(
        self, stored: BinaryIO, *, age: str, zstd: str, secret: bytes, progress: Progress | None
    ) -> None:
        self._stored = stored
        self._progress = progress
        self._errors = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115
        self._said_text: list[str] = []  # what age and zstd wrote to stderr, once ended
        self.stored_size = 0
        self.stored_hash = hashlib.sha256()
        self.feed_failure: BaseException | None = None
        self.fed = False
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
        _widen(self.age.stdin.fileno())
        _widen(self.age.stdout.fileno())
        try:
            self.zstd = subprocess.Popen(
                [zstd, "--decompress", "--stdout", "--quiet"],
                stdin=self.age.stdout,
                stdout=subprocess.PIPE,
                stderr=self._errors[1],
                start_new_session=True,
                bufsize=0,
            )
        except BaseException:
            self._kill(self.age)
            raise
        finally:
            self.age.stdout.close()  # zstd holds it now
        assert self.zstd.stdout is not None
        _widen(self.zstd.stdout.fileno())
        self.plain = _Measured(self.zstd.stdout)
        self._feeder = threading.Thread(target=self._feed, name="base-feed", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        into = self.age.stdin
        assert into is not None
        try:
            while data := self._stored.read(BLOCK):
                self.stored_hash.update(data)
                self.stored_size += len(data)
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

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            process.kill()

    def _said(self, index: int, process: subprocess.Popen[bytes]) -> str:
        lines = self._said_text[index].strip().splitlines()
        return lines[-1] if lines else f"exited with {process.returncode}"

    def failure(self, where: str, *, stopped: bool) -> BaseException | None:
        """Why the decoding failed, once both programs have ended: the store's error, age's
        refusal (a damaged or foreign part), zstd's, or either killed by a signal we did
        not send. ``stopped``: we killed them (their signal deaths are ours)."""
        if self.feed_failure is not None:
            return self.feed_failure
        age_code, zstd_code = self.age.returncode, self.zstd.returncode
        if age_code is not None and age_code > 0:  # first: zstd then only saw a cut stream
            return _damaged(where, f"cannot decrypt ({self._said(0, self.age)})")
        if zstd_code is not None and zstd_code > 0:
            return _damaged(where, f"decrypts but does not decompress ({self._said(1, self.zstd)})")
        for process, name in ((self.age, "age"), (self.zstd, "zstd")):
            if process.returncode and not stopped:  # a signal, while we waited
                return OperationError(f"{where}: {name} was killed by signal {-process.returncode}")
        return None

    def close(self, *, stop: bool) -> None:
        """Wait for (or with ``stop``, kill) both programs and the feeding thread."""
        if stop:
            # A program that already failed on its own keeps its exit status.
            for process in (self.age, self.zstd):
                if process.poll() is None:
                    self._kill(process)
        for stream in (self.zstd.stdout,):
            if stream is not None and stop:
                with contextlib.suppress(OSError):
                    stream.close()
        self.zstd.wait()
        self.age.wait()
        self._feeder.join()
        for stream in (self.zstd.stdout,):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        for errors in self._errors:
            errors.seek(0)
            self._said_text.append(errors.read()[-2000:].decode(errors="replace"))
            errors.close()


def unpack_part(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    identities: list[Any],
    into: Path,
    *,
    where: str,
    progress: Progress | None = None,
) -> UnpackSummary:
    """Decode one tar part into the safe unpacker in one pass, then prove it against the
    signed manifest (raises VerificationError naming the part). Not flushed to disk: the
    caller syncs once every part is in (:func:`reprise.restore.unpack.sync_file_system`)."""
    age, zstd = age_program(), shutil.which("zstd")
    secret = secret_lines(identities) if age else None
    if age is None or zstd is None or secret is None:
        return _unpack_in_process(
            repository, manifest, part, identities, into, where=where, progress=progress
        )
    from reprise.restore.staging import open_part

    key = backup_prefix(manifest.source, manifest.id) + part.name
    location = repository.where(key)
    with open_part(repository, key, manifest) as stored:
        decoder = _Decoder(stored, age=age, zstd=zstd, secret=secret, progress=progress)
        try:
            summary = unpack_stream(decoder.plain, into, where=where, sync=False)  # type: ignore[arg-type]
            decoder.plain.drain()
        except BaseException:
            decoder.close(stop=True)
            failure = decoder.failure(location, stopped=True)
            if failure is not None:  # a damaged part ends its tar early: say what happened
                raise failure from None
            raise
        decoder.close(stop=False)
        failure = decoder.failure(location, stopped=False)
        if failure is not None:
            raise failure
    if not decoder.fed or decoder.stored_size != part.stored_size:
        raise _altered(location)
    if decoder.stored_hash.hexdigest() != part.sha256:
        raise _altered(location)
    if decoder.plain.size != part.plain_size:  # the stored checksum proved the rest
        raise VerificationError(
            f"{location}: decrypted content differs from what was backed up",
            hint="use another backup",
        )
    return summary


def _altered(location: str) -> VerificationError:
    return VerificationError(
        f"{location}: checksum mismatch: the stored bytes were altered",
        hint="use another backup",
    )


def _unpack_in_process(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    identities: list[Any],
    into: Path,
    *,
    where: str,
    progress: Progress | None,
) -> UnpackSummary:
    """Decrypt and decompress on a thread (:func:`reprise.restore.staging.read_verified`)
    into a pipe that the unpacker reads; proven when the thread ends."""
    from reprise.restore.staging import read_verified

    read_end, write_end = os.pipe()
    _widen(write_end)
    cancel = threading.Event()
    failures: list[BaseException] = []

    def feed() -> None:
        try:
            with os.fdopen(write_end, "wb", buffering=BLOCK) as sink:
                read_verified(
                    repository,
                    manifest,
                    part,
                    identities,
                    sink.write,
                    progress=progress,
                    cancel=cancel,
                    on_write_error=lambda error: error,
                )
        except BaseException as error:  # noqa: BLE001 - raised on the caller's thread
            failures.append(error)

    feeder = threading.Thread(target=feed, name="base-feed", daemon=True)
    feeder.start()
    with os.fdopen(read_end, "rb", buffering=0) as source:
        try:
            summary = unpack_stream(source, into, where=where, sync=False)
            while source.read(BLOCK):  # the tar's end may precede its last blocks
                pass
        except BaseException:
            cancel.set()
            source.close()  # the feeder's next write fails: it stops
            feeder.join()
            verified = [error for error in failures if isinstance(error, VerificationError)]
            if verified:  # a damaged part ends its tar early: say what really happened
                raise verified[0] from None
            raise
    feeder.join()
    if failures:
        raise failures[0]
    return summary
