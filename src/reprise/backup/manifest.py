"""The manifest: what a backup holds, and the signature that makes it complete.

``manifest.json`` is stable, readable JSON; ``manifest.json.sig`` is the raw 64-byte
Ed25519 signature of its exact bytes, which ``openssl pkeyutl -verify -rawin`` checks.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reprise.errors import VerificationError
from reprise.repository.config import RepositoryConfig

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
    plain_sha256: str
    stored_size: int
    sha256: str = Field(description="SHA-256 of the stored (encrypted) bytes.")


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
    return (json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False)
            + "\n").encode("utf-8")


def verify_signature(data: bytes, signature: bytes, config: RepositoryConfig,
                     where: str) -> None:
    """Check ``signature`` over ``data`` with the keys the repository trusts."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(signature) != 64:
        raise VerificationError(f"{where}.sig: not an Ed25519 signature "
                                f"({len(signature)} bytes, expected 64)",
                                hint="the backup is damaged; use another one")
    for trusted in config.signing_keys:
        key = serialization.load_pem_public_key(trusted.pem.encode("ascii"))
        assert isinstance(key, Ed25519PublicKey)
        try:
            key.verify(signature, data)
        except InvalidSignature:
            continue
        return
    raise VerificationError(f"{where}: the signature does not match (the manifest or its "
                            "signature was altered, or signed by a key the repository does "
                            "not trust)", hint="the backup cannot be trusted; use another one")


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Read a manifest whose signature was already verified."""
    try:
        return Manifest.model_validate_json(data)
    except ValidationError as error:
        raise VerificationError(f"{where}: signed but not a valid manifest "
                                f"({error.errors()[0]['msg']})",
                                hint="was it written by a newer Reprise?") from error
