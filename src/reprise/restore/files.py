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
from typing import TYPE_CHECKING

from reprise.errors import InputError, option
from reprise.repository.local import storage_error
from reprise.restore.unpack import (
    UnpackPolicy,
    UnpackSummary,
    check_target_path,
    move_into_place,
    unpack,
)

if TYPE_CHECKING:
    from reprise.repository.manifest import Manifest, Part
    from reprise.restore.run import RestoreRequest

__all__ = [
    "check_target_dir",
    "every_part",
    "files_policy",
    "move_into_place",
    "restore_mode",
    "unpack_tar",
    "work_folder",
]

WORK_PREFIX = ".reprise-restore-"


def check_target_dir(target_dir: Path, *, follow_symlinks: bool = False) -> Path:
    """Refuse the root, relative paths and (unless ``follow_symlinks``) a path through a
    symlink; create the folder if needed."""
    if not target_dir.is_absolute():
        raise InputError(
            f"{option('target_dir')} {target_dir}: give an absolute path",
            hint=f"for example {target_dir.absolute()}",
        )
    resolved = check_target_path(
        target_dir, what=option("target_dir"), follow_symlinks=follow_symlinks
    )
    if resolved == Path("/"):
        raise InputError(
            f"{option('target_dir')} /: restoring over the root file system is refused",
            hint="restore into a folder, check, then move what you need",
        )
    try:
        resolved.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as error:
        raise storage_error(error, resolved, "creating the target folder") from error
    if not follow_symlinks:  # once more: nothing swapped in while the folders were made
        check_target_path(resolved, what=option("target_dir"), follow_symlinks=False)
    return resolved


def restore_mode(request: RestoreRequest, kind: str, *, special_bits: bool) -> str:
    """Where a restore of a tree or a command's output goes: ``files`` (``target_dir``) or
    ``directory`` (``to_dir``, the plain parts). ``special_bits``: the kind can keep setuid,
    setgid and sticky bits (``preserve_special``)."""
    if request.target or request.database or request.as_name:
        raise InputError(
            f"{option('target')}, {option('database')} and {option('as_name')} are for "
            f"postgres sources; this source is {kind}",
            hint=f"use {option('target_dir')} DIR",
        )
    if request.preserve_special and (not special_bits or request.to_dir):
        raise InputError(
            f"{option('preserve_special')} is for files sources restored with "
            f"{option('target_dir')}",
            hint=f"drop {option('preserve_special')}",
        )
    if not (request.target_dir or request.to_dir):
        raise InputError(
            f"a {kind} restore needs {option('target_dir')} DIR (never / by default)",
            hint=f"e.g. {option('target_dir')} /srv/restore",
        )
    return "directory" if request.to_dir else "files"


def every_part(
    manifest: Manifest, request: RestoreRequest
) -> tuple[list[tuple[str, str]], list[Part]]:
    """No databases; every part of the backup."""
    del request  # the whole backup always comes back
    return [], list(manifest.parts)


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
