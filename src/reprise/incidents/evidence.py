"""Evidence preservation after an intrusion: files copied into a bundle, each with its
SHA-256, and a manifest signed with the plan's Ed25519 key.

The bundle is checkable without Reprise: ``sha256sum -c SHA256SUMS`` for the files, and
``openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in manifest.json
-sigfile manifest.json.sig`` for the manifest."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import socket
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reprise.backup.keyring import signing_key
from reprise.errors import OperationError, VerificationError
from reprise.plan.model import Plan

FORMAT = "reprise-evidence/1"
_CHUNK = 1024 * 1024


@dataclass
class EvidenceBundle:
    """What was preserved, and where."""

    path: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _expand(patterns: list[str]) -> tuple[list[Path], list[str], list[str]]:
    """Regular files matching the patterns (directories walked, symlinks not followed)."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    skipped: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(  # noqa: PTH207 - absolute patterns
            pattern, recursive=True)) if glob.has_magic(pattern) \
            else [pattern] if os.path.lexists(pattern) else []
        if not matches:
            missing.append(pattern)
        for match in matches:
            path = Path(match).absolute()
            if path.is_dir() and not path.is_symlink():
                for root, _dirs, names in os.walk(path):
                    for name in sorted(names):
                        _take(Path(root) / name, found, skipped)
            else:
                _take(path, found, skipped)
    return list(found.values()), missing, skipped


def _take(path: Path, found: dict[str, Path], skipped: list[str]) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISREG(mode):
        found.setdefault(str(path), path)
    else:
        skipped.append(f"{path} (not a regular file)")


def _copy(source: Path, target: Path) -> tuple[int, str]:
    """Copy a file, hashing exactly the bytes written."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with source.open("rb") as reader, target.open("xb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, target)
    return size, digest.hexdigest()


def collect_evidence(plan: Plan, patterns: list[str], folder: Path, *, at: datetime,
                     labels: dict[str, Any]) -> EvidenceBundle:
    """Copy the files into ``folder`` (created, must not exist) with SHA256SUMS and a signed
    manifest. Raises OperationError when nothing could be collected; the signing key is
    loaded first so a missing key stops before any copy."""
    key = signing_key(plan.keys)
    files, missing, skipped = _expand(patterns)
    if not files:
        raise OperationError("no evidence file found: " + ", ".join(missing or patterns),
                             hint="check the paths of the evidence step")
    try:
        folder.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        raise OperationError(f"{folder} already exists",
                             hint="an evidence bundle is never overwritten") from None
    bundle = EvidenceBundle(folder, missing=missing, skipped=skipped)
    for source in files:
        stored = Path("files") / source.relative_to(source.anchor)
        try:
            size, digest = _copy(source, folder / stored)
        except OSError as error:
            bundle.skipped.append(f"{source} ({error.strerror or error})")
            continue
        info = source.stat()
        bundle.files.append({"path": str(source), "stored": str(stored), "size": size,
                             "mtime": datetime.fromtimestamp(info.st_mtime).astimezone()
                             .isoformat(), "sha256": digest})
    manifest = {"format": FORMAT, "created_at": at.isoformat(), "host": socket.gethostname(),
                **labels, "signing_key": key.fingerprint, "files": bundle.files,
                "missing": bundle.missing, "skipped": bundle.skipped}
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
    (folder / "SHA256SUMS").write_text("".join(f"{f['sha256']}  {f['stored']}\n"
                                               for f in bundle.files), encoding="utf-8")
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.json.sig").write_bytes(key.sign(data))
    (folder / "signing-key.pub.pem").write_bytes(key.public_pem)
    return bundle


def verify_evidence(folder: Path, public_pem: bytes | None = None) -> dict[str, Any]:
    """Check the manifest signature (against ``public_pem``, else the key in the bundle)
    and every file's SHA-256; returns the manifest, raises VerificationError naming the
    first problem."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = (folder / "manifest.json").read_bytes()
    public = load_pem_public_key(public_pem or (folder / "signing-key.pub.pem").read_bytes())
    if not isinstance(public, Ed25519PublicKey):
        raise VerificationError(f"{folder}: the public key is not an Ed25519 key")
    try:
        public.verify((folder / "manifest.json.sig").read_bytes(), data)
    except InvalidSignature:
        raise VerificationError(f"{folder}/manifest.json: the signature does not match",
                                hint="the manifest was changed after it was signed") from None
    manifest: dict[str, Any] = json.loads(data)
    for entry in manifest["files"]:
        digest = hashlib.sha256()
        with (folder / entry["stored"]).open("rb") as reader:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise VerificationError(f"{folder}/{entry['stored']}: SHA-256 differs from the "
                                    "signed manifest", hint="the copy was altered")
    return manifest
