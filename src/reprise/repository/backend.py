"""The one small interface every repository backend implements.

Everything above it (format, manifests, locks, catalog, verification) is shared, so a new
kind of storage only has to move bytes: put a stream, get a stream, list, stat, delete.
Keys are ``/``-separated relative names such as ``backups/db/20261121T101500Z-a1b2c3/x``
(see :func:`check_key`); a key names an object or is the folder of others, never both (a
file system cannot hold both). Every backend passes tests/integration/test_backend_contract.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from reprise.errors import InputError

_KEY_PART = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows of one stored object."""

    key: str
    size: int
    modified: datetime


class ObjectWriter(Protocol):
    """A stream being stored: nothing is visible under its key until ``commit``."""

    def write(self, data: bytes | memoryview, /) -> int:
        """Append bytes."""

    def commit(self) -> None:
        """Make the object durable and visible (atomically) under its key, replacing the
        object already there if any (the reader sees the old bytes or the new, never a mix)."""

    def abort(self) -> None:
        """Drop what was written; the key is left as it was."""


class Backend(Protocol):
    """Storage of named byte streams."""

    description: str
    """Where the repository lives, for people (a path or an s3:// address)."""

    def where(self, key: str) -> str:
        """The full address of an object, for messages (a path or an s3:// URL)."""

    def open_writer(self, key: str, *, immutable: bool = True) -> ObjectWriter:
        """Start storing ``key``; ``immutable`` objects get the Object Lock retention if any."""

    def put_exclusive(self, key: str, data: bytes) -> bool:
        """Store small ``data`` under ``key`` only if nothing is there; False if taken."""

    def open_reader(self, key: str) -> BinaryIO:
        """A stream of the stored bytes (raises NotFound when missing)."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix`` (a string prefix, not a folder), in
        key order. A local folder also lists the temporary files of unfinished writes, so
        that a crash's leftovers can be found (under other keys than the one written)."""

    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size and time, or None when missing."""

    def delete(self, key: str) -> None:
        """Remove the object (missing is fine)."""


class NotFoundError(KeyError):
    """A key that the backend does not hold."""


def check_key(key: str) -> str:
    """Refuse keys that could leave the repository (``..``, absolute, odd characters)."""
    parts = key.split("/")
    if not parts or any(not _KEY_PART.match(part) for part in parts):
        raise InputError(
            f"invalid repository object name {key!r}",
            hint="names are '/'-separated words of letters, digits, '.', '_', '-'",
        )
    return key


def put_bytes(backend: Backend, key: str, data: bytes, *, immutable: bool = True) -> None:
    """Store a small object in one go (atomic, like any write)."""
    writer = backend.open_writer(key, immutable=immutable)
    try:
        writer.write(data)
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def get_bytes(backend: Backend, key: str, *, limit: int = 64 * 1024 * 1024) -> bytes:
    """Read a small object whole; refuses objects over ``limit`` (a manifest is small)."""
    with backend.open_reader(key) as reader:
        data = reader.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{key}: larger than {limit} bytes, not a Reprise metadata file")
    return data


def round_trip(backend: Backend, folder: str) -> None:
    """Write a small probe object of random bytes under ``folder``, read it back and delete
    it: the repository is reachable and writable, as a check proves it. Raises what the
    backend meets (OSError when the bytes read back differ)."""
    import secrets

    key = f"{folder}/probe-{secrets.token_hex(6)}"
    data = secrets.token_bytes(16)
    put_bytes(backend, key, data, immutable=False)
    try:
        if get_bytes(backend, key) != data:
            raise OSError(f"{backend.where(key)}: read back differs from what was written")
    finally:
        backend.delete(key)
