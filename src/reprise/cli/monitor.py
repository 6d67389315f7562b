"""``reprise status``, ``reprise check`` and ``reprise monitor``: run the plan's checks once,
one service's checks in detail, or watch continuously and alert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from reprise.errors import EXIT_FAILED

if TYPE_CHECKING:
    from reprise.usecases.monitor import DeliveryRecord, MonitorScope
    from reprise.usecases.serve import ServiceState
    from reprise.usecases.status import ServiceStatus

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
STATE_STYLE = {
    "up": "green",
    "degraded": "yellow",
    "down": "bold red",
    "impacted": "magenta",
    "unknown": "dim",
}


def _latency(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


def status_command(
    ctx: typer.Context,
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Only these services (repeatable).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Run every check once and show each service's state (like the seed's status.sh).

    A service whose dependency is down shows as *impacted* and names that dependency.
    Exit 0 when every checked service is up, 1 otherwise.
    """
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.status import StatusRequest, status
    from reprise.words import say

    with plan_state(ctx) as (loaded, store):
        result = status(loaded.plan, store, StatusRequest(tuple(service or ())))
    statuses = result.statuses
    language = loaded.plan.organisation.language
    if json:
        print_json([status.to_dict() for status in statuses])
    else:
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for column in say(language, "terminal.status_columns").split("|"):
            table.add_column(column, overflow="fold")
        for one in statuses:
            shown = one.display_state
            state = f"[{STATE_STYLE[shown]}]{_escape(_named(language, 'state', shown))}[/]"
            if one.root:
                state += f" ({', '.join(one.root)})"
            message = _escape(
                one.message if one.checks else say(language, "terminal.no_checks")
            ) + (f" [dim]({_escape(note)})[/]" if (note := _paused(one, language)) else "")
            table.add_row(one.id, one.priority, state, _latency(one.latency), message)
        stdout().print(table)
        checked = result.checked
        healthy = sum(1 for s in checked if s.state == "up")
        stdout().print(
            say(language, "terminal.services_up", up=healthy, total=len(checked)), markup=False
        )
        _print_service(result.service, loaded.plan.organisation.timezone, language)
    if not result.all_up:
        raise typer.Exit(EXIT_FAILED)


def _paused(status: Any, language: str) -> str | None:
    """The maintenance window or silence in force on a service, in the plan's words."""
    from reprise.cli.output import shown
    from reprise.words import say

    if status.paused == "maintenance":
        return say(language, "terminal.paused_maintenance", reason=status.paused_reason)
    if status.paused == "silence":
        return say(
            language,
            "terminal.paused_silence",
            until=shown(status.paused_until),
            reason=status.paused_reason,
        )
    return None


def _print_service(state: ServiceState | None, zone: str, language: str) -> None:
    """Whether `reprise serve` runs: without it nothing runs the schedules or alerts."""
    from reprise.cli.output import local_time, stdout
    from reprise.words import say
    from reprise.words.format import duration

    if state is None:
        return
    running = state.running
    if running is None:
        last = state.instances[0] if state.instances else None
        stopped = (
            say(language, "terminal.service_not_running")
            if last is None
            else say(
                language,
                "terminal.service_not_running_since",
                time=local_time(zone, last.beat_at),
            )
        )
        stdout().print(
            say(language, "terminal.service_needed", stopped=f"[yellow]{_escape(stopped)}[/]"),
            highlight=False,
        )
        return
    age = (state.now - running.beat_at).total_seconds()
    stdout().print(
        say(
            language,
            "terminal.service_running",
            host=running.host,
            pid=running.pid,
            age=duration(age, language),
        ),
        markup=False,
        highlight=False,
    )


