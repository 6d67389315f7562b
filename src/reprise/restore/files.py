"""Putting files back: a ``files`` tar or a ``command`` output into a target directory.

Everything is first unpacked into a private folder inside the target (same file system),
fsynced, checked for conflicts with what exists, and only then renamed into place. An
existing file is replaced only with ``overwrite``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

from reprise.errors import FileExistsRefusal, InputError
from reprise.repository.local import storage_error

WORK_PREFIX = ".reprise-restore-"


def check_target_dir(target_dir: Path) -> Path:
    """Refuse the root and relative paths; create the folder if needed."""
    resolved = target_dir.resolve()
    if not target_dir.is_absolute():
        raise InputError(f"--target-dir {target_dir}: give an absolute path",
                         hint=f"for example {resolved}")
    if resolved == Path("/"):
        raise InputError("--target-dir /: restoring over the root file system is refused",
                         hint="restore into a folder, check, then move what you need")
    try:
        resolved.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as error:
        raise storage_error(error, resolved, "creating the target folder") from error
    return resolved


def _walk(root: Path) -> Iterator[Path]:
    for directory, dirs, files in os.walk(root):
        base = Path(directory)
        for name in sorted(dirs) + sorted(files):
            path = base / name
            if name in files or path.is_symlink():
                yield path


def _fsync_tree(root: Path) -> None:
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            if path.is_symlink():
                continue
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def conflicts(unpacked: Path, target_dir: Path) -> list[Path]:
    """Paths that exist in the target and would be replaced."""
    found = []
    for path in _walk(unpacked):
        destination = target_dir / path.relative_to(unpacked)
        if destination.exists() or destination.is_symlink():
            found.append(destination)
    return found


def move_into_place(unpacked: Path, target_dir: Path, *, overwrite: bool) -> int:
    """Rename every unpacked file into the target (folders are merged); refuse before
    moving anything when a file exists and ``overwrite`` is off. Returns the file count."""
    existing = conflicts(unpacked, target_dir)
    if existing and not overwrite:
        shown = ", ".join(str(path) for path in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise FileExistsRefusal(f"{len(existing)} file(s) already exist in the target: "
                                f"{shown}{more}",
                                hint="restore into an empty folder, or replace them with "
                                     "--overwrite")
    count = 0
    for path in _walk(unpacked):
        destination = target_dir / path.relative_to(unpacked)
        for parent in reversed(destination.relative_to(target_dir).parents):
            folder = target_dir / parent
            if not folder.is_dir():
                source_folder = unpacked / parent
                folder.mkdir(exist_ok=True)
                shutil.copystat(source_folder, folder, follow_symlinks=False)
                with contextlib.suppress(OSError):
                    stat = source_folder.stat()
                    os.chown(folder, stat.st_uid, stat.st_gid)
        if destination.is_dir() and not destination.is_symlink():
            raise FileExistsRefusal(f"{destination} is a folder in the target and a file in "
                                    "the backup", hint="move it away and restore again")
        path.replace(destination)
        count += 1
    # Empty folders of the backup come back too.
    for directory, dirs, _files in os.walk(unpacked):
        for name in dirs:
            destination = target_dir / Path(directory, name).relative_to(unpacked)
            if not destination.exists():
                destination.mkdir(parents=True)
                shutil.copystat(Path(directory, name), destination)
    return count


def unpack_tar(archive_path: Path, into: Path) -> None:
    """Unpack a files backup (a signed tar written by Reprise: links and owners kept)."""
    try:
        with tarfile.open(archive_path) as archive:
            archive.extractall(into, filter="fully_trusted")  # noqa: S202 - signed, ours
        _fsync_tree(into)
    except OSError as error:
        raise storage_error(error, into, "unpacking the files") from error


def work_folder(target_dir: Path) -> Path:
    """A private folder inside the target for staging and unpacking."""
    import tempfile

    try:
        return Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=target_dir))
    except OSError as error:
        raise storage_error(error, target_dir, "creating a work folder") from error
