"""``reprise restore --pitr``: point-in-time recovery from a physical backup."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from reprise.restore.report import Report


def pitr_command(
    ctx: typer.Context,
    service: str,
    *,
    backup: str | None,
    at: str | None,
    source: str | None,
    only: str | None,
    target: str | None,
    to_dir: Path | None,
    as_name: str | None,
    start: bool,
    port: int | None,
    dry_run: bool,
    json: bool,
    follow_target_symlinks: bool = False,
) -> None:
    """Recover a service to a point in time: into a data directory (--to-dir, optionally
    started), or just one database or table into a live server (--only … --target)."""
    from reprise.cli import progress
    from reprise.cli.context import plan_path, plan_state
    from reprise.cli.interrupts import terminate_as_interrupt
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.restore import RestoreOrder, preview, restore, target_time

    if only and not target:
        raise typer.BadParameter("--only needs --target DSN (the live server)", param_hint="--only")
    if not only and not to_dir:
        raise typer.BadParameter(
            "give --to-dir DATADIR, or --only … --target DSN", param_hint="--to-dir"
        )
    if only and (to_dir or start):
        raise typer.BadParameter(
            "--only recovers into a side instance of its own; drop --to-dir and --start",
            param_hint="--only",
        )
    if (start or port) and not to_dir:
        raise typer.BadParameter("--start and --port need --to-dir", param_hint="--start")
    with plan_state(ctx) as (loaded, store), terminate_as_interrupt():
        order = RestoreOrder(
            service=service,
            source=source,
            backup_id=backup,
            pitr=True,
            at=target_time(loaded.plan, at) if at else None,
            only=only,
            as_name=as_name,
            target=target,
            to_dir=to_dir.absolute() if to_dir else None,
            start=start,
            port=port,
            follow_target_symlinks=follow_target_symlinks,
        )
        if dry_run:
            pitr = preview(loaded.plan, store, order)
            if json:
                print_json(pitr.to_dict())
            else:
                for number, step in enumerate(pitr.to_dict()["steps"], 1):
                    stdout().print(f"  {number}. {step}", markup=False)
                stdout().print("Dry run: nothing was read or written.")
            return
        with progress.byte_bars(progress.wanted(json)) as bars:
            result = restore(
                loaded.plan, store, order, progress=bars, plan_path=plan_path(ctx) or loaded.path
            )
    report, path = result.report, result.path
    if json:
        print_json({**report.to_dict(), "report": str(path)})
        return
    out = stdout()
    print_steps(report)
    figures = report.figures
    if "reached_time" in figures:
        reached = figures["reached_time"] or (
            "the end of the archived WAL (no transaction time recorded after the base backup)"
        )
        out.print(
            f"Recovered to {reached} (LSN {figures['reached_lsn']}), "
            f"target {figures['target']}, in {report.seconds:.1f} s.",
            markup=False,
        )
    if only:
        out.print(f"{only} as it was then is now {report.target}.", markup=False)
    elif start:
        out.print(
            f"The recovered instance runs from {to_dir}; stop it with `pg_ctl -D {to_dir} stop`.",
            markup=False,
        )
    else:
        out.print(
            f"{to_dir} is ready: start PostgreSQL on it to replay the WAL "
            "(restore_command runs `reprise wal fetch`).",
            markup=False,
        )
    out.print(f"Report: {path}")


def print_steps(report: Report) -> None:
    """One line per step of a finished restore, with its duration and detail (shared with
    ``reprise restore``)."""
    from reprise.cli.output import stdout

    for step in report.steps:
        stdout().print(
            f"[green]✓[/] {step.name} ({step.seconds:.1f} s)"
            + (f": {step.detail}" if step.detail else "")
        )
