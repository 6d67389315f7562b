"""What `wal push` and `wal fetch` need from the plan, as plain data.

PostgreSQL runs archive_command once per WAL segment, so the archiver's start-up is paid
for every 16 MiB of WAL. Loading and validating the whole plan (pydantic, the YAML source
map, every reference) costs about a second; these settings are what is left once the plan
is validated: paths, public keys and limits, nothing secret. The CLI keeps them in a
private per-user cache (:mod:`reprise.wal.cache`), stamped with a fingerprint of every
input they came from, and the lean door (:mod:`reprise.cli.lean`) uses them only while the
fingerprint still matches: trust still comes from the plan, which is re-read whenever it,
its ``.env``, a key file it names or a variable it uses changes.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reprise.plan.loader import LoadedPlan

FORMAT = 1
"""Bumped whenever the fields change: older cache files are then ignored."""

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
STATE_VARIABLES = ("REPRISE_STATE_DIR", "XDG_STATE_HOME", "HOME")
"""Where the default state directory (and so the default spools) lies."""


@dataclass(frozen=True)
class AsyncSettings:
    """Asynchronous archiving of one source (the plan's ``wal_async``)."""

    spool: str
    max_size: int
    parallel: int


@dataclass(frozen=True)
class WalSettings:
    """One physical source's WAL archive, as the archiver and the fetcher use it."""

    plan: str
    source: str
    repository: str
    local_path: str | None
    """The repository's folder when it is a local one; None for any other kind (the lean
    door then leaves the work to the full CLI)."""
    recipients: list[str]
    trusted: list[tuple[str, str, str | None]]
    """Public signing keys the plan trusts: fingerprint, origin, PEM (None when pinned by
    fingerprint only: looked up in the repository file, checked against the pin)."""
    trust_notes: list[str]
    signing_key: str | None
    identity: str | None
    readers_group: str | None
    fetch_spool: str
    asynchronous: AsyncSettings | None
    inputs: list[str] = field(default_factory=list)
    """Files whose content the settings come from (plan, .env, key files)."""
    variables: list[str] = field(default_factory=list)
    """Environment variables they depend on."""
    dotenv: list[str] = field(default_factory=list)
    """Those the plan's ``.env`` sets (its content is an input: their value counts only
    when the process environment overrides it)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: object) -> WalSettings | None:
        """Settings read back, or None when they are of another format or malformed (a
        cache is never trusted to have the right shape)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        values = {key: value for key, value in data.items() if key != "format"}
        try:
            spool = values.get("asynchronous")
            if spool is not None:
                if not isinstance(spool, dict) or not _typed(spool, _ASYNC_TYPES):
                    return None
                values["asynchronous"] = AsyncSettings(**spool)
            if not _typed(values, _TYPES) or not all(
                isinstance(entry, list)
                and len(entry) == 3
                and all(isinstance(part, str) for part in entry[:2])
                and isinstance(entry[2], str | None)
                for entry in values["trusted"]
            ):
                return None
            values["trusted"] = [tuple(entry) for entry in values["trusted"]]
            return cls(**values)
        except (TypeError, KeyError, ValueError):
            return None


_TEXT_LISTS = ("recipients", "trust_notes", "inputs", "variables", "dotenv")
_TYPES: dict[str, object] = {
    "plan": str,
    "source": str,
    "repository": str,
    "local_path": str | None,
    "signing_key": str | None,
    "identity": str | None,
    "readers_group": str | None,
    "fetch_spool": str,
    "trusted": list,
    **dict.fromkeys(_TEXT_LISTS, list),
}
_ASYNC_TYPES: dict[str, object] = {"spool": str, "max_size": int, "parallel": int}


def _typed(values: dict[str, object], types: dict[str, object]) -> bool:
    """Every field present with its type (lists of text for the text lists); no other."""
    names = set(types) | ({"asynchronous"} if "asynchronous" in values else set())
    if set(values) - names or set(types) - set(values):
        return False
    for name, kind in types.items():
        value = values[name]
        if not isinstance(value, kind) or isinstance(value, bool):  # type: ignore[arg-type]
            return False
        if name in _TEXT_LISTS and not all(isinstance(item, str) for item in value):  # type: ignore[attr-defined]
            return False
    return True


def compile_settings(loaded: LoadedPlan, source: str | None) -> WalSettings:
    """The settings of the physical source ``source`` (else the only one) of a validated
    plan; raises InputError as ``wal push`` would (no such source, no trusted key…)."""
    from reprise.paths import default_state_dir
    from reprise.repository.keys import recipients, trusted_keys
    from reprise.wal.select import wal_job

    plan = loaded.plan
    job = wal_job(plan, source)
    repository = plan.repositories[job.source.repository]
    keys = plan.keys
    trust = trusted_keys(keys)
    state = plan.state.dir or default_state_dir()
    wal_async = getattr(job.source, "wal_async", None)
    asynchronous = (
        AsyncSettings(
            str(wal_async.spool or state / "wal-out" / job.name),
            wal_async.max_size,
            wal_async.parallel,
        )
        if wal_async is not None
        else None
    )
    text = loaded.path.read_text(encoding="utf-8")
    inputs = [loaded.path, loaded.path.parent / ".env"]
    if keys.recipients_file is not None:
        inputs.append(keys.recipients_file)
    inputs += [entry for entry in keys.trusted_signing_keys if isinstance(entry, Path)]
    inputs += loaded.secret_files
    names = sorted(set(_VARIABLE.findall(text)))
    variables = [*names, *(f"{name}_FILE" for name in names), "REPRISE_PLAN", *STATE_VARIABLES]
    return WalSettings(
        plan=str(loaded.path.absolute()),
        source=job.name,
        repository=job.source.repository,
        local_path=str(repository.path) if repository.kind == "local" else None,
        recipients=recipients(keys),
        trusted=[
            (key.fingerprint, key.origin, key.pem.decode() if key.pem else None)
            for key in trust.keys
        ],
        trust_notes=list(trust.notes),
        signing_key=str(keys.signing_key) if keys.signing_key else None,
        identity=str(keys.identity) if keys.identity else None,
        readers_group=keys.readers_group,
        fetch_spool=str(state / "wal-spool" / job.name),
        asynchronous=asynchronous,
        inputs=[str(path.absolute()) for path in dict.fromkeys(inputs)],
        variables=list(dict.fromkeys(variables)),
        dotenv=sorted(loaded.env_file_values),
    )
