"""A repository in a local directory (a disk, an NFS mount, a mounted backup server).

Writes go to a temporary name in the target folder, are fsynced, then renamed, and the
folder is fsynced: after a crash an object is either absent or complete. Files are created
0600 and folders 0700 from the first byte, whatever the umask: parts are encrypted, but
their names, sizes and times are nobody else's business, and nobody else may add any.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from reprise.errors import OperationError
from reprise.repository.backend import NotFoundError, ObjectInfo, check_key
from reprise.security import create_private_file, make_private_dirs
from reprise.writeback import WritebackCounter

TEMPORARY_MARK = ".tmp-"


def storage_error(error: OSError, path: Path | str, doing: str) -> OperationError:
    """One clear message for a failed write or read, with the usual fix."""
    if error.errno == errno.ENOSPC:
        return OperationError(
            f"{path}: no space left on the device while {doing}",
            hint="free space (reprise backup prune) or grow the volume",
            retryable=True,
        )
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OperationError(
            f"{path}: not writable ({error.strerror})",
            hint="check the owner and mode of the repository folder, or "
            "that it is not mounted read-only",
        )
    return OperationError(f"{path}: {error.strerror or error} while {doing}", retryable=True)


def fsync_dir(path: Path) -> None:
    """Make a rename or creation in ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_empty_parents(path: Path, root: Path) -> None:
    """Remove the folders above ``path`` that became empty, up to (not including) root."""
    parent = path.parent
    while parent != root and parent.is_relative_to(root):
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


class _LocalWriter:
    def __init__(self, final: Path, root: Path) -> None:
        self._final = final
        self._root = root
        self._temporary = final.with_name(f".{final.name}{TEMPORARY_MARK}{secrets.token_hex(4)}")
        try:
            make_private_dirs(final.parent)
            self._handle: BinaryIO | None = os.fdopen(create_private_file(self._temporary), "wb")
        except OSError as error:
            raise storage_error(error, final.parent, "creating a file") from error
        # The disk writes the part while the backup goes on; the fsync at commit waits less.
        self._writeback = WritebackCounter(self._handle.fileno())

    def write(self, data: bytes | memoryview, /) -> int:
        assert self._handle is not None, "write after commit or abort"
        try:
            count = self._handle.write(data)
            self._writeback.wrote(count)
            return count
        except OSError as error:
            self.abort()
            raise storage_error(error, self._final, "writing") from error

    def commit(self) -> None:
        assert self._handle is not None, "commit after commit or abort"
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
            self._temporary.replace(self._final)
            fsync_dir(self._final.parent)
        except OSError as error:
            self.abort()
            raise storage_error(error, self._final, "saving") from error

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._temporary.unlink(missing_ok=True)
        remove_empty_parents(self._temporary, self._root)


class LocalBackend:
    """Objects are files under ``root``; keys map to relative paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def _path(self, key: str) -> Path:
        """The file of ``key``; refuses a key whose folders below the root include a
        symbolic link: whoever can write the repository could otherwise make Reprise read,
        write or delete elsewhere (the object itself is opened without following one)."""
        parts = check_key(key).split("/")
        current = self.root
        for part in parts[:-1]:
            current = current / part
            try:
                status = os.lstat(current)
            except OSError:
                break  # missing: created as a real folder by whoever writes it
            if stat.S_ISLNK(status.st_mode):
                raise OperationError(
                    f"{current}: a symbolic link inside the repository; refusing to follow it",
                    hint="Reprise never creates one: whoever can write the repository put it "
                    "there. Examine it, then remove it",
                )
        return self.root.joinpath(*parts)

    def where(self, key: str) -> str:
        """The object's path."""
        return str(self.root.joinpath(*key.split("/")))

    def open_writer(self, key: str, *, immutable: bool = True) -> _LocalWriter:
        """Start storing ``key`` (``immutable`` has no meaning on a plain file system)."""
        return _LocalWriter(self._path(key), self.root)

    def put_exclusive(self, key: str, data: bytes) -> bool:
        """Create ``key`` with ``data`` unless it exists (O_EXCL: atomic on local and NFSv3+)."""
        path = self._path(key)
        try:
            make_private_dirs(path.parent)
            descriptor = create_private_file(path)
        except FileExistsError:
            return False
        except OSError as error:
            raise storage_error(error, path, "creating a lock") from error
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def open_reader(self, key: str) -> BinaryIO:
        """The file opened for reading."""
        path = self._path(key)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError) as error:
            # NotADirectory: a folder on the way is an object, so the key is missing.
            raise NotFoundError(key) from error
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise OperationError(
                    f"{path}: a symbolic link inside the repository; refusing to follow it",
                    hint="Reprise never creates one: whoever can write the repository put it there",
                ) from error
            raise storage_error(error, path, "reading") from error
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise OperationError(
                f"{path}: not a regular file (a device, a FIFO or a folder inside the repository)",
                hint="remove it",
            )
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Files under ``prefix`` (temporary files of unfinished writes included)."""
        found: list[ObjectInfo] = []
        if not self.root.is_dir():
            return iter(found)
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    info = self._info(key, path)
                    if info is not None:
                        found.append(info)
        return iter(sorted(found, key=lambda info: info.key))

    def _info(self, key: str, path: Path) -> ObjectInfo | None:
        """The file's info; None when missing, or when ``key`` names a folder (the prefix of
        other keys, not an object) or lies below an object (a file is no folder)."""
        try:
            status = path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(status.st_mode):
            return None
        return ObjectInfo(key, status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and modification time of the file."""
        return self._info(key, self._path(key))

    def delete(self, key: str) -> None:
        """Remove the file, then its folders as they become empty."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except NotADirectoryError:
            return  # below an object: missing
        except OSError as error:
            raise storage_error(error, path, "deleting") from error
        remove_empty_parents(path, self.root)