def check_command(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="The service whose checks to run.")],
    json: JsonOption = False,
) -> None:
    """Run one service's checks once and show every detail (exit 0 up, 1 otherwise)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json
    from reprise.usecases.status import CheckRequest, check

    with plan_state(ctx) as (loaded, store):
        status = check(loaded.plan, store, CheckRequest(service))
    if json:
        print_json(status.to_dict())
    else:
        _print_detail(status, loaded.plan.organisation.language)
    if status.checks and status.state != "up":
        raise typer.Exit(EXIT_FAILED)


def _print_detail(status: ServiceStatus, language: str) -> None:
    from reprise.cli.output import stdout
    from reprise.words import say

    out = stdout()
    shown = status.display_state
    out.print(
        say(
            language,
            "terminal.check_heading",
            name=f"[bold]{_escape(status.name)}[/]",
            id=_escape(status.id),
            priority=status.priority,
            category=_escape(status.category),
            state=f"[{STATE_STYLE[shown]}]{_escape(_named(language, 'state', shown))}[/]",
        )
    )
    if status.root:
        caused = say(language, "terminal.caused_by", services=", ".join(status.root))
        out.print(f"  {caused}", markup=False)
    if note := _paused(status, language):
        out.print(f"  {note}", markup=False)
    if not status.checks:
        out.print(f"  {say(language, 'terminal.no_checks')}", markup=False)
    width = max(len(_named(language, "state", state)) for state in STATE_STYLE)
    indent = " " * (width + 3)  # under the check's name
    for line in status.checks:
        result = line.result
        state = f"{_named(language, 'state', result.state):<{width}}"
        out.print(
            f"  [{STATE_STYLE[result.state]}]{_escape(state)}[/] {line.name} "
            f"[dim]({line.kind}, {_latency(result.latency)})[/]"
        )
        out.print(f"{indent}{result.message}", highlight=False)
        for key, value in result.details.items():
            if key != "output":
                out.print(f"{indent}[dim]{key}:[/] {value}", highlight=False)


def monitor_command(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Watch every service until SIGTERM or SIGINT: run the checks on their schedules,
    record results and state changes, and send alerts (escalation, digests, recovery).

    Stops cleanly: checks in flight are cancelled, results written, deliveries in flight
    given 10 seconds.
    """
    from functools import partial

    from reprise.cli.context import plan_state
    from reprise.cli.output import shown, stdout, verbosity
    from reprise.usecases.monitor import MonitorRequest, watch
    from reprise.words import say

    out = stdout()
    quiet = quiet or verbosity().quiet  # the root's --quiet says the same

    def started(language: str, scope: MonitorScope) -> None:
        if not quiet:
            out.print(
                say(language, "terminal.watching", services=scope.services, checks=scope.checks),
                markup=False,
                highlight=False,
            )

    def changed(language: str, service: str, old: str, new: str, at: Any) -> None:
        if not quiet:
            style = STATE_STYLE.get(new, "")
            out.print(
                say(
                    language,
                    "terminal.changed",
                    time=shown(at, seconds=True),
                    service=_escape(service),
                    old=_escape(_named(language, "state", old)),
                    new=f"[{style}]{_escape(_named(language, 'state', new))}[/]"
                    if style
                    else _escape(_named(language, "state", new)),
                ),
                highlight=False,
            )

    def delivered(language: str, record: DeliveryRecord) -> None:
        if not quiet or not record.ok:
            verdict = (
                say(language, "terminal.sent")
                if record.ok
                else say(language, "terminal.gave_up", attempts=record.attempts, error=record.error)
            )
            out.print(
                say(
                    language,
                    "terminal.delivered",
                    time=shown(record.at, seconds=True),
                    kind=_named(language, "kind", record.kind),
                    role=record.role,
                    contact=record.contact,
                    verdict=verdict,
                    subject=record.subject,
                ),
                markup=False,
                highlight=False,
            )

    with plan_state(ctx) as (loaded, store):
        language = loaded.plan.organisation.language
        request = MonitorRequest(
            on_start=partial(started, language),
            on_change=partial(changed, language),
            on_delivery=partial(delivered, language),
        )
        watch(loaded.plan, store, request)
    if not quiet:
        out.print(say(language, "terminal.stopped"), markup=False, highlight=False)


def _named(language: str, family: str, value: str) -> str:
    """A state or a message kind (``family``: ``state``, ``kind``) in the plan's language;
    one the catalog does not know shows as it is (an identifier)."""
    from reprise.words import words

    return words(language).get(f"terminal.{family}_{value}", value)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
