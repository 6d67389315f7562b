"""The writing pipeline (feeding thread → zstd → age → backend) against the reading side:
what it measures, what it stores, and how it fails; each test both ways: through the zstd
and age programs, and in-process (python-zstandard and pyrage, when they are missing)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from typing import Any

import pyrage
import pytest
import zstandard

from reprise.backup import encoder
from reprise.backup.pipeline import FEED_DEPTH, store_stream
from reprise.errors import OperationError
from reprise.repository.streams import BLOCK, read_stream


class Writer:
    """An ObjectWriter keeping the stored bytes in memory."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.stored = bytearray()
        self.fail_after = fail_after

    def write(self, data: bytes | memoryview) -> int:
        if self.fail_after is not None and len(self.stored) >= self.fail_after:
            raise OSError(28, "No space left on device")
        self.stored += data
        return len(data)

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class FailingSource(io.RawIOBase):
    """Gives ``good`` bytes, then fails as a dead producer would."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise ConnectionResetError("the producer died")
        count = min(len(buffer), self.left)
        buffer[:count] = b"x" * count
        self.left -= count
        return count


@pytest.fixture(autouse=True, params=["programs", "in-process"])
def encoding(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which way parts are stored in this test."""
    if request.param == "in-process":
        monkeypatch.setattr(encoder, "programs", lambda: None)
    else:
        assert encoder.programs() is not None, "bootstrap installs zstd and age"
    return str(request.param)


@pytest.fixture(scope="module")
def keys() -> tuple[Any, Any]:
    identity = pyrage.x25519.Identity.generate()
    return identity, identity.to_public()


def _payload(size: int) -> bytes:
    """Half random, half repetitive: compresses, but not to nothing."""
    half = size // 2
    return os.urandom(half) + b"reprise " * ((size - half) // 8) + b"!" * ((size - half) % 8)


def _feed_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "store-feed"]


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, 3 * BLOCK + 12345])
def test_round_trip_measures_both_sides(keys: tuple[Any, Any], size: int, encoding: str) -> None:
    identity, recipient = keys
    payload = _payload(size)
    writer = Writer()
    progress: list[int] = []

    part = store_stream(
        "part.zst.age", io.BytesIO(payload), writer, [recipient], level=1, progress=progress.append
    )

    assert part.plain_size == size
    plain_sha256 = hashlib.sha256(payload).hexdigest()
    # The programs leave it to zstd's checksum of the plain content (verified below).
    assert part.plain_sha256 == (None if encoding == "programs" else plain_sha256)
    assert part.stored_size == len(writer.stored)
    assert part.sha256 == hashlib.sha256(writer.stored).hexdigest()
    assert sum(progress) == size
    plain = bytearray()
    back = read_stream(io.BytesIO(bytes(writer.stored)), [identity], plain.extend)
    assert bytes(plain) == payload
    assert (back.plain_size, back.plain_sha256) == (part.plain_size, plain_sha256)
    assert (back.stored_size, back.sha256) == (part.stored_size, part.sha256)
    assert not _feed_threads()


def test_stored_part_is_standard_age_and_zstd(keys: tuple[Any, Any]) -> None:
    """What `age -d | zstd -d` restores by hand: one age file holding one zstd frame."""
    identity, recipient = keys
    payload = _payload(2 * BLOCK)
    writer = Writer()
    store_stream("p", io.BytesIO(payload), writer, [recipient], level=3)
    compressed = pyrage.decrypt(bytes(writer.stored), [identity])
    assert zstandard.ZstdDecompressor().decompressobj().decompress(compressed) == payload


@pytest.mark.parametrize("offset", [0, 200, -40])
def test_any_damaged_byte_is_detected_on_read(keys: tuple[Any, Any], offset: int) -> None:
    identity, recipient = keys
    writer = Writer()
    store_stream("p", io.BytesIO(_payload(BLOCK)), writer, [recipient], level=1)
    damaged = bytearray(writer.stored)
    damaged[offset] ^= 0x01
    # pyrage reports a damaged payload chunk as OSError("decryption error").
    with pytest.raises((pyrage.DecryptError, zstandard.ZstdError, OSError)):
        read_stream(io.BytesIO(bytes(damaged)), [identity])


def test_a_failing_source_raises_its_own_error(keys: tuple[Any, Any]) -> None:
    _identity, recipient = keys
    source = io.BufferedReader(FailingSource(2 * BLOCK + 7))
    with pytest.raises(ConnectionResetError, match="the producer died"):
        store_stream("p", source, Writer(), [recipient], level=1)
    _wait_for_no_feed()


