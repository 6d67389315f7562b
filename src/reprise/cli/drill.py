"""``reprise drill``: restore drills with a measured RTO, and their history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from reprise.usecases.drill import DrillOutcome


class _RunByDefault(TyperGroup):
    """``reprise drill akig-db`` and ``reprise drill --all`` mean ``drill run …``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    no_args_is_help=True,
    help="Restore drills: `reprise drill SERVICE|--all` runs one, "
    "`reprise drill list` shows the history.",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("run")
def run_command(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="Service to drill.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every service whose drill is enabled.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Restore the newest verified backup into a scratch PostgreSQL and check it.

    Checks: every table's row count (and checksum, when the backup recorded them) against
    the backup's figures, amcheck on B-tree indexes, and the service's `integrity` SQL
    assertions. The RTO achieved (start to a usable, verified database) is compared with
    the service's RTO objective. Exit 0 passed, 3 integrity or objective failure, 1 the
    drill could not run.
    """
    from reprise.cli import progress
    from reprise.cli.context import plan_state
    from reprise.cli.interrupts import terminate_as_interrupt
    from reprise.cli.output import print_error, print_json, stdout
    from reprise.usecases.drill import DrillRequest, drill

    if (service is None) == (not all_):
        raise typer.BadParameter("give a SERVICE or --all (not both)", param_hint="SERVICE")

    def show(outcome: DrillOutcome) -> None:
        if not json:
            _print_outcome(outcome)
            if outcome.error is not None:
                print_error(outcome.error)

    with (
        plan_state(ctx) as (loaded, store),
        terminate_as_interrupt(),
        progress.byte_bars(progress.wanted(json)) as bars,
    ):
        result = drill(loaded.plan, store, DrillRequest(service), progress=bars, on_outcome=show)
    outcomes = result.outcomes
    if json:
        print_json(
            [
                {
                    **outcome.report.to_dict(),
                    "drill_id": outcome.drill_id,
                    "report": str(outcome.path),
                    "failures": outcome.failures,
                }
                for outcome in outcomes
            ]
        )
    elif len(outcomes) > 1:
        stdout().print(f"{result.passed} of {len(outcomes)} drills passed.")
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _print_outcome(outcome: DrillOutcome) -> None:
    """A finished drill's steps, checks, verdict and failures."""
    from reprise.cli.output import stdout

    out = stdout()
    report = outcome.report
    for step in report.steps:
        mark = "[green]✓[/]" if step.result == "ok" else "[red]✗[/]"
        out.print(f"{mark} {step.name} ({step.seconds:.1f} s)")
    for check in report.checks:
        mark = "[green]✓[/]" if check["result"] == "ok" else "[red]✗[/]"
        out.print(f"  {mark} ", end="")
        out.print(f"{check['name']}: {check['detail']}", markup=False)
    figures = report.figures
    verdict = {
        "passed": "[green]passed[/]",
        "failed": "[red]FAILED[/]",
        "error": "[red]could not run[/]",
    }[report.result]
    rto = figures.get("rto_achieved", "n/a")
    out.print(
        f"Drill {outcome.drill_id} of {report.service} ({report.backup_id}): {verdict}; "
        f"RTO achieved {rto} (objective {figures['rto_objective']}); backup age "
        f"{figures['data_loss_window']}."
    )
    for failure in outcome.failures:
        out.print(f"  [red]failure:[/] {failure}", highlight=False)
    out.print(f"Report: {outcome.path}")


@app.command("list")
def list_command(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Option(help="Only this service's drills.")] = None,
    json: JsonOption = False,
) -> None:
    """Past drills, newest first: backup used and its age, RTO achieved, result."""
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, shown, stdout
    from reprise.usecases.drill import HistoryRequest, history

    with plan_state(ctx) as (loaded, store):
        records = history(loaded.plan, store, HistoryRequest(service))
    if json:
        print_json([record.to_dict() for record in records])
        return
    table = Table(title=f"Drills ({len(records)})", title_justify="left")
    for column in (
        "ID",
        "Time",
        "Service",
        "Backup",
        "Backup age",
        "RTO achieved",
        "Objective",
        "Result",
    ):
        table.add_column(column)
    for record in records:
        rto = f"{record.rto_seconds:.1f} s" if record.rto_seconds is not None else "-"
        objective = f"{record.objective_seconds:.0f} s" if record.objective_seconds else "-"
        style = {"passed": "green", "failed": "red", "error": "red"}.get(record.result, "")
        table.add_row(
            str(record.id),
            shown(record.started_at),
            record.service,
            record.backup_id,
            f"{record.backup_age_seconds / 3600:.1f} h",
            rto,
            objective,
            f"[{style}]{record.result}[/]",
        )
    stdout().print(table)
