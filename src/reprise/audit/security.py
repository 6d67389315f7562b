"""The seed's security checklist, item by item (plan-wide):

- ``security.file_modes``: the plan, its folder, ``.env`` and the key files can be changed
  only by their owner, and the secret ones (``.env``, identity, signing key) read only by
  their owner (or the plan's readers group), as the plan loader demands;
- ``security.env_git``: when the plan's folder is in a Git work tree, ``.env`` is neither
  tracked nor left unignored;
- ``security.identity``: the age identity is on this host only when this host needs it.
  The rule: a host where some service has an enabled drill restores here and needs the
  identity; any other host is a backup-only host, and an identity file present there is
  ❌ (whoever takes that host reads every backup);
- ``security.recipients``: the plan's recipients are the accepted (pinned) set of each
  repository, and the newest backup of every source was encrypted to exactly that set;
- ``security.signing_key``: the signing key on this host is one the plan trusts (its
  fingerprint among ``trusted_signing_keys`` when the plan pins any), and each
  repository's file agrees with the plan's trust."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.audit.drills import drillable
from reprise.audit.items import Finding, part
from reprise.audit.wording import listing
from reprise.errors import RepriseError
from reprise.repository import keys as keyring
from reprise.repository import open_repository
from reprise.repository.admin import trust_warnings
from reprise.repository.catalog import list_backups
from reprise.repository.recipients import get_pin
from reprise.security import DecidingFile, mode_refusals

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

GIT_TIMEOUT = 10


def _key_paths(plan: Plan) -> list[tuple[str, Path, bool]]:
    """(role, path, secret) of every key file the plan names."""
    keys = plan.keys
    found: list[tuple[str, Path, bool]] = []
    for role, path, secret in (
        ("age identity", keys.identity, True),
        ("signing key", keys.signing_key, True),
        ("recipients file", keys.recipients_file, False),
    ):
        if path is not None:
            found.append((role, Path(path), secret))
    found += [
        ("trusted public signing key", Path(entry), False)
        for entry in keys.trusted_signing_keys
        if isinstance(entry, Path)
    ]
    return found


def deciding_files(plan: Plan, plan_path: Path) -> list[DecidingFile]:
    """The plan, its folder, ``.env`` and every key file with its folder, as the loader
    judges them."""
    env_file = plan_path.parent / ".env"
    checks: list[DecidingFile] = [
        (plan_path.absolute().parent, "plan folder", True, False),
        (plan_path, "plan file", False, False),
    ]
    if env_file.is_file():
        checks.append((env_file, ".env file", False, True))
    for role, path, secret in _key_paths(plan):
        checks.append((path.parent, "keys folder", True, False))
        checks.append((path, role, False, secret))
    return checks


def judge_file_modes(plan: Plan, plan_path: Path) -> Finding:
    """Every file that decides what Reprise does, checked as the loader checks them."""
    checks = deciding_files(plan, plan_path)
    refused = mode_refusals(checks, readers_group=plan.keys.readers_group)
    raw = {
        "checked": sorted({str(path) for path, *_ in checks}),
        "refused": [error.message for _path, error in refused],
    }
    if not refused:
        return Finding("ok", part("audit.measured.modes_ok", count=len(raw["checked"])), raw)
    return Finding(
        "failed",
        part(
            "audit.measured.modes_refused",
            count=len(refused),
            names=listing([f"{path} ({_mode(path)})" for path, _error in refused]),
        ),
        raw,
        part("audit.fix.modes", commands=listing([error.hint or "" for _path, error in refused])),
    )


def _mode(path: Path) -> str:
    try:
        return f"{path.stat().st_mode & 0o7777:04o}"
    except OSError:
        return "?"


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git") or "git"
    return subprocess.run(
        [git, "-C", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )


def judge_env_git(plan_path: Path) -> Finding:
    """``.env`` kept out of Git: untracked and ignored, when the folder is a work tree."""
    folder = plan_path.absolute().parent
    env_file = folder / ".env"
    if shutil.which("git") is None:
        return Finding("not_applicable", part("audit.measured.no_git"))
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return Finding("not_applicable", part("audit.measured.not_in_git"), {"work_tree": False})
    if not env_file.exists():
        return Finding("ok", part("audit.measured.no_env"), {"work_tree": True, "env": False})
    tracked = _git(folder, "ls-files", "--error-unmatch", ".env").returncode == 0
    ignored = _git(folder, "check-ignore", "-q", ".env").returncode == 0
    raw = {"work_tree": True, "env": True, "tracked": tracked, "ignored": ignored}
    if tracked:
        return Finding(
            "failed",
            part("audit.measured.env_tracked"),
            raw,
            part("audit.fix.env_tracked", path=str(env_file)),
        )
    if not ignored:
        return Finding(
            "failed", part("audit.measured.env_not_ignored"), raw, part("audit.fix.env_ignore")
        )
    return Finding("ok", part("audit.measured.env_ignored"), raw)


def restores_here(plan: Plan) -> bool:
    """Whether this host restores: some service has a backup a drill restores and its drill
    is not disabled (a service with backups is drilled weekly by default). Such a host
    needs the identity; any other is a backup-only host."""
    return any(
        drillable(service) and (service.drill is None or service.drill.enabled)
        for service in plan.services
    )


def judge_identity(plan: Plan) -> Finding:
    """The identity present exactly where restores run."""
    path = plan.keys.identity
    present = path is not None and Path(path).is_file()
    needed = restores_here(plan)
    raw = {"identity": str(path) if path else None, "present": present, "needed": needed}
    if needed and present:
        return Finding("ok", part("audit.measured.identity_needed"), raw)
    if needed:
        return Finding(
            "failed", part("audit.measured.identity_missing"), raw, part("audit.fix.identity_bring")
        )
    if present:
        return Finding(
            "failed",
            part("audit.measured.identity_on_backup_host", path=str(path)),
            raw,
            part("audit.fix.identity_remove"),
        )
    return Finding("ok", part("audit.measured.identity_absent"), raw)


def judge_recipients(plan: Plan, store: Store, services: list[str]) -> Finding:
    """Pinned sets and the newest backups' recipients against the plan's recipients."""
    expected = keyring.recipients(plan.keys)
    problems: list[str] = []
    repositories = sorted(
        {entry.repository for s in plan.services if s.id in services for entry in s.backups}
    )
    for name in repositories:
        pin = get_pin(store, name)
        if pin is not None and sorted(pin.recipients) != sorted(expected):
            problems.append(f"{name}: pin")
    newest: dict[str, list[str]] = {}
    for entry in list_backups(store):
        if entry.manifest.service in services:
            newest[entry.manifest.source] = list(entry.manifest.encryption.recipients)
    for source, recipients in sorted(newest.items()):
        if sorted(recipients) != sorted(expected):
            problems.append(source)
    raw = {"expected": expected, "newest": newest, "mismatched": problems}
    if problems:
        return Finding(
            "failed",
            part("audit.measured.recipients_differ", names=listing(problems)),
            raw,
            part("audit.fix.recipients"),
        )
    return Finding(
        "ok",
        part("audit.measured.recipients_ok", sources=len(newest), count=len(expected)),
        raw,
    )


def judge_signing_key(plan: Plan, store: Store, services: list[str]) -> Finding:
    """The signing key is trusted by the plan and the repositories' files agree."""
    if plan.keys.signing_key is None or not Path(plan.keys.signing_key).exists():
        return Finding("not_applicable", part("audit.measured.no_signing_key"))
    signer = keyring.signing_key(plan.keys)
    pinned = [
        entry.fingerprint
        for entry in keyring.trusted_keys(plan.keys).keys
        if entry.origin != "keys.signing_key"
    ]
    raw: dict[str, object] = {"fingerprint": signer.fingerprint, "pinned": pinned}
    if pinned and signer.fingerprint not in pinned:
        return Finding(
            "failed",
            part("audit.measured.signer_not_pinned", fingerprint=signer.fingerprint),
            raw,
            part("audit.fix.signer_not_pinned"),
        )
    warnings: list[str] = []
    unreachable: list[str] = []  # the verification item reports them
    repositories = sorted(
        {entry.repository for s in plan.services if s.id in services for entry in s.backups}
    )
    for name in repositories:
        try:
            warnings += trust_warnings(store, open_repository(plan, name))
        except RepriseError as error:
            unreachable.append(f"{name}: {error.render()[0]}")
    raw["repository_warnings"] = warnings
    raw["unreachable"] = unreachable
    if warnings:
        return Finding(
            "failed",
            part("audit.measured.repository_file_differs", count=len(warnings)),
            raw,
            part("audit.fix.repository_file"),
        )
    return Finding("ok", part("audit.measured.signer_ok", fingerprint=signer.fingerprint), raw)
