"""``reprise restore``: choose a backup, verify it, then restore it, with a report.

Order, always: the manifest's signature; the identity against the backup's recipients;
the target, read-only; then the parts are decrypted into a staging area and checked
against the signed checksums, each before anything of it reaches the target. For a
server, the parts stage on a helper thread (:mod:`reprise.restore.overlap`): the next
database decrypts while pg_restore loads the current one, and the roles wait for the first
database's part, so a backup whose first database is damaged leaves the target untouched.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError, RepriseError, VerificationError, option, render_options
from reprise.paths import file_in_the_way
from reprise.pg.connect import split_dsn
from reprise.repository import Repository, open_repository
from reprise.repository import keys as keyring
from reprise.repository.catalog import CatalogEntry, record_verification
from reprise.repository.manifest import Manifest, Part
from reprise.repository.verify import load_manifest
from reprise.restore import files as files_restore
from reprise.restore import logical
from reprise.restore.choose import choose_backup, choose_job
from reprise.restore.overlap import BackgroundStager
from reprise.restore.registry import restorer_for
from reprise.restore.report import Report, write_report
from reprise.restore.staging import (
    PartProgress,
    StagedPart,
    check_identity,
    decoding_programs,
    free_space_check,
    plain_name,
    stage_part,
    stage_parts,
)
from reprise.restore.streamed import staging_need, streamable
from reprise.store import state_dir
from reprise.store.events import append_event

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob
    from reprise.plan.model import Plan
    from reprise.restore.streamed import DumpStream
    from reprise.store import Store

log = logging.getLogger("reprise.restore")


@dataclass
class RestoreRequest:
    """What the user asked for (the CLI's options)."""

    service: str
    source: str | None = None
    backup_id: str | None = None
    database: str | None = None
    as_name: str | None = None
    target: str | None = None
    to_dir: Path | None = None
    target_dir: Path | None = None
    jobs: int = 2
    clean: bool = False
    overwrite: bool = False
    preserve_special: bool = False
    follow_target_symlinks: bool = False


@dataclass
class RestorePlan:
    """What a restore will do: shown by --dry-run, then carried out."""

    job: BackupJob
    entry: CatalogEntry
    mode: str
    target: str
    parts: list[Part]
    steps: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def manifest(self) -> Manifest:
        """The chosen backup's manifest (from the catalog until verified)."""
        return self.entry.manifest

    def to_dict(self) -> dict[str, Any]:
        """JSON form of --dry-run."""
        manifest = self.manifest
        age = datetime.now(UTC) - manifest.finished_at
        return {
            "service": manifest.service,
            "source": manifest.source,
            "repository": self.entry.repository,
            "backup_id": manifest.id,
            "backup_time": manifest.finished_at.isoformat(),
            "backup_age_seconds": round(age.total_seconds()),
            "mode": self.mode,
            "target": self.target,
            "parts": [
                {"name": part.name, "stored_size": part.stored_size, "plain_size": part.plain_size}
                for part in self.parts
            ],
            "stored_bytes": sum(part.stored_size for part in self.parts),
            "plain_bytes": sum(part.plain_size for part in self.parts),
            "steps": self.steps,
        }


def _validate(request: RestoreRequest, kind: str) -> str:
    """Where the restore goes (``server``, ``directory`` or ``files``): one destination,
    folders that are not files, then what the source kind accepts."""
    chosen = [
        option(name)
        for name, value in (
            ("target", request.target),
            ("to_dir", request.to_dir),
            ("target_dir", request.target_dir),
        )
        if value
    ]
    if len(chosen) > 1:
        raise InputError(
            f"{' and '.join(chosen)} exclude each other",
            hint=f"restore into a server ({option('target')}), or write files ({option('to_dir')})",
        )
    for name, folder in (("to_dir", request.to_dir), ("target_dir", request.target_dir)):
        blocker = file_in_the_way(folder) if folder else None
        if blocker is not None:
            raise InputError(
                f"{option(name)} {folder}: {blocker} is a file, not a folder",
                hint="give a folder (it is created when missing)",
            )
    return restorer_for(kind).validate(request, kind)


def plan_restore(plan: Plan, store: Store, request: RestoreRequest) -> RestorePlan:
    """Choose the backup and describe the steps (nothing is read or written)."""
    job = choose_job(plan, request.service, request.source)
    entry = choose_backup(store, job, request.backup_id)
    manifest = entry.manifest
    mode = _validate(request, manifest.kind)
    if request.preserve_special and not getattr(job.source, "preserve_special", False):
        raise InputError(
            f"{option('preserve_special')}: the source {job.name} does not declare "
            "preserve_special: true, so setuid, setgid and sticky bits are "
            "always dropped from its restores",
            hint="if its setuid/setgid files are meant to come back, add "
            "preserve_special: true to that files source in the plan",
        )
    pairs, parts = restorer_for(manifest.kind).select(manifest, request)
    if mode == "server":
        assert request.target is not None
        conninfo, _password = split_dsn(request.target)
        target = logical.public_address(conninfo)
    else:
        target = str(request.to_dir or request.target_dir)
    restore_plan = RestorePlan(job, entry, mode, target, parts, pairs=pairs)
    steps = restore_plan.steps
    steps.append(
        f"verify the signature of {manifest.id} and that keys.identity is one of its recipients"
    )
    if mode == "server":
        steps.append(f"check the target {target} (reachable, version, empty databases)")
    if mode == "server" and any(part.chunked for part in parts):
        steps.append(
            f"fetch {len(parts)} part(s) and decrypt them, checking every checksum before "
            "its bytes reach the target (a database the restore creates is loaded as its "
            "verified chunks arrive; an existing one from its part verified whole first)"
        )
    else:
        steps.append(
            f"fetch {len(parts)} part(s), decrypt and check every checksum before writing anything"
        )
    if mode == "server":
        if any(part.role == "globals" for part in parts):
            steps.append("restore roles and tablespaces (existing ones kept)")
        steps += [
            f"pg_restore -j {request.jobs}: {source} → {target_name}"
            + (" (replacing its content)" if request.clean else "")
            for source, target_name in pairs
        ]
        recorded = {entry.get("name"): entry for entry in manifest.databases}
        if all(
            isinstance(recorded.get(source, {}).get("properties"), dict)
            for source, _target in pairs
        ):
            steps.append(
                "give each database the owner, encoding, locale, settings, "
                "privileges and comment it had"
            )
        else:
            steps.append(
                "create missing databases with the target's defaults (this backup "
                "predates Reprise recording database properties)"
            )
    elif mode == "directory":
        steps.append(f"write the plain files into {target}")
    else:
        special = "kept" if request.preserve_special else "dropped"
        steps.append(
            f"unpack into a private folder in {target} (refusing any member that "
            f"would land outside it; setuid/setgid/sticky bits {special}), then "
            "rename into place without following symlinks of the target"
            + (" (replacing existing files)" if request.overwrite else "")
        )
    return restore_plan


def run_restore(
    plan: Plan, store: Store, request: RestoreRequest, *, progress: PartProgress | None = None
) -> tuple[Report, Path]:
    """Carry a restore out; returns the report and its path (also written on failure,
    when the error is raised after the report is saved)."""
    restore_plan = plan_restore(plan, store, request)
    manifest = restore_plan.manifest
    report = Report(
        "restore",
        manifest.service,
        manifest.source,
        restore_plan.entry.repository,
        manifest.id,
        manifest.finished_at,
        restore_plan.target,
    )
    try:
        _carry_out(plan, store, request, restore_plan, report, progress)
    except RepriseError as error:
        save_failure(plan, store, report, error)
        raise
    report.finish("ok")
    return report, save_report(plan, store, report)


def save_failure(plan: Plan, store: Store, report: Report, error: RepriseError) -> None:
    """Close the report as failed, save it, and point the error's hint at it."""
    report.finish("failed", render_options(error.message))
    path = save_report(plan, store, report)
    error.hint = f"{error.hint + '; ' if error.hint else ''}see the report {path}"


def save_report(plan: Plan, store: Store, report: Report) -> Path:
    """Write the report files and record the event that points to them. Option references
    in its texts (``errors.option``) are rendered first: a report is read outside any door."""
    for step in report.steps:
        if step.detail:
            step.detail = render_options(step.detail)
    if report.error:
        report.error = render_options(report.error)
    organisation = plan.organisation
    path = write_report(
        report, state_dir(plan) / "reports", organisation.language, organisation.timezone
    )
    kind = f"{report.kind}.{'completed' if report.result in ('ok', 'passed') else 'failed'}"
    append_event(
        store,
        kind,
        report.service,
        {
            "source": report.source,
            "backup_id": report.backup_id,
            "target": report.target,
            "seconds": report.seconds,
            "result": report.result,
            "error": report.error,
            "report": str(path),
        },
    )
    log.info(
        "%s of %s from %s: %s in %.1f s (report %s)",
        report.kind,
        report.service,
        report.backup_id,
        report.result,
        report.seconds,
        path,
    )
    return path


def verified_manifest(
    plan: Plan, entry: CatalogEntry, report: Report
) -> tuple[Repository, Manifest, list[Any]]:
    """The signed manifest, and identities that can decrypt it (refuses early otherwise)."""
    with report.step("verify signature and identity"):
        repository = open_repository(plan, entry.repository)
        manifest = load_manifest(repository, entry.manifest.source, entry.manifest.id)
        identities = keyring.identities(plan.keys)
        check_identity(manifest, identities, repository.where(manifest.source))
    return repository, manifest, identities


def _carry_out(
    plan: Plan,
    store: Store,
    request: RestoreRequest,
    restore_plan: RestorePlan,
    report: Report,
    progress: PartProgress | None,
) -> None:
    repository, manifest, identities = verified_manifest(plan, restore_plan.entry, report)
    parts = [part for part in manifest.parts if part in restore_plan.parts]
    plain_bytes = sum(part.plain_size for part in parts)
    report.figures["plain_bytes"] = plain_bytes
    report.figures["stored_bytes"] = sum(part.stored_size for part in parts)
    if restore_plan.mode == "server":
        _to_server(
            plan, request, restore_plan, report, repository, manifest, identities, parts, progress
        )
    elif restore_plan.mode == "directory":
        assert request.to_dir is not None
        _to_directory(
            request.to_dir,
            report,
            repository,
            manifest,
            identities,
            parts,
            overwrite=request.overwrite,
            progress=progress,
            follow_symlinks=request.follow_target_symlinks,
        )
    else:
        assert request.target_dir is not None
        _to_files(request, report, repository, manifest, identities, parts, progress=progress)
    if len(parts) == len(manifest.parts):
        record_verification(
            store,
            repository.name,
            manifest.id,
            ok=True,
            detail=None,
            checked_parts=[part.name for part in parts],
            deep=True,
        )


def dump_version(manifest: Manifest) -> int:
    """The dumped server's version number (150004), 0 when unknown."""
    return int(manifest.server.get("version_num") or 0)


def staging_dir(plan: Plan, needed: int = 0) -> Path:
    """A fresh private folder for ``needed`` bytes of staged parts: in memory when they fit
    easily (:mod:`reprise.restore.workspace`), else under the state directory's work area."""
    from reprise.restore.workspace import memory_folder

    in_memory = memory_folder(needed) if needed else None
    if in_memory is not None:
        return in_memory
    work = state_dir(plan) / "work"
    work.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix="restore-", dir=work))


