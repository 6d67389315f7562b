"""``reprise incident``: open, follow and close incidents; their recovery plan, next
actions and reports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reprise.cli.context import ByOption, who
from reprise.cli.values import ROW_ID_MAX

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.usecases.incidents import Incident

app = typer.Typer(
    no_args_is_help=True,
    help="Incidents: the live recovery plan, element states, tasks, timeline and reports.",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
IncidentArg = Annotated[int, typer.Argument(help="Incident number.", min=1, max=ROW_ID_MAX)]
STATE_STYLE = {"down": "red", "degraded": "yellow", "up": "green", "unknown": "dim"}


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _pairs(values: list[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise typer.BadParameter(f"{value!r}: write SERVICE=VALUE", param_hint=option)
        pairs.append((name.strip(), rest.strip()))
    return pairs


def _when(plan: Plan, value: datetime | None) -> str:
    from zoneinfo import ZoneInfo

    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(plan.organisation.timezone)).strftime("%Y-%m-%d %H:%M")


@app.command("open")
def incident_open(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What happened, e.g. 'Coupure électrique'.")],
    services: Annotated[
        str | None,
        typer.Option(
            "--services", help="Affected services, comma-separated (more can join later)."
        ),
    ] = None,
    cause: Annotated[str | None, typer.Option(help="The cause, if known.")] = None,
    commander: Annotated[
        str | None,
        typer.Option(help="Who leads the recovery (default: the plan's first admin role)."),
    ] = None,
    by: ByOption = None,
    json: JsonOption = False,
) -> None:
    """Open an incident by hand (the monitor opens them on its own for P1/P2 failures)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.incidents import OpenRequest, open_incident

    request = OpenRequest(title, who(by), tuple(_split(services)), cause, commander)
    with plan_state(ctx) as (loaded, store):
        incident = open_incident(loaded.plan, store, request)
    if json:
        print_json(incident.to_dict())
        return
    stdout().print(
        f"Incident {incident.id} opened: {incident.title} ({incident.severity}, "
        f"{len(incident.services)} service(s), {len(incident.tasks)} task(s)).",
        markup=False,
        highlight=False,
    )
    stdout().print(
        f"Recovery order: `reprise incident plan {incident.id}`; what to do now: "
        f"`reprise incident next {incident.id}`.",
        markup=False,
        highlight=False,
    )


@app.command("list")
def incident_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Closed incidents too.")] = False,
    json: JsonOption = False,
) -> None:
    """Open incidents (all with --all), newest first."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.incidents import IncidentListRequest, list_incidents

    with plan_state(ctx) as (loaded, store):
        found = list_incidents(store, IncidentListRequest(all=all_))
    if json:
        print_json({"incidents": [incident.summary() for incident in found]})
        return
    if not found:
        stdout().print("No open incidents." if not all_ else "No incidents.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("#", "severity", "status", "opened", "title", "services (down/up)"):
        table.add_column(column)
    for incident in found:
        up = sum(1 for s in incident.services if s.state == "up")
        table.add_row(
            str(incident.id),
            incident.severity,
            incident.status,
            _when(loaded.plan, incident.opened_at),
            incident.title,
            f"{len(incident.services) - up}/{up}",
        )
    stdout().print(table)


@app.command("show")
def incident_show(ctx: typer.Context, incident_id: IncidentArg, json: JsonOption = False) -> None:
    """Everything about an incident: services, tasks and timeline."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json
    from reprise.usecases.incidents import IncidentRequest, show_incident

    with plan_state(ctx) as (loaded, store):
        plan, incident = loaded.plan, show_incident(store, IncidentRequest(incident_id))
    if json:
        print_json(incident.to_dict())
        return
    _print_incident(plan, incident)


