"""The WAL settings cache: one private file per plan, source and user.

A cache file is used only when (1) it is a regular file owned by the user running, that
nobody else can write, in a folder only that user can change, and (2) the fingerprint of
every input it lists (the plan file, its ``.env``, the key files the plan names, the
environment variables the plan uses, the user) is the one recorded. Anything else is a
miss: the full CLI then loads and validates the plan and writes the file again. A stale
or forged cache can therefore never make the archiver trust a key, or write to a place,
that the plan in force does not name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from reprise.wal.settings import WalSettings

MISSING = b"\x00missing"
MAX_SIZE = 1024 * 1024


def cache_dir() -> Path:
    """``$REPRISE_CACHE_DIR``, else ``$XDG_CACHE_HOME/reprise``, else ``~/.cache/reprise``."""
    configured = os.environ.get("REPRISE_CACHE_DIR")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "reprise" if xdg else Path.home() / ".cache" / "reprise"


def cache_file(plan: Path, source: str | None) -> Path:
    """Where the settings of ``plan`` (as resolved) and ``source`` are kept."""
    key = f"{plan.absolute()}\x00{source or ''}\x00{os.geteuid()}"
    return cache_dir() / f"wal-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def fingerprint(settings: WalSettings, dotenv_values: Mapping[str, str] | None = None) -> str:
    """SHA-256 over the settings themselves, the content of every input file and the value
    of every variable. A variable that the plan's ``.env`` sets counts as "from .env" (the
    file's content is an input) unless the process environment gives it another value:
    ``dotenv_values`` are the file's values when the plan was just loaded (and exported),
    None when only the names are known (the lean door)."""
    digest = hashlib.sha256(f"user {os.geteuid()}\n".encode())
    digest.update(json.dumps(settings.to_dict(), sort_keys=True).encode())
    dotenv = set(settings.dotenv)
    for name in settings.inputs:
        try:
            content = Path(name).read_bytes()
        except OSError:
            content = MISSING
        digest.update(f"file {name}\n".encode())
        digest.update(hashlib.sha256(content).digest())
    for variable in settings.variables:
        value = os.environ.get(variable)
        digest.update(f"var {variable}\n".encode())
        from_dotenv = variable in dotenv and (
            value is None
            if dotenv_values is None
            else value is None or value == dotenv_values.get(variable)
        )
        if from_dotenv:
            digest.update(b"\x00dotenv")
        elif value is None:
            digest.update(b"\x00unset")
        else:
            digest.update(hashlib.sha256(value.encode()).digest())
    return digest.hexdigest()


def load(plan: Path, source: str | None) -> WalSettings | None:
    """The cached settings, when they are still those of the plan in force."""
    path = cache_file(plan, source)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if (
            not stat.S_ISREG(status.st_mode)
            or status.st_uid != os.geteuid()
            or status.st_mode & 0o022
            or status.st_size > MAX_SIZE
            or not _private_folder(path.parent)
        ):
            return None
        try:
            data = json.loads(handle.read())
        except (ValueError, UnicodeError, RecursionError):
            return None
    if not isinstance(data, dict):
        return None
    settings = WalSettings.from_dict(data.get("settings"))
    resolved = str(plan.absolute())
    if (
        settings is None
        or settings.plan != resolved
        or resolved not in settings.inputs
        or data.get("fingerprint") != fingerprint(settings)
    ):
        return None
    return settings


def _private_folder(folder: Path) -> bool:
    try:
        status = folder.lstat()
    except OSError:
        return False
    return (
        stat.S_ISDIR(status.st_mode)
        and status.st_uid == os.geteuid()
        and not status.st_mode & 0o022
    )


def store(
    plan: Path, source: str | None, settings: WalSettings, dotenv_values: Mapping[str, str]
) -> None:
    """Keep ``settings`` for the next runs (``dotenv_values``: what the plan's ``.env``
    sets); a cache that cannot be written only costs time."""
    path = cache_file(plan, source)
    body = json.dumps(
        {"fingerprint": fingerprint(settings, dotenv_values), "settings": settings.to_dict()},
        indent=1,
    ).encode()
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private_folder(path.parent):
            return
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600
        )
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
        temporary.replace(path)
