"""``reprise web``: the web interface, the JSON API, the status page and the metrics, on
their own (without the monitor and the jobs, which `reprise serve` runs with the web)."""

from __future__ import annotations

from typing import Annotated

import typer


def web_command(
    ctx: typer.Context,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen", help="HOST:PORT (default: the plan's web.listen, 127.0.0.1:8080)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Serve the web alone until SIGTERM or Ctrl-C: pages for the plan's members (sign in
    with `reprise user passwd LOGIN`), the public /status page, heartbeat /ping URLs, the
    JSON API (/api/v1) and /metrics. Runs asked for here wait for a `reprise serve`."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.web.run import WebRequest, web

    out = stdout()

    def started(address: str) -> None:
        if not quiet:
            out.print(f"Web listening on http://{address}/ ; Ctrl-C stops.", markup=False)

    with plan_state(ctx) as (loaded, store):
        web(loaded.plan, store, WebRequest(listen, started))
    if not quiet:
        out.print("Web stopped.")
