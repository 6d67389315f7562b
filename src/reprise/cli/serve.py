"""``reprise serve``: the long-running service (monitor and scheduled jobs), and whether it
runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from reprise.errors import EXIT_FAILED

if TYPE_CHECKING:
    from typing import Any

    from reprise.plan.model import Plan


class _RunByDefault(TyperGroup):
    """``reprise serve`` alone means ``serve run``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    help="The service: `reprise serve` runs the monitor and the scheduled jobs until "
    "SIGTERM; `reprise serve status` says whether one runs.",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _when(plan: Plan, value: datetime | None) -> str:
    from reprise.cli.output import local_time

    return local_time(plan.organisation.timezone, value)


@app.command("run")
def serve_command(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen", help="Serve the web on HOST:PORT (default: the plan's web.listen)."
        ),
    ] = None,
    no_web: Annotated[bool, typer.Option("--no-web", help="Do not serve the web.")] = False,
) -> None:
    """Run the monitor (checks, alerts, incidents, progress reports), every scheduled job
    of the plan (`reprise schedule`) and the web (`web.listen`, default 127.0.0.1:8080)
    until SIGTERM or SIGINT. SIGHUP reloads the plan (an
    invalid plan is logged and the old one kept). Under systemd, it speaks the notify
    protocol (READY, WATCHDOG, STATUS)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.serve import ServeRequest, serve

    out = stdout()

    def started(summary: str) -> None:
        if not quiet:
            out.print(f"Service started: {summary}; SIGTERM or Ctrl-C stops.", highlight=False)

    with plan_state(ctx) as (loaded, store):
        from reprise.web.run import start_web

        request = ServeRequest(on_start=started, web=None if no_web else start_web, listen=listen)
        serve(loaded, store, request)
    if not quiet:
        out.print("Service stopped.")


@app.command("status")
def status_command(ctx: typer.Context, json: JsonOption = False) -> None:
    """Whether a service runs: its host, pid, last heartbeat, running jobs and scheduling
    lag. Exit 0 when one runs, 1 otherwise."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.serve import service_state

    with plan_state(ctx) as (loaded, store):
        state = service_state(store)
    if json:
        print_json(state.to_dict())
    else:
        out = stdout()
        running = state.running
        if running is None:
            last = state.instances[0] if state.instances else None
            out.print(
                "No service running"
                + ("" if last is None else f" (last heard from {_when(loaded.plan, last.beat_at)})")
                + ": start it with `reprise serve` or `systemctl start reprise`.",
                markup=False,
            )
        else:
            age = (state.now - running.beat_at).total_seconds()
            jobs = running.details.get("running_jobs") or []
            lag = running.details.get("lag") or {}
            out.print(
                f"Service running on {running.host} (pid {running.pid}, version "
                f"{running.version}) since {_when(loaded.plan, running.started_at)}; "
                f"last heartbeat {age:.0f} s ago.",
                markup=False,
            )
            out.print(f"Running jobs: {', '.join(jobs) if jobs else 'none'}.", markup=False)
            if lag.get("runs"):  # no checks, no lag to speak of
                out.print(
                    f"Check scheduling lag over the last minute: p99 {lag.get('p99_ms')} ms, "
                    f"max {lag.get('max_ms')} ms.",
                    markup=False,
                )
    if state.running is None:
        raise typer.Exit(EXIT_FAILED)
