"""A runbook's restore step rehearsed: the backup restored into a scratch PostgreSQL instance
(a restore into a server) or a temporary folder (into files), never into the step's target;
what came back is counted, then the copy is removed. Its timing is the real one."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reprise.reports.wording import Part, part

if TYPE_CHECKING:
    from pathlib import Path

    from reprise.pg.scratch import ConnectionInfo, ScratchPostgres
    from reprise.plan.model import Plan
    from reprise.plan.steps import RestoreStep
    from reprise.restore.dispatch import RestoreOrder, RestoreResult
    from reprise.store.database import Store


@dataclass(frozen=True)
class Rehearsal:
    """Where an exercise's restore reads from and writes its report: the plan, the state
    store, and the plan file (for a recovered instance's restore_command)."""

    plan: Plan
    store: Store
    plan_path: Path | None = None


PLACEHOLDER_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
"""A server address for choosing the backup before the scratch instance exists."""


def into_server(step: RestoreStep, target: str | None) -> bool:
    """Whether the step restores into a server (then a scratch instance stands in)."""
    return bool(target) if not step.pitr else bool(step.only and target)


def scratch_or_folder(step: RestoreStep, target: str | None) -> str:
    """Where an exercise puts this step's restore, in a few words (English)."""
    return "a scratch PostgreSQL instance" if into_server(step, target) else "a temporary folder"


def restore_in_exercise(
    run: Rehearsal,
    step: RestoreStep,
    backup: str | None,
    target: str | None,
    only: str | None,
    as_name: str | None,
    at: str | None,
) -> tuple[list[Part], str | None]:
    """Restore as the step says, but into a scratch copy; the step's target is never
    opened. Returns the step's message in catalog words (the copy, the tables and rows
    restored, the time taken) and its output (one line per table restored)."""
    from reprise.restore.dispatch import RestoreOrder
    from reprise.restore.logical import public_address
    from reprise.restore.pitr import parse_target_time
    from reprise.restore.run import staging_dir

    instead = (target and public_address(target)) or step.to_dir or "the plan's target"
    moment = (
        parse_target_time(at, run.plan.organisation.timezone, label=f"step {step.kind} `at`")
        if step.pitr and at
        else None
    )
    order = RestoreOrder(
        service=step.service,
        backup_id=None if backup in (None, "latest") else backup,
        pitr=step.pitr,
        at=moment,
        only=only if step.pitr else None,
        database=None if step.pitr else only,
        as_name=as_name,
    )
    if into_server(step, target):
        return _into_scratch(run, order, step.service, instead)
    folder = staging_dir(run.plan)
    try:
        result = _restore(run, replace(order, to_dir=folder / "restored"))
        parts = [
            part(
                "exercise.restored_dir",
                service=step.service,
                where=str(folder),
                target=instead,
                seconds=f"{result.report.seconds:.1f}",
            ),
            part("exercise.dir_removed"),
            part("runstep.report_path", path=str(result.path)),
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return parts, None


def _restore(run: Rehearsal, order: RestoreOrder) -> RestoreResult:
    from reprise.restore.dispatch import restore

    return restore(run.plan, run.store, order, plan_path=run.plan_path)


def _into_scratch(
    run: Rehearsal, order: RestoreOrder, service: str, instead: str
) -> tuple[list[Part], str | None]:
    scratch = _scratch(run, replace(order, target=PLACEHOLDER_DSN))
    info = scratch.start()
    try:
        result = _restore(run, replace(order, target=info.dsn()))
        tables, rows, listing = _count(info)
    finally:
        scratch.stop()
    parts = [
        part(
            "exercise.restored_scratch",
            service=service,
            where=f"{info.host}:{info.port}, PostgreSQL {scratch.installation.version}",
            target=instead,
            seconds=f"{result.report.seconds:.1f}",
        ),
        part("exercise.restored_tables", tables=tables, rows=rows),
        part("exercise.scratch_removed"),
        part("runstep.report_path", path=str(result.path)),
    ]
    return parts, listing


def _scratch(run: Rehearsal, order: RestoreOrder) -> ScratchPostgres:
    """A scratch instance of the backup's major version (else the nearest newer one)."""
    from reprise.drill.run import DRILL_SETTINGS
    from reprise.errors import ToolNotFoundError
    from reprise.pg.scratch import ScratchPostgres
    from reprise.restore.dispatch import preview
    from reprise.restore.run import RestorePlan, dump_version

    chosen = preview(run.plan, run.store, order)
    major = dump_version(chosen.manifest) // 10000 if isinstance(chosen, RestorePlan) else 0
    try:
        return ScratchPostgres(major=major or None, settings=DRILL_SETTINGS)
    except ToolNotFoundError:
        return ScratchPostgres(min_major=major or None, settings=DRILL_SETTINGS)


def _count(info: ConnectionInfo) -> tuple[int, int, str]:
    """Tables and rows restored in every database of the scratch instance, and one line
    per table (``database.schema.table: rows``)."""
    import psycopg

    from reprise.pg.table_stats import table_stats

    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        databases = [
            str(row[0])
            for row in connection.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate "
                "AND datname <> 'postgres' ORDER BY 1"
            )
        ]
    lines: list[str] = []
    total = 0
    for database in databases:
        with psycopg.connect(info.dsn(database)) as connection:
            for table in table_stats(connection, "rows")["tables"]:
                total += int(table["rows"])
                lines.append(f"{database}.{table['schema']}.{table['name']}: {table['rows']} rows")
    return len(lines), total, "\n".join(lines)
