"""Evidence preservation after an intrusion: files copied into a bundle, each with its
SHA-256, and a manifest signed with the plan's Ed25519 key.

The bundle is checkable without Reprise: ``sha256sum -c SHA256SUMS`` for the files, and
``openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in manifest.json
-sigfile manifest.json.sig`` for the manifest."""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import glob
import hashlib
import json
import os
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reprise.errors import OperationError, VerificationError
from reprise.plan.model import Plan
from reprise.repository.keys import signing_key
from reprise.security import make_private_dirs

FORMAT = "reprise-evidence/1"
_CHUNK = 1024 * 1024


@dataclass
class EvidenceBundle:
    """What was preserved, and where; ``skipped`` says what was left out and why (a
    ``path`` and a ``reason``, and the ``target`` of a symbolic link)."""

    path: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    secrets_included: list[str] = field(default_factory=list)

    @property
    def secrets_skipped(self) -> list[str]:
        """The plan's own secret files that the paths reached and that were left out."""
        return [entry["path"] for entry in self.skipped if entry.get("secret")]


@dataclass(frozen=True)
class _Item:
    """A regular file to collect: ``root`` (a folder the step names, opened as given)
    and the names below it, each opened without following symbolic links."""

    root: Path
    names: tuple[str, ...]


@dataclass
class _Found:
    items: dict[str, _Item] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def skip(self, path: Path, reason: str, **extra: str) -> None:
        if not any(entry["path"] == str(path) for entry in self.skipped):
            self.skipped.append({"path": str(path), "reason": reason, **extra})

    def link(self, path: Path) -> None:
        try:
            target = str(path.readlink())
        except OSError:
            target = "?"
        self.skip(path, f"symbolic link to {target}, not followed", target=target)


def _literal_base(pattern: Path) -> Path:
    """The folder of a glob pattern before its first wildcard."""
    parts = pattern.parts
    index = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    return Path(*parts[:index])


def _entries(folder: Path, found: _Found) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as listing:
            return sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        found.skip(folder, error.strerror or str(error))
        return []


def _folders_below(top: Path, found: _Found, *, all_links: bool = True) -> Iterator[Path]:
    """``top`` and every folder under it, iteratively (no recursion limit) and never
    through a symbolic link (each one met is recorded, or only those to folders)."""
    pending = [top]
    while pending:
        folder = pending.pop()
        yield folder
        below = []
        for entry in _entries(folder, found):
            if entry.is_symlink():
                if all_links or entry.is_dir():
                    found.link(Path(entry.path))
            elif entry.is_dir(follow_symlinks=False):
                below.append(Path(entry.path))
        pending.extend(reversed(below))


def _glob(base: Path, components: tuple[str, ...], found: _Found) -> list[tuple[str, ...]]:
    """The names below ``base`` matching the pattern ``components`` (as glob.glob with
    recursive ``**``: ``*`` and ``**`` skip hidden names unless the pattern starts with
    '.'), without ever following a symbolic link: glob.glob enters links to folders, so a
    few planted ``loop -> .`` links make it list 2^40 paths, and ``**`` on a deep tree
    overflows Python's stack. A link met where the pattern goes on is recorded instead."""
    matches: list[tuple[str, ...]] = []
    states: list[tuple[tuple[str, ...], tuple[str, ...]]] = [((), components)]
    seen: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    while states:
        names, rest = states.pop()
        if (names, rest) in seen:
            continue
        seen.add((names, rest))
        if not rest:
            matches.append(names)
            continue
        head, tail = rest[0], rest[1:]
        folder = base.joinpath(*names)
        if head == "**":
            for below in _folders_below(folder, found, all_links=False):
                relative = below.relative_to(base).parts
                if any(name.startswith(".") for name in relative[len(names) :]):
                    continue
                states.append((relative, tail))
                if not tail:  # a final ** also matches the files (and links) of each folder
                    states.extend(
                        ((*relative, entry.name), ())
                        for entry in _entries(below, found)
                        if not entry.name.startswith(".")
                        and (entry.is_symlink() or not entry.is_dir(follow_symlinks=False))
                    )
            continue
        if glob.has_magic(head):
            candidates = [
                entry.name
                for entry in _entries(folder, found)
                if fnmatch.fnmatchcase(entry.name, head)
                and (head.startswith(".") or not entry.name.startswith("."))
            ]
        else:
            candidates = [head] if os.path.lexists(folder / head) else []
        for name in reversed(candidates):
            path = folder / name
            if not tail:
                states.append(((*names, name), tail))
            elif path.is_symlink():
                _through_link(path, tail, found)
            elif path.is_dir():
                states.append(((*names, name), tail))
    return sorted(set(matches))