def _to_server(
    plan: Plan,
    request: RestoreRequest,
    restore_plan: RestorePlan,
    report: Report,
    repository: Repository,
    manifest: Manifest,
    identities: list[Any],
    parts: list[Part],
    progress: PartProgress | None,
) -> None:
    assert request.target is not None
    with report.step("check target (read-only)"):
        server = logical.check_target(
            request.target, dump_version(manifest), restore_plan.pairs, clean=request.clean
        )
    report.target = server.description
    streams = streamed_parts(
        identities, {target.source for target in server.databases if not target.exists}
    )
    needed = sum(staging_need(part, streams(part) is not None, request.jobs) for part in parts)
    staging = staging_dir(plan, needed)
    try:
        with stager_for(
            report,
            repository,
            manifest,
            identities,
            parts,
            staging,
            progress=progress,
            streams=streams,
            needed=needed,
        ) as stager:
            restore_staged(report, server, manifest, stager, jobs=request.jobs, clean=request.clean)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stager_for(
    report: Report,
    repository: Repository,
    manifest: Manifest,
    identities: list[Any],
    parts: list[Part],
    staging: Path,
    *,
    progress: PartProgress | None,
    streams: Callable[[Part], tuple[str, str, bytes] | None] | None = None,
    needed: int | None = None,
) -> BackgroundStager:
    """A stager of a logical backup's parts in the order they are restored: the globals,
    then the databases (shared with drills, which start it before their scratch server).
    The parts ``streams`` gives programs for are loaded while they are read instead
    (:func:`streamed_parts`); ``needed`` is the staging space (all the plain parts when
    not given)."""
    free_space_check(staging, sum(part.plain_size for part in parts) if needed is None else needed)
    ordered = [part for part in parts if part.role == "globals"]
    ordered += [part for part in parts if part.role != "globals"]
    return BackgroundStager(
        repository,
        manifest,
        ordered,
        identities,
        staging,
        progress=progress,
        ahead=1,
        streamed=streams,
    )


