"""``reprise plan``: validate, show, order and describe the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reprise.cli.context import load

app = typer.Typer(
    help="Validate the plan, show its recovery strategy and order, print its schema.",
    no_args_is_help=True,
)

PlanArgument = Annotated[
    Path | None,
    typer.Argument(
        help="The plan file (or its directory). Default: --plan, $REPRISE_PLAN, ./reprise.yaml.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command()
def validate(ctx: typer.Context, plan: PlanArgument = None, json: JsonOption = False) -> int:
    """Check the plan; exit 0 when it is valid, 2 with every problem located otherwise."""
    from reprise.cli.output import print_json, print_warning, stdout
    from reprise.errors import PlanError
    from reprise.usecases.plan import summarise

    try:
        loaded = load(ctx, plan)
    except PlanError as error:
        if not json:
            raise
        print_json(
            {"valid": False, "errors": [issue.to_dict() for issue in error.issues], "warnings": []}
        )
        return error.exit_code
    summary = loaded.plan
    if json:
        print_json(summarise(loaded).to_dict())
        return 0
    for warning in loaded.warnings:
        print_warning(warning)
    stdout().print(
        f"[green]✓[/] {loaded.path} is valid: {len(summary.services)} services, "
        f"{len(summary.roles)} roles, {len(summary.scenarios)} scenarios, "
        f"{len(summary.repositories)} repositories."
    )
    return 0


@app.command()
def show(ctx: typer.Context, plan: PlanArgument = None, json: JsonOption = False) -> None:
    """The recovery strategy: services grouped by priority, with their objectives.

    Dependencies and the resulting order are in `reprise plan order`.
    """
    from rich.table import Table

    from reprise.cli.output import print_json, stdout
    from reprise.plan.units import format_duration
    from reprise.usecases.plan import plan_strategy

    loaded = load(ctx, plan)
    groups = plan_strategy(loaded.plan)
    organisation = loaded.plan.organisation
    if json:
        objectives = loaded.plan.objectives.model_dump(mode="json")
        print_json(
            {
                "organisation": organisation.name,
                "objectives": objectives,
                "priorities": [group.to_dict() for group in groups],
            }
        )
        return
    table = Table(
        title=f"Recovery strategy — {organisation.name}",
        title_justify="left",
        caption="Response: "
        + ", ".join(f"{g.priority} {_words(g.response)}" for g in groups)
        + (
            "  ·  * priority set in the plan"
            if any(s.priority is not None for s in loaded.plan.services)
            else ""
        ),
        caption_justify="left",
    )
    table.add_column("Prio", no_wrap=True)
    table.add_column("Service", min_width=22, ratio=3)
    table.add_column("Category", ratio=2)
    for column in ("Criticality", "RPO", "RTO"):
        table.add_column(column, no_wrap=True)
    table.add_column("Owner", ratio=2)
    for group in groups:
        for index, line in enumerate(group.services):
            service = line.service
            table.add_row(
                group.priority if index == 0 else "",
                f"{service.name}\n[dim]{service.id}[/]",
                service.category,
                service.criticality + (" *" if service.priority else ""),
                format_duration(line.rpo),
                format_duration(line.rto),
                service.owner or "—",
                end_section=index == len(group.services) - 1,
            )
        if not group.services:
            table.add_row(group.priority, "[dim]no service[/]", end_section=True)
    stdout().print(table)


def _words(response: str) -> str:
    return response.replace("_", " ")


@app.command()
def order(ctx: typer.Context, plan: PlanArgument = None, json: JsonOption = False) -> None:
    """The order in which to recover services, with the reason for each place."""
    from rich.table import Table

    from reprise.cli.output import print_json, stdout
    from reprise.usecases.plan import plan_order

    loaded = load(ctx, plan)
    entries = plan_order(loaded.plan)
    if json:
        print_json([entry.to_dict() for entry in entries])
        return
    table = Table(title=f"Recovery order — {loaded.plan.organisation.name}", title_justify="left")
    for column in ("#", "Service", "Priority", "Why here"):
        table.add_column(column)
    for entry in entries:
        priority: str = entry.recovery_priority
        if entry.recovery_priority != entry.priority:
            priority += f" [dim](own {entry.priority})[/]"
        table.add_row(
            str(entry.position),
            f"{entry.service.name} [dim]({entry.service.id})[/]",
            priority,
            "; ".join(entry.reasons),
        )
    stdout().print(table)


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """The plan's JSON Schema, for editor completion and validation."""
    import json as json_module

    from reprise.usecases.plan import plan_schema

    text = json_module.dumps(plan_schema(), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("import")
def import_command(
    document: Annotated[
        Path,
        typer.Argument(
            help="A PCRA written in Markdown (tables: état "
            "des lieux, stratégie, procédures, rôles, "
            "communication)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The plan file to write.")] = Path(
        "reprise.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    json: JsonOption = False,
) -> None:
    """Write a reprise.yaml from an existing PCRA document, listing what it could not
    map."""
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.plan import ImportRequest, import_plan

    imported = import_plan(ImportRequest(document, output, force))
    output, plan, result = imported.output, imported.plan, imported.result
    if json:
        print_json(imported.to_dict())
        return
    out = stdout()
    out.print(
        f"Wrote {output}: {len(plan.services)} services, {len(plan.roles)} roles, "
        f"{sum(len(s.procedure) for s in plan.services)} procedure steps.",
        markup=False,
        highlight=False,
    )
    for note in result.notes:
        out.print(f"  mapped: {note}", markup=False, highlight=False)
    for item in result.unmapped:
        out.print(f"  to do:  {item}", markup=False, highlight=False)
    out.print(
        f"Next: review {output}, then `reprise plan validate {output}`.",
        markup=False,
        highlight=False,
    )