def _through_link(link: Path, rest: tuple[str, ...], found: _Found) -> None:
    """A link met where the pattern goes on: what the rest would have matched through it
    is recorded as not followed (a bounded look: without ``**``, as many listings as the
    pattern has wildcards), else the link itself."""
    reached = [] if "**" in rest else sorted(glob.glob(str(link.joinpath(*rest))))  # noqa: PTH207
    for match in reached:
        found.skip(Path(match), f"reached through the symbolic link {link}, not followed")
    if not reached:
        found.link(link)


def _expand(patterns: list[str]) -> _Found:
    """Regular files matching the patterns: directories are walked, symbolic links are
    recorded and never followed, whether named, met in a walk or crossed by a glob."""
    found = _Found()
    for written in patterns:
        pattern = Path(os.path.abspath(written))  # noqa: PTH100 - lexical, no resolving
        if glob.has_magic(str(pattern)):
            base = _literal_base(pattern)  # opened as given, like a named folder
            matches = _glob(base, pattern.relative_to(base).parts, found)
            if not matches:
                found.missing.append(str(pattern))
            for names in matches:
                _take(base, names, found)
        elif os.path.lexists(pattern):
            _take(pattern.parent, (pattern.name,) if pattern.name else (), found)
        else:
            found.missing.append(str(pattern))
    return found


def _take(root: Path, names: tuple[str, ...], found: _Found) -> None:
    path = root.joinpath(*names)
    try:
        mode = path.lstat().st_mode
    except OSError as error:  # gone since listed (a rotated log), or unreadable
        found.skip(path, error.strerror or str(error))
        return
    if stat.S_ISLNK(mode):
        found.link(path)
    elif stat.S_ISREG(mode):
        found.items.setdefault(str(path), _Item(root, names))
    elif stat.S_ISDIR(mode):
        for folder in _folders_below(path, found):  # follows no link, any depth
            below = folder.relative_to(root).parts
            for entry in _entries(folder, found):
                if not entry.is_symlink() and not entry.is_dir(follow_symlinks=False):
                    _take(root, (*below, entry.name), found)
    else:
        found.skip(path, "not a regular file")


def _open_item(item: _Item) -> int:
    """A descriptor on the item, reached from its root one name at a time without following
    any symbolic link (one swapped in since the walk fails with ELOOP or ENOTDIR)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(item.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in item.names[:-1]:
            inner = os.open(name, flags | os.O_DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        return os.open(item.names[-1], flags | os.O_NONBLOCK, dir_fd=descriptor)
    finally:
        os.close(descriptor)


def plan_secrets(plan: Plan, plan_path: Path | None) -> dict[str, str]:
    """The plan's own secret files that exist here, by real path, with what each one is."""
    candidates = [
        (plan.keys.identity, "the plan's age identity (keys.identity)"),
        (plan.keys.signing_key, "the plan's signing key (keys.signing_key)"),
    ]
    if plan_path is not None:
        candidates.append((plan_path.parent / ".env", "the plan's .env"))
    return {
        os.path.realpath(path): what
        for path, what in candidates
        if path is not None and path.exists()
    }


def _secret_identities(secrets: dict[str, str]) -> dict[tuple[int, int], str]:
    found = {}
    for path, what in secrets.items():
        with contextlib.suppress(OSError):
            info = Path(path).stat()
            found[(info.st_dev, info.st_ino)] = what
    return found


def _make_dir(path: Path) -> None:
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)


