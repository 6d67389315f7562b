"""Reading a stored part on both cores: the same measurements as
:func:`reprise.repository.streams.read_stream`, with the work spread over three threads.

One thread reads the stored bytes and hashes them; the calling thread decrypts (age) and
decompresses (zstd); one thread hashes the plain bytes and hands them to the sink. SHA-256,
file I/O and zstd release the GIL, so the hashing of both sides and the writing run while
the next block decrypts. Queues are bounded: memory stays a few MiB whatever the size.

Errors are those of ``read_stream``: ``pyrage.DecryptError``, ``zstandard.ZstdError``, and
the original exception of the reading or writing side (a full disk, a dead S3 server).
``cancel`` stops a read in progress (another part failed, or the restore was interrupted):
it then raises :class:`Cancelled`.
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from reprise.repository.streams import BLOCK, Progress, ReadBack

_DEPTH = 8  # blocks in flight on each side (8 MiB of stored, 8 MiB of plain bytes)
_POLL = 0.2  # seconds between looks at ``cancel`` while a queue is full or empty


class Cancelled(Exception):
    """The read was stopped from outside (``cancel`` was set)."""


_END = object()


class _Failure:
    """An exception raised in a helper thread, carried to the calling thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(channel: queue.Queue[Any], item: Any, cancel: threading.Event) -> bool:
    """Put, waiting while the queue is full; False once ``cancel`` is set."""
    while not cancel.is_set():
        try:
            channel.put(item, timeout=_POLL)
        except queue.Full:
            continue
        return True
    return False


def _get(channel: queue.Queue[Any], cancel: threading.Event) -> Any:
    while True:
        try:
            return channel.get(timeout=_POLL)
        except queue.Empty:
            if cancel.is_set():
                raise Cancelled from None


class _StoredSide(io.RawIOBase):
    """What pyrage reads: stored blocks read ahead and hashed by a helper thread."""

    def __init__(
        self, stored: BinaryIO, progress: Progress | None, cancel: threading.Event
    ) -> None:
        self._stored = stored
        self._progress = progress
        self._cancel = cancel
        self._blocks: queue.Queue[Any] = queue.Queue(_DEPTH)
        self._pending = memoryview(b"")
        self._ended = False
        self.size = 0
        self.hash = hashlib.sha256()
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._read_ahead, name="stored-reader", daemon=True)
        self._thread.start()

    def _read_ahead(self) -> None:
        try:
            while not self._cancel.is_set():
                data = self._stored.read(BLOCK)
                if not data:
                    break
                self.hash.update(data)
                self.size += len(data)
                if not _put(self._blocks, data, self._cancel):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the reading thread
            _put(self._blocks, _Failure(error), self._cancel)
            return
        _put(self._blocks, _END, self._cancel)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            if self._ended:
                return 0
            try:
                item = _get(self._blocks, self._cancel)
            except Cancelled as error:
                self.failure = error
                raise
            if item is _END:
                self._ended = True
                return 0
            if isinstance(item, _Failure):
                self.failure = item.error
                raise item.error
            self._pending = memoryview(item)
            if self._progress is not None:
                self._progress(len(item))
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def finish(self) -> None:
        """Wait for the helper thread (after the end, a failure or a cancel)."""
        self._thread.join()


class PlainSide:
    """What zstd writes to: plain blocks hashed and passed to ``sink`` by a helper thread."""

    def __init__(self, sink: Callable[[bytes], Any], cancel: threading.Event) -> None:
        self._sink = sink
        self._cancel = cancel
        self._stop = threading.Event()
        self._blocks: queue.Queue[Any] = queue.Queue(_DEPTH)
        self.size = 0
        self.hash = hashlib.sha256()
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._write_behind, name="plain-writer", daemon=True)
        self._thread.start()

    def _write_behind(self) -> None:
        try:
            while True:
                item = _get(self._blocks, self._stop)
                if item is _END:
                    return
                self.hash.update(item)
                self.size += len(item)
                self._sink(item)
        except Cancelled:
            return
        except BaseException as error:  # noqa: BLE001 - raised by the next write or finish
            self.failure = error
            self._stop.set()

    def write(self, data: bytes) -> int:
        if self.failure is not None:
            raise self.failure
        if self._cancel.is_set():
            self.failure = Cancelled()
            raise self.failure
        if not _put(self._blocks, bytes(data), self._stop):
            raise self.failure or Cancelled()
        return len(data)

    def flush(self) -> None:
        """Blocks are written by the helper thread; :meth:`finish` waits for them."""

    def finish(self, *, completed: bool) -> None:
        """Wait for every block to be written (``completed``), or drop them; raise the
        helper's failure if it had one."""
        if completed and self.failure is None:
            _put(self._blocks, _END, self._stop)
        else:
            self._stop.set()
        self._thread.join()
        if completed and self.failure is not None:
            raise self.failure


def read_stream_pipelined(
    stored: BinaryIO,
    identities: list[Any],
    sink: Callable[[bytes], Any] | None = None,
    progress: Progress | None = None,
    *,
    cancel: threading.Event | None = None,
) -> ReadBack:
    """Decrypt and decompress a stored part, measuring both sides, on up to three threads;
    ``sink`` gets the plain bytes in order, from a helper thread."""
    import pyrage
    import zstandard

    cancel = cancel or threading.Event()
    local_cancel = threading.Event()
    linked = _Linked(cancel, local_cancel)
    measured = _StoredSide(stored, progress, linked)
    plain = PlainSide(sink or (lambda _data: None), linked)
    completed = False
    try:
        decompressor = zstandard.ZstdDecompressor()
        try:
            with decompressor.stream_writer(plain, write_size=BLOCK, closefd=False) as writer:  # type: ignore[arg-type]
                pyrage.decrypt_io(measured, writer, identities)
                writer.flush()  # type: ignore[no-untyped-call]
        except Exception as error:
            for failure in (measured.failure, plain.failure):
                if failure is not None and failure is not error:
                    raise failure from None
            raise
        completed = True
    finally:
        if not completed:
            local_cancel.set()
        measured.finish()
        plain.finish(completed=completed)
    if cancel.is_set():
        raise Cancelled
    return ReadBack(measured.size, measured.hash.hexdigest(), plain.size, plain.hash.hexdigest())


class _Linked(threading.Event):
    """Set when either of two events is (the caller's cancel, or this read's own)."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        super().__init__()
        self._events = (first, second)

    def is_set(self) -> bool:
        return any(event.is_set() for event in self._events)
