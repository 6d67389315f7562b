"""Where Reprise keeps things on a host when the plan does not say, and the state
directory's rules: created 0700, refused when anyone but its owner can change it."""

from __future__ import annotations

import os
from pathlib import Path

from reprise.errors import InputError, OperationError
from reprise.security import ensure_owner_only_writable, make_private_dirs

SYSTEM_STATE_DIR = Path("/var/lib/reprise")
DEFAULT_PLAN_NAME = "reprise.yaml"


def resolve_plan_path(path: Path | None) -> Path:
    """The plan file to use: ``path`` (a file, or a directory holding reprise.yaml), else
    ``$REPRISE_PLAN``, else ``./reprise.yaml``."""
    if path is None:
        path = Path(os.environ.get("REPRISE_PLAN") or DEFAULT_PLAN_NAME)
    try:
        folder = path.is_dir()
    except PermissionError:
        folder = False  # a folder on the way is closed to us: reading the plan says so
    if folder:
        path = path / DEFAULT_PLAN_NAME
    return path


def default_state_dir() -> Path:
    """``$REPRISE_STATE_DIR``, else /var/lib/reprise for root, else the XDG state home."""
    configured = os.environ.get("REPRISE_STATE_DIR")
    if configured:
        return Path(configured).expanduser()
    if os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "reprise"


def file_in_the_way(folder: Path) -> Path | None:
    """The file (not a folder) at ``folder`` or above it that stops it from being a folder,
    if any: a clear "is a file" error beats the OS's "File exists"."""
    return next(
        (path for path in (folder, *folder.parents) if path.exists() and not path.is_dir()), None
    )


def prepare_state_dir(path: Path, role: str = "state directory") -> Path:
    """Create ``path`` (and any missing folder above it) with mode 0700, then refuse it
    (UnsafePermissionsError, exit 2) if it or a folder above it is writable by group or
    others or owned by someone other than root or the running user: the state directory
    holds the database, reports, staging and spools that later runs trust."""
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise InputError(
            f"{path}: cannot be the {role}: {blocker} is a file, not a folder",
            hint="set state.dir in the plan or $REPRISE_STATE_DIR to a folder, "
            f"or move {blocker} aside",
        )
    try:
        make_private_dirs(path)
    except OSError as error:
        raise OperationError(
            f"{path}: cannot create the {role} ({error.strerror})",
            hint="create it (mode 0700) as the user who runs Reprise, or "
            "set state.dir in the plan or $REPRISE_STATE_DIR",
        ) from None
    ensure_owner_only_writable(path, role)
    return path
