"""Load ``reprise.yaml``: read, parse with positions, expand ``${VAR}``, validate the model
and its cross-references, and check who can change the plan and read its secrets.

StrictModes (as sshd): the plan file, its folder and every folder above, ``.env``, and each
key file the plan names with its folder must be owned by root or the running user and not
writable by group or others (``reprise.security.ensure_owner_only_writable``); ``.env``, the
identity and the signing key must also be private (``ensure_private_file``).

Every problem becomes a ``PlanIssue`` with ``file:line:column``; all problems of one stage
are reported together, so that fixing a plan takes one round trip, not one per error.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from reprise.errors import PlanError, PlanIssue, UnsafePermissionsError
from reprise.paths import DEFAULT_PLAN_NAME, resolve_plan_path
from reprise.plan.diagnostics import translate
from reprise.plan.envsubst import EnvFileError, Substitution, read_env_file
from reprise.plan.model import Plan
from reprise.plan.references import check_references
from reprise.plan.yamlsource import SourceMap, YamlSourceError, load_yaml
from reprise.security import ensure_owner_only_writable, ensure_private_file


@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan with where it came from."""

    plan: Plan
    path: Path
    source: SourceMap
    sha256: str
    """SHA-256 of the plan file's bytes: which version of the plan was in force."""
    warnings: list[PlanIssue] = field(default_factory=list)
    env_file_values: dict[str, str] = field(default_factory=dict)
    """What the ``.env`` beside the plan sets (see :func:`export_env_file`)."""
    secret_files: list[Path] = field(default_factory=list)
    """Secret files the plan's values were read from (``${file:…}``, ``NAME_FILE``)."""


def _fail(file: Path | str, message: str, hint: str | None = None) -> PlanError:
    return PlanError([PlanIssue(str(file), None, None, "", message, hint)])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _fail(
            path,
            "no such plan file",
            "pass the plan's path, set REPRISE_PLAN, or create one with `reprise init`",
        ) from None
    except IsADirectoryError:
        raise _fail(
            path, "is a directory, not a plan file", f"pass {path / DEFAULT_PLAN_NAME}"
        ) from None
    except PermissionError:
        raise _fail(
            path, "permission denied while reading the plan", "run as a user who can read it"
        ) from None


def _decode(raw: bytes, path: Path) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - raw.rfind(b"\n", 0, error.start)
        raise PlanError(
            [
                PlanIssue(
                    str(path),
                    line,
                    column,
                    "",
                    f"byte 0x{raw[error.start]:02x} is not UTF-8 text",
                    "save the plan as UTF-8",
                )
            ]
        ) from None
    return text.removeprefix("\ufeff")


def _refused(error: UnsafePermissionsError) -> PlanError:
    """The refusal located at the file or folder it is about (its message starts with it)."""
    offending = error.message[: len(error.message) - len(error.detail) - 2]
    return _fail(offending, error.detail, error.hint)


def _check_plan_file(path: Path) -> None:
    """The plan and its folder (and every folder above): nobody else can change them."""
    try:
        ensure_owner_only_writable(path.absolute().parent, "plan folder")
        ensure_owner_only_writable(path, "plan file")
    except UnsafePermissionsError as error:
        raise _refused(error) from None


def _readers_group(data: dict[str, object]) -> str | None:
    """``keys.readers_group`` as written: needed to check ``.env`` before validation."""
    keys = data.get("keys")
    group = keys.get("readers_group") if isinstance(keys, dict) else None
    return group if isinstance(group, str) else None


def _environment(
    path: Path, environ: Mapping[str, str], readers_group: str | None = None
) -> tuple[dict[str, str], Path | None, dict[str, str]]:
    env_file = path.parent / ".env"
    if not env_file.is_file():
        return dict(environ), None, {}
    try:
        ensure_owner_only_writable(env_file, ".env file")
        ensure_private_file(env_file, ".env file", readers_group=readers_group)
    except UnsafePermissionsError as error:
        raise _refused(error) from None
    try:
        values = read_env_file(env_file)
    except EnvFileError as error:
        raise PlanError([error.issue]) from None
    # The process environment wins, as with docker compose: a one-off override needs no edit.
    return {**values, **environ}, env_file, values


_KEY_ROLES = {
    "identity": "age identity",
    "signing_key": "signing key",
    "recipients_file": "recipients file",
    "trusted_signing_keys": "trusted public signing key",
}
_SECRET_KEYS = ("identity", "signing_key")


