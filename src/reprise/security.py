"""Checks on the files that decide what Reprise does, and creation of private files.

Two rules, as sshd's ``StrictModes`` and sudo apply them:

- **Who can change it** (:func:`ensure_owner_only_writable`): the plan, its folder,
  ``.env``, the keys and their folders, and the state directory must be owned by root or
  the user running Reprise and must not be writable by group or others; so must every
  folder above them, except a world-writable folder with the sticky bit such as ``/tmp``
  (there only an entry's owner can rename or remove it). Whoever can change the plan
  chooses the commands that Reprise runs as root and the keys backups are encrypted to.
- **Who can read it** (:func:`ensure_private_file`): a file that holds secrets (``.env``,
  the age identity, the signing key) is refused when group or others can access it, as ssh
  does for private keys. The one exception is the plan's dedicated readers group
  (``keys.readers_group``): the file may then be ``0640`` with that group, so that the
  ``postgres`` user, a member of it, can run ``reprise wal push``.

What Reprise creates is private from its first byte: files ``0600``, folders ``0700``
(:func:`write_private_file`, :func:`create_private_file`, :func:`make_private_dirs`).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from reprise.errors import UnsafePermissionsError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PRIVATE_UMASK = 0o077

_outer_umasks: list[int] = []


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Run the block with umask 077 (what it creates is 0600 / 0700 even where no mode is
    given), then restore the umask in force before; nests."""
    _outer_umasks.append(os.umask(PRIVATE_UMASK))
    try:
        yield
    finally:
        os.umask(_outer_umasks.pop())


