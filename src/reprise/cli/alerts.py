"""``reprise alert`` (list, ack, test) and ``reprise silence`` (add, list, remove)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from reprise.cli.context import ByOption, who
from reprise.cli.values import ROW_ID_MAX
from reprise.errors import EXIT_FAILED

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

alert_app = typer.Typer(no_args_is_help=True, help="Alerts: list, acknowledge, test the contacts.")
silence_app = typer.Typer(
    no_args_is_help=True,
    help="Silences: hold a service's alerts back for a while (checks still run).",
)


def _when(value: Any) -> str:
    from reprise.cli.output import shown

    return shown(value)


@alert_app.command("list")
def alert_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Resolved alerts too.")] = False,
    json: JsonOption = False,
) -> None:
    """Open alerts (or all with --all), and recent failed deliveries."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.alerts import AlertListRequest, list_alerts

    with plan_state(ctx) as (_, store):
        found = list_alerts(store, AlertListRequest(all=all_))
    alerts, failures = found.alerts, found.failed_deliveries
    if json:
        print_json(
            {
                "alerts": [a.to_dict() for a in alerts],
                "failed_deliveries": [d.to_dict() for d in failures],
            }
        )
        return
    from rich.table import Table

    out = stdout()
    if not alerts:
        out.print("No open alerts." if not all_ else "No alerts.")
    else:
        table = Table(box=None, pad_edge=False)
        for column in (
            "Id",
            "Service",
            "Prio",
            "Kind",
            "Opened",
            "Notified",
            "Level",
            "Acked",
            "Resolved",
            "Message",
        ):
            table.add_column(column, overflow="fold")
        for a in alerts:
            notified = (
                _when(a.notified_at)
                if a.notified_at
                else (
                    f"held: {a.root} down"
                    if a.root
                    else f"digest {_when(a.digest_due)}"
                    if a.digest_due
                    else "—"
                )
            )
            acked = f"{_when(a.acked_at)} {a.acked_by}" if a.acked_at else "—"
            table.add_row(
                str(a.id),
                a.service,
                a.priority,
                a.kind,
                _when(a.opened_at),
                notified,
                str(a.level),
                acked,
                _when(a.resolved_at),
                a.message,
            )
        out.print(table)
    if failures:
        out.print("\n[bold red]Failed deliveries[/]")
        for d in failures:
            out.print(
                f"  {_when(d.at)} {d.kind} to {d.role} ({d.contact}) after {d.attempts} "
                f"tries: {d.error}",
                highlight=False,
            )


