"""``reprise repo``: create repositories, rebuild the catalog from them, accept recipients."""

from __future__ import annotations

from typing import Annotated

import typer

from reprise.cli.context import ByOption
from reprise.errors import EXIT_BAD_INPUT, EXIT_VERIFICATION_FAILED

app = typer.Typer(help="Backup repositories (local directories, S3 buckets).", no_args_is_help=True)

NameArgument = Annotated[
    str | None,
    typer.Argument(help="Repository name from the plan; default: every repository of the plan."),
]


@app.command("init")
def init_command(
    ctx: typer.Context,
    name: NameArgument = None,
    by: ByOption = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Create the repository file, recording the plan's recipients and signing key.

    The recipients become the repository's accepted set (kept in the state database).
    Running it again on an initialised repository changes nothing. The file is
    informational: verification trusts the plan's keys only.
    """
    from reprise.cli.context import plan_state, who
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.repository import InitRequest, init_repositories

    with plan_state(ctx) as (loaded, store):
        results = init_repositories(loaded.plan, store, InitRequest(name, who(by)))
    if json:
        print_json(
            [
                {
                    "repository": result.repository,
                    "where": result.where,
                    "created": result.created,
                    "signing_keys": [key.fingerprint for key in result.config.signing_keys],
                    "recipients": result.config.recipients,
                }
                for result in results
            ]
        )
        return
    console = stdout()
    for result in results:
        state = "created" if result.created else "already initialised"
        keys = ", ".join(key.fingerprint for key in result.config.signing_keys)
        console.print(
            f"{result.repository}: {state} at {result.where} "
            f"(signing key {keys}, {len(result.config.recipients)} recipient(s))"
        )


@app.command("reindex")
def reindex_command(
    ctx: typer.Context,
    name: NameArgument = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Rebuild the backup catalog from the repository alone (a new machine, a lost state).

    Every manifest's signature is checked against the keys the plan trusts. Folders that do
    not verify (damaged, signed by an untrusted key, renamed or moved, replayed from another
    repository) stay in the catalog, marked with why, until `reprise backup forget`; where
    the repository file disagrees with the plan, a warning says so. Exit 3 when any folder
    does not verify.
    """
    from rich.markup import escape

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stderr, stdout
    from reprise.usecases.repository import ReindexRequest, reindex

    with plan_state(ctx) as (loaded, store):
        results = reindex(loaded.plan, store, ReindexRequest(name))
    if json:
        print_json([result.to_dict() for result in results])
    else:
        console = stdout()
        for result in results:
            for warning in result.warnings:
                stderr().print(f"[yellow]warning:[/] {escape(warning)}")
            console.print(
                f"{result.repository}: {result.indexed} backup(s) indexed, "
                f"{len(result.incomplete)} incomplete, {len(result.problems)} "
                "kept with a problem"
            )
            for entry in result.problems:
                console.print(
                    f"  [red]{entry.problem}:[/] {entry.source}/{entry.backup_id}: "
                    f"{escape(entry.detail)}"
                )
            if result.problems:
                console.print(
                    "  (listed by `reprise backup list`, never restored; remove "
                    "each with `reprise backup forget ID` once examined)"
                )
    if any(result.problems for result in results):
        raise typer.Exit(EXIT_VERIFICATION_FAILED)


@app.command("recipients")
def recipients_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Repository name from the plan.")],
    accept: Annotated[
        bool,
        typer.Option("--accept", help="Make the plan's recipients the accepted set (journaled)."),
    ] = False,
    by: ByOption = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The age recipients backups of a repository are encrypted to: the accepted set
    against the plan's. A backup is refused while they differ; --accept records the
    plan's as the new accepted set (an `repository.recipients_accepted` event).

    Exit 0 when they agree (or were accepted), 2 when they differ.
    """
    from reprise.cli.context import plan_state, who
    from reprise.cli.output import print_json, shown, stdout
    from reprise.usecases.repository import RecipientsRequest, recipients

    with plan_state(ctx) as (loaded, store):
        outcome = recipients(loaded.plan, store, RecipientsRequest(name, accept, who(by)))
    diff = outcome.diff
    if json:
        print_json(outcome.to_dict())
    else:
        console = stdout()
        if diff.accepted is None:
            console.print(f"{name}: no accepted recipient set yet")
        elif diff.pin is not None:
            console.print(
                f"{name}: accepted set of {len(diff.accepted)} recipient(s) "
                f"({diff.pin.origin}, by {diff.pin.accepted_by}, "
                f"{shown(diff.pin.accepted_at)})"
            )
        for item in diff.added:
            console.print(f"  [green]+ {item}[/] (in the plan, not accepted)")
        for item in diff.removed:
            console.print(f"  [red]- {item}[/] (accepted, no longer in the plan)")
        if diff.same:
            console.print("  the plan's recipients are the accepted set")
        elif outcome.accepted_now:
            console.print(
                f"accepted: backups of {name} are now encrypted to the plan's "
                f"{len(diff.plan)} recipient(s)"
            )
        else:
            console.print(
                f"backups of {name} are refused until: reprise repo recipients {name} --accept"
            )
    if outcome.refused:
        raise typer.Exit(EXIT_BAD_INPUT)
