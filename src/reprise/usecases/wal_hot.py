"""The archiver's hot path: `wal push` and `wal fetch` from cached settings.

Kept apart from :mod:`reprise.usecases.wal` so that importing it loads neither pydantic
nor SQLAlchemy: PostgreSQL starts these once per WAL file. The lean door uses
:func:`cached_settings`; the full CLI compiles the settings from the plan it loaded
(:func:`reprise.usecases.wal.remember_settings`) and calls the same two functions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import UnsafePermissionsError
from reprise.paths import resolve_plan_path
from reprise.security import ensure_owner_only_writable, ensure_private_file
from reprise.wal import access, cache
from reprise.wal.names import WAL_FILE
from reprise.wal.settings import WalSettings

if TYPE_CHECKING:
    from reprise.repository.backend import Backend

__all__ = ["WalSettings", "archive_segment", "cached_settings", "deliver_segment", "is_wal_name"]


def is_wal_name(name: str) -> bool:
    """Whether ``name`` is a WAL segment's, history file's or backup label's name."""
    return WAL_FILE.match(name) is not None


def cached_settings(plan_option: Path | None, source: str | None) -> WalSettings | None:
    """The settings last compiled from the plan in force (``plan_option``, else
    ``$REPRISE_PLAN``, else ./reprise.yaml), or None when they must be compiled again: no
    cache, a stale one, or a plan, .env or key file that others could change (the full
    CLI then refuses it with its usual message)."""
    plan = resolve_plan_path(plan_option)
    settings = cache.load(plan, source)
    if settings is None:
        return None
    try:
        ensure_owner_only_writable(plan.absolute().parent, "plan folder")
        for name in settings.inputs:
            ensure_owner_only_writable(Path(name), "plan input")
        env = plan.parent / ".env"
        if env.exists():
            ensure_private_file(env, ".env file", readers_group=settings.readers_group)
    except UnsafePermissionsError:
        return None
    return settings


def archive_segment(
    settings: WalSettings,
    path: Path,
    backend: Backend | None,
    start_pusher: Callable[[WalSettings], None],
) -> None:
    """archive_command: into the spool (asynchronous mode; ``start_pusher`` is called when
    no pusher holds it, even when the spool is full) or straight into the repository
    (``backend``, else the local folder the settings name). Raises on any failure."""
    if settings.asynchronous is None:
        access.push_now(settings, path, access.open_archive(settings, backend))
        return
    try:
        access.spool(settings, path)
    finally:  # a full spool needs a pusher most of all
        access.ensure_pusher(settings, start_pusher)


def deliver_segment(
    settings: WalSettings,
    name: str,
    destination: Path,
    *,
    spool: Path | None,
    prefetch: int,
    backend: Backend | None,
) -> bool:
    """restore_command: deliver one archived WAL file, checked against its trusted
    signature, fetching the next ones ahead; False when the archive does not have it."""
    return access.fetch(
        settings,
        access.open_archive(settings, backend),
        name,
        destination,
        spool=spool,
        prefetch=prefetch,
    )
