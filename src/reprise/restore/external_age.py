"""Reading a stored part with the ``age`` program decrypting in its own process.

pyrage decrypts while holding the GIL, in 8 KiB calls: in-process, the decryption, the
decompression and both SHA-256 run one after the other (2.4 s of CPU for a 1 GB part).
The stock ``age`` binary, when installed, decrypts on the other core; this process only
feeds it (hashing the stored bytes on the way), decompresses its output in 1 MiB blocks and
hashes the plain bytes, all calls that release the GIL. The measurements are the same as
:func:`reprise.repository.streams.read_stream`'s, and the caller checks them the same way:
whatever age does, nothing counts until both checksums match the signed manifest.

The identity reaches age through a pipe (``/dev/fd/N``), never a file. Errors: age's
failure as :class:`AgeFailed` (the part is damaged), ``zstandard.ZstdError``, or the
original error of the store or the sink; ``cancel`` raises ``Cancelled``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import IO, Any, BinaryIO

from reprise.repository.streams import BLOCK, Progress, ReadBack
from reprise.restore.pipelined import Cancelled, PlainSide


class AgeFailed(Exception):
    """age refused the stored bytes (a damaged or foreign part); its message is kept."""


def age_program() -> str | None:
    """The ``age`` binary on PATH, if any."""
    return shutil.which("age")


def secret_lines(identities: list[Any]) -> bytes | None:
    """The identities as an age identity file, or None when one is not a native X25519
    identity (then pyrage decrypts in-process)."""
    import pyrage

    lines = []
    for identity in identities:
        if not isinstance(identity, pyrage.x25519.Identity):
            return None
        lines.append(str(identity))
    return ("\n".join(lines) + "\n").encode() if lines else None


class _Feeder:
    """Reads the stored bytes, hashes them and writes them to age's input, on a thread."""

    def __init__(
        self,
        stored: BinaryIO,
        into: IO[bytes],
        progress: Progress | None,
        cancel: threading.Event,
    ) -> None:
        self._stored = stored
        self._into = into
        self._progress = progress
        self._cancel = cancel
        self.size = 0
        self.hash = hashlib.sha256()
        self.failure: BaseException | None = None
        self.complete = False
        self._thread = threading.Thread(target=self._run, name="age-feeder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._cancel.is_set():
                data = self._stored.read(BLOCK)
                if not data:
                    self.complete = True
                    break
                self.hash.update(data)
                self.size += len(data)
                if self._progress is not None:
                    self._progress(len(data))
                self._into.write(data)
        except BrokenPipeError:
            pass  # age stopped reading: its exit status says why
        except BaseException as error:  # noqa: BLE001 - raised by the reading thread
            self.failure = error
        finally:
            with contextlib.suppress(OSError):
                self._into.close()

    def join(self) -> None:
        """Wait for the thread."""
        self._thread.join()


def read_stream_with_age(
    stored: BinaryIO,
    identities: list[Any],
    sink: Callable[[bytes], Any] | None,
    progress: Progress | None,
    *,
    age: str,
    secret: bytes,
    cancel: threading.Event,
) -> ReadBack:
    """Decrypt with the ``age`` program, decompress and measure both sides."""
    import zstandard

    del identities  # given as ``secret``
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, secret)  # far below a pipe's buffer
    finally:
        os.close(write_end)
    try:
        process = subprocess.Popen(
            [age, "--decrypt", "--identity", f"/dev/fd/{read_end}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(read_end,),
            start_new_session=True,
        )
    finally:
        os.close(read_end)
    assert process.stdin is not None and process.stdout is not None
    assert process.stderr is not None
    errors: list[bytes] = []
    stderr_reader = threading.Thread(
        target=lambda: errors.append(process.stderr.read()),  # type: ignore[union-attr]
        name="age-stderr",
        daemon=True,
    )
    stderr_reader.start()
    local_cancel = threading.Event()
    feeder = _Feeder(stored, process.stdin, progress, local_cancel)
    plain = PlainSide(sink or (lambda _data: None), local_cancel)
    completed = False
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(
            process.stdout, read_size=BLOCK, read_across_frames=True, closefd=False
        )
        while True:
            if cancel.is_set():
                raise Cancelled
            data = reader.read(BLOCK)
            if not data:
                break
            plain.write(data)
        process.wait()
        feeder.join()
        stderr_reader.join()
        _close(process)
        if feeder.failure is not None:
            raise feeder.failure
        if process.returncode != 0:
            message = b"".join(errors).decode(errors="replace").strip().splitlines()
            raise AgeFailed(message[-1] if message else f"age exited with {process.returncode}")
        completed = True
    except BaseException as error:
        failed_alone = process.poll()  # age's own exit status, before we kill it
        local_cancel.set()
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()
        feeder.join()
        stderr_reader.join()
        _close(process)
        plain.finish(completed=False)
        if feeder.failure is not None:
            raise feeder.failure from None
        if isinstance(error, zstandard.ZstdError) and failed_alone not in (None, 0):
            # age stopped on a bad chunk, and zstd then saw a cut frame: age's is the cause.
            message = b"".join(errors).decode(errors="replace").strip().splitlines()
            raise AgeFailed(message[-1] if message else f"age exited with {failed_alone}") from None
        raise
    plain.finish(completed=completed)
    return ReadBack(feeder.size, feeder.hash.hexdigest(), plain.size, plain.hash.hexdigest())


def _close(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
