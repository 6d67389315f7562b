"""``reprise events``: the journal of what happened."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="The events journal: plan changes, and later backups, checks, incidents.",
    no_args_is_help=True,
)


@app.command("list")
def list_command(
    ctx: typer.Context,
    kind: Annotated[
        str | None,
        typer.Option(help="Only this kind, or kinds under it (plan matches plan.changed)."),
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Only events about this.")] = None,
    since: Annotated[str | None, typer.Option(help="Only this recent, e.g. 1h, 7d.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Events, newest first."""
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, shown, stdout
    from reprise.cli.values import duration_option
    from reprise.usecases.state import EventsRequest, list_events

    request = EventsRequest(
        kind, subject, duration_option("--since", since) if since else None, limit
    )
    with plan_state(ctx) as (_loaded, store):
        found = list_events(store, request)
    if json:
        print_json([event.to_dict() for event in found])
        return
    table = Table(title="Events", title_justify="left")
    for column in ("Time", "Kind", "Subject", "Details"):
        table.add_column(column)
    for event in found:
        details = ", ".join(f"{k}={v}" for k, v in event.payload.items() if v is not None)
        table.add_row(shown(event.time, seconds=True), event.kind, event.subject, details)
    stdout().print(table)
