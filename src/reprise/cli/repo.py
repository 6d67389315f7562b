"""``reprise repo``: create repositories and rebuild the catalog from them."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Backup repositories (local directories, S3 buckets).",
                  no_args_is_help=True)

NameArgument = Annotated[str | None, typer.Argument(
    help="Repository name from the plan; default: every repository of the plan.")]


@app.command("init")
def init_command(
    ctx: typer.Context,
    name: NameArgument = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Create the repository file, trusting the plan's recipients and signing key.

    Running it again on an initialised repository changes nothing.
    """
    from reprise.backup.repo_admin import init_repository
    from reprise.cli.context import load
    from reprise.cli.output import print_json, stdout

    plan = load(ctx).plan
    names = [name] if name else sorted(plan.repositories)
    results = [init_repository(plan, item) for item in names]
    if json:
        print_json([{"repository": result.repository, "where": result.where,
                     "created": result.created,
                     "signing_keys": [key.fingerprint for key in result.config.signing_keys],
                     "recipients": result.config.recipients} for result in results])
        return
    console = stdout()
    for result in results:
        state = "created" if result.created else "already initialised"
        keys = ", ".join(key.fingerprint for key in result.config.signing_keys)
        console.print(f"{result.repository}: {state} at {result.where} "
                      f"(signing key {keys}, {len(result.config.recipients)} recipient(s))")


@app.command("reindex")
def reindex_command(
    ctx: typer.Context,
    name: NameArgument = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Rebuild the backup catalog from the repository alone (a new machine, a lost state).

    Every manifest's signature is checked; incomplete and damaged folders are reported.
    """
    from reprise.backup.repo_admin import reindex
    from reprise.cli.context import open_state
    from reprise.cli.output import print_json, stdout
    from reprise.repository import open_repository

    loaded, store = open_state(ctx)
    try:
        names = [name] if name else sorted(loaded.plan.repositories)
        results = [reindex(store, open_repository(loaded.plan, item)) for item in names]
    finally:
        store.close()
    if json:
        print_json([result.to_dict() for result in results])
    else:
        console = stdout()
        for result in results:
            console.print(f"{result.repository}: {result.indexed} backup(s) indexed, "
                          f"{len(result.incomplete)} incomplete, {len(result.damaged)} damaged")
            for line in result.damaged:
                console.print(f"  damaged: {line}")
    if any(result.damaged for result in results):
        raise typer.Exit(3)
