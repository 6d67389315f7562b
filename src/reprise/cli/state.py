"""``reprise state``: the state database (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="The state database: where it is, its schema, what it holds.", no_args_is_help=True
)


@app.command()
def info(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Open the state database (migrating it on first use) and describe it."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.state import state_info

    with plan_state(ctx) as (_loaded, store):
        description = state_info(store).to_dict()
    if json:
        print_json(description)
        return
    console = stdout()
    for label, key in (
        ("Database", "url"),
        ("Engine", "dialect"),
        ("Schema revision", "revision"),
        ("Plan versions", "plan_versions"),
        ("Events", "events"),
        ("Plan in force", "plan_sha256"),
    ):
        console.print(f"{label + ':':<17} {description[key]}")