def _print_incident(plan: Plan, incident: Incident) -> None:
    from rich.table import Table
    from rich.text import Text

    from reprise.cli.output import stdout

    out = stdout()
    out.print(Text(f"Incident {incident.id}: {incident.title}", style="bold"))
    out.print(
        f"{incident.severity}, {incident.status}; opened {_when(plan, incident.opened_at)}"
        f" by {incident.opened_by}"
        + (f", closed {_when(plan, incident.closed_at)}" if incident.closed_at else "")
        + f"; commander {incident.commander or '—'}",
        markup=False,
        highlight=False,
    )
    if incident.cause:
        out.print(f"Cause: {incident.cause}", markup=False, highlight=False)
    services = Table(title="Services", box=None, pad_edge=False, title_justify="left")
    for column in ("service", "state", "since", "target", "resolved"):
        services.add_column(column)
    for entry in incident.services:
        history = incident.history(entry.service)
        services.add_row(
            entry.service,
            Text(entry.state, STATE_STYLE.get(entry.state, "")),
            _when(plan, history[-1].at if history else entry.added_at),
            _when(plan, entry.target_at),
            _when(plan, entry.resolved_at),
        )
    out.print(services)
    tasks = Table(title="Tasks", box=None, pad_edge=False, title_justify="left")
    for column in ("id", "service", "task", "role", "status"):
        tasks.add_column(column)
    for task in incident.tasks:
        tasks.add_row(
            str(task.id), task.service or "—", Text(task.title), task.role or "—", task.status
        )
    out.print(tasks)
    timeline = Table(title="Timeline", box=None, pad_edge=False, title_justify="left")
    for column in ("time", "author", "event"):
        timeline.add_column(column)
    for event in incident.timeline:
        timeline.add_row(_when(plan, event.at), Text(event.author), Text(event.text))
    out.print(timeline)


@app.command("update")
def incident_update(
    ctx: typer.Context,
    incident_id: IncidentArg,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    cause: Annotated[str | None, typer.Option(help="The cause, once known.")] = None,
    commander: Annotated[str | None, typer.Option(help="Who leads the recovery.")] = None,
    add: Annotated[
        str | None, typer.Option("--add", help="Services to add, comma-separated.")
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            metavar="SERVICE=STATE",
            help="Set a state by hand: down, degraded or up (repeatable).",
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            metavar="SERVICE=TIME",
            help="Change when a service is expected back, "
            "e.g. 'mail=2026-11-21 18:00' (plan time "
            "zone; repeatable).",
        ),
    ] = None,
    by: ByOption = None,
) -> None:
    """Change an open incident: title, cause, commander, services, states, targets."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.incidents import UpdateRequest, update_incident

    request = UpdateRequest(
        incident_id,
        who(by),
        title=title,
        cause=cause,
        commander=commander,
        add=tuple(_split(add)),
        state=tuple(_pairs(state, "--state")),
        target=tuple(_pairs(target, "--target")),
    )
    with plan_state(ctx) as (loaded, store):
        done = update_incident(loaded.plan, store, request)
    stdout().print(
        f"Incident {incident_id} updated"
        + (f"; added {', '.join(done.added)}" if done.added else "")
        + (f"; state set for {', '.join(done.changed)}" if done.changed else "")
        + (f"; target changed for {', '.join(done.targeted)}" if done.targeted else "")
        + ".",
        markup=False,
        highlight=False,
    )


@app.command("note")
def incident_note(
    ctx: typer.Context,
    incident_id: IncidentArg,
    text: Annotated[str, typer.Argument(help="What to record.")],
    by: ByOption = None,
) -> None:
    """Add a note to an incident's timeline."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.incidents import NoteRequest, add_note

    with plan_state(ctx) as (_, store):
        add_note(store, NoteRequest(incident_id, text, who(by)))
    stdout().print(f"Note added to incident {incident_id}.")


@app.command("task")
def incident_task(
    ctx: typer.Context,
    incident_id: IncidentArg,
    task_id: Annotated[
        int, typer.Argument(help="Task id (`reprise incident show N`).", min=1, max=ROW_ID_MAX)
    ],
    status: Annotated[str, typer.Argument(help="todo, doing, done or skipped.")],
    note: Annotated[str | None, typer.Option(help="Why (required to skip).")] = None,
    by: ByOption = None,
) -> None:
    """Move a task to todo, doing, done or skipped."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.incidents import TaskRequest, move_task

    with plan_state(ctx) as (_, store):
        move_task(store, TaskRequest(incident_id, task_id, status, who(by), note))
    stdout().print(f"Task {task_id} of incident {incident_id}: {status}.", markup=False)


@app.command("close")
def incident_close(
    ctx: typer.Context,
    incident_id: IncidentArg,
    note: Annotated[str | None, typer.Option(help="Closing note.")] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Close although services are not back up or manual tasks are open "
            "(listed as unresolved and as follow-ups).",
        ),
    ] = False,
    by: ByOption = None,
) -> None:
    """Close an incident: the final report is written and sent to the audiences."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.incidents import CloseRequest, close_incident

    request = CloseRequest(incident_id, who(by), note, force)
    with plan_state(ctx) as (loaded, store):
        closed = close_incident(loaded.plan, store, request)
    out = stdout()
    out.print(f"Incident {incident_id} closed.", markup=False)
    for path in closed.paths:
        out.print(f"Final report: {path}", markup=False, highlight=False)
    for record in closed.deliveries:
        outcome = "sent" if record.ok else f"FAILED: {record.error}"
        out.print(
            f"  report to {record.role} ({record.contact}): {outcome}",
            markup=False,
            highlight=False,
        )


