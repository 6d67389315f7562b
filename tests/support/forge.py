"""Hostile backups made the way a compromised backup host would: arbitrary plain parts
(crafted tars), compressed and encrypted to the plan's recipients, with a manifest signed
by the plan's own signing key. Verification accepts them; only what is inside is hostile.

Also a tree snapshot, to prove that a folder outside a restore target did not change.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reprise.backup.pipeline import store_stream
from reprise.plan.loader import load_plan
from reprise.repository import keys as keyring
from reprise.repository import open_repository
from reprise.repository.backend import put_bytes
from reprise.repository.layout import MANIFEST, SIGNATURE, backup_prefix, new_backup_id
from reprise.repository.manifest import Compression, Encryption, Manifest, Part, encode_manifest
from reprise.repository.streams import STORED_SUFFIX


@dataclass(frozen=True)
class ForgedPart:
    """One plain part: its name without the stored suffix, role, format and bytes."""

    name: str
    role: str
    data: bytes
    format: str | None = None
    database: str | None = None


def forge_backup(
    plan_file: Path,
    *,
    source: str,
    kind: str,
    parts: list[ForgedPart],
    service: str = "app",
    repository: str = "local",
    server: dict[str, Any] | None = None,
    databases: list[dict[str, Any]] | None = None,
) -> str:
    """Store ``parts`` as a complete, correctly signed backup; returns its id. The catalog
    learns of it with `repo reindex`."""
    plan = load_plan(plan_file).plan
    recipients = keyring.recipients(plan.keys)
    signer = keyring.signing_key(plan.keys)
    store = open_repository(plan, repository)
    started = datetime.now(UTC)
    backup_id = new_backup_id(started)
    prefix = backup_prefix(source, backup_id)
    stored_parts = []
    for part in parts:
        name = part.name + STORED_SUFFIX
        writer = store.backend.open_writer(prefix + name)
        stored = store_stream(
            name, io.BytesIO(part.data), writer, keyring.age_recipients(recipients)
        )
        writer.commit()
        stored_parts.append(
            Part(
                name=name,
                role=part.role,
                database=part.database,
                format=part.format,
                plain_size=stored.plain_size,
                plain_sha256=stored.plain_sha256,
                stored_size=stored.stored_size,
                sha256=stored.sha256,
            )
        )
    manifest = Manifest(
        id=backup_id,
        repository=repository,
        source=source,
        kind=kind,
        service=service,
        host=socket.gethostname(),
        started_at=started,
        finished_at=datetime.now(UTC),
        tool={"name": "reprise", "version": "forged"},
        compression=Compression(level=3),
        encryption=Encryption(recipients=recipients),
        signing_key=signer.fingerprint,
        parts=stored_parts,
        server=server or {},
        databases=databases or [],
    )
    data = encode_manifest(manifest)
    put_bytes(store.backend, prefix + MANIFEST, data)
    put_bytes(store.backend, prefix + SIGNATURE, signer.sign(data))
    return backup_id


Member = Callable[[tarfile.TarFile], None]


def tar_bytes(*members: Member) -> bytes:
    """A PAX tar built by the given callables (each adds members to the open archive)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for add in members:
            add(archive)
    return buffer.getvalue()


def regular(name: str, content: bytes = b"hostile\n", mode: int = 0o644, uid: int = 0) -> Member:
    """A regular file member."""

    def add(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = len(content), mode, uid, 0
        info.mtime = 1_700_000_000
        archive.addfile(info, io.BytesIO(content))

    return add


def entry(
    name: str,
    kind: bytes,
    *,
    linkname: str = "",
    mode: int = 0o755,
    devmajor: int = 0,
    devminor: int = 0,
) -> Member:
    """A member without content: folder, symlink, hard link, device or FIFO."""

    def add(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode = kind, linkname, mode
        info.devmajor, info.devminor, info.mtime = devmajor, devminor, 1_700_000_000
        archive.addfile(info)

    return add


def pax_member(
    name: str,
    records: dict[str, bytes],
    content: bytes = b"x",
    kind: bytes = tarfile.REGTYPE,
    linkname: str = "",
) -> bytes:
    """A member preceded by a PAX header holding exactly ``records`` (values tarfile itself
    would never write: inf, NaN, huge numbers, a sparse map), byte for byte. Long names
    and link targets go into the PAX header."""
    records = dict(records)
    if len(name) > 100:
        records["path"], name = name.encode(), "placeholder"
    if len(linkname) > 100:
        records["linkpath"], linkname = linkname.encode(), "placeholder"
    body = b""
    for key, value in records.items():
        record = b" " + key.encode() + b"=" + value + b"\n"
        length = len(record) + 1
        while len(str(length)) + len(record) != length:
            length += 1
        body += str(length).encode() + record

    def header(member: str, type_: bytes, size: int, link: str = "") -> bytes:
        info = tarfile.TarInfo(member)
        info.type, info.size, info.mode, info.mtime, info.linkname = (
            type_,
            size,
            0o644,
            1_700_000_000,
            link,
        )
        return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")

    def blocks(data: bytes) -> bytes:
        return data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)

    data = content if kind in (tarfile.REGTYPE, tarfile.GNUTYPE_SPARSE) else b""
    return (
        header("././@PaxHeader", tarfile.XHDTYPE, len(body))
        + blocks(body)
        + header(name, kind, len(data), linkname)
        + blocks(data)
        + b"\0" * (2 * tarfile.BLOCKSIZE)
    )


def hostile_cases(outside: Path) -> dict[str, bytes]:
    """One crafted tar per attack, each aimed at the folder ``outside``."""
    up = "../" * 30 + str(outside).lstrip("/")
    return {
        "absolute name": tar_bytes(regular(str(outside / "absolute.txt"))),
        "dot-dot": tar_bytes(regular("data/" + up + "/dotdot.txt")),
        "symlink then file": tar_bytes(
            entry("escape", tarfile.SYMTYPE, linkname=str(outside)),
            regular("escape/through-link.txt"),
        ),
        "relative symlink then file": tar_bytes(
            entry("escape", tarfile.SYMTYPE, linkname=up), regular("escape/through-link.txt")
        ),
        "hard link outside": tar_bytes(
            entry("victim-link", tarfile.LNKTYPE, linkname=up + "/victim.txt")
        ),
        "device node": tar_bytes(
            entry("null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
        ),
        "fifo": tar_bytes(entry("pipe", tarfile.FIFOTYPE, mode=0o644)),
    }


def snapshot(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under ``root`` (and ``root`` itself): type, mode, owner, mtime, and the
    content's hash or the link's target. Symlinks are never followed."""
    found: dict[str, tuple[Any, ...]] = {}
    for directory, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = Path(directory) if name == "." else Path(directory, name)
            if name == "." and path != root:
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                what: Any = ("link", str(path.readlink()))
            elif stat.S_ISREG(info.st_mode):
                what = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                what = ("dir" if stat.S_ISDIR(info.st_mode) else "other", None)
            found[str(path.relative_to(root))] = (
                *what,
                stat.S_IMODE(info.st_mode),
                info.st_uid,
                info.st_gid,
                info.st_mtime_ns,
                info.st_nlink,
            )
    return found


def sentinel(root: Path) -> Path:
    """A folder of things an attacker would like to touch."""
    root.mkdir(parents=True)
    (root / "victim.txt").write_text("untouched\n")
    (root / "victim.txt").chmod(0o640)
    (root / "sub").mkdir()
    (root / "sub" / "deep.txt").write_text("deep\n")
    (root / "link").symlink_to("victim.txt")
    return root
