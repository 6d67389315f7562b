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
    from reprise.words import say

    with plan_state(ctx) as (loaded, store):
        found = list_alerts(store, AlertListRequest(all=all_))
    language = loaded.plan.organisation.language
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
        out.print(
            say(language, "terminal.no_alerts" if all_ else "terminal.no_open_alerts"),
            markup=False,
        )
    else:
        table = Table(box=None, pad_edge=False)
        for column in _columns(language, "terminal.alert_columns"):
            table.add_column(column, overflow="fold")
        for a in alerts:
            notified = (
                _when(a.notified_at)
                if a.notified_at
                else (
                    say(language, "terminal.held_by_root", root=a.root)
                    if a.root
                    else say(language, "terminal.digest_at", time=_when(a.digest_due))
                    if a.digest_due
                    else "—"
                )
            )
            acked = f"{_when(a.acked_at)} {a.acked_by}" if a.acked_at else "—"
            table.add_row(
                str(a.id),
                a.service,
                a.priority,
                _alert_kind(language, a.kind),
                _when(a.opened_at),
                notified,
                str(a.level),
                acked,
                _when(a.resolved_at),
                a.message,
            )
        out.print(table)
    if failures:
        out.print(f"\n[bold red]{say(language, 'terminal.failed_deliveries')}[/]")
        for d in failures:
            line = say(
                language,
                "terminal.delivery_failed",
                time=_when(d.at),
                kind=_named(language, "kind", d.kind),
                role=d.role,
                contact=d.contact,
                attempts=d.attempts,
                error=d.error,
            )
            out.print(f"  {line}", markup=False, highlight=False)


def _columns(language: str, key: str) -> list[str]:
    """A table's headers in the plan's language (one catalog text, ``|`` between them)."""
    from reprise.words import say

    return say(language, key).split("|")


def _named(language: str, family: str, value: str) -> str:
    """A state or a message kind (``family``: ``state``, ``kind``) in the plan's language;
    one the catalog does not know shows as it is (an identifier)."""
    from reprise.words import words

    return words(language).get(f"terminal.{family}_{value}", value)


def _alert_kind(language: str, kind: str) -> str:
    """An alert's kind (``down``, ``degraded``: states; ``flapping``: a message kind)."""
    from reprise.words import words

    known = words(language)
    return known.get(f"terminal.state_{kind}") or known.get(f"terminal.kind_{kind}", kind)


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
    from reprise.words import say

    with plan_state(ctx) as (loaded, store):
        alerts = acknowledge(store, AckRequest(target, who(by)))
    language = loaded.plan.organisation.language
    for alert in alerts:
        stdout().print(
            say(
                language,
                "terminal.acked",
                id=alert.id,
                service=alert.service,
                kind=_alert_kind(language, alert.kind),
                by=alert.acked_by,
                time=_when(alert.acked_at),
            ),
            markup=False,
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
    from reprise.usecases.alerts import SilenceRequest, add_silence
    from reprise.words import say
    from reprise.words.format import duration

    request = SilenceRequest(service, for_, reason, who(by))
    with plan_state(ctx) as (loaded, store):
        added = add_silence(loaded.plan, store, request)
    language = loaded.plan.organisation.language
    silence = added.silence
    stdout().print(
        say(
            language,
            "terminal.silence_added",
            id=silence.id,
            service=service,
            duration=duration(added.duration, language),
            until=_when(silence.ends_at),
        ),
        markup=False,
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
    from reprise.words import say

    with plan_state(ctx) as (loaded, store):
        silences = list_silences(store, SilenceListRequest(all=all_))
    if json:
        print_json([s.to_dict() for s in silences])
        return
    language = loaded.plan.organisation.language
    if not silences:
        stdout().print(
            say(language, "terminal.no_silences" if all_ else "terminal.no_active_silences"),
            markup=False,
        )
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in _columns(language, "terminal.silence_columns"):
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
    from reprise.words import say

    with plan_state(ctx) as (loaded, store):
        remove_silence(store, SilenceRemoveRequest(silence_id))
    language = loaded.plan.organisation.language
    stdout().print(say(language, "terminal.silence_ended", id=silence_id), markup=False)
