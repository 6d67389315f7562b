"""``reprise keys``: which keys the plan uses (public parts and fingerprints only)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Encryption and signing keys of the plan.", no_args_is_help=True)


@app.command("show")
def show_command(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Age recipients, the signing key's fingerprint, the signing keys verification trusts,
    and whether the identity is here.

    Never prints a secret. Compare the fingerprint with the one `reprise repo init`
    recorded, and keep the identity offline except where restores run.
    """
    from reprise.cli.context import load
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.keys import show_keys

    report = show_keys(load(ctx).plan)
    if json:
        print_json(report.to_dict())
        return
    console = stdout()
    console.print("[bold]Age recipients[/] (backups are encrypted to each):")
    for recipient in report.recipients:
        console.print(f"  {recipient}")
    signing = report.signing_key
    if signing:
        console.print(f"[bold]Signing key[/] {signing.path}\n  {signing.fingerprint}")
    else:
        console.print("[bold]Signing key[/] none (this machine cannot make backups)")
    console.print(
        "[bold]Trusted signing keys[/] (verification accepts only these; the "
        "repository's file is never believed):"
    )
    for key in report.trusted_signing_keys:
        console.print(f"  {key.fingerprint}  ({key.origin})", markup=False)
    identity = report.identity
    if identity is None:
        console.print(
            "[bold]Identity[/] not configured (restores and deep verification run elsewhere)"
        )
    elif not identity.present:
        console.print(
            f"[bold]Identity[/] {identity.path} is not on this machine "
            "(restores and deep verification need it)"
        )
    else:
        console.print(
            f"[bold]Identity[/] {identity.path} (present; decrypts for "
            f"{', '.join(identity.recipients)})"
        )
        error = report.identity_error()
        if error is not None:
            raise error
