"""Checks on files that hold secrets (``.env``, age identities, signing keys)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reprise.errors import UnsafePermissionsError


def ensure_private_file(path: Path, what: str) -> None:
    """Refuse a secret file that group or others can access, as ssh does for private keys.

    ``what`` names the file's role in the message (".env file", "age identity"…). A missing
    file is not this function's concern.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        detail = (f"the {what} is accessible by group or others (mode {mode:04o}); "
                  "it holds secrets")
        error = UnsafePermissionsError(f"{path}: {detail}", hint=f"chmod 600 {path}")
        error.detail = detail
        raise error


def write_private_file(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Create ``path`` with ``mode`` from the first byte (never briefly world-readable).

    Writes to a temporary name beside it, fsyncs, then renames, so that a crash leaves
    either the old file or the complete new one.
    """
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.chmod(mode)  # the umask may have narrowed os.open's mode
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