def test_a_failing_backend_raises_its_own_error_and_stops_reading(
    keys: tuple[Any, Any],
) -> None:
    """The feeding thread must not keep reading the producer (or hang on a full queue)
    once the backend failed."""
    _identity, recipient = keys

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            buffer[:] = os.urandom(len(buffer))
            self.read_bytes += len(buffer)
            return len(buffer)

    source = Endless()
    with pytest.raises(OSError, match="No space left"):
        store_stream("p", source, Writer(fail_after=BLOCK), [recipient], level=1)
    _wait_for_no_feed()
    stopped_at = source.read_bytes
    # Bounded read-ahead: the queue, zstd's jobs and one block, not the whole source.
    assert stopped_at < (FEED_DEPTH + 16) * BLOCK + 64 * 1024 * 1024


def _wait_for_no_feed() -> None:
    deadline = time.monotonic() + 10
    while _feed_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _feed_threads()


def test_the_source_is_read_while_the_backend_writes(keys: tuple[Any, Any]) -> None:
    """Reading, compressing and storing overlap: a producer (pg_dump) is drained while the
    previous blocks are being encrypted and written, not only between two writes."""
    _identity, recipient = keys
    writing = threading.Event()
    overlapping_reads = []

    class Source(io.RawIOBase):
        left = 16 * BLOCK

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            if writing.is_set():
                overlapping_reads.append(len(buffer))
            count = min(len(buffer), self.left)
            buffer[:count] = os.urandom(count)
            self.left -= count
            return count

    class SlowWriter(Writer):
        def write(self, data: bytes | memoryview) -> int:
            writing.set()
            time.sleep(0.002)
            writing.clear()
            return super().write(data)

    part = store_stream("p", io.BufferedReader(Source()), SlowWriter(), [recipient], level=1)
    assert part.plain_size == 16 * BLOCK
    assert overlapping_reads, "the source was only read between two writes"


def test_parts_carry_zstds_checksum_of_the_plain_content(keys: tuple[Any, Any]) -> None:
    """What stands for a SHA-256 of the plain bytes: the frame says it has a checksum
    (Frame_Header_Descriptor bit 2), and a wrong one is refused when read."""
    identity, recipient = keys
    payload = _payload(BLOCK + 999)
    writer = Writer()
    store_stream("p", io.BytesIO(payload), writer, [recipient], level=1)
    frame = pyrage.decrypt(bytes(writer.stored), [identity])
    assert frame[:4] == b"\x28\xb5\x2f\xfd" and frame[4] & 0b100
    wrong = bytearray(frame)
    wrong[-1] ^= 0x01  # the last byte of the frame's checksum
    forged = pyrage.encrypt(bytes(wrong), [recipient])
    with pytest.raises(zstandard.ZstdError):
        read_stream(io.BytesIO(forged), [identity])


@pytest.mark.parametrize("encoding", ["programs"], indirect=True)
def test_a_failing_compressor_program_is_named(
    keys: tuple[Any, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _identity, recipient = keys
    zstd = tmp_path / "zstd"
    zstd.write_text("#!/bin/sh\necho 'zstd: error 12 : out of memory' >&2\nexit 12\n")
    zstd.chmod(0o755)
    found = encoder.programs()
    assert found is not None
    monkeypatch.setattr(encoder, "programs", lambda: (str(zstd), found[1]))
    with pytest.raises(OperationError, match=r"zstd failed while storing the part: .*memory"):
        store_stream("p", io.BytesIO(_payload(3 * BLOCK)), Writer(), [recipient], level=1)
    _wait_for_no_feed()


def test_a_pipe_is_spliced_and_counted_exactly(keys: tuple[Any, Any], encoding: str) -> None:
    """A producer's pipe (pg_dump's stdout) goes to zstd without passing through Python:
    the plain size is still counted to the byte, small writes or large."""
    identity, recipient = keys
    payload = _payload(2 * BLOCK + 4321)
    read_end, write_end = os.pipe()

    def produce() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as out:
            for start in range(0, len(payload), 8192):  # as pg_dump writes
                out.write(payload[start : start + 8192])

    producer = threading.Thread(target=produce)
    producer.start()
    writer = Writer()
    with os.fdopen(read_end, "rb") as source:
        part = store_stream("p", source, writer, [recipient], level=1)
    producer.join()
    assert part.plain_size == len(payload)
    plain = bytearray()
    read_stream(io.BytesIO(bytes(writer.stored)), [identity], plain.extend)
    assert bytes(plain) == payload