def _key_files(plan: Plan) -> list[tuple[tuple[str | int, ...], str, Path]]:
    """Every file under ``keys:``: (position in the plan, field, path), lists included, so
    that a key file added to the model later is checked without a change here."""
    found: list[tuple[tuple[str | int, ...], str, Path]] = []
    for name in type(plan.keys).model_fields:
        value = getattr(plan.keys, name)
        if isinstance(value, Path):
            found.append((("keys", name), name, value))
        elif isinstance(value, list):
            found += [
                (("keys", name, index), name, item)
                for index, item in enumerate(value)
                if isinstance(item, Path)
            ]
    return found


def _check_key_files(plan: Plan, source: SourceMap) -> None:
    """Key files and their folders: nobody else can change them (a world-writable
    recipients file lets anyone add a recipient); secret ones are private too."""
    issues: list[PlanIssue] = []
    checked_folders: set[Path] = set()
    for where, name, key_path in _key_files(plan):
        what = _KEY_ROLES.get(name, name.replace("_", " "))
        try:
            if key_path.parent not in checked_folders:
                ensure_owner_only_writable(key_path.parent, "keys folder")
                checked_folders.add(key_path.parent)
            ensure_owner_only_writable(key_path, what)
            if name in _SECRET_KEYS:
                ensure_private_file(key_path, what, readers_group=plan.keys.readers_group)
        except UnsafePermissionsError as error:
            issues.append(source.issue(where, error.message, error.hint))
    if issues:
        raise PlanError(issues)


def _warnings(plan: Plan, source: SourceMap) -> list[PlanIssue]:
    warnings: list[PlanIssue] = []
    if not any(service.backups for service in plan.services):
        return warnings
    for key in ("recipients_file", "signing_key"):
        key_path = getattr(plan.keys, key)
        if key_path is not None and not key_path.exists():
            warnings.append(
                source.issue(
                    ("keys", key),
                    f"{key_path} does not exist on this host",
                    "backups will fail here until it does; `reprise init` writes one",
                )
            )
    if plan.keys.signing_key is None:
        warnings.append(
            PlanIssue(
                source.file,
                None,
                None,
                "keys.signing_key",
                "no signing key: backups cannot be signed",
                "add keys.signing_key (written by `reprise init`)",
            )
        )
    return warnings


def load_plan(
    path: Path | None = None, environ: Mapping[str, str] | None = None, *, contacts: bool = True
) -> LoadedPlan:
    """Load and validate a plan; raise PlanError listing every problem found.

    ``environ`` defaults to the process environment; a ``.env`` beside the plan adds to it.
    ``contacts=False`` skips asking Apprise about each contact URL, for hot paths (the WAL
    archiver) that never notify.
    """
    path = resolve_plan_path(path)
    _check_plan_file(path)
    raw = _read(path)
    text = _decode(raw, path)
    file = str(path)
    try:
        data, source = load_yaml(text, file)
    except YamlSourceError as error:
        raise PlanError([error.issue]) from None
    if data is None:
        raise _fail(
            path, "the plan is empty", "start from the minimal example that `reprise init` writes"
        )
    if not isinstance(data, dict):
        root = source.locate(())
        raise PlanError(
            [
                PlanIssue(
                    file,
                    root.line if root else 1,
                    root.column if root else 1,
                    "",
                    "the plan must be a mapping of sections",
                    "start with organisation:, objectives: and services:",
                )
            ]
        )
    variables, env_file, env_values = _environment(
        path, os.environ if environ is None else environ, _readers_group(data)
    )
    substitution = Substitution(variables, source, env_file)
    data = substitution.expand(data)
    if substitution.issues:
        raise PlanError(substitution.issues)
    try:
        plan = Plan.model_validate(data, context={"base_dir": path.parent.resolve()})
    except ValidationError as error:
        raise PlanError(translate(error, data, source, Plan)) from None
    problems = check_references(plan)
    if contacts:
        from reprise.plan.contacts import contact_problems

        problems += contact_problems(plan)
    if problems:
        issues = [source.issue(p.path, p.message, p.hint) for p in problems]
        issues.sort(key=lambda issue: (issue.line or 0, issue.column or 0))
        raise PlanError(issues)
    _check_key_files(plan, source)
    return LoadedPlan(
        plan,
        path,
        source,
        hashlib.sha256(raw).hexdigest(),
        _warnings(plan, source),
        env_values,
        list(dict.fromkeys(substitution.files_read)),
    )


def export_env_file(
    loaded: LoadedPlan, environ: MutableMapping[str, str] | None = None
) -> list[str]:
    """Put the ``.env`` values into the process environment (``os.environ`` by default),
    where the process environment does not already set them, so that the programs and
    libraries Reprise starts see them too (S3 credentials for boto3, ``PGPASSFILE`` for
    pg_dump). Returns the names exported. A door calls this once, after loading."""
    target = os.environ if environ is None else environ
    exported = [name for name in loaded.env_file_values if name not in target]
    for name in exported:
        target[name] = loaded.env_file_values[name]
    return exported
