"""``reprise keys``: which keys the plan uses (public parts and fingerprints only)."""

from __future__ import annotations

from typing import Annotated, Any

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
    from reprise.errors import InputError
    from reprise.repository import keys as keyring

    plan = load(ctx).plan
    recipients = keyring.recipients(plan.keys)
    info: dict[str, Any] = {"recipients": recipients, "signing_key": None, "identity": None}
    if plan.keys.signing_key is not None:
        signer = keyring.signing_key(plan.keys)
        info["signing_key"] = {"path": str(signer.path), "fingerprint": signer.fingerprint}
    trust = keyring.trusted_keys(plan.keys)
    info["trusted_signing_keys"] = [
        {"fingerprint": key.fingerprint, "origin": key.origin} for key in trust.keys
    ]
    if plan.keys.identity is not None:
        path = plan.keys.identity
        if path.exists():
            identities = keyring.identities(plan.keys)
            publics = [str(identity.to_public()) for identity in identities]
            info["identity"] = {
                "path": str(path),
                "present": True,
                "recipients": publics,
                "matches": [key for key in publics if key in recipients],
            }
        else:
            info["identity"] = {"path": str(path), "present": False}
    if json:
        print_json(info)
        return
    console = stdout()
    console.print("[bold]Age recipients[/] (backups are encrypted to each):")
    for recipient in recipients:
        console.print(f"  {recipient}")
    signing = info["signing_key"]
    if signing:
        console.print(f"[bold]Signing key[/] {signing['path']}\n  {signing['fingerprint']}")
    else:
        console.print("[bold]Signing key[/] none (this machine cannot make backups)")
    console.print(
        "[bold]Trusted signing keys[/] (verification accepts only these; the "
        "repository's file is never believed):"
    )
    for key in info["trusted_signing_keys"]:
        console.print(f"  {key['fingerprint']}  ({key['origin']})", markup=False)
    identity = info["identity"]
    if identity is None:
        console.print(
            "[bold]Identity[/] not configured (restores and deep verification run elsewhere)"
        )
    elif not identity["present"]:
        console.print(
            f"[bold]Identity[/] {identity['path']} is not on this machine "
            "(restores and deep verification need it)"
        )
    else:
        console.print(
            f"[bold]Identity[/] {identity['path']} (present; decrypts for "
            f"{', '.join(identity['recipients'])})"
        )
        if not identity["matches"]:
            raise InputError(
                "the identity decrypts none of the plan's recipients",
                hint="bring the identity whose public key is listed above",
            )
