"""Verification: prove that stored backups are intact, and (deep) that they decrypt.

Default: the signature of the manifest, then size and SHA-256 of every stored part
(needs no key). Deep: also decrypt and decompress every part end to end and compare the
plain size and SHA-256 (needs the identity). A budget checks the least recently verified
share of the bytes each run, so that repeated runs cover everything in a known number
of runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from reprise.errors import InputError, RepriseError
from reprise.repository import BackupFolder, Repository, read_signed, scan_folders
from reprise.repository.backend import NotFoundError, check_key
from reprise.repository.catalog import (
    PartAge,
    parts_least_recently_checked,
    record_verification,
)
from reprise.repository.layout import MANIFEST, backup_prefix
from reprise.repository.manifest import Manifest, parse_manifest, verify_signature
from reprise.repository.streams import Progress, hash_stream, no_progress, read_stream
from reprise.repository.trust import TrustError
from reprise.store.database import Store

VerifyProgress = Callable[[str, int], AbstractContextManager[Progress]]
"""Given (part address, stored size), a context giving the progress callback."""


@dataclass
class Outcome:
    """What verifying one backup found."""

    repository: str
    source: str
    backup_id: str
    deep: bool
    problems: list[str] = field(default_factory=list)
    checked_parts: list[str] = field(default_factory=list)
    checked_bytes: int = 0
    incomplete: bool = False
    hint: str | None = None
    """The fix of the manifest's problem, when it has one (an untrusted key…)."""

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "repository": self.repository,
            "source": self.source,
            "id": self.backup_id,
            "deep": self.deep,
            "ok": self.ok,
            "incomplete": self.incomplete,
            "problems": self.problems,
            "checked_parts": self.checked_parts,
            "checked_bytes": self.checked_bytes,
        }


def load_manifest(repository: Repository, source: str, backup_id: str) -> Manifest:
    """Read and check a backup's signed manifest: signed by a key the plan trusts, for
    this very folder of this repository. Raises TrustError (a VerificationError whose
    ``problem`` says why) or NotFoundError."""
    prefix = backup_prefix(source, backup_id)
    where = repository.where(prefix + MANIFEST)
    try:
        check_key(prefix + MANIFEST)
        data, signature = read_signed(repository.backend, prefix)
    except InputError as error:  # an odd folder name, an oversized manifest or signature
        raise TrustError(
            f"{where}: not a backup Reprise wrote ({error.message})",
            problem="damaged",
            hint="the folder cannot be trusted; `reprise backup forget` it once examined",
        ) from None
    verify_signature(data, signature, repository.trust, where, config=repository.config_or_none())
    manifest = parse_manifest(data, where)
    if manifest.id != backup_id or manifest.source != source:
        raise TrustError(
            f"{where}: signed for backup {manifest.source}/{manifest.id}, "
            f"found in {source}/{backup_id} (renamed or moved)",
            problem="moved",
            hint="the backup cannot be trusted under this name; use another "
            "one, and `reprise backup forget` this one once examined",
        )
    if manifest.repository != repository.name:
        raise TrustError(
            f"{where}: signed for repository {manifest.repository!r}, found "
            f"in {repository.name!r} (replayed from another repository)",
            problem="replayed",
            hint="restore it from the repository it was made for; "
            "`reprise backup forget` this copy once examined",
        )
    return manifest


