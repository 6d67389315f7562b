"""The writing pipeline: plain bytes → zstd → age → SHA-256 → backend.

Nothing is held whole, and the stages overlap instead of taking turns. A feeding thread
reads the source in 1 MiB blocks, hashes them and hands them to zstd, whose own worker
threads compress; the calling thread encrypts what comes out (age, 64 KiB chunks) and
hands it to the backend. The read, the SHA-256 and the compression release the GIL, so the
producer (pg_dump, tar) is drained while the previous blocks are being encrypted and
written: it never waits on us as long as we keep up with it. Memory is bounded by the block
size, zstd's jobs and the queue between the two threads (FEED_DEPTH items), never by the
size of the data. With the ``zstd`` and ``age`` programs installed, two child processes
do the compressing and encrypting instead (:mod:`reprise.backup.encoder`). Reading back
is ``reprise.repository.streams``.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO

from reprise.repository.backend import ObjectWriter
from reprise.repository.streams import BLOCK, MeasuringWriter, Progress, original_errors


@dataclass(frozen=True)
class StoredPart:
    """What the pipeline measured while storing one part."""

    name: str
    plain_size: int
    plain_sha256: str | None
    """None when the part was stored by the zstd and age programs from a pipe (zstd's own
    checksum of the plain content, in the frame, stands for it: see
    :mod:`reprise.backup.encoder`); a regular file's plain bytes are always hashed (the WAL
    archive compares them with the file's)."""
    stored_size: int
    sha256: str
    chunk_sha256: list[str] | None = None
    """SHA-256 of each :data:`~reprise.repository.streams.CHUNK` of the stored bytes, when
    asked for (``chunked``: the parts a restore streams into pg_restore)."""


MAX_THREADS = 4
JOB_SIZE = 4 * 1024 * 1024
FEED_DEPTH = 8
"""Compressed chunks waiting between the feeding thread and the encrypting one."""


def compression_threads() -> int:
    """zstd worker threads: the cores, at most MAX_THREADS (zstd's workers run without the
    GIL; each holds about two jobs of JOB_SIZE, so the cap keeps memory bounded)."""
    return max(1, min(os.cpu_count() or 1, MAX_THREADS))


def _compressor(level: int) -> Any:
    import zstandard

    threads = compression_threads()
    params = zstandard.ZstdCompressionParameters.from_level(
        level,
        threads=threads if threads > 1 else 0,
        job_size=JOB_SIZE if threads > 1 else 0,
        write_checksum=True,
    )
    return zstandard.ZstdCompressor(compression_params=params)


_END = object()
_FAILED = object()


