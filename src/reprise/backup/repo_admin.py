"""Repository administration: create one, rebuild the catalog from one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reprise.backup import keyring
from reprise.backup.catalog import replace_repository
from reprise.backup.manifest import Manifest
from reprise.backup.verify import load_manifest
from reprise.errors import OperationError, RepriseError
from reprise.repository import Repository, open_repository, scan_folders
from reprise.repository.backend import NotFoundError
from reprise.repository.config import (
    RepositoryConfig,
    encode_config,
    new_config,
    read_config,
)
from reprise.repository.layout import CONFIG_KEY

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store


@dataclass
class InitResult:
    """What `repo init` did."""

    repository: str
    where: str
    created: bool
    config: RepositoryConfig


def init_repository(plan: Plan, name: str) -> InitResult:
    """Create the repository file (trusting the plan's recipients and signing key), or
    report the existing one unchanged."""
    repository = open_repository(plan, name)
    try:
        existing = read_config(repository.backend, name)
    except OperationError as error:
        if "not initialised" not in error.message:
            raise
    else:
        return InitResult(name, repository.backend.description, False, existing)
    recipients = keyring.recipients(plan.keys)
    signer = keyring.signing_key(plan.keys)
    config = new_config(recipients, [signer.public_pem])
    if not repository.backend.put_exclusive(CONFIG_KEY, encode_config(config)):
        return InitResult(name, repository.backend.description, False,
                          read_config(repository.backend, name))
    return InitResult(name, repository.backend.description, True, config)


@dataclass
class ReindexResult:
    """What `repo reindex` found."""

    repository: str
    indexed: int = 0
    incomplete: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"repository": self.repository, "indexed": self.indexed,
                "incomplete": self.incomplete, "damaged": self.damaged}


def reindex(store: Store, repository: Repository) -> ReindexResult:
    """Rebuild the repository's catalog rows from its signed manifests alone."""
    result = ReindexResult(repository.name)
    repository.config  # noqa: B018 - fail early when the repository is not initialised
    manifests: list[Manifest] = []
    for folder in scan_folders(repository.backend):
        label = f"{folder.source}/{folder.backup_id}"
        if not folder.has_manifest:
            result.incomplete.append(label)
            continue
        try:
            manifests.append(load_manifest(repository, folder.source, folder.backup_id))
        except NotFoundError:
            result.incomplete.append(label)
        except RepriseError as error:
            result.damaged.append(f"{label}: {error.message}")
    result.indexed = replace_repository(store, repository.name, manifests)
    return result
