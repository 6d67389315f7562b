"""``reprise restore``: put a service's backup back, or recover it to a point in time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reprise.cli.pitr import pitr_command, print_steps

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def restore_command(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service whose backup to restore.")],
    backup: Annotated[
        str | None,
        typer.Option("--backup", metavar="ID", help="A backup id (or its unique beginning)."),
    ] = None,
    latest: Annotated[
        bool,
        typer.Option(
            "--latest",
            help="The newest backup (the default), or with --pitr the latest "
            "point the WAL archive reaches.",
        ),
    ] = False,
    source: Annotated[
        str | None,
        typer.Option(help="Which backup entry of the service (its repository folder name)."),
    ] = None,
    database: Annotated[str | None, typer.Option(help="Only this database.")] = None,
    as_name: Annotated[
        str | None,
        typer.Option("--as", metavar="NEW_NAME", help="Restore the database under this name."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            metavar="DSN", help="Server to restore into (postgresql://user@host/postgres)."
        ),
    ] = None,
    to_dir: Annotated[
        Path | None,
        typer.Option(
            help="Write the plain files (dumps, SQL) here instead; with --pitr, the data "
            "directory to recover into."
        ),
    ] = None,
    target_dir: Annotated[
        Path | None, typer.Option(help="Folder to put the files of a files or command source into.")
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="pg_restore parallel jobs.")] = 2,
    clean: Annotated[
        bool, typer.Option(help="Replace the content of a non-empty target database.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
    preserve_special: Annotated[
        bool,
        typer.Option(
            "--preserve-special",
            help="Keep setuid, setgid and sticky bits (files sources that "
            "declare preserve_special: true).",
        ),
    ] = False,
    follow_target_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-target-symlinks",
            help="Follow symlinks found in the target path and folders (refused by default).",
        ),
    ] = False,
    pitr: Annotated[
        bool,
        typer.Option(
            "--pitr", help="Point-in-time recovery from a physical backup and the WAL archive."
        ),
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            metavar="TIME", help="With --pitr: the recovery target, e.g. '2026-05-04 14:03:00+02'."
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            metavar="DB[.SCHEMA.TABLE]",
            help="With --pitr: recover into a scratch instance and "
            "load just this database or table into "
            "--target.",
        ),
    ] = None,
    start: Annotated[
        bool,
        typer.Option(
            "--start",
            help="With --pitr --to-dir: start the recovered instance and leave it running.",
        ),
    ] = False,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port of the started instance.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show which backup and which steps, change nothing.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Restore a service from its backups, verified before anything is written.

    A logical backup goes into a server (--target DSN: roles first, then each database
    with pg_restore -j N) or into a folder as plain dump files (--to-dir). Files and
    command backups go into --target-dir: unpacked into a private folder, refusing any
    archive member that would land outside it (exit 3), then renamed into place without
    following symlinks found in the target (refused unless --follow-target-symlinks).
    A report (Markdown and JSON) is written under the state directory. Exit 0 restored,
    1 failed, 2 bad input, 3 the backup failed verification (nothing was written).
    """
    if backup and latest:
        raise typer.BadParameter("--backup and --latest exclude each other", param_hint="--backup")
    if pitr:
        if preserve_special:
            raise typer.BadParameter(
                "--preserve-special is for files restores", param_hint="--preserve-special"
            )
        pitr_command(
            ctx,
            service,
            backup=backup,
            at=at,
            source=source,
            only=only,
            target=target,
            to_dir=to_dir,
            as_name=as_name,
            start=start,
            port=port,
            dry_run=dry_run,
            json=json,
            follow_target_symlinks=follow_target_symlinks,
        )
        return
    for flag, value in (("--at", at), ("--only", only), ("--start", start), ("--port", port)):
        if value:
            raise typer.BadParameter(f"{flag} needs --pitr", param_hint=flag)
    from reprise.cli import progress
    from reprise.cli.context import plan_state
    from reprise.cli.interrupts import terminate_as_interrupt
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.restore import RestoreOrder, preview, restore

    order = RestoreOrder(
        service=service,
        source=source,
        backup_id=backup,
        database=database,
        as_name=as_name,
        target=target,
        to_dir=to_dir.absolute() if to_dir else None,
        target_dir=target_dir,
        jobs=jobs,
        clean=clean,
        overwrite=overwrite,
        preserve_special=preserve_special,
        follow_target_symlinks=follow_target_symlinks,
    )
    with plan_state(ctx) as (loaded, store), terminate_as_interrupt():
        if dry_run:
            restore_plan = preview(loaded.plan, store, order)
            if json:
                print_json(restore_plan.to_dict())
            else:
                _print_plan(restore_plan.to_dict())
            return
        with progress.byte_bars(progress.wanted(json)) as bars:
            result = restore(loaded.plan, store, order, progress=bars)
    report, path = result.report, result.path
    if json:
        print_json({**report.to_dict(), "report": str(path)})
        return
    out = stdout()
    print_steps(report)
    out.print(
        f"Restored {report.backup_id} of {report.service} into {report.target} in "
        f"{report.seconds:.1f} s."
    )
    out.print(f"Report: {path}")


def _print_plan(plan: dict[str, Any]) -> None:
    """A dry run's backup, data size and steps; the backup's time (UTC ISO 8601 in the
    JSON form) shown in the plan's zone, labelled."""
    from datetime import datetime, timedelta

    from reprise.cli.output import shown, stdout
    from reprise.plan.units import format_duration, format_size

    out = stdout()
    age = format_duration(timedelta(seconds=plan["backup_age_seconds"]))
    taken = shown(datetime.fromisoformat(plan["backup_time"]), seconds=True)
    out.print(
        f"Backup {plan['backup_id']} of {plan['service']} ({plan['source']}, repository "
        f"{plan['repository']}), taken {taken}, {age} ago"
    )
    out.print(
        f"Data: {len(plan['parts'])} part(s), {format_size(plan['stored_bytes'])} "
        f"stored, {format_size(plan['plain_bytes'])} once decrypted"
    )
    out.print("Steps:")
    for number, step in enumerate(plan["steps"], 1):
        out.print(f"  {number}. {step}", markup=False)
    out.print("Dry run: nothing was read or written.")