def operator_umask() -> int:
    """The umask the operator started Reprise with (before :func:`private_umask`): for the
    plan's own commands (runbook steps, command sources), whose files are the operator's
    business, e.g. ``subprocess.run(..., umask=operator_umask())``."""
    if _outer_umasks:
        return _outer_umasks[0]
    current = os.umask(PRIVATE_UMASK)
    os.umask(current)
    return current


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_id(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def _refuse(path: Path, detail: str, hint: str) -> UnsafePermissionsError:
    error = UnsafePermissionsError(f"{path}: {detail}", hint=hint)
    error.detail = detail
    return error


def _check_one(path: Path, status: os.stat_result, role: str, *, above: bool) -> None:
    user = os.geteuid()
    mode = stat.S_IMODE(status.st_mode)
    what = f"a folder above the {role}" if above else f"the {role}"
    if status.st_uid not in (0, user):
        owner = _user_name(status.st_uid)
        fixes = [f"chown {_user_name(user)} {path}"]
        if mode & 0o022:
            fixes.append(f"chmod go-w {path}")
        raise _refuse(
            path,
            f"{what} is owned by {owner}, not by root or the user running "
            f"Reprise ({_user_name(user)}); {owner} could change it",
            " && ".join(fixes),
        )
    if not mode & 0o022:
        return
    if above and stat.S_ISDIR(status.st_mode) and mode & stat.S_ISVTX and mode & 0o002:
        return  # /tmp: others cannot rename or remove what they do not own
    writers = " and ".join(who for who, bit in (("group", 0o020), ("others", 0o002)) if mode & bit)
    raise _refuse(
        path,
        f"{what} is writable by {writers} (mode {mode:04o}); whoever can "
        "write it decides what Reprise runs",
        f"chmod go-w {path}",
    )


def _folders_above(path: Path) -> list[Path]:
    """Every folder above ``path``, both as written (a symlink's own folder) and resolved."""
    absolute = path.absolute()
    found = list(absolute.parents)
    found += [parent for parent in path.resolve().parents if parent not in found]
    return found


_MAX_LINKS = 40


def _links_on_the_way(path: Path) -> list[tuple[Path, os.stat_result]]:
    """Every symbolic link met while resolving ``path`` (its components, and the
    components of each link's target, recursively), with the link's own ``lstat``; each
    link's path is real (no link above it). Stops quietly where a component is missing or
    cannot be seen: reading the file will say so."""
    found: list[tuple[Path, os.stat_result]] = []
    absolute = path.absolute()
    current = Path(absolute.anchor)
    pending = list(reversed(absolute.parts[1:]))
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
            continue
        candidate = current / part
        try:
            status = os.lstat(candidate)
        except OSError:
            return found
        if not stat.S_ISLNK(status.st_mode):
            current = candidate
            continue
        found.append((candidate, status))
        if len(found) > _MAX_LINKS:
            return found
        try:
            target = candidate.readlink()
        except OSError:
            return found
        if target.is_absolute():
            current = Path(target.anchor)
            pending.extend(reversed(target.parts[1:]))
        else:
            pending.extend(reversed(target.parts))
    return found


def _check_link(link: Path, status: os.stat_result, role: str) -> None:
    """A symbolic link on the way to ``role``: whoever owns it can point it elsewhere at
    any moment (between the check and the read), so it must be root's or ours."""
    user = os.geteuid()
    if status.st_uid in (0, user):
        return
    owner = _user_name(status.st_uid)
    raise _refuse(
        link,
        f"a symbolic link on the way to the {role} is owned by {owner}, not "
        f"by root or the user running Reprise ({_user_name(user)}); {owner} "
        "could point it elsewhere",
        f"chown -h {_user_name(user)} {link} (or use the real path: {link.resolve()})",
    )


def ensure_owner_only_writable(path: Path, role: str, *, parents: bool = True) -> None:
    """Refuse ``path`` (file or folder) unless only its owner, root or the running user,
    can change it; with ``parents``, check every folder above it the same way.

    Every symbolic link met on the way (in the path, or in a link's target) must be owned
    by root or the running user, and the folder holding it is checked like the others:
    otherwise its owner could point it elsewhere between this check and the read.

    ``role`` names it in the message ("plan file", "keys folder"…). Raises
    UnsafePermissionsError (exit 2) whose hint is the exact ``chmod go-w`` or ``chown`` to
    run. A missing path is not this function's concern (its folders still are).
    """
    try:
        status: os.stat_result | None = path.stat()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        status = None  # missing, or not ours to see: reading it will say so
    if status is not None:
        _check_one(path, status, role, above=False)
    if not parents:
        return
    links = _links_on_the_way(path)
    for link, link_status in links:
        _check_link(link, link_status, role)
    seen: set[tuple[int, int]] = set()
    folders = _folders_above(path)
    folders += [link.parent for link, _status in links if link.parent not in folders]
    for folder in folders:
        try:
            above = folder.stat()
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        if (above.st_dev, above.st_ino) in seen:
            continue
        seen.add((above.st_dev, above.st_ino))
        _check_one(folder, above, role, above=True)


def ensure_private_file(path: Path, what: str, *, readers_group: str | None = None) -> None:
    """Refuse a secret file that group or others can access, as ssh does for private keys.

    ``what`` names the file's role in the message (".env file", "age identity"…). With
    ``readers_group`` (the plan's ``keys.readers_group``), mode 0640 is accepted when the
    file's group is that group: read-only for its members, nothing for others. A missing
    file is not this function's concern.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(status.st_mode)
    if not mode & 0o077:
        return
    gid = _group_id(readers_group) if readers_group else None
    if gid is not None and status.st_gid == gid and not mode & 0o037:
        return
    detail = f"the {what} is accessible by group or others (mode {mode:04o}); it holds secrets"
    hint = f"chmod 600 {path}"
    if readers_group:
        if gid is None:
            detail += f"; keys.readers_group {readers_group!r} is not a group on this host"
            hint += f" (or create the group: groupadd --system {readers_group})"
        else:
            hint += (
                f" (or, for the readers group: chgrp {readers_group} {path} && chmod 640 {path})"
            )
    raise _refuse(path, detail, hint)


DecidingFile = tuple[Path, str, bool, bool]
"""(path, role, with the folders above it, secret): one file or folder that decides what
Reprise does, as the plan loader and the checks that repeat its verdict list them."""


def mode_refusals(
    files: Iterable[DecidingFile], *, readers_group: str | None = None
) -> list[tuple[Path, UnsafePermissionsError]]:
    """Every refusal of StrictModes among ``files`` (each path judged once): writable by
    others than its owner, or a secret readable beyond its owner and ``readers_group``."""
    refused: list[tuple[Path, UnsafePermissionsError]] = []
    seen: set[tuple[Path, bool]] = set()
    for path, role, parents, secret in files:
        if (path, secret) in seen:
            continue
        seen.add((path, secret))
        try:
            ensure_owner_only_writable(path, role, parents=parents)
            if secret:
                ensure_private_file(path, role, readers_group=readers_group)
        except UnsafePermissionsError as error:
            refused.append((path, error))
    return refused


def create_private_file(path: Path, *, exclusive: bool = True) -> int:
    """Open a new file for writing with mode 0600 from its first byte; returns the
    descriptor. ``exclusive`` refuses an existing file (O_EXCL), and never follows a
    symlink at ``path``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_EXCL if exclusive else os.O_TRUNC
    return os.open(path, flags, PRIVATE_FILE)


def make_private_dirs(path: Path, *, mode: int = PRIVATE_DIR) -> None:
    """``mkdir -p`` where every folder created gets ``mode`` (0700), not only the last
    one as ``Path.mkdir(parents=True, mode=…)`` does; existing folders are left as they are.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue  # created meanwhile by another process
    if not path.is_dir():
        path.mkdir(mode=mode, exist_ok=True)  # raise the usual error (a file is in the way)


def write_private_file(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> None:
    """Create ``path`` with ``mode`` from the first byte (never briefly world-readable).

    Writes to a temporary name beside it, fsyncs, then renames, so that a crash leaves
    either the old file or the complete new one.
    """
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
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
