"""``reprise schedule`` and ``reprise jobs``: the plan's scheduled jobs, their runs, one job
run now, and crontab lines for people who prefer cron to `reprise serve`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from reprise.errors import EXIT_OK

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.usecases.jobs import Trigger

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

schedule_app = typer.Typer(
    invoke_without_command=True,
    help="Every scheduled job of the plan: its schedule, last run and outcome, next run.",
)
jobs_app = typer.Typer(no_args_is_help=True, help="Runs of the scheduled jobs; one job now.")

STATUS_STYLE = {
    "ok": "green",
    "running": "cyan",
    "failed": "red",
    "timeout": "red",
    "lost": "red",
    "cancelled": "yellow",
}


def _when(plan: Plan, value: datetime | None) -> str:
    from reprise.cli.output import local_time

    return local_time(plan.organisation.timezone, value)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


@schedule_app.callback()
def schedule_command(ctx: typer.Context, json: JsonOption = False) -> None:
    """Every scheduled job: backups per source, drills per service, verification and pruning
    per repository. Times are in the plan's time zone."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.jobs import schedule_overview

    with plan_state(ctx) as (loaded, store):
        lines = schedule_overview(loaded.plan, store)
    if json:
        print_json([line.to_dict() for line in lines])
        return
    plan = loaded.plan
    table = Table(box=None, pad_edge=False)
    for column in ("Job", "Schedule", "Last run", "Outcome", "Took", "Next run"):
        table.add_column(column, overflow="fold")
    for line in lines:
        last = line.last
        outcome = "never ran"
        if last is not None:
            outcome = f"[{STATUS_STYLE.get(last.status, '')}]{last.status}[/]"
        table.add_row(
            line.job.id,
            line.job.schedule,
            _when(plan, None if last is None else last.started_at),
            outcome,
            _seconds(None if last is None else last.duration),
            _when(plan, line.next_at),
        )
    out = stdout()
    if not lines:
        out.print("No scheduled job: the plan has no backups and no repositories.")
        return
    out.print(table)


@schedule_app.command("export")
def export_command(
    ctx: typer.Context,
    cron: Annotated[
        bool, typer.Option("--cron", help="Crontab lines (the only format for now).")
    ] = True,
    command: Annotated[
        str, typer.Option("--command", help="How cron finds Reprise.")
    ] = "/usr/local/bin/reprise",
) -> None:
    """Print crontab lines that run the same jobs as `reprise serve` (flock keeps one run of
    a job at a time; runs are recorded in `reprise jobs list`)."""
    from reprise.cli.context import load, plan_path
    from reprise.cli.output import stdout
    from reprise.usecases.jobs import cron_lines

    loaded = load(ctx, contacts=False)
    path = plan_path(ctx) or loaded.path
    for line in cron_lines(loaded.plan, path.resolve(), command):
        stdout().print(line, markup=False, highlight=False, soft_wrap=True)


@jobs_app.command("list")
def jobs_list(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Argument(help="Only this job (backup:NAME…).")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only runs with this outcome (failed…).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs.")] = 50,
    json: JsonOption = False,
) -> None:
    """Runs of the scheduled jobs, newest first."""
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.jobs import RunsRequest, job_runs

    with plan_state(ctx) as (loaded, store):
        runs = job_runs(loaded.plan, store, RunsRequest(job, status, limit))
    if json:
        print_json([run.to_dict() for run in runs])
        return
    table = Table(box=None, pad_edge=False)
    for column in ("Run", "Job", "Trigger", "Started", "Took", "Outcome", "Error"):
        table.add_column(column, overflow="fold")
    for run in runs:
        table.add_row(
            str(run.id),
            run.job,
            run.trigger,
            _when(loaded.plan, run.started_at),
            _seconds(run.duration),
            f"[{STATUS_STYLE.get(run.status, '')}]{run.status}[/]",
            run.error or "",
        )
    stdout().print(table if runs else "No job run yet.")


@jobs_app.command("show")
def jobs_show(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run's number (reprise jobs list).")],
    json: JsonOption = False,
) -> None:
    """One run: when it was due and ran, where, how it ended, its figures."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.jobs import show_run

    with plan_state(ctx) as (loaded, store):
        run = show_run(store, run_id)
    if json:
        print_json(run.to_dict())
        return
    plan = loaded.plan
    out = stdout()
    rows = [
        ("Run", str(run.id)),
        ("Job", f"{run.job} ({run.kind})"),
        ("Due", _when(plan, run.due_at)),
        ("Trigger", f"{run.trigger}, attempt {run.attempt}"),
        ("Started", _when(plan, run.started_at)),
        ("Ended", _when(plan, run.finished_at)),
        ("Took", _seconds(run.duration)),
        ("Outcome", run.status + ("" if run.exit_code is None else f" (exit {run.exit_code})")),
        ("Where", f"{run.host}, pid {run.pid}"),
    ]
    if run.error:
        rows.append(("Error", run.error))
    for label, value in rows:
        out.print(f"{label + ':':9} {value}", markup=False, highlight=False)
    if run.figures:
        import json as json_module

        out.print("Figures:", markup=False)
        out.print(json_module.dumps(run.figures, indent=2, ensure_ascii=False), markup=False)


@jobs_app.command("run")
def jobs_run(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="The job (reprise schedule lists them).")],
    cron: Annotated[
        bool,
        typer.Option("--cron", help="Run for its latest time slot (once per slot), as cron does."),
    ] = False,
    run_id: Annotated[int | None, typer.Option("--run-id", hidden=True)] = None,
    json: JsonOption = False,
) -> None:
    """Run one scheduled job now, in the foreground, and record it in the jobs table.

    Exit 0 when it succeeded, else the job's own exit code (1 failed, 3 verification).
    """
    from reprise.cli.context import plan_state
    from reprise.cli.interrupts import terminate_as_interrupt
    from reprise.cli.output import print_error, print_json, stdout
    from reprise.usecases.jobs import JobRunRequest, run_job

    trigger: Trigger = "cron" if cron else ("schedule" if run_id is not None else "manual")
    with plan_state(ctx) as (loaded, store), terminate_as_interrupt():
        result = run_job(loaded.plan, store, JobRunRequest(job, trigger, run_id))
    if json:
        print_json(result.run.to_dict())
    elif result.error is None:
        stdout().print(
            f"{job}: ok in {_seconds(result.run.duration)} (run {result.run.id})",
            markup=False,
            highlight=False,
        )
    if result.error is not None:
        print_error(result.error)
    if result.exit_code != EXIT_OK:
        raise typer.Exit(result.exit_code)
