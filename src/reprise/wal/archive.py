"""The WAL archive of one physical source in a repository.

Layout: ``wal/<source>/<file name>-<SHA-256 of the plain file>.zst.age``. The checksum in
the name makes a push idempotent (the same file again is a no-op) and lets a second,
different file under the same name be refused, which is what PostgreSQL's documentation
asks of an archive_command; a fetch checks the decrypted bytes against it.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reprise.backup.pipeline import BLOCK, STORED_SUFFIX, read_stream, store_stream
from reprise.errors import InputError, OperationError, VerificationError
from reprise.repository import Repository
from reprise.wal.names import WAL_FILE

WAL_ROOT = "wal"


@dataclass(frozen=True)
class ArchivedFile:
    """One archived WAL file."""

    name: str
    sha256: str
    key: str
    stored_size: int
    modified: datetime


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(BLOCK):
            digest.update(chunk)
    return digest.hexdigest()


class WalArchive:
    """Push, fetch and list the WAL of ``source`` in ``repository``."""

    def __init__(self, repository: Repository, source: str) -> None:
        self.repository = repository
        self.source = source
        self.prefix = f"{WAL_ROOT}/{source}/"

    def _parse(self, key: str, size: int, modified: datetime) -> ArchivedFile | None:
        stem = key[len(self.prefix):]
        if not stem.endswith(STORED_SUFFIX) or "-" not in stem:
            return None
        name, digest = stem[:-len(STORED_SUFFIX)].rsplit("-", 1)
        if not WAL_FILE.match(name) or len(digest) != 64:
            return None
        return ArchivedFile(name, digest, key, size, modified)

    def files(self, name_prefix: str = "") -> Iterator[ArchivedFile]:
        """Archived files in name order (optionally only names starting with a prefix)."""
        for info in self.repository.backend.list(self.prefix + name_prefix):
            found = self._parse(info.key, info.size, info.modified)
            if found is not None:
                yield found

    def find(self, name: str) -> list[ArchivedFile]:
        """Every archived copy of ``name`` (one, unless something went wrong)."""
        return [item for item in self.files(name + "-") if item.name == name]

    def push(self, path: Path, recipients: list[Any], *, level: int) -> bool:
        """Archive one file; True if stored, False if the identical file was already there.
        Raises when a different file is archived under that name."""
        name = path.name
        if not WAL_FILE.match(name):
            raise InputError(f"{path}: not a WAL file name",
                             hint="archive_command = 'reprise wal push %p' passes the path "
                                  "of a segment, history or backup file")
        try:
            digest = _hash_file(path)
        except OSError as error:
            raise OperationError(f"{path}: cannot read ({error.strerror})") from error
        existing = self.find(name)
        if any(item.sha256 == digest for item in existing):
            return False
        if existing:
            raise OperationError(
                f"{self.repository.where(self.prefix + name)}: a different {name} is already "
                f"archived (SHA-256 {existing[0].sha256[:16]}…, this one {digest[:16]}…); "
                "refusing to replace it",
                hint="two servers archive into the same source, or a restored copy still "
                     "archives: give each server its own source, or set archive_mode = off "
                     "on the copy")
        key = f"{self.prefix}{name}-{digest}{STORED_SUFFIX}"
        writer = self.repository.backend.open_writer(key)
        try:
            with path.open("rb") as stream:
                stored = store_stream(name, stream, writer, recipients, level=level)
        except BaseException:
            writer.abort()
            raise
        if stored.plain_sha256 != digest:
            writer.abort()
            raise OperationError(f"{path}: changed while it was archived",
                                 hint="PostgreSQL should not change a segment it archives")
        writer.commit()
        return True

    def fetch(self, item: ArchivedFile, destination: Path, identities: list[Any]) -> None:
        """Decrypt one archived file to ``destination`` (temporary name, checked, renamed)."""
        temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}")
        where = self.repository.where(item.key)
        try:
            with temporary.open("xb") as handle, \
                    self.repository.backend.open_reader(item.key) as stored:
                result = _read_checked(stored, identities, handle.write, where)
            if result.plain_sha256 != item.sha256:
                raise VerificationError(f"{where}: content does not match its checksum",
                                        hint="the archived segment is damaged")
            temporary.rename(destination)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise

    def read_small(self, item: ArchivedFile, identities: list[Any]) -> bytes:
        """A small archived file (a timeline history), decrypted and checked."""
        chunks: list[bytes] = []
        with self.repository.backend.open_reader(item.key) as stored:
            result = _read_checked(stored, identities, chunks.append,
                                   self.repository.where(item.key))
        if result.plain_sha256 != item.sha256:
            raise VerificationError(f"{self.repository.where(item.key)}: content does not "
                                    "match its checksum", hint="the archive is damaged")
        return b"".join(chunks)


def _read_checked(stored: Any, identities: list[Any], sink: Any, where: str) -> Any:
    """read_stream, with damage and wrong keys reported as verification failures."""
    import pyrage
    import zstandard

    try:
        return read_stream(stored, identities, sink)
    except (pyrage.DecryptError, zstandard.ZstdError) as error:
        raise VerificationError(f"{where}: cannot decrypt or decompress ({error})",
                                hint="the archived file is damaged, or the identity is not "
                                     "one of its recipients") from error
    except OSError as error:
        if error.errno is not None:
            raise
        raise VerificationError(f"{where}: cannot decrypt ({error})",
                                hint="the archived file is damaged") from error
