"""Red-team attacks on the stream unpacker (:func:`reprise.restore.unpack.unpack_stream`)
and on one stored part decoded by ``age | zstd`` (:func:`reprise.restore.unpack_part.unpack_part`).

The tars are written byte by byte here (header checksums, base-256 sizes, ustar prefixes,
pax and GNU headers placed anywhere), not only with :mod:`tarfile`, so the hand-written
header parser and its hand-over to tarfile meet what a hostile host could write. Every
attack must end in a refusal naming the member (exit 3) or an invalid-tar verification
failure (exit 3), never a crash (exit 70), a hang, unbounded memory, or a write outside
the destination. The part tests run the real ``age`` and ``zstd`` programs (skipped when
either is missing)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reprise.errors import OperationError, RepriseError, VerificationError
from reprise.repository.manifest import Part
from reprise.restore import decoders as decoders_module
from reprise.restore import staging as staging_module
from reprise.restore import unpack_part as unpack_part_module
from reprise.restore.unpack import UnsafeMemberError, unpack_stream
from tests.support.forge import sentinel, snapshot

BLOCK = tarfile.BLOCKSIZE
END = b"\0" * (2 * BLOCK)
MTIME = 1_700_000_000


# Tars written by hand.


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def header(
    name: bytes,
    size: int = 0,
    kind: bytes = b"0",
    *,
    link: bytes = b"",
    prefix: bytes = b"",
    mode: int = 0o644,
    size_field: bytes | None = None,
    checksum: int | None = None,
    magic: bytes = b"ustar\x0000",
) -> bytes:
    """One 512-byte header; ``size_field`` (12 raw bytes) and ``checksum`` can lie."""
    block = bytearray(BLOCK)
    block[0 : len(name[:100])] = name[:100]
    block[100:108] = _octal(mode, 8)
    block[108:116] = _octal(0, 8)
    block[116:124] = _octal(0, 8)
    block[124:136] = size_field if size_field is not None else _octal(size, 12)
    block[136:148] = _octal(MTIME, 12)
    block[148:156] = b" " * 8
    block[156:157] = kind
    block[157 : 157 + len(link[:100])] = link[:100]
    block[257:265] = magic
    block[345 : 345 + len(prefix[:155])] = prefix[:155]
    block[148:156] = b"%06o\0 " % (sum(block) if checksum is None else checksum)
    return bytes(block)


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def file(name: bytes, content: bytes = b"x", **fields: Any) -> bytes:
    return header(name, len(content), **fields) + padded(content)


def pax(records: dict[bytes, bytes], kind: bytes = b"x") -> bytes:
    """A pax extended (``x``) or global (``g``) header holding exactly ``records``."""
    body = b""
    for key, value in records.items():
        record = b" " + key + b"=" + value + b"\n"
        length = len(record) + 1
        while len(str(length)) + len(record) != length:
            length += 1
        body += str(length).encode() + record
    return header(b"././@PaxHeader", len(body), kind) + padded(body)


def gnu_long(kind: bytes, text: bytes) -> bytes:
    """A GNU long name (``L``) or long link (``K``) header for the next member."""
    return header(b"././@LongLink", len(text) + 1, kind) + padded(text + b"\0")


class Counted(io.RawIOBase):
    """``head`` then zeros up to ``total`` bytes, read through readinto, counting what
    was read (a zstd bomb costs the attacker a few hundred bytes per GiB)."""

    def __init__(self, head: bytes, total: int) -> None:
        self.head, self.total, self.read_bytes = head, total, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.total - self.read_bytes)
        start = self.read_bytes
        for index in range(count):
            if start + index >= len(self.head):
                buffer[index:count] = bytes(count - index)
                break
            buffer[index] = self.head[start + index]
        self.read_bytes += count
        return count


def _stream(tmp_path: Path, data: bytes | io.RawIOBase) -> Path:
    into = tmp_path / "into"
    into.mkdir(mode=0o700)
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    unpack_stream(source, into, where="test part", sync=False)  # type: ignore[arg-type]
    return into


def _tree(root: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = ("link", str(path.readlink()))
        elif path.is_dir():
            found[key] = ("dir", path.stat().st_mode & 0o7777)
        else:
            found[key] = (path.read_bytes(), path.stat().st_mode & 0o7777)
    return found


# Refused by name: every rule, through the hand-written reader and after the hand-over.


def _refused_cases(outside: Path) -> dict[str, tuple[bytes, str]]:
    up = b"../" * 20 + os.fsencode(outside).lstrip(b"/")
    absolute = os.fsencode(outside)
    deep = "/".join(["d"] * 257) + "/f"
    return {
        "ustar prefix '..' joins to ../x": (file(b"x", prefix=b".."), "../x"),
        "ustar prefix absolute": (file(b"x", prefix=absolute), str(outside / "x")),
        "ustar prefix a + name ../../x": (file(b"../../x", prefix=b"a"), "a/../../x"),
        "gnu magic with a prefix": (
            file(b"x", prefix=b"..", magic=b"ustar  \0"),
            "../x",
        ),
        "pax path midway (hand-over)": (
            file(b"a") + pax({b"path": up + b"/p"}) + file(b"b"),
            up.decode() + "/p",
        ),
        "pax path absolute midway": (
            file(b"a") + pax({b"path": absolute + b"/p"}) + file(b"b"),
            str(outside / "p"),
        ),
        "global pax path applies to the next members": (
            file(b"a") + pax({b"path": b"../g"}, b"g") + file(b"b"),
            "../g",
        ),
        "pax linkpath absolute midway": (
            file(b"a") + pax({b"linkpath": absolute}) + header(b"l", kind=b"2", link=b"x"),
            "l",
        ),
        "pax linkpath on a hard link": (
            file(b"a") + pax({b"linkpath": up + b"/victim.txt"}) + header(b"h", kind=b"1"),
            "h",
        ),
        "gnu longname ..": (gnu_long(b"L", b"a/../../x") + file(b"x"), "a/../../x"),
        "gnu longlink outside": (
            gnu_long(b"K", up) + header(b"l", kind=b"2", link=b"x"),
            "l",
        ),
        "gnu sparse member": (header(b"s", 1, b"S") + padded(b"1"), "s"),
        "pax sparse member": (
            file(b"a")
            + pax({b"GNU.sparse.major": b"1", b"GNU.sparse.minor": b"0"})
            + file(b"s", padded(b"1\n0\n1\n") + b"x"),
            "s",
        ),
        "character device": (header(b"c", kind=b"3"), "c"),
        "block device": (header(b"b", kind=b"4"), "b"),
        "fifo": (header(b"p", kind=b"6"), "p"),
        "device after the hand-over": (pax({b"mtime": b"1"}) + header(b"c", kind=b"3"), "c"),
        "unknown type Z": (header(b"z", 1, b"Z") + padded(b"1"), "z"),
        "file, symlink of the same name, file through it": (
            header(b"d", kind=b"5")
            + file(b"a")
            + header(b"a", kind=b"2", link=b"d")
            + file(b"a/x"),
            "a/x",
        ),
        "symlink to .. then a file through it": (
            header(b"a", kind=b"2", link=b"..") + file(b"a/x"),
            "a",
        ),
        "symlink chain leaving through a later link": (
            header(b"d", kind=b"5") + header(b"l", kind=b"2", link=b"d/../..") + file(b"z"),
            "l",
        ),
        "link made outward by a later link": (
            header(b"a", kind=b"5")
            + header(b"b", kind=b"2", link=b"a/../x")
            + header(b"a2", kind=b"2", link=b".")
            + header(b"c", kind=b"2", link=b"a2/../b"),
            "c",
        ),
        "hard link to a symlink": (
            file(b"t") + header(b"s", kind=b"2", link=b"t") + header(b"h", kind=b"1", link=b"s"),
            "h",
        ),
        "hard link outside": (header(b"h", kind=b"1", link=up + b"/victim.txt"), "h"),
        "hard link absolute": (header(b"h", kind=b"1", link=absolute + b"/victim.txt"), "h"),
        "hard link to a member not yet unpacked": (
            header(b"h", kind=b"1", link=b"t") + file(b"t"),
            "h",
        ),
        "hard link to a file replaced by a symlink": (
            file(b"t") + header(b"t", kind=b"2", link=b"u") + header(b"h", kind=b"1", link=b"t"),
            "h",
        ),
        "hard link to a folder": (
            header(b"d", kind=b"5") + header(b"h", kind=b"1", link=b"d"),
            "h",
        ),
        "directory, then a file of the same name": (header(b"d", kind=b"5") + file(b"d"), "d"),
        "file, then a directory of the same name": (file(b"d") + header(b"d", kind=b"5"), "d"),
        "file, then a file under it": (file(b"f") + file(b"f/x"), "f/x"),
        "pax path with a NUL byte": (file(b"a") + pax({b"path": b"a\0b"}) + file(b"c"), "a\0b"),
        "a file named '.'": (file(b"./"), "./"),
        "a symlink named '.' after the hand-over": (
            pax({b"mtime": b"1"}) + header(b".", kind=b"2", link=b"x"),
            ".",
        ),
        "a hard link to itself": (file(b"h") + header(b"h", kind=b"1", link=b"h"), "h"),
        "a symlink, then a folder of the same name": (
            header(b"s", kind=b"2", link=b"t") + header(b"s", kind=b"5"),
            "s",
        ),
        "257 folders deep (gnu longname)": (gnu_long(b"L", deep.encode()) + file(b"x"), deep),
    }


@pytest.mark.parametrize("case", sorted(_refused_cases(Path("/x"))))
def test_each_crafted_member_is_refused_by_name_and_nothing_outside_changes(
    tmp_path: Path, case: str
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    data, member = _refused_cases(outside)[case]
    with pytest.raises(UnsafeMemberError) as refused:
        _stream(tmp_path, data + END)
    assert refused.value.exit_code == 3
    assert f"test part: member {member!r} refused: " in refused.value.message
    assert snapshot(outside) == before


# Invalid tars: a verification failure (exit 3), never a crash or an acceptance.


INVALID = {
    "header checksum lies": file(b"f", checksum=1),
    "checksum lies after the hand-over": pax({b"mtime": b"1"}) + file(b"f", checksum=7),
    "base-256 size beyond the stream": header(b"f", size_field=b"\x80" + b"\0" * 3 + b"\xff" * 8)
    + padded(b"x"),
    "base-256 negative size": header(b"f", size_field=b"\xff" * 12) + padded(b"x"),
    "octal size beyond the stream": header(b"f", size_field=b"77777777777\0") + padded(b"x"),
    "size field not a number": header(b"f", size_field=b"12345678901z"),
    "pax size beyond the stream": pax({b"size": b"999999999999"}) + file(b"f"),
    "pax negative size": file(b"a") + pax({b"size": b"-1536"}) + header(b"f"),
    "pax record of length 0": header(b"././@PaxHeader", 8, b"x") + padded(b"0 path=\n"),
    "pax record longer than the header": header(b"././@PaxHeader", 12, b"x")
    + padded(b"99 path=abc\n"),
    "pax header then nothing": pax({b"path": b"x"}),
    "pax header then a bad header": pax({b"path": b"x"}) + b"\1" * BLOCK,
    "gnu longname then nothing": gnu_long(b"L", b"x"),
    "damaged sparse map": pax({b"GNU.sparse.major": b"1", b"GNU.sparse.minor": b"0"})
    + file(b"s", b"99999999999999999999\n"),
    "cut inside a member": header(b"a", 1000) + b"x" * 100,
    "cut inside a header": file(b"a") + header(b"b", 1)[:300],
    "garbage after the last member, no end blocks": file(b"a") + b"g" * BLOCK,
    "one byte": b"x",
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_a_damaged_or_lying_tar_is_a_verification_failure_not_a_crash(
    tmp_path: Path, case: str
) -> None:
    with pytest.raises(RepriseError) as failed:
        _stream(tmp_path, INVALID[case])
    assert failed.value.exit_code == 3, failed.value.message
    assert isinstance(failed.value, VerificationError)


def test_an_empty_stream_is_not_a_tar(tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match="empty file"):
        _stream(tmp_path, b"")


# Accepted, exactly: the hand-over keeps the pax header's effect and the reader's state.


def test_a_pax_header_midway_changes_the_next_member_and_the_rest_follows_exactly(
    tmp_path: Path,
) -> None:
    """The reader hands the stream to tarfile at a pax header right after a member whose
    data ended mid-buffer: the header's path and size apply to the next member only, and
    every member after it (plain ustar again) comes back byte for byte."""
    data = (
        file(b"first", b"1" * 700)
        + pax({b"path": b"long/" + b"n" * 150, b"size": b"5"})
        + header(b"ignored-name", 3)
        + padded(b"12345")
        + file(b"after", b"2" * 513, mode=0o6755)
        + header(b"sub", kind=b"5", mode=0o1777)
        + header(b"sub/link", kind=b"2", link=b"../after")
        + header(b"hard", kind=b"1", link=b"after")
        + END
    )
    into = _stream(tmp_path, data)
    assert _tree(into) == {
        "after": (b"2" * 513, 0o755),
        "first": (b"1" * 700, 0o644),
        "hard": (b"2" * 513, 0o755),
        "long": ("dir", 0o755),
        "long/" + "n" * 150: (b"12345", 0o644),
        "sub": ("dir", 0o777),
        "sub/link": ("link", "../after"),
    }


def test_the_end_block_ends_the_archive_even_with_members_or_garbage_after_it(
    tmp_path: Path,
) -> None:
    data = file(b"a") + b"\0" * BLOCK + file(b"../after-end") + b"garbage" * 200
    assert _tree(_stream(tmp_path, data)) == {"a": (b"x", 0o644)}


def test_headers_tarfile_reads_oddly_are_read_the_same_way(tmp_path: Path) -> None:
    """A NUL in a name ends it; an old-style file name ending in '/' is a folder; a
    contiguous file is a file; a folder or symlink header's size carries no data."""
    data = (
        file(b"cut\0/../../x")
        + header(b"old/", kind=b"\0")
        + file(b"old/c", b"7", kind=b"7")
        + header(b"dir-with-size", 1024, b"5")
        + header(b"link-with-size", 512, b"2", link=b"cut")
        + END
    )
    assert _tree(_stream(tmp_path, data)) == {
        "cut": (b"x", 0o644),
        "dir-with-size": ("dir", 0o644),
        "link-with-size": ("link", "cut"),
        "old": ("dir", 0o644),
        "old/c": (b"7", 0o644),
    }