def verify_backup(
    repository: Repository,
    source: str,
    backup_id: str,
    *,
    deep: bool,
    identities: list[Any] | None = None,
    only_parts: set[str] | None = None,
    progress: VerifyProgress | None = None,
) -> Outcome:
    """Check one backup; problems are collected, not raised, so a run reports them all."""
    outcome = Outcome(repository.name, source, backup_id, deep)
    prefix = backup_prefix(source, backup_id)
    try:
        manifest = load_manifest(repository, source, backup_id)
    except NotFoundError as error:
        outcome.incomplete = True
        outcome.problems.append(
            f"{repository.where(prefix)}: incomplete backup "
            f"({error.args[0].rsplit('/', 1)[-1]} is missing)"
        )
        return outcome
    except InputError:
        raise  # the plan (its trusted keys) is wrong, not the backup
    except RepriseError as error:
        outcome.problems.append(error.message)
        outcome.hint = error.hint
        return outcome
    report = progress or no_progress
    for part in manifest.parts:
        if only_parts is not None and part.name not in only_parts:
            continue
        key = prefix + part.name
        where = repository.where(key)
        info = repository.backend.stat(key)
        if info is None:
            outcome.problems.append(f"{where}: missing")
            continue
        if info.size != part.stored_size:
            outcome.problems.append(
                f"{where}: {info.size} bytes stored, the manifest says "
                f"{part.stored_size} (truncated or altered)"
            )
            continue
        problem = _check_part(repository, key, part, deep, identities, report)
        if problem:
            outcome.problems.append(f"{where}: {problem}")
        else:
            outcome.checked_parts.append(part.name)
            outcome.checked_bytes += part.stored_size
    return outcome


def _check_part(
    repository: Repository,
    key: str,
    part: Any,
    deep: bool,
    identities: list[Any] | None,
    report: VerifyProgress,
) -> str | None:
    import pyrage
    import zstandard

    with report(key, part.stored_size) as progress, repository.backend.open_reader(key) as stream:
        if not deep:
            size, digest = hash_stream(stream, progress)
            if digest != part.sha256 or size != part.stored_size:
                return "checksum mismatch: the stored bytes were altered"
            return None
        assert identities is not None
        try:
            result = read_stream(stream, identities, progress=progress)
        except pyrage.DecryptError as error:
            return f"cannot decrypt ({error}): damaged, or not encrypted to this identity"
        except zstandard.ZstdError as error:
            return f"decrypts but does not decompress ({error})"
        except OSError as error:
            if error.errno is not None:
                raise
            # pyrage reports a damaged chunk past the header as a plain I/O error.
            return f"cannot decrypt ({error}): the stored bytes were altered"
    if result.sha256 != part.sha256:
        return "checksum mismatch: the stored bytes were altered"
    if result.plain_size != part.plain_size or (
        part.plain_sha256 is not None and result.plain_sha256 != part.plain_sha256
    ):
        return "decrypted content differs from what was backed up"
    return None


def verify_and_record(
    store: Store,
    repository: Repository,
    source: str,
    backup_id: str,
    *,
    deep: bool,
    identities: list[Any] | None = None,
    only_parts: set[str] | None = None,
    progress: VerifyProgress | None = None,
) -> Outcome:
    """Verify and remember the outcome (and which parts were read) in the catalog."""
    outcome = verify_backup(
        repository,
        source,
        backup_id,
        deep=deep,
        identities=identities,
        only_parts=only_parts,
        progress=progress,
    )
    if not outcome.incomplete:
        detail = "; ".join(outcome.problems) or None
        record_verification(
            store,
            repository.name,
            backup_id,
            ok=outcome.ok,
            detail=detail,
            checked_parts=outcome.checked_parts,
            deep=deep,
        )
    return outcome


def budget_selection(
    store: Store, fraction: float, *, deep: bool
) -> dict[tuple[str, str], set[str]]:
    """The least recently checked parts holding at least ``fraction`` of all stored bytes,
    grouped by (repository, backup id). Never-checked parts come first, so that
    ``ceil(1 / fraction)`` runs check every part that existed at the first run."""
    parts = parts_least_recently_checked(store, deep=deep)
    total = sum(part.stored_size for part in parts)
    wanted = total * fraction
    chosen: dict[tuple[str, str], set[str]] = {}
    taken = 0
    for part in parts:
        if taken >= wanted and chosen:
            break
        chosen.setdefault((part.repository, part.backup_id), set()).add(part.name)
        taken += part.stored_size
    return chosen


def leftovers(repository: Repository) -> Iterable[BackupFolder]:
    """Folders without both manifest and signature: incomplete backups."""
    return (folder for folder in scan_folders(repository.backend) if not folder.has_manifest)


__all__ = [
    "Outcome",
    "PartAge",
    "budget_selection",
    "leftovers",
    "load_manifest",
    "verify_and_record",
    "verify_backup",
]
