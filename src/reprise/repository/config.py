"""``reprise-repository.json``: what a repository is, and which keys made it.

It holds public material only (age recipients, Ed25519 public keys). It is informational:
anyone who can write the repository can rewrite it, so the keys that verification accepts
and the recipients that backups encrypt to come from the plan (and the state database),
never from this file. Where the file disagrees with them, :func:`disagreements` says so.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reprise import __version__
from reprise.errors import OperationError, VerificationError
from reprise.repository.backend import Backend, NotFoundError, get_bytes
from reprise.repository.layout import CONFIG_KEY
from reprise.repository.trust import public_key_fingerprint

if TYPE_CHECKING:
    from reprise.repository.trust import Trust

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
        """Fingerprints the file states for its signing keys (claims, not trust)."""
        return {key.fingerprint for key in self.signing_keys}


def new_config(recipients: list[str], signing_public_pems: list[bytes]) -> RepositoryConfig:
    """The config of a new repository trusting these keys."""
    return RepositoryConfig(
        created=datetime.now(UTC).replace(microsecond=0),
        created_by=f"reprise {__version__}",
        recipients=recipients,
        signing_keys=[
            SigningPublicKey(fingerprint=public_key_fingerprint(pem), pem=pem.decode("ascii"))
            for pem in signing_public_pems
        ],
    )


def encode_config(config: RepositoryConfig) -> bytes:
    """The file's bytes (stable, readable JSON)."""
    return (json.dumps(config.model_dump(mode="json"), indent=2) + "\n").encode()


def read_config(backend: Backend, name: str) -> RepositoryConfig:
    """Load the repository's config; a clear error when it is missing or not ours."""
    try:
        data = get_bytes(backend, CONFIG_KEY, limit=1024 * 1024)
    except NotFoundError as error:
        raise OperationError(
            f"repository {name!r} ({backend.description}) is not initialised",
            hint=f"run: reprise repo init {name}",
        ) from error
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
            raise ValueError("not a Reprise repository file")
        if raw.get("version") != FORMAT_VERSION:
            raise OperationError(
                f"{backend.description}/{CONFIG_KEY}: repository format version "
                f"{raw.get('version')} is not supported by this Reprise (knows {FORMAT_VERSION})",
                hint="upgrade Reprise",
            )
        return RepositoryConfig.model_validate(raw)
    except (ValueError, ValidationError) as error:
        raise VerificationError(
            f"{backend.description}/{CONFIG_KEY}: unreadable repository "
            f"file ({str(error).splitlines()[0]})",
            hint="restore it from another copy of the repository",
        ) from error


def disagreements(
    config: RepositoryConfig | None, trust: Trust, accepted_recipients: list[str] | None, where: str
) -> list[str]:
    """Where the repository file disagrees with what the plan trusts and what was accepted:
    one line each, for warnings (the file is never believed)."""
    if config is None:
        return [f"{where}: missing or unreadable; ignored (trust comes from the plan)"]
    found: list[str] = []
    trusted = set(trust.fingerprints())
    for entry in config.signing_keys:
        try:
            actual = public_key_fingerprint(entry.pem.encode("ascii"))
        except (ValueError, TypeError, UnicodeError):
            found.append(f"{where}: lists an unreadable public key as {entry.fingerprint}; ignored")
            continue
        if actual != entry.fingerprint:
            found.append(
                f"{where}: lists key {actual} under the fingerprint "
                f"{entry.fingerprint} (forged entry); ignored"
            )
        if actual not in trusted:
            found.append(
                f"{where}: lists signing key {actual}, which the plan does not trust; ignored"
            )
    if accepted_recipients is not None:
        added = sorted(set(config.recipients) - set(accepted_recipients))
        removed = sorted(set(accepted_recipients) - set(config.recipients))
        if added or removed:
            found.append(
                f"{where}: its recipients differ from the accepted set ("
                + ", ".join([f"+{item}" for item in added] + [f"-{item}" for item in removed])
                + "); ignored"
            )
    return found
