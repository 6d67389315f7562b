"""Signed chunk checksums: what the backup records, what a restore checks before age sees a
byte, and the fork that gives zstd's output to pg_restore and to the staged file."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyrage
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrage import x25519

from reprise.errors import OperationError, VerificationError
from reprise.repository.manifest import Part
from reprise.repository.streams import ChunkHashes, MeasuringWriter, chunk_count
from reprise.restore import staging, streamed
from reprise.restore.decoders import Decoder, prove_stored
from reprise.restore.external_age import age_program, secret_lines
from tests.support.backups import mounted_tmpfs

needs_programs = pytest.mark.skipif(
    age_program() is None or shutil.which("zstd") is None,
    reason="the age and zstd programs are not installed",
)

PLAIN = b"".join(
    b"%08d,client%d@exemple.fr,%s\n" % (i, i, os.urandom(6).hex().encode()) for i in range(60_000)
)
SIZE = 64 * 1024  # a small chunk, so that a few MB make many


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000), cuts=st.lists(st.integers(1, 700), max_size=20))
def test_chunk_hashes_do_not_depend_on_how_the_bytes_are_written(
    data: bytes, cuts: list[int]
) -> None:
    hashes = ChunkHashes(size=512)
    position = 0
    for cut in cuts:
        hashes.update(data[position : position + cut])
        position += cut
    hashes.update(data[position:])
    expected = [hashlib.sha256(data[at : at + 512]).hexdigest() for at in range(0, len(data), 512)]
    assert hashes.finish() == expected
    assert len(expected) == chunk_count(len(data), 512)


def test_the_writer_records_chunks_only_when_asked() -> None:
    sink = io.BytesIO()
    chunked = MeasuringWriter(sink.write, chunked=True)
    chunked.write(b"x" * 100)
    assert chunked.chunks is not None and len(chunked.chunks.finish()) == 1
    assert MeasuringWriter(sink.write).chunks is None


def _part(stored: bytes, plain: bytes, *, chunks: list[str] | None, size: int = SIZE) -> Part:
    return Part(
        name="db-app.pgdump.zst.age",
        role="database",
        format="custom",
        plain_size=len(plain),
        stored_size=len(stored),
        sha256=hashlib.sha256(stored).hexdigest(),
        chunk_size=size if chunks is not None else None,
        chunk_sha256=chunks,
    )


def test_a_part_is_chunked_only_when_its_checksums_cover_its_size() -> None:
    stored = b"s" * (3 * SIZE + 1)
    whole = [hashlib.sha256(b"").hexdigest()] * 4
    assert _part(stored, b"p", chunks=whole).chunked
    assert not _part(stored, b"p", chunks=whole[:3]).chunked  # one short: staged whole
    assert not _part(stored, b"p", chunks=None).chunked


def _encrypt(plain: bytes, identity: x25519.Identity) -> bytes:
    compressed = zstandard.ZstdCompressor(level=1, write_checksum=True).compress(plain)
    return bytes(pyrage.encrypt(compressed, [identity.to_public()]))


def _chunks(stored: bytes) -> list[str]:
    hashes = ChunkHashes(size=SIZE)
    hashes.update(stored)
    return hashes.finish()


def _decode(stored: bytes, part: Part, identity: x25519.Identity) -> tuple[Decoder, bytes]:
    age, zstd = age_program(), shutil.which("zstd")
    assert age is not None and zstd is not None
    secret = secret_lines([identity])
    assert secret is not None and part.chunk_sha256 is not None
    decoder = Decoder(
        io.BytesIO(stored),
        age=age,
        zstd=zstd,
        secret=secret,
        progress=None,
        chunks=(SIZE, part.chunk_sha256),
    )
    plain = decoder.plain.readinto
    out = bytearray()
    buffer = memoryview(bytearray(1 << 20))
    while count := plain(buffer):
        out += buffer[:count]
    decoder.wait()
    decoder.close(stop=False)
    return decoder, bytes(out)


@needs_programs
def test_verified_chunks_decode_to_the_backed_up_bytes() -> None:
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    part = _part(stored, PLAIN, chunks=_chunks(stored))
    assert len(part.chunk_sha256 or []) > 5
    decoder, plain = _decode(stored, part, identity)
    assert plain == PLAIN
    assert decoder.failure("part") is None
    assert decoder.chunks_matched == len(part.chunk_sha256 or [])
    prove_stored(decoder, part, "part", len(plain))  # raises if anything is off


@needs_programs
@pytest.mark.parametrize("chunk", [0, 3])
def test_age_never_sees_a_chunk_that_is_not_the_signed_one(chunk: int) -> None:
    """A flipped bit in chunk N: chunks before it are decoded (they are the backup's),
    nothing of chunk N or after reaches age, and the part is refused."""
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    part = _part(stored, PLAIN, chunks=_chunks(stored))
    damaged = bytearray(stored)
    damaged[chunk * SIZE + 10] ^= 0x01
    decoder, plain = _decode(bytes(damaged), part, identity)
    assert decoder.over and decoder.chunks_matched == chunk
    assert len(plain) < len(PLAIN) and PLAIN.startswith(plain)
    with pytest.raises(VerificationError, match="checksum mismatch"):
        prove_stored(decoder, part, "part", len(plain))


@needs_programs
def test_a_part_forged_with_the_public_recipient_stages_nothing(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    signed = _encrypt(PLAIN, identity)
    forged = _encrypt(PLAIN.replace(b"exemple.fr", b"evil.test!"), identity)
    part = _part(signed, PLAIN, chunks=_chunks(signed))
    manifest = SimpleNamespace(source="app-postgres", id="20261127-0700-abcd")
    key = f"backups/app-postgres/20261127-0700-abcd/{part.name}"

    class Repository:
        backend = SimpleNamespace(open_reader=lambda _key: io.BytesIO(forged))

        @staticmethod
        def where(name: str) -> str:
            return f"repo:{name}"

    assert key.endswith(part.name)
    with pytest.raises(VerificationError, match="checksum mismatch"):
        staging.stage_part(
            Repository(),  # type: ignore[arg-type]
            manifest,  # type: ignore[arg-type]
            part,
            [identity],
            tmp_path,
            durable=False,
        )
    assert list(tmp_path.iterdir()) == []


def _run_fork(
    data: bytes,
    tmp_path: Path,
    *,
    read_restore: int | None,
    to_file: bool,
    enough: Any = None,
) -> tuple[bytes, bytes | None, Any]:
    """Feed ``data`` through a fork; the pg_restore side reads ``read_restore`` bytes
    (None: all) then closes. Returns what it read, the file's bytes, the fork."""
    source_read, source_write = os.pipe()
    restore_read, restore_write = os.pipe()
    file_path = tmp_path / "staged"
    file = os.open(file_path, os.O_WRONLY | os.O_CREAT, 0o600) if to_file else None
    got = bytearray()

    def restore() -> None:
        with os.fdopen(restore_read, "rb", buffering=0) as reader:
            while read_restore is None or len(got) < read_restore:
                block = reader.read(65536)
                if not block:
                    return
                got.extend(block)

    def feed() -> None:
        with os.fdopen(source_write, "wb", buffering=0) as writer:
            writer.write(data)

    threads = [threading.Thread(target=restore), threading.Thread(target=feed)]
    for thread in threads:
        thread.start()
    fork = streamed._Fork(source_read, restore_write, file, len(data), enough=enough)
    assert fork.join(60)
    for thread in threads:
        thread.join(60)
    if file is not None:
        os.close(file)
    return bytes(got), file_path.read_bytes() if to_file else None, fork


@pytest.mark.parametrize("with_tee", [True, False])
@pytest.mark.parametrize("to_file", [True, False])
def test_the_fork_gives_every_byte_to_pg_restore_and_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_tee: bool, to_file: bool
) -> None:
    if not with_tee:
        monkeypatch.setattr(streamed, "_tee_function", lambda: None)
    data = os.urandom(5_000_000)
    got, written, fork = _run_fork(data, tmp_path, read_restore=None, to_file=to_file)
    assert fork.failure is None and not fork.over and fork.moved == len(data)
    assert got == data
    assert written == (data if to_file else None)


