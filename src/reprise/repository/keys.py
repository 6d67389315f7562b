"""The keys a plan names: made in stock formats, and loaded for each operation with what
it needs and no more.

Files use formats stock tools read, so a restore never depends on Reprise: the identity is
what ``age-keygen`` writes (``age -d -i identity.txt``), the signing key is PKCS#8 PEM and
its public half SubjectPublicKeyInfo PEM (``openssl pkeyutl -verify``).

Making a backup needs the recipients (public) and the signing key; only restore and deep
verification need the identity, which can stay offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError
from reprise.repository.trust import public_key_fingerprint
from reprise.security import ensure_private_file

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from reprise.plan.model import Keys
    from reprise.repository.trust import Trust, TrustedKey


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


@dataclass(frozen=True)
class SigningKey:
    """The Ed25519 key that signs manifests, with its public half."""

    private: Ed25519PrivateKey
    public_pem: bytes
    path: Path

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the public key (as `reprise keys show` prints it)."""
        return public_key_fingerprint(self.public_pem)

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``data``."""
        return self.private.sign(data)


def recipients(keys: Keys) -> list[str]:
    """Every age recipient: ``recipients`` plus the lines of ``recipients_file``."""
    found = list(keys.recipients)
    if keys.recipients_file is not None:
        path = keys.recipients_file
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(
                f"{path}: cannot read the recipients file ({error.strerror})",
                hint="fix keys.recipients_file, or run `reprise init` to make keys",
            ) from error
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not line.startswith("age1"):
                raise InputError(
                    f"{path}:{number}: not an age recipient",
                    hint="one 'age1…' public key per line; never a secret key",
                )
            found.append(line)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise InputError(
            "the plan has no age recipient to encrypt backups to",
            hint="set keys.recipients or keys.recipients_file",
        )
    _parse_recipients(unique)
    return unique


def _parse_recipients(values: list[str]) -> list[Any]:
    import pyrage

    parsed = []
    for value in values:
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(value))
        except pyrage.RecipientError as error:
            raise InputError(
                f"invalid age recipient {value[:20]}…: {error}",
                hint="copy the line `age-keygen -y identity.txt` prints",
            ) from error
    return parsed


def age_recipients(values: list[str]) -> list[Any]:
    """The recipients as pyrage objects."""
    return _parse_recipients(values)


def signing_key(keys: Keys) -> SigningKey:
    """Load the signing key (private, must be mode 600)."""
    path = keys.signing_key
    if path is None:
        raise InputError(
            "the plan has no signing key; backups cannot be completed",
            hint="set keys.signing_key (`reprise init` makes one)",
        )
    return load_signing_key(path, keys.readers_group)


def load_signing_key(path: Path, readers_group: str | None) -> SigningKey:
    """Load the signing key file the plan names (private: 0600, or 0640 with the plan's
    readers group)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ensure_private_file(path, "signing key", readers_group=readers_group)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(
            f"{path}: cannot read the signing key ({error.strerror})",
            hint="fix keys.signing_key in the plan",
        ) from error
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise InputError(
            f"{path}: not an unencrypted PEM private key",
            hint="use the file `reprise init` wrote (PKCS#8 PEM)",
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"{path}: not an Ed25519 key", hint="make one with `openssl genpkey -algorithm ed25519`"
        )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(key, public_pem, path)


def trusted_keys(keys: Keys) -> Trust:
    """The public signing keys verification accepts: ``signing_key``'s public half (when
    the private key is on this host) and every ``trusted_signing_keys`` entry."""
    from reprise.repository.trust import Trust, TrustedKey

    found: list[TrustedKey] = []
    notes: list[str] = []
    if keys.signing_key is not None:
        if keys.signing_key.exists():
            signer = signing_key(keys)
            found.append(TrustedKey(signer.fingerprint, "keys.signing_key", signer.public_pem))
        else:
            notes.append(f"keys.signing_key {keys.signing_key} is not on this host")
    for index, entry in enumerate(keys.trusted_signing_keys):
        origin = f"keys.trusted_signing_keys[{index}]"
        if isinstance(entry, str):
            found.append(TrustedKey(entry, origin))
            continue
        found.append(_public_key_file(entry, origin))
    return Trust(tuple(found), tuple(notes))


def _public_key_file(path: Path, origin: str) -> TrustedKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from reprise.repository.trust import TrustedKey

    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(
            f"{path}: cannot read the trusted signing key ({error.strerror})",
            hint=f"fix {origin} in the plan: a PEM public key file such as "
            "keys/signing.pub, or the key's SHA256:… fingerprint",
        ) from error
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise InputError(
            f"{path}: not a PEM public key ({origin})",
            hint="give the public half (-----BEGIN PUBLIC KEY-----), as "
            "`openssl pkey -pubout` or `reprise init` (signing.pub) "
            "writes it; never the private key",
        ) from error
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(
            f"{path}: not an Ed25519 public key ({origin})",
            hint="Reprise signs with Ed25519 keys only",
        )
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return TrustedKey(public_key_fingerprint(pem), origin, pem)


def identities(keys: Keys) -> list[Any]:
    """The age identities (private) for decrypting: restore and deep verification only."""
    return load_identities(keys.identity, keys.readers_group)


def load_identities(path: Path | None, readers_group: str | None) -> list[Any]:
    """The age identities of the file the plan names (private, as the signing key)."""
    import pyrage

    if path is None:
        raise InputError(
            "this needs the age identity (private key) and the plan names none",
            hint="set keys.identity to the identity file, on the machine "
            "where restores and deep verification run",
        )
    ensure_private_file(path, "age identity", readers_group=readers_group)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(
            f"{path}: cannot read the age identity ({error.strerror})",
            hint="bring the identity file here, or fix keys.identity",
        ) from error
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            found.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError as error:
            raise InputError(
                f"{path}:{number}: not an age identity",
                hint="the file holds AGE-SECRET-KEY-1… lines",
            ) from error
    if not found:
        raise InputError(f"{path}: no identity in the file", hint="AGE-SECRET-KEY-1… lines")
    return found
