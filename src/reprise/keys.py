"""Key material: age identities (encryption) and Ed25519 signing keys.

Files use formats stock tools read, so a restore never depends on Reprise: the identity is
what ``age-keygen`` writes (``age -d -i identity.txt``), the signing key is PKCS#8 PEM and
its public half SubjectPublicKeyInfo PEM (``openssl pkeyutl -verify``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class AgeKeyPair:
    """An age identity file's text and its recipient (public key)."""

    identity_file: str
    recipient: str


@dataclass(frozen=True)
class SigningKeyPair:
    """An Ed25519 key pair as PEM bytes."""

    private_pem: bytes
    public_pem: bytes

    @property
    def fingerprint(self) -> str:
        """``SHA256:`` and the hex digest of the public key's DER bytes (short, stable)."""
        return public_key_fingerprint(self.public_pem)


def generate_age_identity() -> AgeKeyPair:
    """A new X25519 age identity, written as age-keygen does (comment lines + secret)."""
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    text = f"# created: {created}\n# public key: {recipient}\n{identity}\n"
    return AgeKeyPair(text, recipient)


def generate_signing_key() -> SigningKeyPair:
    """A new Ed25519 signing key pair (PKCS#8 / SubjectPublicKeyInfo PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKeyPair(private_pem, public_pem)


def public_key_fingerprint(public_pem: bytes) -> str:
    """A short fingerprint of a PEM public key: ``SHA256:<first 32 hex digits>``."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + hashlib.sha256(der).hexdigest()[:32]