@pytest.mark.parametrize("with_tee", [True, False])
def test_pg_restore_stopping_early_leaves_the_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_tee: bool
) -> None:
    if not with_tee:
        monkeypatch.setattr(streamed, "_tee_function", lambda: None)
    data = os.urandom(5_000_000)
    got, written, fork = _run_fork(data, tmp_path, read_restore=100_000, to_file=True)
    assert fork.failure is None and fork.moved == len(data)
    assert data.startswith(got) and len(got) < len(data)
    assert written == data


def test_the_fork_stops_at_the_signed_plain_size(tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    source_read, source_write = os.pipe()
    restore_read, restore_write = os.pipe()
    sink = threading.Thread(target=_read_all, args=(restore_read,))
    sink.start()
    writer = threading.Thread(target=lambda: _write_and_close(source_write, data))
    writer.start()
    fork = streamed._Fork(source_read, restore_write, None, 1_000_000)
    assert fork.join(60)
    assert fork.over  # more plain bytes than signed: stopped, never unbounded
    sink.join(60)
    writer.join(60)


def _write_and_close(descriptor: int, data: bytes) -> None:
    with os.fdopen(descriptor, "wb", buffering=0) as writer, contextlib.suppress(BrokenPipeError):
        writer.write(data)


def _read_all(descriptor: int) -> None:
    with os.fdopen(descriptor, "rb") as reader:
        reader.read()


@pytest.mark.parametrize("with_tee", [True, False])
def test_the_file_stops_once_it_holds_the_table_of_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_tee: bool
) -> None:
    """Asked at 1 MiB, then 4, 16…: once the file says it holds enough, only pg_restore
    gets the rest (no staging space for the data)."""
    if not with_tee:
        monkeypatch.setattr(streamed, "_tee_function", lambda: None)
    monkeypatch.setattr(streamed, "FIRST_PROBE", 100_000)
    asked: list[int] = []

    def enough() -> bool:
        size = (tmp_path / "staged").stat().st_size
        asked.append(size)
        return size >= 400_000

    data = os.urandom(5_000_000)
    got, written, fork = _run_fork(data, tmp_path, read_restore=None, to_file=True, enough=enough)
    assert fork.failure is None and got == data
    assert len(asked) == 2 and asked[0] >= 100_000 and asked[1] >= 400_000
    assert written is not None and written == data[: len(written)]
    assert 400_000 <= len(written) < len(data)


