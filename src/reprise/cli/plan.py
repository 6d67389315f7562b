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
        print_json(
            {
                "valid": True,
                "plan": str(loaded.path),
                "sha256": loaded.sha256,
                "services": len(summary.services),
                "roles": len(summary.roles),
                "scenarios": len(summary.scenarios),
                "repositories": len(summary.repositories),
                "errors": [],
                "warnings": [warning.to_dict() for warning in loaded.warnings],
            }
        )
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
    from reprise.plan.strategy import recovery_strategy
    from reprise.plan.units import format_duration

    loaded = load(ctx, plan)
    groups = recovery_strategy(loaded.plan)
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
    from reprise.plan.order import recovery_order

    loaded = load(ctx, plan)
    entries = recovery_order(loaded.plan)
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

    from reprise.plan.schema import plan_json_schema

    text = json_module.dumps(plan_json_schema(), ensure_ascii=False, indent=2) + "\n"
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
    import tempfile

    from reprise.cli.output import print_json, stdout
    from reprise.errors import FileExistsRefusal, InputError
    from reprise.plan.importer import import_pcra
    from reprise.plan.loader import load_plan

    if output.is_dir():
        output = output / "reprise.yaml"  # a folder means its plan, as --plan reads it
    if output.exists() and not force:
        raise FileExistsRefusal(
            f"{output} already exists", hint="choose another --output, or --force to replace it"
        )
    folder = output.absolute().parent
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such folder for --output",
            hint=f"create it first (mkdir -p {folder}), or choose another --output",
        )
    result = import_pcra(document)
    text = result.yaml_text(document)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, suffix=".yaml", prefix=".reprise-import-", delete=False
    ) as handle:
        handle.write(text)
    draft = Path(handle.name)
    try:
        loaded = load_plan(draft, environ={}, contacts=False)
        draft.replace(output)
    finally:
        draft.unlink(missing_ok=True)
    plan = loaded.plan
    if json:
        print_json(
            {
                "output": str(output),
                "services": [s.id for s in plan.services],
                "roles": [r.id for r in plan.roles],
                "mapped": result.notes,
                "unmapped": result.unmapped,
            }
        )
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
