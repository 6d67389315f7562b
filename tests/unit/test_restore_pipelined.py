"""The threaded read of a stored part measures exactly what the single-threaded one does,
and fails the same ways; staging folders in memory are private and reaped."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pyrage
import pytest
import zstandard
from pyrage import x25519

from reprise.repository.streams import read_stream
from reprise.restore import workspace
from reprise.restore.external_age import AgeFailed, age_program
from reprise.restore.pipelined import Cancelled, read_stream_pipelined
from reprise.restore.staging import read_part


def _stored(plain: bytes) -> tuple[bytes, x25519.Identity]:
    identity = x25519.Identity.generate()
    compressed = zstandard.ZstdCompressor(level=1).compress(plain)
    return pyrage.encrypt(compressed, [identity.to_public()]), identity


PLAIN = b"".join(
    b"%08d,client%d@exemple.fr,%s\n" % (i, i, os.urandom(8).hex().encode()) for i in range(120_000)
)


def test_the_threaded_read_measures_and_writes_what_the_plain_read_does() -> None:
    stored, identity = _stored(PLAIN)
    expected_sink, got_sink = io.BytesIO(), io.BytesIO()
    expected = read_stream(io.BytesIO(stored), [identity], expected_sink.write)
    seen: list[int] = []
    got = read_stream_pipelined(io.BytesIO(stored), [identity], got_sink.write, seen.append)
    assert got == expected
    assert got_sink.getvalue() == expected_sink.getvalue() == PLAIN
    assert sum(seen) == len(stored)


def test_a_flipped_bit_fails_like_the_plain_read() -> None:
    stored, identity = _stored(PLAIN)
    damaged = bytearray(stored)
    damaged[len(damaged) // 2] ^= 1
    with pytest.raises((pyrage.DecryptError, OSError)) as plain_error:
        read_stream(io.BytesIO(bytes(damaged)), [identity])
    with pytest.raises(type(plain_error.value)):
        read_stream_pipelined(io.BytesIO(bytes(damaged)), [identity], lambda _data: None)


def test_a_failing_sink_raises_its_own_error() -> None:
    stored, identity = _stored(PLAIN)

    def full(_data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as caught:
        read_stream_pipelined(io.BytesIO(stored), [identity], full)
    assert caught.value.errno == 28


def test_a_failing_store_raises_its_own_error() -> None:
    stored, identity = _stored(PLAIN)

    class Dying(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(stored)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if self.inner.tell() > len(stored) // 2:
                raise ConnectionResetError("the server went away")
            return self.inner.read(size)

    with pytest.raises(ConnectionResetError):
        read_stream_pipelined(Dying(), [identity], lambda _data: None)  # type: ignore[arg-type]


def test_cancel_stops_a_read_and_leaves_no_thread() -> None:
    stored, identity = _stored(PLAIN)
    cancel = threading.Event()
    cancel.set()
    before = threading.active_count()
    with pytest.raises(Cancelled):
        read_stream_pipelined(io.BytesIO(stored), [identity], lambda _data: None, cancel=cancel)
    assert threading.active_count() == before


def test_memory_staging_only_when_it_fits_and_dead_owners_are_reaped(tmp_path: Path) -> None:
    assert workspace.memory_folder(10**18, tmp_path) is None
    folder = workspace.memory_folder(1024, tmp_path)
    assert folder is not None and folder.parent == tmp_path
    assert folder.stat().st_mode & 0o777 == 0o700
    assert str(os.getpid()) in folder.name
    orphan = tmp_path / "reprise-restore-999999999-abcd"
    orphan.mkdir()
    (orphan / "db.pgdump").write_bytes(b"x")
    assert workspace.reap(tmp_path) == [orphan]
    assert folder.exists()  # ours: alive


needs_age = pytest.mark.skipif(age_program() is None, reason="the age program is not installed")


@needs_age
def test_the_age_program_measures_and_writes_what_the_plain_read_does() -> None:
    stored, identity = _stored(PLAIN)
    expected_sink, got_sink = io.BytesIO(), io.BytesIO()
    expected = read_stream(io.BytesIO(stored), [identity], expected_sink.write)
    seen: list[int] = []
    got = read_part(io.BytesIO(stored), [identity], got_sink.write, seen.append)
    assert got == expected
    assert got_sink.getvalue() == PLAIN
    assert sum(seen) == len(stored)


@needs_age
@pytest.mark.parametrize("where", [0.5, 0.999])
def test_a_flipped_bit_makes_the_age_program_fail(where: float) -> None:
    stored, identity = _stored(PLAIN)
    damaged = bytearray(stored)
    damaged[int(len(damaged) * where)] ^= 1
    with pytest.raises(AgeFailed):
        read_part(io.BytesIO(bytes(damaged)), [identity], lambda _data: None)


@needs_age
def test_the_wrong_identity_makes_the_age_program_fail() -> None:
    stored, _identity = _stored(PLAIN)
    with pytest.raises(AgeFailed):
        read_part(io.BytesIO(stored), [x25519.Identity.generate()], lambda _data: None)


@needs_age
def test_a_failing_sink_stops_the_age_program_with_the_sinks_error() -> None:
    stored, identity = _stored(PLAIN)

    def full(_data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as caught:
        read_part(io.BytesIO(stored), [identity], full)
    assert caught.value.errno == 28
