"""A restore drill: the newest verified backup restored into a scratch PostgreSQL, checked,
and timed from start to a usable, verified database: the RTO actually achieved.

The seed's weekly "test-restore" done properly: a drill that restores but does not
compare the data proves little, so every table is counted (and checksummed when the
backup recorded checksums) against the figures taken in the dump's own snapshot.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.drill.checks import (
    DEFAULT_ASSERTION_TIMEOUT,
    Finding,
    check_indexes,
    compare_tables,
    run_assertions,
)
from reprise.drill.parallel import run_steps
from reprise.drill.records import record_drill
from reprise.errors import (
    EXIT_OK,
    EXIT_VERIFICATION_FAILED,
    InputError,
    RepriseError,
    render_options,
)
from reprise.plan.units import format_duration
from reprise.restore import logical
from reprise.restore.choose import choose_backup, choose_job
from reprise.restore.registry import kinds_where, restorer_for, spoken
from reprise.restore.report import Report
from reprise.restore.run import (
    dump_version,
    restore_staged,
    save_report,
    stager_for,
    staging_dir,
    verified_manifest,
)
from reprise.restore.staging import PartProgress

if TYPE_CHECKING:
    from reprise.pg.scratch import ConnectionInfo, ScratchPostgres
    from reprise.plan.model import Plan, Service
    from reprise.repository.catalog import CatalogEntry
    from reprise.repository.manifest import Part
    from reprise.store import Store

log = logging.getLogger("reprise.drill")

DRILL_SETTINGS = {
    # A drill measures how fast a restore can go: big checkpoints, memory for index builds.
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'30min'",
    "maintenance_work_mem": "'256MB'",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "autovacuum": "off",
}


@dataclass
class DrillOutcome:
    """A finished drill."""

    report: Report
    path: Path
    drill_id: int
    failures: list[str] = field(default_factory=list)
    error: RepriseError | None = None

    @property
    def exit_code(self) -> int:
        """0 passed, 3 integrity or objective failure, else the error's code."""
        if self.error is not None:
            return self.error.exit_code
        return EXIT_VERIFICATION_FAILED if self.failures else EXIT_OK


def _drillable() -> str:
    """The kinds a drill restores, for messages (``postgres``)."""
    return spoken(kinds_where(lambda restorer: restorer.drills))


def drill_services(plan: Plan, service_id: str | None) -> list[Service]:
    """The services to drill: one by id, or every one whose drill is enabled."""
    if service_id is not None:
        try:
            service = plan.service(service_id)
        except KeyError:
            raise InputError(
                f"no service {service_id!r} in the plan",
                hint=f"services: {', '.join(s.id for s in plan.services)}",
            ) from None
        if not service.backups:
            raise InputError(
                f"service {service_id} has no backups to drill", hint="add a `backups:` entry to it"
            )
        return [service]
    chosen = [
        service
        for service in plan.services
        if service.backups
        and service.drill
        and service.drill.enabled
        and any(restorer_for(entry.kind).drills for entry in service.backups)
    ]
    if not chosen:
        raise InputError(
            f"no service has an enabled drill of a {_drillable()} backup",
            hint=f"drills restore {_drillable()} backups; see `drill:` in the plan",
        )
    return chosen


def run_drill(
    plan: Plan, store: Store, service_id: str, *, progress: PartProgress | None = None
) -> DrillOutcome:
    """Drill one service; never raises for a drill that ran (the outcome says how it went),
    only for bad input found before it starts."""
    service = plan.service(service_id)
    job = choose_job(plan, service_id, None)
    if not restorer_for(job.source.kind).drills:
        raise InputError(
            f"{job.name}: drills restore {_drillable()} backups; this source is {job.source.kind}",
            hint="restore it by hand with reprise restore",
        )
    warnings: list[str] = []
    try:
        entry = choose_backup(store, job, None, verified_only=True)
    except InputError:
        entry = choose_backup(store, job, None)
        warnings.append(
            f"no verified backup of {job.name} yet: the drill verifies the "
            f"newest, {entry.backup_id}"
        )
    manifest = entry.manifest
    objective = (
        service.drill.max_duration
        if service.drill and service.drill.max_duration
        else plan.rto(service)
    )
    report = Report(
        "drill",
        service.id,
        job.name,
        entry.repository,
        manifest.id,
        manifest.finished_at,
        "scratch PostgreSQL",
    )
    report.figures["rto_objective"] = format_duration(objective)
    report.figures["data_loss_window"] = format_duration(
        timedelta(seconds=round(report.backup_age.total_seconds()))  # no milliseconds
    )
    if warnings:
        report.figures["warnings"] = "; ".join(warnings)
    failures: list[str] = []
    rto: float | None = None
    error: RepriseError | None = None
    try:
        timeout = service.drill.assertion_timeout if service.drill else DEFAULT_ASSERTION_TIMEOUT
        findings, rto = _restore_and_check(
            plan, report, entry, service.integrity, progress, assertion_timeout=timeout
        )
        report.checks = [finding.to_dict() for finding in findings]
        failures = [f"{finding.name}: {finding.detail}" for finding in findings if not finding.ok]
        report.figures["rto_achieved"] = f"{rto:.1f} s"
        if rto > objective.total_seconds():
            failures.append(
                f"RTO achieved {rto:.0f} s exceeds the objective {format_duration(objective)}"
            )
        report.finish("failed" if failures else "passed", "; ".join(failures) if failures else None)
    except RepriseError as caught:
        error = caught
        report.finish("error", render_options(caught.message))
    path = save_report(plan, store, report)
    drill_id = record_drill(
        store,
        report,
        rto_seconds=rto,
        objective_seconds=objective.total_seconds(),
        failures=failures or ([render_options(error.message)] if error else []),
        report_path=str(path),
    )
    return DrillOutcome(report, path, drill_id, failures, error)


