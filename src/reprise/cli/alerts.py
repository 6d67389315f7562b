"""``reprise alert`` (list, ack, test) and ``reprise silence`` (add, list, remove)."""

from __future__ import annotations

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
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M}"


@alert_app.command("list")
def alert_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Resolved alerts too.")] = False,
    json: JsonOption = False,
) -> None:
    """Open alerts (or all with --all), and recent failed deliveries."""
    from reprise.alerts.records import list_alerts, list_deliveries
    from reprise.cli.context import open_state
    from reprise.cli.output import print_json, stdout

    _, store = open_state(ctx)
    try:
        alerts = list_alerts(store, open_only=not all_)
        failures = list_deliveries(store, failed_only=True, limit=20)
    finally:
        store.close()
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
            "Opened (UTC)",
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
    from reprise.alerts.records import acknowledge
    from reprise.cli.context import open_state
    from reprise.cli.output import stdout
    from reprise.store.events import append_event

    _, store = open_state(ctx)
    try:
        person = who(by)
        alerts = acknowledge(store, target, person)
        for alert in alerts:
            append_event(store, "alert.acked", alert.service, {"alert": alert.id, "by": person})
    finally:
        store.close()
    for alert in alerts:
        stdout().print(
            f"Alert {alert.id} ({alert.service}, {alert.kind}) acknowledged by "
            f"{alert.acked_by} at {_when(alert.acked_at)} UTC.",
            highlight=False,
        )


@alert_app.command("test")
def alert_test(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Argument(help="Only this role's contacts.")] = None,
    json: JsonOption = False,
) -> None:
    """Send a test message to every contact (of one role, or of all) and report which
    failed. Exit 0 when all were delivered, 1 otherwise."""
    import asyncio

    from reprise.alerts.delivery import send_to_roles
    from reprise.alerts.messages import Notification, Writer
    from reprise.cli.context import open_state
    from reprise.cli.output import print_json, stdout
    from reprise.errors import InputError

    loaded, store = open_state(ctx)
    plan = loaded.plan
    roles = [r.id for r in plan.roles]
    if role is not None and role not in roles:
        store.close()
        raise InputError(f"unknown role {role!r}", hint=f"use one of: {', '.join(roles)}")
    chosen = [role] if role else roles
    writer = Writer(plan)

    async def send_all() -> list[Any]:
        outcomes: list[Any] = []
        for one in chosen:
            subject, body = writer.test(one)
            outcomes += await send_to_roles(
                plan, store, Notification("test", (one,), subject, body)
            )
        return outcomes

    try:
        records = asyncio.run(send_all())
    finally:
        store.close()
    if not records:
        raise InputError(
            "no contacts to test" + (f" in role {role!r}" if role else ""),
            hint="add contacts (Apprise URLs) to the members of roles: in the plan",
        )
    if json:
        print_json([r.to_dict() for r in records])
    else:
        out = stdout()
        for r in records:
            verdict = (
                "[green]sent[/]" if r.ok else f"[red]FAILED[/] after {r.attempts} tries: {r.error}"
            )
            out.print(f"{r.role:<20} {r.contact:<40} {verdict}", highlight=False)
        failed = sum(1 for r in records if not r.ok)
        out.print(f"{len(records) - failed} of {len(records)} contacts reached.")
    if any(not r.ok for r in records):
        raise typer.Exit(EXIT_FAILED)


@silence_app.command("add")
def silence_add(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="The service to silence.")],
    for_: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d…")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in status and lists).")],
    by: ByOption = None,
) -> None:
    """Hold a service's alerts back for a while; its checks still run and are recorded."""
    from datetime import UTC, datetime

    from pydantic_core import PydanticCustomError

    from reprise.alerts.records import add_silence
    from reprise.cli.context import open_state, require_services
    from reprise.cli.output import stdout
    from reprise.errors import InputError
    from reprise.plan.units import format_duration, parse_duration
    from reprise.store.events import append_event

    try:
        duration = parse_duration(for_)
    except PydanticCustomError as error:
        hint = (error.context or {}).get("hint") or "write a duration such as 30m, 2h or 1d"
        raise InputError(f"--for {for_!r}: {error.message()}", hint=hint) from None
    if not reason.strip():
        raise InputError("--reason is empty", hint="say why, e.g. --reason 'disk replacement'")
    loaded, store = open_state(ctx)
    try:
        require_services(loaded.plan, [service])
        now = datetime.now(UTC)
        silence = add_silence(store, service, now, now + duration, reason.strip(), who(by))
        append_event(store, "silence.added", service, silence.to_dict())
    finally:
        store.close()
    stdout().print(
        f"Silence {silence.id}: alerts of {service} held back for "
        f"{format_duration(duration)}, until {_when(silence.ends_at)} UTC.",
        highlight=False,
    )


@silence_app.command("list")
def silence_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Ended silences too.")] = False,
    json: JsonOption = False,
) -> None:
    """Silences in force (or all with --all)."""
    from datetime import UTC, datetime

    from reprise.alerts.records import list_silences
    from reprise.cli.context import open_state
    from reprise.cli.output import print_json, stdout

    _, store = open_state(ctx)
    try:
        silences = list_silences(store, active_at=None if all_ else datetime.now(UTC))
    finally:
        store.close()
    if json:
        print_json([s.to_dict() for s in silences])
        return
    if not silences:
        stdout().print("No silences in force." if not all_ else "No silences.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("Id", "Service", "From (UTC)", "Until (UTC)", "By", "Reason"):
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
    from reprise.alerts.records import end_silence
    from reprise.cli.context import open_state
    from reprise.cli.output import stdout

    _, store = open_state(ctx)
    try:
        end_silence(store, silence_id)
    finally:
        store.close()
    stdout().print(f"Silence {silence_id} ended.")