def streamed_parts(
    identities: list[Any], created: set[str]
) -> Callable[[Part], tuple[str, str, bytes] | None]:
    """Which parts to load while they are read: those of the ``created`` databases (the
    ones this restore creates) that can be (:func:`reprise.restore.streamed.streamable`);
    for each, the decoding programs."""
    programs = decoding_programs(identities)

    def streams(part: Part) -> tuple[str, str, bytes] | None:
        creates = part.database is not None and part.database in created
        return programs if streamable(part, creates_database=creates, programs=programs) else None

    return streams


def restore_staged(
    report: Report,
    server: logical.TargetServer,
    manifest: Manifest,
    stager: BackgroundStager,
    *,
    jobs: int,
    clean: bool,
) -> None:
    """Globals, then each database, each as soon as its part is staged and verified, while
    the stager decrypts the next one (shared with drills). Nothing of a part reaches the
    server before all its checksums matched the signed manifest."""
    major = dump_version(manifest) // 10000
    recorded = {str(entry.get("name")): entry for entry in manifest.databases}
    targets = {target.source: target for target in server.databases}
    restored: list[str] = []
    parts = stager.parts
    # The globals wait for the first database's part too (unless it is streamed): a
    # backup whose first database is damaged leaves the target untouched, roles included,
    # as a one-database one does. A streamed one is dropped again when a chunk proves
    # damaged; the roles, from their own verified part, stay.
    first = 1
    if len(parts) > 1 and parts[0].role == "globals" and not stager.streams(parts[1]):
        first = 2
    items: dict[int, StagedPart] = {}

    def load(part: Part, step: str, path: Path, stream: DumpStream | None = None) -> None:
        """pg_restore one database's part (staged at ``path``, or ``stream``ed)."""
        target = targets[str(part.database)]  # the stager holds only the wanted parts
        properties = recorded.get(target.source, {}).get("properties")
        with report.step(f"{step} {target.source} → {target.target}", size=part.plain_size) as done:
            warnings = logical.restore_database(
                server,
                target,
                path,
                part.format,
                jobs=jobs,
                clean=clean,
                dump_major=major,
                where=f"backup {manifest.id} part {part.name}",
                properties=properties if isinstance(properties, dict) else None,
                stream=stream,
            )
            done.detail = render_options("; ".join(warnings)) or None
        restored.append(target.target)

    for index, part in enumerate(parts):
        if stager.streams(part):
            try:
                with stager.stream(part) as stream:
                    load(part, "fetch, verify and pg_restore", stream.path, stream)
            except RepriseError as error:
                if restored and isinstance(error, VerificationError):
                    error.hint = _restored_before(error.hint, restored)
                raise
            continue
        if index < first:
            if index == 0:
                with report.step(
                    "fetch, decrypt and verify", size=sum(known.stored_size for known in parts)
                ):
                    for earlier in range(first):
                        items[earlier] = stager.take(parts[earlier])
            item = items.pop(index)
        else:
            try:
                with report.step(f"fetch, decrypt and verify {part.name}", size=part.stored_size):
                    item = stager.take(part)
            except RepriseError as error:
                error.hint = _restored_before(error.hint, restored)
                raise
        try:
            if part.role == "globals":
                with report.step("restore roles and tablespaces") as step:
                    warnings = logical.restore_globals(server, item.path)
                    step.detail = render_options("; ".join(warnings)) or None
                restored.append("roles and tablespaces")
                continue
            load(part, "pg_restore", item.path)
        finally:
            stager.release(item)