@app.command("report")
def incident_report(
    ctx: typer.Context,
    incident_id: IncidentArg,
    format_: Annotated[str, typer.Option("--format", help="md or html.")] = "md",
    lang: Annotated[
        str | None, typer.Option("--lang", help="fr or en (default: the plan's language).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="final or progress (default: progress while open, final once closed)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of the terminal."),
    ] = None,
) -> None:
    """Render an incident's report now, in Markdown or HTML, in French or English."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.errors import InputError
    from reprise.usecases.incidents import ReportRequest, incident_report

    if kind not in (None, "final", "progress"):
        raise typer.BadParameter("use final or progress", param_hint="--kind")
    request = ReportRequest(incident_id, format_, lang, kind)
    with plan_state(ctx) as (loaded, store):
        text = incident_report(loaded.plan, store, request)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(
            f"{output}: cannot write ({error.strerror})", hint="choose a writable path"
        ) from error
    stdout().print(f"Report written to {output}.", markup=False, highlight=False)


@app.command("plan")
def incident_plan_command(
    ctx: typer.Context, incident_id: IncidentArg, json: JsonOption = False
) -> None:
    """The recovery plan: affected services in priority then dependency order, each with
    its tasks."""
    from rich.text import Text

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.incidents import IncidentRequest, recovery_plan

    with plan_state(ctx) as (loaded, store):
        plan = loaded.plan
        entries = recovery_plan(plan, store, IncidentRequest(incident_id)).entries
    if json:
        print_json({"incident": incident_id, "order": [e.to_dict() for e in entries]})
        return
    out = stdout()
    for entry in entries:
        line = Text(f"{entry.position}. {entry.service.id} ", style="bold")
        line.append(f"({entry.service.name}, {entry.recovery_priority}) ")
        line.append(entry.affected.state, STATE_STYLE.get(entry.affected.state, ""))
        line.append(f", target {_when(plan, entry.affected.target_at)}")
        if entry.waits_for:
            line.append(f", after {', '.join(entry.waits_for)}")
        out.print(line)
        for task in entry.tasks:
            out.print(Text(f"     [{task.status}] {task.id}. {task.title} ({task.role or '—'})"))


@app.command("next")
def incident_next(ctx: typer.Context, incident_id: IncidentArg, json: JsonOption = False) -> None:
    """What to do now, and who does it."""
    from rich.text import Text

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.incidents import IncidentRequest, next_steps

    with plan_state(ctx) as (loaded, store):
        found = next_steps(loaded.plan, store, IncidentRequest(incident_id))
    actions, waiting = found.actions, found.waiting
    if json:
        print_json(
            {
                "incident": incident_id,
                "actions": [a.to_dict() for a in actions],
                "waiting": [{"service": w.service, "waits_for": w.waits_for} for w in waiting],
            }
        )
        return
    out = stdout()
    if not actions and not waiting:
        out.print(
            f"Every service of incident {incident_id} is up: close it with "
            f"`reprise incident close {incident_id}`.",
            markup=False,
        )
        return
    for index, action in enumerate(actions):
        who_does = action.role or "—"
        if action.people:
            who_does += f" ({', '.join(action.people)})"
        label = "Now" if index == 0 else "Also"
        out.print(
            Text(
                f"{label}: {action.service}: {action.text} — {who_does}",
                style="bold" if index == 0 else "",
            )
        )
    for line in waiting:
        out.print(Text(f"Waiting: {line}", style="dim"))