def _create(path: Path) -> int:
    """A new file, 0600 from its first byte, never through a symbolic link."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def _write_new(path: Path, data: bytes) -> None:
    with os.fdopen(_create(path), "wb") as writer:
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())


def _copy(reader: int, folder: Path, stored: Path) -> tuple[int, str]:
    """Copy an open file into the bundle, hashing exactly the bytes written."""
    digest = hashlib.sha256()
    size = 0
    target = folder
    for name in stored.parent.parts:
        target = target / name
        _make_dir(target)
    info = os.fstat(reader)
    try:
        with os.fdopen(_create(folder / stored), "wb") as writer:
            while chunk := os.read(reader, _CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
            writer.flush()
            os.utime(writer.fileno(), ns=(info.st_atime_ns, info.st_mtime_ns))
            os.fsync(writer.fileno())
    except OSError:
        (folder / stored).unlink(missing_ok=True)  # no half copy beside the manifest
        raise
    return size, digest.hexdigest()


def collect_evidence(
    plan: Plan,
    patterns: list[str],
    folder: Path,
    *,
    at: datetime,
    labels: dict[str, Any],
    plan_path: Path | None = None,
    include_secrets: bool = False,
) -> EvidenceBundle:
    """Copy the files into ``folder`` (created 0700, must not exist; every file in it
    0600) with SHA256SUMS and a signed manifest. Raises OperationError when nothing could
    be collected; the signing key is loaded first so a missing key stops before any copy.

    Symbolic links are recorded, never followed. The plan's own secrets (identity, signing
    key, the ``.env`` beside ``plan_path``) are skipped, wherever the paths reach them
    (directly, through a directory, a link or another name), unless ``include_secrets``.
    """
    key = signing_key(plan.keys)
    found = _expand(patterns)
    secrets = plan_secrets(plan, plan_path)
    identities = _secret_identities(secrets)
    if not found.items:
        raise OperationError(
            "no evidence file found: "
            + ", ".join(found.missing + [entry["path"] for entry in found.skipped] or patterns),
            hint="check the paths of the evidence step",
        )
    make_private_dirs(folder.parent)
    if folder.parent.stat().st_mode & 0o077 and folder.parent.stat().st_uid == os.geteuid():
        folder.parent.chmod(0o700)  # made by an older version: the bundles' names are private
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        raise OperationError(
            f"{folder} already exists", hint="an evidence bundle is never overwritten"
        ) from None
    bundle = EvidenceBundle(folder, missing=found.missing, skipped=found.skipped)
    for path, item in found.items.items():
        stored = Path("files") / Path(path).relative_to(Path(path).anchor)
        try:
            reader = _open_item(item)
        except OSError as error:
            reason = (
                "became a symbolic link while collected, not followed"
                if error.errno in (errno.ELOOP, errno.ENOTDIR)
                else error.strerror or str(error)
            )
            bundle.skipped.append({"path": path, "reason": reason})
            continue
        try:
            info = os.fstat(reader)
            secret = identities.get((info.st_dev, info.st_ino)) or secrets.get(
                os.path.realpath(path)
            )
            if not stat.S_ISREG(info.st_mode):
                bundle.skipped.append({"path": path, "reason": "not a regular file"})
                continue
            if secret and not include_secrets:
                bundle.skipped.append(
                    {
                        "path": path,
                        "secret": secret,
                        "reason": f"{secret}: a secret of the plan, collected only with "
                        "include_secrets: true",
                    }
                )
                continue
            size, digest = _copy(reader, folder, stored)
        except OSError as error:
            bundle.skipped.append({"path": path, "reason": error.strerror or str(error)})
            continue
        finally:
            os.close(reader)
        if secret:
            bundle.secrets_included.append(path)
        bundle.files.append(
            {
                "path": path,
                "stored": str(stored),
                "size": size,
                "mtime": datetime.fromtimestamp(info.st_mtime).astimezone().isoformat(),
                "mode": f"{stat.S_IMODE(info.st_mode):04o}",
                "uid": info.st_uid,
                "gid": info.st_gid,
                "sha256": digest,
            }
        )
    manifest = {
        "format": FORMAT,
        "created_at": at.isoformat(),
        "host": socket.gethostname(),
        **labels,
        "signing_key": key.fingerprint,
        "files": bundle.files,
        "missing": bundle.missing,
        "skipped": bundle.skipped,
        "secrets_included": bundle.secrets_included,
    }
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
    _write_new(
        folder / "SHA256SUMS",
        "".join(f"{f['sha256']}  {f['stored']}\n" for f in bundle.files).encode(),
    )
    _write_new(folder / "manifest.json", data)
    _write_new(folder / "manifest.json.sig", key.sign(data))
    _write_new(folder / "signing-key.pub.pem", key.public_pem)
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
        raise VerificationError(
            f"{folder}/manifest.json: the signature does not match",
            hint="the manifest was changed after it was signed",
        ) from None
    manifest: dict[str, Any] = json.loads(data)
    for entry in manifest["files"]:
        stored = Path(entry["stored"])
        if stored.is_absolute() or ".." in stored.parts or stored.parts[:1] != ("files",):
            raise VerificationError(
                f"{folder}/manifest.json: a file is stored outside the bundle ({entry['stored']})",
                hint="the manifest was not written by Reprise",
            )
        digest = hashlib.sha256()
        with (folder / stored).open("rb") as reader:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise VerificationError(
                f"{folder}/{entry['stored']}: SHA-256 differs from the signed manifest",
                hint="the copy was altered",
            )
    return manifest
