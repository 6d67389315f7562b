"""A staged part written by ``age -d | zstd -d`` is the backed-up file, private, and only
kept once its stored bytes and plain size match the signed manifest: a re-encrypted, a
damaged or a cut part leaves nothing behind; a full disk is not called a damaged part;
without the programs the part is still staged, in-process."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pyrage
import pytest
import zstandard
from pyrage import x25519

from reprise.errors import OperationError, VerificationError
from reprise.repository.manifest import Part
from reprise.restore import staging
from reprise.restore.decoders import Decoder
from reprise.restore.external_age import age_program, secret_lines
from reprise.restore.pipelined import Cancelled

pytestmark = pytest.mark.skipif(
    age_program() is None or shutil.which("zstd") is None,
    reason="the age and zstd programs are not installed",
)

PLAIN = b"".join(
    b"%08d,client%d@exemple.fr,%s\n" % (i, i, os.urandom(8).hex().encode()) for i in range(150_000)
)


def _encrypt(plain: bytes, identity: x25519.Identity) -> bytes:
    compressed = zstandard.ZstdCompressor(level=1).compress(plain)
    return bytes(pyrage.encrypt(compressed, [identity.to_public()]))


class _Backend:
    def __init__(self, objects: dict[str, bytes], dies_at: int | None = None) -> None:
        self.objects = objects
        self.dies_at = dies_at

    def open_reader(self, key: str) -> io.BufferedIOBase:
        data = self.objects[key]
        dies_at = self.dies_at

        class Reader(io.BytesIO):
            def read(self, size: int | None = -1) -> bytes:
                if dies_at is not None and self.tell() >= dies_at:
                    raise ConnectionResetError("the server went away")
                return super().read(size)

        return Reader(data)


class _Repository:
    def __init__(self, backend: _Backend) -> None:
        self.backend = backend

    def where(self, key: str) -> str:
        return f"repo:{key}"


def _setup(
    stored: bytes, signed_stored: bytes, plain: bytes = PLAIN, dies_at: int | None = None
) -> tuple[Any, Any, Part]:
    """A repository holding ``stored`` under a part whose manifest signed
    ``signed_stored`` and ``plain``."""
    part = Part(
        name="db-app.pgdump.zst.age",
        role="database",
        plain_size=len(plain),
        plain_sha256=hashlib.sha256(plain).hexdigest(),
        stored_size=len(signed_stored),
        sha256=hashlib.sha256(signed_stored).hexdigest(),
    )
    manifest = SimpleNamespace(source="app-postgres", id="20261127-0700-abcd")
    key = f"backups/app-postgres/20261127-0700-abcd/{part.name}"
    return _Repository(_Backend({key: stored}, dies_at)), manifest, part


def _stage(repository: Any, manifest: Any, part: Part, identity: Any, into: Path) -> Path:
    return staging.stage_part(repository, manifest, part, [identity], into, durable=False).path


def _no_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("decoded in-process")

    monkeypatch.setattr(staging, "read_verified", refused)


def test_the_programs_write_the_backed_up_file_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_in_process(monkeypatch)
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    repository, manifest, part = _setup(stored, stored)
    seen: list[int] = []
    staged = staging.stage_part(
        repository, manifest, part, [identity], tmp_path, durable=False, progress=seen.append
    )
    assert staged.path == tmp_path / "db-app.pgdump"
    assert staged.path.read_bytes() == PLAIN
    assert staged.path.stat().st_mode & 0o777 == 0o600
    assert sum(seen) == len(stored)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["db-app.pgdump"]


def test_a_part_re_encrypted_by_someone_with_the_public_recipient_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_in_process(monkeypatch)
    identity = x25519.Identity.generate()
    signed = _encrypt(PLAIN, identity)
    forged_plain = PLAIN.replace(b"exemple.fr", b"evil.example")[: len(PLAIN)]
    forged = _encrypt(forged_plain, identity)  # decrypts and decompresses without error
    repository, manifest, part = _setup(forged, signed)
    with pytest.raises(VerificationError, match="checksum mismatch"):
        _stage(repository, manifest, part, identity, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_flipped_bit_is_a_damaged_part_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_in_process(monkeypatch)
    identity = x25519.Identity.generate()
    signed = _encrypt(PLAIN, identity)
    damaged = bytearray(signed)
    damaged[len(damaged) // 2] ^= 0x08
    repository, manifest, part = _setup(bytes(damaged), signed)
    with pytest.raises(VerificationError, match=r"repo:backups/.*db-app.*damaged"):
        _stage(repository, manifest, part, identity, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_plain_size_other_than_the_signed_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_in_process(monkeypatch)
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    repository, manifest, part = _setup(stored, stored, plain=PLAIN + b"x")
    with pytest.raises(VerificationError, match="differs from what was backed up"):
        _stage(repository, manifest, part, identity, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_store_raises_its_own_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_in_process(monkeypatch)
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    repository, manifest, part = _setup(stored, stored, dies_at=len(stored) // 2)
    with pytest.raises(ConnectionResetError):
        _stage(repository, manifest, part, identity, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_without_zstd_the_part_is_staged_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    age = age_program()
    assert age is not None
    (bin_dir / "age").symlink_to(age)  # age alone: no zstd program
    monkeypatch.setenv("PATH", str(bin_dir))
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    repository, manifest, part = _setup(stored, stored)
    into = tmp_path / "staged"
    into.mkdir()
    assert _stage(repository, manifest, part, identity, into).read_bytes() == PLAIN


def _decoder(stored: bytes, identity: x25519.Identity, output: int, **extra: Any) -> Decoder:
    age, zstd = age_program(), shutil.which("zstd")
    assert age is not None and zstd is not None
    secret = secret_lines([identity])
    assert secret is not None
    return Decoder(
        io.BytesIO(stored), age=age, zstd=zstd, secret=secret, progress=None, output=output, **extra
    )


def test_a_full_disk_is_a_storage_error_not_a_damaged_part() -> None:
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        decoder = _decoder(stored, identity, full)
        decoder.wait()
        decoder.close(stop=False)
    finally:
        os.close(full)
    failure = decoder.write_failure("/staging/db-app.pgdump")
    assert isinstance(failure, OperationError)
    assert "no space left" in str(failure)


def test_cancel_stops_both_programs(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    cancel = threading.Event()
    cancel.set()
    output = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        decoder = _decoder(stored, identity, output, cancel=cancel)
        with pytest.raises(Cancelled):
            decoder.wait()
        decoder.close(stop=True)
    finally:
        os.close(output)
    assert decoder.age.returncode is not None and decoder.zstd.returncode is not None
    assert not decoder.fed


def test_cancelled_staging_leaves_nothing(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    stored = _encrypt(PLAIN, identity)
    repository, manifest, part = _setup(stored, stored)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        staging.stage_part(
            cast(Any, repository), manifest, part, [identity], tmp_path, cancel=cancel
        )
    assert list(tmp_path.iterdir()) == []


def test_a_re_encrypted_bomb_stops_at_the_signed_plain_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_in_process(monkeypatch)
    identity = x25519.Identity.generate()
    small = b"x" * 1000
    signed = _encrypt(small, identity)
    bomb = _encrypt(b"\0" * 200_000_000, identity)  # 200 MB from a few kB stored
    repository, manifest, part = _setup(bomb, signed, plain=small)
    part = part.model_copy(update={"stored_size": len(bomb)})  # even with a lying size
    with pytest.raises(VerificationError, match="db-app"):
        _stage(repository, manifest, part, identity, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_more_stored_bytes_than_signed_are_not_fed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_in_process(monkeypatch)
    identity = x25519.Identity.generate()
    signed = _encrypt(PLAIN, identity)
    repository, manifest, part = _setup(signed + os.urandom(3 << 20), signed)
    with pytest.raises(VerificationError, match="checksum mismatch"):
        _stage(repository, manifest, part, identity, tmp_path)
    assert list(tmp_path.iterdir()) == []