class CompressedFeed(io.RawIOBase):
    """The compressed form of ``source``, produced by a thread of its own.

    The thread reads, measures (size, SHA-256) and compresses; the reader of this object
    (pyrage) takes the compressed chunks from a bounded queue. Progress is reported from
    the reading side, so callbacks run on the caller's thread. A failure of the source or
    of zstd is kept in ``failure`` and raised by the next read."""

    def __init__(self, source: BinaryIO, compressor: Any, progress: Progress | None) -> None:
        self.size = 0
        self.hash = hashlib.sha256()
        self.failure: BaseException | None = None
        self._source = source
        self._compressor = compressor
        self._progress = progress
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=FEED_DEPTH)
        self._stop = threading.Event()
        self._pending = memoryview(b"")
        self._ended = False
        self._thread = threading.Thread(target=self._produce, name="store-feed", daemon=True)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def _put(self, item: Any) -> bool:
        """Queue ``item``, unless the reading side gave up (then False)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False

    def _produce(self) -> None:
        try:
            compressing = self._compressor.compressobj()
            read = self._source.read
            while not self._stop.is_set():
                data = read(BLOCK)
                if not data:
                    break
                self.size += len(data)
                self.hash.update(data)
                if not self._put((compressing.compress(data), len(data))):
                    return
            if not self._stop.is_set() and self._put((compressing.flush(), 0)):
                self._put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the reading side
            self.failure = error
            self._put(_FAILED)

    def readinto(self, buffer: Any) -> int:
        try:
            self._fill()
        except BaseException as error:
            # Raised on the caller's thread (Ctrl-C, SIGTERM, a progress callback): kept,
            # so that original_errors raises it instead of pyrage's wrapping of its text.
            if self.failure is None:
                self.failure = error
            raise
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _fill(self) -> None:
        """Wait for the next compressed chunk, unless one is pending or the feed ended."""
        while not self._pending:
            if self._ended:
                if self.failure is not None:
                    raise self.failure  # never an end of data after a failure
                return
            item = self._queue.get()
            if item is _END or item is _FAILED:
                self._ended = True
                continue
            data, plain = item
            if plain and self._progress is not None:
                self._progress(plain)
            self._pending = memoryview(data)

    def close(self) -> None:
        """Stop the thread. After a complete read it has already ended; otherwise it stops
        at its next block (the caller then stops the producer, which ends a blocked
        read), and is not waited for."""
        self._stop.set()
        if self._ended and self.failure is None:
            self._thread.join()
        super().close()


def store_stream(
    name: str,
    source: BinaryIO,
    writer: ObjectWriter,
    recipients: list[Any],
    *,
    level: int = 3,
    progress: Progress | None = None,
    chunked: bool = False,
) -> StoredPart:
    """Compress, encrypt and store ``source``; the caller commits or aborts ``writer``.
    ``chunked`` also hashes each chunk of the stored bytes (:class:`StoredPart`).

    With the ``zstd`` and ``age`` programs installed and native recipients, they do the
    work in two child processes (:mod:`reprise.backup.encoder`); else python-zstandard and
    pyrage do it here, with the plain bytes hashed too."""
    import pyrage

    from reprise.backup import encoder

    found = encoder.programs()
    native = encoder.native_recipients(recipients) if found else None
    if found is not None and native is not None:
        return _store_with_programs(
            name, source, writer, found, native, level, progress, chunked=chunked
        )

    stored = MeasuringWriter(writer.write, chunked=chunked)
    feed = CompressedFeed(source, _compressor(level), progress)
    try:
        with original_errors(feed, stored):
            # Buffered: pyrage reads 8 KiB at a time, served from C without a Python call.
            pyrage.encrypt_io(io.BufferedReader(feed, BLOCK), stored, recipients)
    finally:
        feed.close()
    return StoredPart(
        name,
        feed.size,
        feed.hash.hexdigest(),
        stored.size,
        stored.hash.hexdigest(),
        None if stored.chunks is None else stored.chunks.finish(),
    )


def _store_with_programs(
    name: str,
    source: BinaryIO,
    writer: ObjectWriter,
    found: tuple[str, str],
    recipients: list[str],
    level: int,
    progress: Progress | None,
    *,
    chunked: bool,
) -> StoredPart:
    """``zstd | age`` in two processes; this thread reads age's output, hashes it and
    writes it to the repository."""
    from reprise.backup.encoder import Encoder, is_file, pause_after

    zstd, age = found
    encoder = Encoder(
        source,
        zstd=zstd,
        age=age,
        recipients=recipients,
        level=level,
        threads=compression_threads(),
        name=name,
        hash_plain=is_file(source),
    )
    stored = MeasuringWriter(writer.write, chunked=chunked)
    reported = 0
    completed = False
    try:
        # One buffer for the whole part: a fresh 1 MiB object per read costs page faults
        # (a quarter of a second of system time on a 300 MB part). Writers copy.
        block = memoryview(bytearray(BLOCK))
        readinto = encoder.stored.readinto  # type: ignore[attr-defined]
        while count := readinto(block):
            stored.write(block[:count])
            pause_after(count)  # age writes 64 KiB chunks
            if progress is not None and encoder.plain_size > reported:
                progress(encoder.plain_size - reported)
                reported = encoder.plain_size
        encoder.close(stop=False)
        completed = True
    finally:
        if not completed:
            encoder.close(stop=True)
    failure = encoder.failure()
    if failure is not None:
        raise failure
    if progress is not None and encoder.plain_size > reported:
        progress(encoder.plain_size - reported)
    plain = encoder.plain_hash
    return StoredPart(
        name,
        encoder.plain_size,
        None if plain is None else plain.hexdigest(),
        stored.size,
        stored.hash.hexdigest(),
        None if stored.chunks is None else stored.chunks.finish(),
    )
