"""Repositories: where backups live (format v1, any backend)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from reprise.errors import InputError, RepriseError
from reprise.repository.backend import Backend, NotFoundError, ObjectInfo, get_bytes
from reprise.repository.layout import BACKUPS, MANIFEST, SIGNATURE, backup_time

if TYPE_CHECKING:
    from reprise.plan.model import Keys, Plan
    from reprise.repository.config import RepositoryConfig
    from reprise.repository.trust import Trust


@dataclass
class Repository:
    """A named repository of the plan, opened.

    ``keys`` are the plan's keys: the public signing keys they name are the only ones
    whose signatures count here (:attr:`trust`); the repository file is informational.
    """

    name: str
    backend: Backend
    _config: RepositoryConfig | None = None
    keys: Keys | None = None
    _trust: Trust | None = None

    @property
    def config(self) -> RepositoryConfig:
        """The repository file (read once). Informational: never a source of trust."""
        if self._config is None:
            # pydantic is imported here, not with the package: the WAL archiver's hot path
            # opens repositories without ever reading their file.
            from reprise.repository.config import read_config

            self._config = read_config(self.backend, self.name)
        return self._config

    def config_or_none(self) -> RepositoryConfig | None:
        """The repository file, or None when it is missing or unreadable (a verification
        does not need it)."""
        try:
            return self.config
        except RepriseError:
            return None

    @property
    def trust(self) -> Trust:
        """The public keys the plan trusts, those pinned by fingerprint looked up in the
        repository file (and checked against the pin)."""
        if self._trust is None:
            from reprise.repository.keys import trusted_keys
            from reprise.repository.trust import Trust

            base = trusted_keys(self.keys) if self.keys is not None else Trust()
            self._trust = self.resolve_trust(base)
        return self._trust

    def resolve_trust(self, base: Trust) -> Trust:
        """``base`` with the keys pinned by fingerprint looked up in the repository file;
        raises InputError when the plan trusts no key at all."""
        if not base.keys:
            notes = f" ({'; '.join(base.notes)})" if base.notes else ""
            raise InputError(
                f"the plan trusts no signing key{notes}, so no backup of "
                f"repository {self.name!r} can be verified",
                hint="set keys.signing_key, or list the backup hosts' "
                "public keys (file or SHA256:… fingerprint) in "
                "keys.trusted_signing_keys",
            )
        if all(key.pem is not None for key in base.keys):
            return base  # nothing to look up: the repository file is not read
        return base.resolved(self.config_or_none())

    def where(self, key: str) -> str:
        """A person-readable address of an object."""
        return self.backend.where(key)


def open_backend(plan: Plan, name: str) -> Backend:
    """The backend of the plan's repository ``name`` (by its kind, see :mod:`.backends`)."""
    from reprise.repository.backends import backend_for

    config = plan.repositories.get(name)
    if config is None:
        known = ", ".join(sorted(plan.repositories)) or "none"
        raise InputError(
            f"no repository named {name!r} in the plan (known: {known})",
            hint="use a name under `repositories:`",
        )
    return backend_for(config)


def open_repository(plan: Plan, name: str) -> Repository:
    """The plan's repository ``name`` (its file is read on first use)."""
    return Repository(name, open_backend(plan, name), keys=plan.keys)


@dataclass
class BackupFolder:
    """What lies in one ``backups/<source>/<id>/`` folder."""

    source: str
    backup_id: str
    objects: list[ObjectInfo] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        """The folder's key prefix."""
        return f"{BACKUPS}{self.source}/{self.backup_id}/"

    @property
    def names(self) -> set[str]:
        """Object names in the folder."""
        return {info.key.rsplit("/", 1)[1] for info in self.objects}

    @property
    def has_manifest(self) -> bool:
        """Both the manifest and its signature are there (still to be verified)."""
        return {MANIFEST, SIGNATURE} <= self.names

    @property
    def newest(self) -> datetime | None:
        """When the folder last changed (leftover age)."""
        return max((info.modified for info in self.objects), default=None)

    @property
    def time(self) -> datetime | None:
        """The time encoded in the id."""
        return backup_time(self.backup_id)


def scan_folders(backend: Backend, source: str | None = None) -> Iterator[BackupFolder]:
    """Every backup folder (complete or not), sorted by source then id."""
    prefix = BACKUPS + (f"{source}/" if source else "")
    folders: dict[tuple[str, str], BackupFolder] = defaultdict(lambda: BackupFolder("", ""))
    for info in backend.list(prefix):
        parts = info.key.split("/")
        if len(parts) != 4:
            continue
        key = (parts[1], parts[2])
        folder = folders[key]
        folder.source, folder.backup_id = key
        folder.objects.append(info)
    for key in sorted(folders):
        yield folders[key]


def read_signed(backend: Backend, prefix: str) -> tuple[bytes, bytes]:
    """The manifest bytes and signature bytes of a backup folder."""
    manifest = get_bytes(backend, prefix + MANIFEST, limit=16 * 1024 * 1024)
    signature = get_bytes(backend, prefix + SIGNATURE, limit=1024)
    return manifest, signature


__all__ = [
    "BackupFolder",
    "NotFoundError",
    "Repository",
    "open_backend",
    "open_repository",
    "read_signed",
    "scan_folders",
]


def delete_backup_folder(repository: Repository, folder: BackupFolder) -> None:
    """Delete every object of a backup folder, signature first."""
    # The signature goes first: an interrupted prune leaves an incomplete leftover,
    # never a "complete" backup with missing parts.
    order = {SIGNATURE: 0, MANIFEST: 1}
    for info in sorted(folder.objects, key=lambda item: order.get(item.key.rsplit("/", 1)[1], 2)):
        repository.backend.delete(info.key)
