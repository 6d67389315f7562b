"""The manifest: what a backup holds, and the signature that makes it complete.

``manifest.json`` is stable, readable JSON; ``manifest.json.sig`` is the raw 64-byte
Ed25519 signature of its exact bytes, which ``openssl pkeyutl -verify -rawin`` checks.
A signature counts only when it is made by a key the plan trusts (:mod:`reprise.repository.trust`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reprise.errors import VerificationError
from reprise.repository.config import RepositoryConfig
from reprise.repository.trust import Trust, check_signature, claimed_signer

MANIFEST_FORMAT = "reprise-manifest"
MANIFEST_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Compression(_Model):
    """How parts were compressed."""

    algorithm: Literal["zstd"] = "zstd"
    level: int


class Encryption(_Model):
    """How parts were encrypted (public keys only)."""

    algorithm: Literal["age"] = "age"
    recipients: list[str]


class Part(_Model):
    """One stored object of a backup."""

    name: str = Field(description="Object name in the backup folder (ends in .zst.age).")
    role: str = Field(description="globals, database, files or output.")
    database: str | None = None
    format: str | None = None
    plain_size: int
    plain_sha256: str | None = Field(
        None,
        description="SHA-256 of the plain bytes, when measured (parts stored in-process); "
        "else zstd's checksum of the plain content, in the frame, covers it.",
    )
    stored_size: int
    sha256: str = Field(description="SHA-256 of the stored (encrypted) bytes.")
    chunk_size: int | None = Field(
        None, gt=0, description="Stored bytes per entry of chunk_sha256, when recorded."
    )
    chunk_sha256: list[str] | None = Field(
        None,
        description="SHA-256 of each chunk_size run of the stored bytes, the last one "
        "shorter: a restore can hand verified chunks to pg_restore while it reads the rest.",
    )

    @property
    def chunked(self) -> bool:
        """The chunk checksums are recorded and consistent with the stored size."""
        from reprise.repository.streams import chunk_count

        return (
            self.chunk_size is not None
            and self.chunk_sha256 is not None
            and len(self.chunk_sha256) == chunk_count(self.stored_size, self.chunk_size)
        )


class Manifest(_Model):
    """The signed description of one complete backup."""

    format: Literal["reprise-manifest"] = "reprise-manifest"
    version: int = MANIFEST_VERSION
    id: str
    repository: str
    source: str
    kind: str
    service: str
    host: str
    started_at: datetime
    finished_at: datetime
    tool: dict[str, str]
    compression: Compression
    encryption: Encryption
    signing_key: str = Field(description="Fingerprint of the key that signed this manifest.")
    parts: list[Part]
    server: dict[str, Any] = Field(default_factory=dict)
    databases: list[dict[str, Any]] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    retain_until: datetime | None = Field(None, description="S3 Object Lock retention.")

    @property
    def plain_size(self) -> int:
        """Bytes before compression and encryption."""
        return sum(part.plain_size for part in self.parts)

    @property
    def stored_size(self) -> int:
        """Bytes in the repository."""
        return sum(part.stored_size for part in self.parts)

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return (self.finished_at - self.started_at).total_seconds()


def encode_manifest(manifest: Manifest) -> bytes:
    """The exact bytes that are signed and stored."""
    return (
        json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    ).encode("utf-8")


def verify_signature(
    data: bytes,
    signature: bytes,
    trust: Trust,
    where: str,
    *,
    config: RepositoryConfig | None = None,
) -> str:
    """Check ``signature`` over the manifest bytes with the keys the plan trusts; the
    fingerprint of the key that signed. The manifest's own ``signing_key`` is reported in
    the error, never believed."""
    return check_signature(
        data, signature, trust, where, claimed=claimed_signer(data), config=config
    )


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Read a manifest whose signature was already verified."""
    try:
        return Manifest.model_validate_json(data)
    except ValidationError as error:
        raise VerificationError(
            f"{where}: signed but not a valid manifest ({error.errors()[0]['msg']})",
            hint="was it written by a newer Reprise?",
        ) from error