def _restored_before(hint: str | None, restored: list[str]) -> str:
    """The hint of a damaged part's error, with what was restored before it."""
    return (
        f"{hint + '; ' if hint else ''}restored before the damage was found, each from a "
        f"verified part: {', '.join(restored)}"
    )


def _to_directory(
    to_dir: Path,
    report: Report,
    repository: Repository,
    manifest: Manifest,
    identities: list[Any],
    parts: list[Part],
    *,
    overwrite: bool,
    progress: PartProgress | None,
    follow_symlinks: bool = False,
) -> None:
    from reprise.errors import FileExistsRefusal
    from reprise.repository.streams import no_progress
    from reprise.restore.unpack import check_target_path

    with report.step(
        "fetch, decrypt and verify into the folder", size=sum(part.plain_size for part in parts)
    ):
        to_dir = check_target_path(to_dir, what=option("to_dir"), follow_symlinks=follow_symlinks)
        to_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        existing = [name for name in map(plain_name, parts) if (to_dir / name).exists()]
        if existing and not overwrite:
            raise FileExistsRefusal(
                f"{to_dir}: {', '.join(existing)} already exist(s)",
                hint=f"choose an empty folder, or replace with {option('overwrite')}",
            )
        free_space_check(to_dir, sum(part.plain_size for part in parts))
        written = []
        report_progress = progress or no_progress
        try:
            for part in parts:
                with report_progress(part.name, part.stored_size) as callback:
                    written.append(
                        stage_part(
                            repository, manifest, part, identities, to_dir, progress=callback
                        )
                    )
        except BaseException:
            for item in written:
                if item.path.name not in existing:
                    item.path.unlink(missing_ok=True)
            raise
    report.figures["files"] = [str(item.path) for item in written]


