"""``reprise pg``: the PostgreSQL programs Reprise finds on this host."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="PostgreSQL programs found on this host (per major version).", no_args_is_help=True
)


@app.command("list")
def list_command(
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Installations found, newest first, and whether each can run a scratch server."""
    from rich.table import Table

    from reprise.cli.output import print_json, stdout
    from reprise.usecases.postgres import postgres_installations

    installations = postgres_installations()
    if json:
        print_json(
            [
                {
                    "bindir": str(i.bindir),
                    "major": i.major,
                    "version": i.version,
                    "server": i.has_server,
                    "tools": sorted(i.tools),
                }
                for i in installations
            ]
        )
        return
    table = Table(title="PostgreSQL installations", title_justify="left")
    for column in ("Version", "Directory", "Server", "Programs"):
        table.add_column(column)
    for inst in installations:
        table.add_row(
            inst.version,
            str(inst.bindir),
            "yes" if inst.has_server else "no",
            ", ".join(sorted(inst.tools)),
        )
    stdout().print(table)
    if not installations:
        stdout().print(
            "No PostgreSQL programs found. Install Debian's postgresql package, or "
            "set REPRISE_PG_BINDIR."
        )