def _restore_and_check(
    plan: Plan,
    report: Report,
    entry: CatalogEntry,
    assertions: list[str],
    progress: PartProgress | None,
    *,
    assertion_timeout: timedelta = DEFAULT_ASSERTION_TIMEOUT,
) -> tuple[list[Finding], float]:
    repository, manifest, identities = verified_manifest(plan, entry, report)
    version = dump_version(manifest)
    databases = [
        part.database for part in manifest.parts if part.role == "database" and part.database
    ]
    parts = list(manifest.parts)
    staging = staging_dir(plan, sum(part.plain_size for part in parts))
    scratch: ScratchPostgres | None = None
    try:
        # The parts decrypt on a helper thread while the scratch server starts: that
        # hides the decoding as well as loading them while they are read would.
        with stager_for(
            report,
            repository,
            manifest,
            identities,
            parts,
            staging,
            progress=progress,
        ) as stager:
            with report.step(
                f"start a scratch PostgreSQL {version // 10000 or ''}".rstrip()
            ) as step:
                scratch = _scratch(version // 10000, _scratch_base(parts, staging))
                info = scratch.start()
                step.detail = f"port {info.port}, {scratch.installation.version}"
            with report.step("check target (read-only)"):
                server = logical.check_target(
                    info.dsn(), version, [(name, name) for name in databases], clean=False
                )
            restore_staged(report, server, manifest, stager, jobs=2, clean=False)
        findings = _check(report, info, manifest.databases, databases)
        if assertions:
            with report.step("run the plan's integrity assertions") as step:
                from reprise.pg.scratch import create_reader

                reader = create_reader(info, databases)
                step.detail = (
                    f"as {reader.user} (read-only, not a superuser), at most "
                    f"{format_duration(assertion_timeout)} each"
                )
                findings += run_assertions(
                    reader.dsn(), databases, assertions, timeout=assertion_timeout
                )
        rto = report.seconds
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if scratch is not None:
            with report.step("stop the scratch PostgreSQL"):
                scratch.stop()
    return findings, rto


def _check(
    report: Report,
    info: ConnectionInfo,
    recorded: list[dict[str, Any]],
    databases: list[str],
) -> list[Finding]:
    """The tables against the backup's figures and the indexes (amcheck), both at once on
    their own connections: each mostly waits for the server, which has two cores to use."""
    return run_steps(
        report,
        [
            (
                "check tables against the backup's figures",
                lambda: [
                    finding
                    for entry in recorded
                    for finding in compare_tables(info.dsn(), entry["name"], entry)
                ],
            ),
            (
                "check indexes (amcheck)",
                lambda: [
                    finding for name in databases for finding in check_indexes(info.dsn(), name)
                ],
            ),
        ],
    )


SCRATCH_PER_DUMP_BYTE = 3
"""A restored database's size, guessed from its dump's: the data, and up to twice as much
again in indexes (a dump holds none of theirs)."""


def _scratch_base(parts: list[Part], staging: Path) -> Path | None:
    """Where the scratch instance goes: in memory when the restored databases (guessed,
    :data:`SCRATCH_PER_DUMP_BYTE`) fit there comfortably beside the staged parts (on disk,
    its 1 GB of new files compete with the kernel's write-back of everything else), else
    the temporary directory. Instances a killed drill left in memory are reaped here,
    wherever this one goes."""
    from reprise.pg.scratch import reap_orphans
    from reprise.restore.workspace import MEMORY, fits_in_memory

    if MEMORY.is_dir():
        reap_orphans(MEMORY)
    dumps = sum(part.plain_size for part in parts if part.role == "database")
    staged_in_memory = staging.is_relative_to(MEMORY)
    needed = SCRATCH_PER_DUMP_BYTE * dumps
    if staged_in_memory:
        needed += sum(part.plain_size for part in parts)
    return MEMORY if dumps and fits_in_memory(needed) else None


def _scratch(major: int, base_dir: Path | None = None) -> ScratchPostgres:
    """A fast scratch instance of the dump's major version, else the nearest newer one."""
    from reprise.errors import ToolNotFoundError
    from reprise.pg.scratch import ScratchPostgres

    try:
        return ScratchPostgres(major=major or None, settings=DRILL_SETTINGS, base_dir=base_dir)
    except ToolNotFoundError:
        return ScratchPostgres(min_major=major or None, settings=DRILL_SETTINGS, base_dir=base_dir)
