"""`wal push` and `wal fetch` from :class:`~reprise.wal.settings.WalSettings`: the one
implementation behind the lean door (cached settings, local repository) and the full CLI
(any repository, the plan just loaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import InputError, OperationError, UnsafePermissionsError, option
from reprise.wal.archive import WalArchive
from reprise.wal.settings import WalSettings

if TYPE_CHECKING:
    from reprise.repository.backend import Backend


def open_archive(settings: WalSettings, backend: Backend | None = None) -> WalArchive:
    """The source's archive in its repository (``backend``, else the local folder the
    settings name), trusting exactly the keys the plan trusts."""
    from reprise.repository import Repository
    from reprise.repository.trust import Trust, TrustedKey

    if backend is None:
        if settings.local_path is None:
            raise InputError(
                f"repository {settings.repository!r} is not a local folder",
                hint="open it from the plan (the full command does)",
            )
        from reprise.repository.local import LocalBackend

        backend = LocalBackend(Path(settings.local_path))
    repository = Repository(settings.repository, backend)
    base = Trust(
        tuple(
            TrustedKey(fingerprint, origin, pem.encode() if pem else None)
            for fingerprint, origin, pem in settings.trusted
        ),
        tuple(settings.trust_notes),
    )
    repository._trust = repository.resolve_trust(base)
    return WalArchive(repository, settings.source)


def push_now(settings: WalSettings, path: Path, archive: WalArchive) -> bool:
    """Archive one WAL file into the repository (compressed, encrypted, signed); False
    when the identical file was already there."""
    from reprise.repository.keys import age_recipients, load_signing_key

    if settings.signing_key is None:
        raise InputError(
            "the plan has no signing key; WAL cannot be archived",
            hint="set keys.signing_key (`reprise init` makes one)",
        )
    signer = load_signing_key(Path(settings.signing_key), settings.readers_group)
    return archive.push(path, age_recipients(settings.recipients), signer, level=1)


def spool(settings: WalSettings, path: Path) -> bool:
    """Asynchronous mode: copy one WAL file durably into the spool (see
    :mod:`reprise.wal.outbox` for the guarantee); False when it was already waiting."""
    from reprise.wal import outbox

    assert settings.asynchronous is not None
    return outbox.put(Path(settings.asynchronous.spool), path, settings.asynchronous.max_size)


def ensure_pusher(settings: WalSettings, start: Callable[[WalSettings], None]) -> None:
    """Start a pusher (``start``) when none holds the source's spool."""
    from reprise.wal import outbox

    assert settings.asynchronous is not None
    folder = Path(settings.asynchronous.spool)
    try:
        outbox.check_spool(folder)  # nothing is started for a spool others could change
    except (UnsafePermissionsError, OSError):
        return
    if not outbox.pusher_running(folder):
        start(settings)


def fetch(
    settings: WalSettings,
    archive: WalArchive,
    name: str,
    destination: Path,
    *,
    spool: Path | None,
    prefetch: int,
) -> bool:
    """Deliver one archived WAL file (checked against its trusted signature), fetching
    the next segments ahead; False when the archive does not have it."""
    from reprise.repository.keys import load_identities
    from reprise.wal.spool import fetch_with_prefetch

    identities = load_identities(
        Path(settings.identity) if settings.identity else None, settings.readers_group
    )
    found = fetch_with_prefetch(
        archive,
        name,
        destination,
        identities,
        spool or Path(settings.fetch_spool),
        prefetch=prefetch,
    )
    if not found and settings.asynchronous is not None:
        waiting = Path(settings.asynchronous.spool) / name
        if waiting.exists():  # "not in the archive" would end recovery before it
            raise OperationError(
                f"{name} is not in the repository yet: it still waits in the asynchronous "
                f"spool {waiting.parent}",
                hint=f"upload it first (`reprise wal pusher {option('until_empty')}`), then "
                "start the recovery again",
            )
    return found
