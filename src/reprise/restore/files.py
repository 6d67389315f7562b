"""Putting files back: a ``files`` tar or a ``command`` output into a target directory.

Everything is first unpacked into a private folder (0700) inside the target (same file
system) by :mod:`reprise.restore.unpack`, which refuses any member that would land outside
it; then the whole tree is checked against what exists, and only then are whole entries
renamed into place, never through a symlink of the target. An existing file is replaced
only with ``overwrite``.
"""

from __future__ import annotations

import os
from pathlib import Path

from reprise.errors import InputError
from reprise.repository.local import storage_error
from reprise.restore.unpack import (
    UnpackPolicy,
    UnpackSummary,
    check_target_path,
    move_into_place,
    unpack,
)

__all__ = ["check_target_dir", "files_policy", "move_into_place", "unpack_tar", "work_folder"]

WORK_PREFIX = ".reprise-restore-"


def check_target_dir(target_dir: Path, *, follow_symlinks: bool = False) -> Path:
    """Refuse the root, relative paths and (unless ``follow_symlinks``) a path through a
    symlink; create the folder if needed."""
    if not target_dir.is_absolute():
        raise InputError(
            f"--target-dir {target_dir}: give an absolute path",
            hint=f"for example {target_dir.absolute()}",
        )
    resolved = check_target_path(target_dir, what="--target-dir", follow_symlinks=follow_symlinks)
    if resolved == Path("/"):
        raise InputError(
            "--target-dir /: restoring over the root file system is refused",
            hint="restore into a folder, check, then move what you need",
        )
    try:
        resolved.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as error:
        raise storage_error(error, resolved, "creating the target folder") from error
    if not follow_symlinks:  # once more: nothing swapped in while the folders were made
        check_target_path(resolved, what="--target-dir", follow_symlinks=False)
    return resolved


def unpack_tar(
    archive_path: Path, into: Path, *, policy: UnpackPolicy, where: str
) -> UnpackSummary:
    """Unpack a files backup safely (see :mod:`reprise.restore.unpack`): nothing outside
    ``into``, no special files, setuid/setgid/sticky only with ``policy``."""
    return unpack(archive_path, into, policy=policy, where=where)


def files_policy(*, preserve_special: bool) -> UnpackPolicy:
    """Owners come back when the restore runs as root (as GNU tar does)."""
    return UnpackPolicy(preserve_special=preserve_special, restore_owners=os.geteuid() == 0)


def work_folder(target_dir: Path) -> Path:
    """A private folder inside the target for staging and unpacking."""
    import tempfile

    try:
        return Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=target_dir))
    except OSError as error:
        raise storage_error(error, target_dir, "creating a work folder") from error
