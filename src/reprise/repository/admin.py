"""Repository administration: create one, rebuild the catalog from one (hiding nothing),
forget a backup, accept a change of recipients."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reprise.errors import OperationError, RepriseError, VerificationError
from reprise.repository import Repository, delete_backup_folder, open_repository, scan_folders
from reprise.repository import keys as keyring
from reprise.repository.backend import NotFoundError, get_bytes
from reprise.repository.catalog import (
    ProblemEntry,
    find_any,
    forget_backup,
    problem_key,
    replace_repository,
)
from reprise.repository.config import (
    RepositoryConfig,
    disagreements,
    encode_config,
    new_config,
    read_config,
)
from reprise.repository.layout import CONFIG_KEY, MANIFEST
from reprise.repository.manifest import Manifest
from reprise.repository.recipients import RecipientsDiff, compare, get_pin, record_pin
from reprise.repository.trust import TrustError
from reprise.repository.verify import load_manifest
from reprise.store.events import append_event

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


def init_repository(
    plan: Plan, name: str, store: Store | None = None, *, by: str = "reprise"
) -> InitResult:
    """Create the repository file (recording the plan's recipients and signing key), or
    report the existing one unchanged. A new repository's recipients become its accepted
    set in the state database (journaled)."""
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
        return InitResult(
            name, repository.backend.description, False, read_config(repository.backend, name)
        )
    if store is not None and get_pin(store, name) is None:
        record_pin(store, name, recipients, by=by, origin="repo init")
    return InitResult(name, repository.backend.description, True, config)


@dataclass
class ReindexResult:
    """What `repo reindex` found."""

    repository: str
    indexed: int = 0
    incomplete: list[str] = field(default_factory=list)
    problems: list[ProblemEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> list[str]:
        """Every folder kept with a problem, as ``source/id (problem): detail``."""
        return [
            f"{entry.source}/{entry.backup_id} ({entry.problem}): {entry.detail}"
            for entry in self.problems
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "repository": self.repository,
            "indexed": self.indexed,
            "incomplete": self.incomplete,
            "damaged": self.damaged,
            "problems": [entry.to_dict() for entry in self.problems],
            "warnings": self.warnings,
        }


def trust_warnings(store: Store, repository: Repository) -> list[str]:
    """Where the repository file disagrees with the plan's trust and the accepted
    recipients; each disagreement found is also journaled (`repository.file_mismatch`)."""
    pin = get_pin(store, repository.name)
    found = disagreements(
        repository.config_or_none(),
        repository.trust,
        pin.recipients if pin else None,
        repository.where(CONFIG_KEY),
    )
    if found:
        append_event(store, "repository.file_mismatch", repository.name, {"warnings": found})
    return found


def reindex(store: Store, repository: Repository) -> ReindexResult:
    """Rebuild the repository's catalog rows from its signed manifests alone. Folders that
    do not verify stay in the catalog, marked with why; nothing is hidden."""
    result = ReindexResult(repository.name)
    # Fail early when the repository is not initialised; an unreadable file is reported
    # below (trust never came from it).
    with contextlib.suppress(VerificationError):
        repository.config  # noqa: B018
    result.warnings = trust_warnings(store, repository)
    manifests: list[Manifest] = []
    now = datetime.now(UTC).replace(microsecond=0)
    for folder in scan_folders(repository.backend):
        label = f"{folder.source}/{folder.backup_id}"
        if not folder.has_manifest:
            result.incomplete.append(label)
            continue
        try:
            manifests.append(load_manifest(repository, folder.source, folder.backup_id))
        except NotFoundError:
            result.incomplete.append(label)
        except (VerificationError, OperationError) as error:
            problem = error.problem if isinstance(error, TrustError) else "damaged"
            result.problems.append(
                ProblemEntry(
                    repository.name,
                    folder.source,
                    folder.backup_id,
                    problem,
                    error.message,
                    now,
                    sum(info.size for info in folder.objects),
                    _claimed(repository, folder.prefix),
                )
            )
    taken = {manifest.id for manifest in manifests}
    result.problems = [
        replace(entry, source=key[0], backup_id=key[1], folder=key[2])
        for entry in result.problems
        for key in [problem_key(entry.source, entry.backup_id, taken)]
    ]
    result.indexed = replace_repository(store, repository.name, manifests, result.problems)
    if result.problems:
        append_event(
            store,
            "repository.problems",
            repository.name,
            {
                "problems": [
                    {
                        "source": entry.source,
                        "backup_id": entry.backup_id,
                        "problem": entry.problem,
                        "detail": entry.detail,
                    }
                    for entry in result.problems
                ]
            },
        )
    return result


def _claimed(repository: Repository, prefix: str) -> dict[str, Any] | None:
    """What an unverified manifest says about itself (shown, never trusted)."""
    import json

    try:
        raw = json.loads(get_bytes(repository.backend, prefix + MANIFEST, limit=16 << 20))
    except (RepriseError, NotFoundError, ValueError, UnicodeError):
        return None
    if not isinstance(raw, dict):
        return None
    keep = (
        "id",
        "source",
        "service",
        "kind",
        "repository",
        "signing_key",
        "started_at",
        "finished_at",
        "host",
    )
    return {key: raw[key] for key in keep if isinstance(raw.get(key), str)}


@dataclass
class ForgetResult:
    """What `backup forget` did."""

    repository: str
    source: str
    backup_id: str
    problem: str | None
    deleted_objects: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "repository": self.repository,
            "source": self.source,
            "id": self.backup_id,
            "problem": self.problem,
            "deleted_objects": self.deleted_objects,
        }


def forget(plan: Plan, store: Store, wanted: str, *, delete_folder: bool, by: str) -> ForgetResult:
    """Remove a backup (typically one with a problem) from the catalog and, with
    ``delete_folder``, its folder from the repository; journaled (`backup.forgotten`)."""
    entry = find_any(store, wanted)
    if isinstance(entry, ProblemEntry):
        result = ForgetResult(entry.repository, entry.source, entry.backup_id, entry.problem)
        source, folder_id = entry.location
    else:
        result = ForgetResult(entry.repository, entry.manifest.source, entry.backup_id, None)
        source, folder_id = result.source, result.backup_id
    if delete_folder:
        repository = open_repository(plan, result.repository)
        for folder in scan_folders(repository.backend, source):
            if (folder.source, folder.backup_id) == (source, folder_id):
                delete_backup_folder(repository, folder)
                result.deleted_objects = len(folder.objects)
    forget_backup(store, result.repository, result.backup_id)
    append_event(
        store,
        "backup.forgotten",
        result.source,
        {**result.to_dict(), "by": by, "folder_deleted": delete_folder},
    )
    return result


def accept_recipients(plan: Plan, store: Store, name: str, *, by: str) -> RecipientsDiff:
    """Make the plan's recipients the accepted set of repository ``name`` (journaled);
    the diff against the previous set."""
    repository = open_repository(plan, name)
    plan_recipients = keyring.recipients(plan.keys)
    diff = compare(store, repository, plan_recipients, bootstrap=False)
    if not diff.same:
        diff.pin = record_pin(store, name, plan_recipients, by=by, origin="accepted")
    return diff