@alert_app.command("ack")
def alert_ack(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="An alert id, or a service id (all its open alerts).")
    ],
    by: ByOption = None,
) -> None:
    """Acknowledge: someone is on it, escalation stops (recovery is still notified)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.alerts import AckRequest, acknowledge

    with plan_state(ctx) as (_, store):
        alerts = acknowledge(store, AckRequest(target, who(by)))
    for alert in alerts:
        stdout().print(
            f"Alert {alert.id} ({alert.service}, {alert.kind}) acknowledged by "
            f"{alert.acked_by} at {_when(alert.acked_at)}.",
            highlight=False,
        )


@alert_app.command("test")
def alert_test(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Argument(help="Only this role's contacts.")] = None,
    timeout: Annotated[
        str,
        typer.Option(
            help="Longest wait for each contact, e.g. 10s or 1m (one try each); the whole "
            "run takes at most about this times the number of contacts."
        ),
    ] = "10s",
    json: JsonOption = False,
) -> None:
    """Send a test message to every contact (of one role, or of all), one after the other,
    showing each as it goes (role, member, channel, then sent or why not, and how long it
    took). A placeholder contact (smtp.example.org) fails at once. Exit 0 when all were
    delivered, 1 otherwise."""
    from functools import partial

    from reprise.cli.context import CliState, plan_state
    from reprise.cli.output import print_json, stdout, verbosity
    from reprise.cli.values import duration_option
    from reprise.usecases.alerts import (
        AlertTestRequest,
        ContactTest,
        ContactTry,
        send_test_messages,
    )
    from reprise.words import say
    from reprise.words.format import duration

    seconds = duration_option("--timeout", timeout).total_seconds()
    out = stdout()
    live = not json and not verbosity().quiet

    def starting(tried: ContactTry) -> None:
        if live:
            out.print(
                f"{tried.role:<16} {tried.member} <{tried.contact}> ({tried.channel}) … ",
                end="",
                markup=False,
                highlight=False,
            )

    def done(language: str, tested: ContactTest) -> None:
        took = duration(tested.seconds, language, decimals=1)
        if live:
            failed = f"[red]{say(language, 'terminal.failed')}[/]"
            verdict = (
                f"[green]{say(language, 'terminal.sent')}[/]"
                if tested.ok
                else say(
                    language,
                    "terminal.failed_because",
                    failed=failed,
                    error=_escape(str(tested.record.error)),
                )
            )
            out.print(f"{verdict} ({took})", highlight=False)
        elif not json and not tested.ok:  # --quiet: the failures are the result
            tried = tested.tried
            out.print(
                say(
                    language,
                    "terminal.contact_failed",
                    role=tried.role,
                    member=tried.member,
                    contact=tried.contact,
                    error=tested.record.error,
                    took=took,
                ),
                markup=False,
                highlight=False,
            )

    state = ctx.find_object(CliState)
    logs = not live or verbosity().verbose or (state is not None and state.log_level_given)
    with plan_state(ctx) as (loaded, store), _delivery_logs(shown=logs):
        language = loaded.plan.organisation.language
        request = AlertTestRequest(
            role, seconds, on_start=starting, on_result=partial(done, language)
        )
        tested = send_test_messages(loaded.plan, store, request)
    failed = sum(1 for one in tested if not one.ok)
    if json:
        print_json([one.to_dict() for one in tested])
    elif live or failed:
        total = duration(sum(one.seconds for one in tested), language, decimals=1)
        out.print(
            say(
                language,
                "terminal.contacts_failed" if failed else "terminal.contacts_reached",
                reached=len(tested) - failed,
                total=len(tested),
                failed=failed,
                took=total,
            ),
            markup=False,
            highlight=False,
        )
    if failed:
        raise typer.Exit(EXIT_FAILED)


@contextmanager
def _delivery_logs(*, shown: bool) -> Iterator[None]:
    """Unless asked for (--verbose, --log-level), the delivery's own log lines (each
    failed try, Apprise's warnings) are held back while contacts are tested: each
    contact's line says it, and log lines on stderr would cut that line in two."""
    import logging

    if shown:
        yield
        return

    def keep(record: logging.LogRecord) -> bool:
        return not record.name.startswith(("apprise", "reprise.alerts.delivery"))

    handlers = list(logging.getLogger().handlers)  # where the CLI's log lines go
    for handler in handlers:
        handler.addFilter(keep)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(keep)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@silence_app.command("add")
def silence_add(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="The service to silence.")],
    for_: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d…")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in status and lists).")],
    by: ByOption = None,
) -> None:
    """Hold a service's alerts back for a while; its checks still run and are recorded."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.plan.units import format_duration
    from reprise.usecases.alerts import SilenceRequest, add_silence

    request = SilenceRequest(service, for_, reason, who(by))
    with plan_state(ctx) as (loaded, store):
        added = add_silence(loaded.plan, store, request)
    silence = added.silence
    stdout().print(
        f"Silence {silence.id}: alerts of {service} held back for "
        f"{format_duration(added.duration)}, until {_when(silence.ends_at)}.",
        highlight=False,
    )


@silence_app.command("list")
def silence_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Ended silences too.")] = False,
    json: JsonOption = False,
) -> None:
    """Silences in force (or all with --all)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.alerts import SilenceListRequest, list_silences

    with plan_state(ctx) as (_, store):
        silences = list_silences(store, SilenceListRequest(all=all_))
    if json:
        print_json([s.to_dict() for s in silences])
        return
    if not silences:
        stdout().print("No silences in force." if not all_ else "No silences.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("Id", "Service", "From", "Until", "By", "Reason"):
        table.add_column(column, overflow="fold")
    for s in silences:
        table.add_row(
            str(s.id), s.service, _when(s.starts_at), _when(s.ends_at), s.created_by, s.reason
        )
    stdout().print(table)


@silence_app.command("remove")
def silence_remove(
    ctx: typer.Context,
    silence_id: Annotated[int, typer.Argument(help="The silence's id.", min=1, max=ROW_ID_MAX)],
) -> None:
    """End a silence now."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.alerts import SilenceRemoveRequest, remove_silence

    with plan_state(ctx) as (_, store):
        remove_silence(store, SilenceRemoveRequest(silence_id))
    stdout().print(f"Silence {silence_id} ended.")
