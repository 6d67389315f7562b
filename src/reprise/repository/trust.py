"""Which public signing keys a verification accepts: the plan's, never the repository's.

The repository file (``reprise-repository.json``) lists signing keys too, but anyone who can
write the repository can rewrite it. So the keys that make a signature count are the ones
the plan names (``keys.signing_key``'s public half and ``keys.trusted_signing_keys``); the
repository file is only a place to look up the public key of a key the plan pins by its
fingerprint, and a witness whose disagreement with the plan is reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reprise.errors import VerificationError

if TYPE_CHECKING:
    from reprise.repository.config import RepositoryConfig

SIGNATURE_SIZE = 64


class TrustError(VerificationError):
    """A signed object that does not prove it comes from a key the plan trusts.

    ``problem`` says why, for the catalog: ``untrusted`` (a valid signature by a key the
    plan does not trust, or by no known key), ``damaged`` (altered or unreadable), and, set
    by callers, ``moved`` or ``replayed``.
    """

    def __init__(
        self, message: str, *, problem: str, hint: str | None = None, found: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problem = problem
        self.found = found


def public_key_fingerprint(public_pem: bytes) -> str:
    """A short fingerprint of a PEM public key: ``SHA256:<first 32 hex digits>``."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + hashlib.sha256(der).hexdigest()[:32]


@dataclass(frozen=True)
class TrustedKey:
    """One public key the plan trusts; ``pem`` is None while only its fingerprint is known."""

    fingerprint: str
    origin: str
    pem: bytes | None = None


@dataclass(frozen=True)
class Trust:
    """The public keys whose signatures count."""

    keys: tuple[TrustedKey, ...] = ()
    notes: tuple[str, ...] = field(default=())
    """What could not be used (a key file absent on this host), for error messages."""

    def fingerprints(self) -> list[str]:
        """Fingerprints of every trusted key, in plan order."""
        return list(dict.fromkeys(key.fingerprint for key in self.keys))

    def describe(self) -> str:
        """The trusted fingerprints, for messages."""
        return ", ".join(self.fingerprints()) or "none"

    def resolved(self, config: RepositoryConfig | None) -> Trust:
        """Fill in the public key of keys pinned by fingerprint from the repository file,
        using a published key only when its own fingerprint (recomputed) is the pinned one."""
        if config is None or all(key.pem is not None for key in self.keys):
            return self
        published: dict[str, bytes] = {}
        for entry in config.signing_keys:
            try:
                pem = entry.pem.encode("ascii")
                published[public_key_fingerprint(pem)] = pem
            except (ValueError, TypeError, UnicodeError):
                continue
        return Trust(
            tuple(
                key
                if key.pem is not None
                else TrustedKey(key.fingerprint, key.origin, published.get(key.fingerprint))
                for key in self.keys
            ),
            self.notes,
        )

    def signer(self, data: bytes, signature: bytes) -> str | None:
        """The fingerprint of the trusted key that made ``signature`` over ``data``."""
        for key in self.keys:
            if key.pem is not None and _verifies(key.pem, data, signature):
                return key.fingerprint
        return None


def _verifies(pem: bytes, data: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def check_signature(
    data: bytes,
    signature: bytes,
    trust: Trust,
    where: str,
    *,
    claimed: str | None,
    config: RepositoryConfig | Callable[[], RepositoryConfig | None] | None = None,
    what: str = "backup",
) -> str:
    """The fingerprint of the trusted key that signed ``data``; raises TrustError naming
    the key found (or claimed) and the keys trusted. ``claimed`` (the signer the object
    names) is reported, never believed; ``config`` (the repository file) only helps to
    tell a foreign key from an alteration."""
    if len(signature) != SIGNATURE_SIZE:
        raise TrustError(
            f"{where}: not an Ed25519 signature ({len(signature)} bytes, "
            f"expected {SIGNATURE_SIZE})",
            problem="damaged",
            hint=f"the {what} is damaged; use another one",
        )
    found = trust.signer(data, signature)
    if found is not None:
        return found
    foreign = None
    if callable(config):  # read only when needed: the WAL archiver never reads it on success
        config = config()
    if config is not None:
        for entry in config.signing_keys:
            try:
                pem = entry.pem.encode("ascii")
                if _verifies(pem, data, signature):
                    foreign = public_key_fingerprint(pem)
                    break
            except (ValueError, TypeError, UnicodeError):
                continue
    trusted = trust.fingerprints()
    notes = f"; {'; '.join(trust.notes)}" if trust.notes else ""
    if foreign is None and claimed in trusted:
        raise TrustError(
            f"{where}: the signature does not match (the content or its "
            f"signature was altered after {claimed} signed it)",
            problem="damaged",
            found=claimed,
            hint=f"the {what} cannot be trusted; use another one and find out "
            "who or what altered the repository",
        )
    signer = foreign or claimed or "an unknown key"
    named = "names" if foreign is None else "is signed by"
    raise TrustError(
        f"{where}: signed by a key the plan does not trust (it {named} {signer}; the plan "
        f"trusts {', '.join(trusted) or 'no key'}{notes})",
        problem="untrusted",
        found=signer,
        hint=f"if {signer} is yours (a key being retired, another backup host), add its "
        "public key file or fingerprint to keys.trusted_signing_keys; otherwise "
        f"someone who can write the repository planted this {what}: do not use it",
    )


def claimed_signer(data: bytes) -> str | None:
    """The ``signing_key`` a JSON document names, for messages only (never trusted)."""
    import json

    try:
        value: Any = json.loads(data)
    except (ValueError, UnicodeError):
        return None
    claimed = value.get("signing_key") if isinstance(value, dict) else None
    return claimed[:80] if isinstance(claimed, str) else None
