"""Making one backup: lock, stream every part, then the signed manifest, then the catalog.

A backup is complete only once its manifest and signature are stored; until then (and
forever, if the process dies) its folder is an incomplete leftover that listings ignore
and ``prune`` removes after a grace period.
"""

from __future__ import annotations

import logging
import socket
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reprise import __version__
from reprise.backup.lock import source_lock
from reprise.backup.pipeline import store_stream
from reprise.backup.sources.registry import open_source
from reprise.errors import OperationError, RepriseError, render_options
from reprise.plan.jobs import BackupJob
from reprise.repository import Repository, open_repository
from reprise.repository import keys as keyring
from reprise.repository.backend import put_bytes
from reprise.repository.catalog import record_backup
from reprise.repository.layout import MANIFEST, SIGNATURE, backup_prefix, new_backup_id
from reprise.repository.manifest import Compression, Encryption, Manifest, Part, encode_manifest
from reprise.repository.recipients import check_recipients
from reprise.repository.streams import CHUNK, STORED_SUFFIX, Progress, no_progress
from reprise.store.events import append_event

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

log = logging.getLogger("reprise.backup")


class ProgressFactory(Protocol):
    """Given (backup label, part name, estimated plain size or None), a context giving the
    progress callback of that part. The estimate (a database's size) lets a bar show a
    total and the time left; the part may end up smaller or larger."""

    def __call__(
        self, label: str, part: str, estimate: int | None, /
    ) -> AbstractContextManager[Progress]: ...


@dataclass
class BackupResult:
    """A completed backup."""

    repository: str
    manifest: Manifest
    warnings: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Plain bytes per second."""
        return self.manifest.plain_size / max(self.manifest.duration, 1e-6)


def run_backup(
    plan: Plan,
    store: Store,
    job: BackupJob,
    *,
    work_dir: Path,
    progress: ProgressFactory | None = None,
) -> BackupResult:
    """Make one backup of ``job`` and index it; raises RepriseError when it fails (the
    failure is recorded as an event and nothing incomplete is listed)."""
    repository = open_repository(plan, job.source.repository)
    started = datetime.now(UTC)
    clock = time.monotonic()
    try:
        result = _make_backup(plan, store, job, repository, work_dir, progress or no_progress)
    except RepriseError as error:
        append_event(
            store,
            "backup.failed",
            job.service.id,
            {
                "source": job.name,
                "repository": repository.name,
                "error": render_options(error.message),
                "seconds": round(time.monotonic() - clock, 3),
                "started_at": started.isoformat(),
            },
        )
        log.warning("backup of %s failed: %s", job.name, render_options(error.message))
        raise
    manifest = result.manifest
    payload = {
        "source": job.name,
        "repository": repository.name,
        "backup_id": manifest.id,
        "started_at": started.isoformat(),
        "bytes_in": manifest.plain_size,
        "bytes_out": manifest.stored_size,
        "seconds": round(manifest.duration, 3),
        "bytes_per_second": round(result.throughput),
        "warnings": result.warnings,
    }
    append_event(store, "backup.completed", job.service.id, payload)
    log.info(
        "backup %s of %s: %d bytes in, %d bytes out, %.1f s, %.1f MB/s",
        manifest.id,
        job.name,
        manifest.plain_size,
        manifest.stored_size,
        manifest.duration,
        result.throughput / 1e6,
    )
    return result


def _make_backup(
    plan: Plan,
    store: Store,
    job: BackupJob,
    repository: Repository,
    work_dir: Path,
    progress: ProgressFactory,
) -> BackupResult:
    recipients = keyring.recipients(plan.keys)
    age_recipients = keyring.age_recipients(recipients)
    signer = keyring.signing_key(plan.keys)
    # The repository must be initialised and its file readable (a foreign file means the
    # wrong folder); beyond that the file is informational and trusted for nothing.
    repository.config  # noqa: B018
    check_recipients(store, repository, recipients)
    warnings: list[str] = []
    with source_lock(repository.backend, job.name, warnings):
        started = datetime.now(UTC)
        backup_id = new_backup_id(started)
        prefix = backup_prefix(job.name, backup_id)
        written: list[str] = []
        try:
            run = open_source(job, work_dir)
            parts = []
            for spec in run.parts():
                key = f"{prefix}{spec.name}{STORED_SUFFIX}"
                writer = repository.backend.open_writer(key)
                try:
                    with (
                        progress(backup_id, spec.name, spec.estimate) as report,
                        spec.open() as stream,
                    ):
                        stored = store_stream(
                            spec.name + STORED_SUFFIX,
                            stream,
                            writer,
                            age_recipients,
                            level=job.source.compression_level,
                            progress=report,
                            chunked=spec.role == "database" and spec.format == "custom",
                        )
                except BaseException:
                    writer.abort()
                    raise
                writer.commit()
                written.append(key)
                parts.append(
                    Part(
                        name=stored.name,
                        role=spec.role,
                        database=spec.database,
                        format=spec.format,
                        plain_size=stored.plain_size,
                        plain_sha256=stored.plain_sha256,
                        stored_size=stored.stored_size,
                        sha256=stored.sha256,
                        chunk_size=None if stored.chunk_sha256 is None else CHUNK,
                        chunk_sha256=stored.chunk_sha256,
                    )
                )
            warnings.extend(run.facts.warnings)
            manifest = Manifest(
                id=backup_id,
                repository=repository.name,
                source=job.name,
                kind=job.source.kind,
                service=job.service.id,
                host=socket.gethostname(),
                started_at=started,
                finished_at=datetime.now(UTC),
                tool={"name": "reprise", "version": __version__},
                compression=Compression(level=job.source.compression_level),
                encryption=Encryption(recipients=recipients),
                signing_key=signer.fingerprint,
                parts=parts,
                server=run.facts.server,
                databases=run.facts.databases,
                labels=job.source.labels,
                warnings=warnings,
                retain_until=_retain_until(plan, repository.name),
            )
            data = encode_manifest(manifest)
            put_bytes(repository.backend, prefix + MANIFEST, data)
            written.append(prefix + MANIFEST)
            put_bytes(repository.backend, prefix + SIGNATURE, signer.sign(data))
        except BaseException:
            _remove_quietly(repository, written)
            raise
    record_backup(store, repository.name, manifest)
    return BackupResult(repository.name, manifest, warnings)


def _retain_until(plan: Plan, repository: str) -> datetime | None:
    config = plan.repositories[repository]
    lock = getattr(config, "object_lock", None)
    if lock is None:
        return None
    return (datetime.now(UTC) + timedelta(days=lock.days)).replace(microsecond=0)


def _remove_quietly(repository: Repository, keys: list[str]) -> None:
    """Best effort: a failed backup leaves no parts behind (prune catches what remains)."""
    for key in reversed(keys):
        try:
            repository.backend.delete(key)
        except (OperationError, OSError) as error:
            log.debug("could not remove %s: %s", key, error)


def summary(result: BackupResult) -> dict[str, Any]:
    """The JSON form of one completed backup."""
    manifest = result.manifest
    return {
        "id": manifest.id,
        "service": manifest.service,
        "source": manifest.source,
        "repository": result.repository,
        "bytes_in": manifest.plain_size,
        "bytes_out": manifest.stored_size,
        "seconds": round(manifest.duration, 3),
        "bytes_per_second": round(result.throughput),
        "parts": len(manifest.parts),
        "warnings": result.warnings,
    }
