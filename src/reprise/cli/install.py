"""``reprise install``: run Reprise under a service manager (systemd for now)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Run `reprise serve` under a service manager.")


@app.command("systemd")
def systemd_command(
    ctx: typer.Context,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the unit instead of installing it.")
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", help="Run the service as this user (default: root).")
    ] = None,
    unit_dir: Annotated[Path, typer.Option("--unit-dir", help="Where to write the unit.")] = Path(
        "/etc/systemd/system"
    ),
    no_enable: Annotated[
        bool,
        typer.Option("--no-enable", help="Write the unit only: no daemon-reload, no enable."),
    ] = False,
    command: Annotated[
        str | None,
        typer.Option(
            "--command",
            help="How systemd starts Reprise (default: this program, e.g. /usr/local/bin/reprise).",
        ),
    ] = None,
) -> None:
    """The systemd unit `reprise.service` for this plan: `reprise serve` as a notify service
    with a watchdog, `systemctl reload` re-reading the plan, and a sandbox that may write
    only to the state directory and the plan's local repositories. Writes it (0644), runs
    `systemctl daemon-reload` and `systemctl enable reprise.service`; exit 1 when systemd
    did not take it (the files are written and the commands to run are shown)."""
    import shlex
    import sys

    from reprise.cli.context import load
    from reprise.cli.output import stdout
    from reprise.usecases.install import SystemdRequest, install_systemd, render_units

    loaded = load(ctx, contacts=False)
    request = SystemdRequest(
        user=user,
        unit_dir=unit_dir,
        enable=not no_enable,
        command=shlex.split(command) if command else None,
    )
    if print_only:
        for unit in render_units(loaded, request):
            sys.stdout.write(unit.text)
        return
    out = stdout()
    result = install_systemd(loaded, request)
    for path in result.written:
        out.print(f"Wrote {path} (0644)", markup=False, highlight=False)
    for path in result.replaced:
        out.print(f"Replaced {path} (0644)", markup=False, highlight=False)
    if result.error is not None:
        raise result.error
    if result.enabled:
        out.print(
            "Enabled reprise.service: start it with `systemctl start reprise`, follow it "
            "with `journalctl -u reprise -f`.",
            markup=False,
            highlight=False,
        )
    else:
        out.print(
            "Not enabled: run `systemctl daemon-reload && systemctl enable --now reprise`.",
            markup=False,
            highlight=False,
        )
