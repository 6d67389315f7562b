"""Which keys a plan uses: public parts and fingerprints only, never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError
from reprise.repository import keys as keyring

if TYPE_CHECKING:
    from reprise.plan.model import Plan

__all__ = ["IdentityInfo", "KeysReport", "SigningKeyInfo", "TrustedKeyInfo", "show_keys"]


@dataclass(frozen=True)
class SigningKeyInfo:
    """The key this machine signs backups with."""

    path: str
    fingerprint: str


@dataclass(frozen=True)
class TrustedKeyInfo:
    """A signing key verification accepts, and where the plan names it."""

    fingerprint: str
    origin: str


@dataclass(frozen=True)
class IdentityInfo:
    """The age identity: whether it is on this machine and which recipients it decrypts
    (``recipients``), of which those of the plan (``matches``)."""

    path: str
    present: bool
    recipients: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (without the lists when the identity is absent)."""
        if not self.present:
            return {"path": self.path, "present": False}
        return {
            "path": self.path,
            "present": True,
            "recipients": self.recipients,
            "matches": self.matches,
        }


@dataclass(frozen=True)
class KeysReport:
    """The plan's age recipients, signing key, trusted signing keys and identity."""

    recipients: list[str]
    signing_key: SigningKeyInfo | None
    trusted_signing_keys: list[TrustedKeyInfo]
    identity: IdentityInfo | None

    def identity_error(self) -> InputError | None:
        """The error when the identity present decrypts none of the plan's recipients."""
        if self.identity is None or not self.identity.present or self.identity.matches:
            return None
        return InputError(
            "the identity decrypts none of the plan's recipients",
            hint="bring the identity whose public key is listed above",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        signer = self.signing_key
        return {
            "recipients": self.recipients,
            "signing_key": (
                {"path": signer.path, "fingerprint": signer.fingerprint} if signer else None
            ),
            "identity": self.identity.to_dict() if self.identity else None,
            "trusted_signing_keys": [
                {"fingerprint": key.fingerprint, "origin": key.origin}
                for key in self.trusted_signing_keys
            ],
        }


def show_keys(plan: Plan) -> KeysReport:
    """Read the plan's keys (the identity only to derive its public keys)."""
    recipients = keyring.recipients(plan.keys)
    signing = None
    if plan.keys.signing_key is not None:
        signer = keyring.signing_key(plan.keys)
        signing = SigningKeyInfo(str(signer.path), signer.fingerprint)
    trusted = [
        TrustedKeyInfo(key.fingerprint, key.origin) for key in keyring.trusted_keys(plan.keys).keys
    ]
    identity = None
    if plan.keys.identity is not None:
        path = plan.keys.identity
        if path.exists():
            publics = [str(item.to_public()) for item in keyring.identities(plan.keys)]
            matches = [key for key in publics if key in recipients]
            identity = IdentityInfo(str(path), True, publics, matches)
        else:
            identity = IdentityInfo(str(path), False)
    return KeysReport(recipients, signing, trusted, identity)
