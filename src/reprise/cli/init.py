"""Write a commented plan, a .env.example and fresh keys (age identity and recipient,
Ed25519 signing key), all mode 0600. Never overwrites a file without --force."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reprise.scaffold import EXAMPLES


def _example(value: str) -> str:
    if value not in EXAMPLES:
        raise typer.BadParameter(f"{value!r} is not an example; use one of: " + ", ".join(EXAMPLES))
    return value


def init_command(
    directory: Annotated[
        Path, typer.Argument(help="Where to write (created if missing).")
    ] = Path(),
    example: Annotated[
        str,
        typer.Option(
            "--example", "-e", callback=_example, help="Start from: " + ", ".join(EXAMPLES) + "."
        ),
    ] = "minimal",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace existing files (a replaced identity cannot decrypt older backups).",
        ),
    ] = False,
) -> None:
    from rich.markup import escape

    from reprise.cli.output import stdout
    from reprise.plan.loader import load_plan
    from reprise.scaffold import write_scaffold

    result = write_scaffold(directory, example, force=force)
    console = stdout()
    console.print(f"[green]✓[/] Wrote the {example!r} plan and keys in {escape(str(directory))}:")
    for path in result.files:
        console.print(f"  {escape(str(path))}  [dim](0600)[/]")
    console.print(f"\nage recipient (public): {result.recipient}")
    console.print(f"signing key fingerprint: {result.signing_fingerprint}")
    console.print(
        f"\n[bold]The age identity {escape(str(result.identity))} decrypts every backup.[/] "
        "Copy it somewhere offline (a password manager, a safe, an encrypted USB key) and "
        "delete it from hosts that only make backups: they need just keys/recipients.txt and "
        "keys/signing.key. Without the identity no backup can be restored; with it anyone "
        "can read them all."
    )
    loaded = load_plan(result.plan)
    console.print(
        f"\nNext: edit {escape(str(result.plan))}, copy .env.example to .env (chmod 600), "
        f"then `reprise plan validate {escape(str(result.plan))}` "
        f"[dim]({len(loaded.plan.services)} services defined)[/]."
    )
