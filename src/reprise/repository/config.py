"""``reprise-repository.json``: what a repository is, and which keys it trusts.

It holds public material only (age recipients, Ed25519 public keys), so that a machine
with nothing but the repository and the identity can verify and restore.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reprise import __version__
from reprise.errors import OperationError, VerificationError
from reprise.keys import public_key_fingerprint
from reprise.repository.backend import Backend, NotFoundError, get_bytes
from reprise.repository.layout import CONFIG_KEY

FORMAT_NAME = "reprise-repository"
FORMAT_VERSION = 1


class SigningPublicKey(BaseModel):
    """A key whose signatures make a backup complete."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    fingerprint: str
    pem: str


class RepositoryConfig(BaseModel):
    """The repository's identity card."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal["reprise-repository"] = "reprise-repository"
    version: int = FORMAT_VERSION
    created: datetime
    created_by: str
    recipients: list[str] = Field(min_length=1)
    signing_keys: list[SigningPublicKey] = Field(min_length=1)

    def fingerprints(self) -> set[str]:
        """Fingerprints of the trusted signing keys."""
        return {key.fingerprint for key in self.signing_keys}


def new_config(recipients: list[str], signing_public_pems: list[bytes]) -> RepositoryConfig:
    """The config of a new repository trusting these keys."""
    return RepositoryConfig(
        created=datetime.now(UTC).replace(microsecond=0), created_by=f"reprise {__version__}",
        recipients=recipients,
        signing_keys=[SigningPublicKey(fingerprint=public_key_fingerprint(pem),
                                       pem=pem.decode("ascii"))
                      for pem in signing_public_pems])


def encode_config(config: RepositoryConfig) -> bytes:
    """The file's bytes (stable, readable JSON)."""
    return (json.dumps(config.model_dump(mode="json"), indent=2) + "\n").encode()


def read_config(backend: Backend, name: str) -> RepositoryConfig:
    """Load the repository's config; a clear error when it is missing or not ours."""
    try:
        data = get_bytes(backend, CONFIG_KEY, limit=1024 * 1024)
    except NotFoundError as error:
        raise OperationError(f"repository {name!r} ({backend.description}) is not initialised",
                             hint=f"run: reprise repo init {name}") from error
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
            raise ValueError("not a Reprise repository file")
        if raw.get("version") != FORMAT_VERSION:
            raise OperationError(
                f"{backend.description}/{CONFIG_KEY}: repository format version "
                f"{raw.get('version')} is not supported by this Reprise (knows {FORMAT_VERSION})",
                hint="upgrade Reprise")
        return RepositoryConfig.model_validate(raw)
    except (ValueError, ValidationError) as error:
        raise VerificationError(f"{backend.description}/{CONFIG_KEY}: unreadable repository "
                                f"file ({str(error).splitlines()[0]})",
                                hint="restore it from another copy of the repository") from error