def _to_files(
    request: RestoreRequest,
    report: Report,
    repository: Repository,
    manifest: Manifest,
    identities: list[Any],
    parts: list[Part],
    *,
    progress: PartProgress | None,
) -> None:
    from reprise.restore.unpack import remove_tree

    assert request.target_dir is not None
    follow = request.follow_target_symlinks
    target = files_restore.check_target_dir(request.target_dir, follow_symlinks=follow)
    work = files_restore.work_folder(target)
    policy = files_restore.files_policy(preserve_special=request.preserve_special)
    try:
        with report.step("fetch, decrypt and verify", size=sum(p.stored_size for p in parts)):
            free_space_check(target, 2 * sum(part.plain_size for part in parts))
            staged = stage_parts(
                repository, manifest, parts, identities, work / "parts", progress=progress
            )
        with report.step(f"put the files into {target}") as step:
            tree = work / "tree"
            tree.mkdir(mode=0o700)
            dropped: list[str] = []
            dropped_count = 0
            for item in staged:
                if item.part.role == "files":
                    summary = files_restore.unpack_tar(
                        item.path,
                        tree,
                        policy=policy,
                        where=f"backup {manifest.id} part {item.part.name}",
                    )
                    dropped_count += summary.special_bits_dropped
                    dropped += summary.special_examples
                else:
                    item.path.rename(tree / plain_name(item.part))
                item.path.unlink(missing_ok=True)
            count = files_restore.move_into_place(
                tree, target, overwrite=request.overwrite, follow_symlinks=follow
            )
            step.detail = f"{count} file(s)"
            report.figures["files_restored"] = count
            if dropped_count:
                step.detail += render_options(
                    f"; setuid/setgid/sticky bits dropped on {dropped_count} "
                    f"(e.g. {', '.join(dropped[:3])}): the source does not "
                    f"declare preserve_special, or {option('preserve_special')} was not "
                    "given"
                )
                report.figures["special_bits_dropped"] = dropped_count
    finally:
        remove_tree(work)