def test_without_a_table_of_contents_the_whole_dump_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streamed, "FIRST_PROBE", 100_000)
    monkeypatch.setattr(streamed, "LAST_PROBE", 1_600_000)
    asked: list[int] = []
    data = os.urandom(5_000_000)

    def never() -> bool:
        asked.append(1)
        return False

    got, written, fork = _run_fork(data, tmp_path, read_restore=None, to_file=True, enough=never)
    assert fork.failure is None and got == data and written == data
    assert len(asked) == 3  # at 100 kB, 400 kB and 1.6 MB, then no more


def test_the_staging_space_of_a_part() -> None:
    part = _part(b"s" * 10, b"p" * (1 << 30), chunks=[hashlib.sha256(b"").hexdigest()])
    assert streamed.staging_need(part, False, 2) == 1 << 30
    assert streamed.staging_need(part, True, 1) == 0
    assert streamed.staging_need(part, True, 2) == streamed.LAST_PROBE


class _OneObject:
    """A repository holding one stored part, whatever its key."""

    def __init__(self, data: bytes) -> None:
        self.backend = SimpleNamespace(open_reader=lambda _key: io.BytesIO(data))

    @staticmethod
    def where(name: str) -> str:
        return f"repo:{name}"


@needs_programs
def test_a_full_staging_disk_fails_the_stream_at_once(tmp_path: Path) -> None:
    """The staged file's disk fills while pg_restore reads: a storage error naming the
    file, at once (zstd, left without a reader, is stopped rather than waited for)."""
    identity = x25519.Identity.generate()
    plain = os.urandom(3_000_000)  # does not compress: 3 MB on a 1 MB disk
    stored = _encrypt(plain, identity)
    part = _part(stored, plain, chunks=_chunks(stored))
    programs = staging.decoding_programs([identity])
    assert programs is not None
    manifest = SimpleNamespace(source="app-postgres", id="20261127-0700-abcd")
    with mounted_tmpfs(tmp_path / "small", "size=1m") as small:
        stream = streamed.DumpStream(
            _OneObject(stored),  # type: ignore[arg-type]
            manifest,  # type: ignore[arg-type]
            part,
            programs,
            small / "db-app.pgdump",
        )
        reader = ["/bin/sh", "-c", "cat > /dev/null", "sh"]  # pg_restore's part: reads all
        raised: list[BaseException] = []

        def restore() -> None:
            try:
                stream.restore(reader, "--dbname=app", dict(os.environ), jobs=2, what="test")
            except BaseException as error:  # noqa: BLE001 - examined below
                raised.append(error)

        worker = threading.Thread(target=restore, daemon=True)
        worker.start()
        worker.join(120)  # the programs' own stall timeout is ten minutes
        assert not worker.is_alive(), "waited for zstd instead of failing"
        assert len(raised) == 1 and isinstance(raised[0], OperationError), raised
        assert "no space left" in raised[0].message
        assert not (small / "db-app.pgdump").exists()