class Trickle(io.RawIOBase):
    """A pipe that returns at most a few bytes per read (headers and contents then straddle
    every read and the reader's buffer)."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.position = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self.data[self.position : self.position + min(self.step, len(buffer))]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)


@pytest.mark.parametrize("step", [1, 7, 511, 513])
def test_short_reads_split_headers_and_contents_anywhere(tmp_path: Path, step: int) -> None:
    data = (
        file(b"a", b"1" * 1000)
        + file(b"b", b"")
        + pax({b"path": b"c-long"})
        + file(b"c", b"3" * 700)
        + file(b"d", b"4")
        + END
    )
    into = _stream(tmp_path, Trickle(data, step))
    assert _tree(into) == {
        "a": (b"1" * 1000, 0o644),
        "b": (b"", 0o644),
        "c-long": (b"3" * 700, 0o644),
        "d": (b"4", 0o644),
    }


def test_many_members_and_deep_paths_unpack(tmp_path: Path) -> None:
    deep = "/".join(["d"] * 255)
    members = [gnu_long(b"L", f"{deep}/f".encode()) + file(b"x")]
    members += [header(b"many/%d" % number) for number in range(5000)]
    into = _stream(tmp_path, b"".join(members) + END)
    assert (into / deep / "f").read_bytes() == b"x"
    assert sum(1 for _ in (into / "many").iterdir()) == 5000


# Weaknesses (these fail until fixed).


@pytest.mark.parametrize("kind", [b"x", b"g", b"X", b"L", b"K"])
@pytest.mark.parametrize("where", ["first", "after the hand-over"])
def test_an_extended_header_of_gigabytes_is_refused_before_it_is_read_into_memory(
    tmp_path: Path, kind: bytes, where: str
) -> None:
    """tarfile reads a pax or GNU long-name header whole into memory, whatever size it
    declares (twice: 300 MiB declared cost 600 MiB of memory); a part of a few hundred
    bytes (zstd turns gigabytes of zeros into almost nothing) re-encrypted with the public
    recipient would exhaust the memory before the checksum is ever compared."""
    declared = 64 * 1024 * 1024
    head = file(b"a")
    if where == "after the hand-over":
        head += pax({b"mtime": b"1"}) + file(b"b")
    head += header(b"././@LongLink", declared, kind)
    source = Counted(head, len(head) + declared + 4 * BLOCK)
    with pytest.raises(VerificationError):
        _stream(tmp_path, source)
    assert source.read_bytes < len(head) + 4 * 1024 * 1024, "the header was read whole"


def test_a_negative_size_that_loops_back_ends_the_file_reader_too(tmp_path: Path) -> None:
    """unpack() of a file (files restores) reads with tarfile's random access: a pax size
    of -1536 sends tarfile back to the pax header forever on Python 3.11.2
    (CVE-2025-8194, fixed only in later Pythons). The stream reader refuses it; the file
    reader must too."""
    archive = tmp_path / "loop.tar"
    archive.write_bytes(file(b"a") + pax({b"size": b"-1536"}) + header(b"f") + END)
    into = tmp_path / "into"
    into.mkdir()
    code = textwrap.dedent(f"""
        from pathlib import Path
        from reprise.errors import VerificationError
        from reprise.restore.unpack import unpack
        try:
            unpack(Path({str(archive)!r}), Path({str(into)!r}), where="loop")
        except VerificationError:
            raise SystemExit(3)
    """)
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=15
        )
    except subprocess.TimeoutExpired:
        pytest.fail("unpack() loops forever on a negative member size")
    assert result.returncode == 3, result.stderr


# One stored part through the real age and zstd programs.


needs_programs = pytest.mark.skipif(
    not (shutil.which("age") and shutil.which("zstd")), reason="age and zstd are needed"
)


class _Backend:
    def __init__(self, stored: Path) -> None:
        self.stored = stored

    def open_reader(self, key: str) -> Any:
        return self.stored.open("rb")


class _Repository:
    def __init__(self, stored: Path) -> None:
        self.backend = _Backend(stored)

    def where(self, key: str) -> str:
        return f"repo:{key}"


def _part(
    tmp_path: Path,
    plain: bytes,
    *,
    signed_plain: bytes | None = None,
    level: int = 3,
) -> tuple[Any, Any, Any, list[Any]]:
    """A stored part (age over zstd over ``plain``) and the manifest entry signed for
    ``signed_plain`` (the genuine part: another content makes the stored bytes differ)."""
    import pyrage
    import zstandard

    identity = pyrage.x25519.Identity.generate()
    recipient = identity.to_public()

    def stored_of(data: bytes) -> bytes:
        return bytes(
            pyrage.encrypt(zstandard.ZstdCompressor(level=level).compress(data), [recipient])
        )

    stored = stored_of(plain)
    signed = stored if signed_plain is None else stored_of(signed_plain)
    signed_plain = plain if signed_plain is None else signed_plain
    path = tmp_path / "base.tar.zst.age"
    path.write_bytes(stored)
    part = Part(
        name="base.tar.zst.age",
        role="database",
        plain_size=len(signed_plain),
        plain_sha256=hashlib.sha256(signed_plain).hexdigest(),
        stored_size=len(signed),
        sha256=hashlib.sha256(signed).hexdigest(),
    )
    manifest = SimpleNamespace(source="src", id="20261127T000000Z-test")
    return _Repository(path), manifest, part, [identity]


def _run_part(tmp_path: Path, repository: Any, manifest: Any, part: Any, identities: Any) -> Path:
    into = tmp_path / "into"
    into.mkdir(mode=0o700)
    unpack_part_module.unpack_part(
        repository, manifest, part, identities, into, where="backup test part base"
    )
    return into


def _wrapper(tmp_path: Path, name: str, body: str) -> str:
    """A stand-in for ``age`` or ``zstd`` that records its pid, then runs ``body``."""
    script = tmp_path / f"fake-{name}"
    script.write_text(f"#!/bin/sh\necho $$ >> {tmp_path / 'pids'}\n{body}\n")
    script.chmod(0o755)
    return str(script)


def _alive(tmp_path: Path) -> list[int]:
    pids_file = tmp_path / "pids"
    pids = [int(line) for line in pids_file.read_text().split()] if pids_file.exists() else []
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive


def _kill_all(tmp_path: Path) -> None:
    for pid in _alive(tmp_path):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # the programs run in their own sessions


def _decoder_module() -> Any:
    """Where the age | zstd pipeline lives."""
    return decoders_module


@needs_programs
def test_a_genuine_part_unpacks_through_age_and_zstd(tmp_path: Path) -> None:
    plain = file(b"PG_VERSION", b"15\n") + file(b"global/pg_control", b"\0" * 64) + END
    into = _run_part(tmp_path, *_part(tmp_path, plain))
    assert (into / "PG_VERSION").read_bytes() == b"15\n"


@needs_programs
def test_a_refused_member_stops_and_reaps_both_programs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    age, zstd = shutil.which("age"), shutil.which("zstd")
    monkeypatch.setattr(
        staging_module, "age_program", lambda: _wrapper(tmp_path, "age", f'exec {age} "$@"')
    )
    monkeypatch.setattr(
        shutil,
        "which",
        lambda name: _wrapper(tmp_path, "zstd", f'exec {zstd} "$@"') if name == "zstd" else None,
    )
    plain = file(b"ok") + file(b"../escape") + os.urandom(4 * 1024 * 1024) + END
    try:
        with pytest.raises(UnsafeMemberError, match=r"'\.\./escape' refused"):
            _run_part(tmp_path, *_part(tmp_path, plain, level=1))
        assert len((tmp_path / "pids").read_text().split()) == 2
        assert _alive(tmp_path) == [], "age or zstd outlived the refusal"
    finally:
        _kill_all(tmp_path)


@needs_programs
@pytest.mark.parametrize("decoding", ["age and zstd", "in-process"])
def test_a_part_larger_than_signed_is_stopped_at_the_signed_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decoding: str
) -> None:
    """The stored part is re-encrypted by anyone holding the public recipient: its plain
    stream (here 32 MiB of zeros, then a hostile member) goes far past the signed plain
    size. The decoding must stop there, not fill the disk (a zstd bomb turns a few hundred
    bytes into gigabytes) before the checksum is compared at the end. The same holds when
    the part is decoded in-process (no age program, or identities age cannot read)."""
    if decoding == "in-process":
        monkeypatch.setattr(staging_module, "age_program", lambda: None)
    genuine = file(b"PG_VERSION", b"15\n") + END
    bomb = header(b"zeros", 32 * 1024 * 1024) + b"\0" * (32 * 1024 * 1024)
    bomb += file(b"../escape") + END
    parts = _part(tmp_path, bomb, signed_plain=genuine)
    with pytest.raises(VerificationError) as failed:
        _run_part(tmp_path, *parts)
    assert not isinstance(failed.value, UnsafeMemberError), (
        "the whole oversized stream was unpacked: " + failed.value.message
    )
    assert "base.tar.zst.age" in failed.value.message


@needs_programs
def test_an_altered_part_unpacks_whole_then_fails_and_the_caller_sees_it(tmp_path: Path) -> None:
    """Same size, other content (re-encrypted): the checksum fails after the unpack."""
    genuine = file(b"PG_VERSION", b"15\n") + END
    impostor = file(b"PG_VERSION", b"16\n") + END
    with pytest.raises(VerificationError, match="altered"):
        _run_part(tmp_path, *_part(tmp_path, impostor, signed_plain=genuine))


@needs_programs
@pytest.mark.parametrize("program", ["age", "zstd"])
def test_a_program_killed_by_a_signal_is_an_operation_failure_not_a_damaged_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program: str
) -> None:
    """age or zstd killed mid-way (the OOM killer, an operator): the backup is fine, the
    restore failed. Saying "the part is damaged, use another backup" (exit 3) would send
    the operator away from a good backup."""
    real = shutil.which(program)
    cut = f'{real} "$@" | head -c 65536\nkill -KILL $$'
    fake = _wrapper(tmp_path, program, cut)
    if program == "age":
        monkeypatch.setattr(staging_module, "age_program", lambda: fake)
    else:
        which = shutil.which
        monkeypatch.setattr(
            shutil,
            "which",
            lambda name: fake if name == "zstd" else which(name),
        )
    plain = file(b"noise", os.urandom(4 * 1024 * 1024)) + END
    try:
        with pytest.raises(RepriseError) as failed:
            _run_part(tmp_path, *_part(tmp_path, plain, level=1))
    finally:
        _kill_all(tmp_path)
    assert isinstance(failed.value, OperationError), failed.value.message
    assert program in failed.value.message and "signal 9" in failed.value.message


@needs_programs
def test_a_program_that_stalls_is_bounded_and_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """age never ends and never writes (a hung program, a stalled store): the unpack must
    give up after the stall bound (``STALL_TIMEOUT`` seconds without a byte, set in the
    module of the decoder), kill both
    programs and say so, not wait forever."""
    fake = _wrapper(tmp_path, "age", "exec sleep 600")
    monkeypatch.setattr(staging_module, "age_program", lambda: fake)
    monkeypatch.setattr(_decoder_module(), "STALL_TIMEOUT", 2.0, raising=False)
    parts = _part(tmp_path, file(b"PG_VERSION", b"15\n") + END)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            _run_part(tmp_path, *parts)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - inspected below
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(15)
    stalled = worker.is_alive()
    _kill_all(tmp_path)  # frees the worker when there is no bound
    worker.join(30)
    assert not stalled, "no bound: the restore waits forever on a stalled program"
    assert outcome and isinstance(outcome[0], OperationError), outcome
    assert _alive(tmp_path) == []
