"""Reading the repository's stored parts: zstd inside age, with SHA-256 on both sides.

A stored part is ``<name>.zst.age``: the plain bytes compressed by zstd, then encrypted by
age. Reading streams in blocks; memory never depends on the size of the data. The writing
side (compress, encrypt, store) is in ``reprise.backup.pipeline``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

BLOCK = 1024 * 1024
STORED_SUFFIX = ".zst.age"
PIPE_SIZE = 1024 * 1024
"""Asked for each pipe between the programs of a pipeline (the most Linux allows without
privileges): fewer wake-ups, and a producer that keeps writing while a block is handled."""


def widen(descriptor: int) -> None:
    """Best effort: ask for a larger buffer on the pipe ``descriptor``."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(descriptor, set_size, PIPE_SIZE)


CHUNK = 16 * 1024 * 1024
"""Stored bytes per signed chunk checksum (``Part.chunk_sha256``). A restore hands a chunk
to age only once its checksum matched, so ``pg_restore`` can load a database while the
rest of its part is still being read, and nothing unverified ever reaches it. 16 MiB
keeps the manifest small (64 bytes per 16 MiB) and the memory a restore holds bounded."""


class ChunkHashes:
    """SHA-256 of each :data:`CHUNK`-sized run of the bytes given, the last run shorter."""

    def __init__(self, size: int = CHUNK) -> None:
        self.size = size
        self.digests: list[str] = []
        self._hash = hashlib.sha256()
        self._filled = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            piece = view[: self.size - self._filled]
            self._hash.update(piece)
            self._filled += len(piece)
            view = view[len(piece) :]
            if self._filled == self.size:
                self.digests.append(self._hash.hexdigest())
                self._hash = hashlib.sha256()
                self._filled = 0

    def finish(self) -> list[str]:
        """The digests, the shorter last run's included."""
        if self._filled:
            self.digests.append(self._hash.hexdigest())
            self._hash = hashlib.sha256()
            self._filled = 0
        return self.digests


def chunk_count(stored_size: int, chunk_size: int) -> int:
    """How many chunk checksums a part of ``stored_size`` bytes has."""
    return -(-stored_size // chunk_size)


Progress = Callable[[int], None]
"""Called with the number of plain bytes just read (drives progress bars)."""


def no_progress(*_labels: object) -> AbstractContextManager[Progress]:
    """A progress factory that shows nothing (for programs, tests and --json)."""
    return nullcontext(lambda _count: None)


class MeasuringReader(io.RawIOBase):
    """Reads through, counting and hashing what passes, reporting progress."""

    def __init__(self, inner: BinaryIO, progress: Progress | None) -> None:
        self._inner = inner
        self._progress = progress
        self.size = 0
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    failure: BaseException | None = None

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except BaseException as error:
            self.failure = error
            raise
        count = len(data)
        if count:
            buffer[:count] = data
            self.size += count
            self.hash.update(data)
            if self._progress is not None:
                self._progress(count)
        return count


class MeasuringWriter:
    """Writes through, counting and hashing what passes (in :data:`CHUNK` runs too, when
    ``chunked``)."""

    def __init__(self, inner: Callable[[Any], Any], *, chunked: bool = False) -> None:
        self._inner = inner
        self.size = 0
        self.hash = hashlib.sha256()
        self.chunks = ChunkHashes() if chunked else None

    failure: BaseException | None = None

    def write(self, data: bytes | memoryview) -> int:
        self.size += len(data)
        self.hash.update(data)
        if self.chunks is not None:
            self.chunks.update(data)
        try:
            self._inner(data)
        except BaseException as error:
            self.failure = error
            raise
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here."""


class _Failing(Protocol):
    """An end of a pyrage stream that keeps the exception it raised."""

    failure: BaseException | None


@contextmanager
def original_errors(*ends: _Failing) -> Iterator[None]:
    """pyrage turns an exception of our reader or writer into its own error with the text
    only; raise the original instead (a full disk, a dead S3 server, Ctrl-C)."""
    try:
        yield
    except Exception as error:
        for end in ends:
            if end.failure is not None and end.failure is not error:
                raise end.failure from None
        raise


@dataclass(frozen=True)
class ReadBack:
    """What reading a stored part end to end measured."""

    stored_size: int
    sha256: str
    plain_size: int
    plain_sha256: str


def read_stream(
    stored: BinaryIO,
    identities: list[Any],
    sink: Callable[[bytes], Any] | None = None,
    progress: Progress | None = None,
) -> ReadBack:
    """Decrypt and decompress a stored part, measuring both sides; ``sink`` gets the plain
    bytes (None: they are only measured, as deep verification does)."""
    import pyrage
    import zstandard

    measured = MeasuringReader(stored, progress)
    plain = MeasuringWriter(sink or (lambda _data: None))
    decompressor = zstandard.ZstdDecompressor()
    with (
        decompressor.stream_writer(plain, write_size=BLOCK, closefd=False) as decompressing,  # type: ignore[arg-type]
        original_errors(measured, plain),
    ):
        pyrage.decrypt_io(measured, decompressing, identities)
        decompressing.flush()  # type: ignore[no-untyped-call]
    return ReadBack(measured.size, measured.hash.hexdigest(), plain.size, plain.hash.hexdigest())


def hash_stream(stored: BinaryIO, progress: Progress | None = None) -> tuple[int, str]:
    """Size and SHA-256 of stored bytes, without any key (the default verification)."""
    digest = hashlib.sha256()
    size = 0
    while True:
        data = stored.read(BLOCK)
        if not data:
            break
        count = len(data)
        digest.update(data)
        size += count
        if progress is not None:
            progress(count)
    return size, digest.hexdigest()
