"""``reprise incident``: open, follow and close incidents; their recovery plan, next
actions and reports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reprise.cli.context import ByOption, who
from reprise.cli.values import ROW_ID_MAX
from reprise.words import say, words

if TYPE_CHECKING:
    from reprise.incidents.records import Task
    from reprise.plan.model import Plan
    from reprise.usecases.incidents import Incident, NextAction

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


class _Words:
    """What the responder reads, in the plan's language: the ``incidentcli.*`` texts, the
    reports' labels (states, task statuses, actions), times, and task titles worded as the
    reports word them. ``--json`` output never goes through here."""

    def __init__(self, plan: Plan, titles: Mapping[int, list[Any]] | None = None) -> None:
        self.language = plan.organisation.language
        self.timezone = plan.organisation.timezone
        self.labels = words(self.language, "report")
        self.titles = titles or {}

    def __call__(self, key: str, **params: object) -> str:
        return say(self.language, f"incidentcli.{key}", **params)

    def when(self, value: datetime | None) -> str:
        """A time in the plan's zone and language, labelled (``26/11/2026 12:34 CET``)."""
        from reprise.words.format import stamp

        if value is None:
            return say(self.language, "clock.none")
        return stamp(value, self.language, self.timezone)

    def state(self, state: str) -> str:
        return self.labels.get(f"state_{state}", state)

    def status(self, status: str) -> str:
        return self.labels.get(f"task_{status}", status)

    def incident_status(self, status: str) -> str:
        return self.labels.get(f"status_{status}", status)

    def title(self, task: Task) -> str:
        """A task's title: Reprise's name for a step in catalog words, a plan's as written."""
        from reprise.reports.wording import reworded

        return reworded(self.language, self.titles.get(task.id), task.title)

    def action(self, action: NextAction) -> str:
        """What to do, in the words of the reports' "next actions"."""
        if action.task is None:
            return self.labels["action_check"].format(state=self.state(action.state).lower())
        key = "action_continue" if action.task.status == "doing" else "action_start"
        return self.labels[key].format(id=action.task.id, title=self.title(action.task))


def _marked(plan: Plan, incident: Incident) -> str:
    """The incident's title, behind ``[EXERCICE]``/``[EXERCISE]`` for an exercise."""
    if not incident.exercise:
        return incident.title
    return say(plan.organisation.language, "exercise.title_prefix") + incident.title


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
    exercise: Annotated[
        bool,
        typer.Option(
            "--exercise",
            help="An exercise: announced to communication.test_contacts only, every "
            "notification and report marked [EXERCISE]/[EXERCICE], kept apart from real "
            "incidents.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Open an incident by hand (the monitor opens them on its own for P1/P2 failures)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.incidents import OpenRequest, open_incident

    request = OpenRequest(
        title, who(by), tuple(_split(services)), cause, commander, exercise=exercise
    )
    with plan_state(ctx) as (loaded, store):
        incident = open_incident(loaded.plan, store, request)
    if json:
        print_json(incident.to_dict())
        return
    say_ = _Words(loaded.plan)
    stdout().print(
        say_(
            "opened",
            id=incident.id,
            title=_marked(loaded.plan, incident),
            severity=incident.severity,
            services=len(incident.services),
            tasks=len(incident.tasks),
        ),
        markup=False,
        highlight=False,
    )
    stdout().print(say_("opened_next", id=incident.id), markup=False, highlight=False)


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
    say_ = _Words(loaded.plan)
    if not found:
        stdout().print(say_("none" if all_ else "none_open"), markup=False)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False)
    table.add_column("#")
    for column in ("severity", "status", "opened", "title", "counts"):
        table.add_column(say_(f"col_{column}"))
    for incident in found:
        up = sum(1 for s in incident.services if s.state == "up")
        table.add_row(
            str(incident.id),
            incident.severity,
            say_.incident_status(incident.status),
            say_.when(incident.opened_at),
            Text(_marked(loaded.plan, incident)),
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
    from reprise.usecases.incidents import task_title_words

    say_ = _Words(plan, task_title_words(plan, incident))
    out = stdout()
    out.print(Text(say_("heading", id=incident.id, title=_marked(plan, incident)), style="bold"))
    out.print(
        say_(
            "summary",
            severity=incident.severity,
            status=say_.incident_status(incident.status),
            opened=say_.when(incident.opened_at),
            by=incident.opened_by,
        )
        + (
            say_("summary_closed", closed=say_.when(incident.closed_at))
            if incident.closed_at
            else ""
        )
        + say_("summary_commander", commander=incident.commander or "—"),
        markup=False,
        highlight=False,
    )
    if incident.cause:
        out.print(say_("cause", cause=incident.cause), markup=False, highlight=False)
    services = Table(title=say_("services"), box=None, pad_edge=False, title_justify="left")
    for column in ("service", "state", "since", "target", "resolved"):
        services.add_column(say_(f"col_{column}"))
    for entry in incident.services:
        history = incident.history(entry.service)
        services.add_row(
            entry.service,
            Text(say_.state(entry.state), STATE_STYLE.get(entry.state, "")),
            say_.when(history[-1].at if history else entry.added_at),
            say_.when(entry.target_at),
            say_.when(entry.resolved_at),
        )
    out.print(services)
    tasks = Table(title=say_.labels["tasks"], box=None, pad_edge=False, title_justify="left")
    for column in ("id", "service", "task", "role", "status"):
        tasks.add_column(say_(f"col_{column}"))
    for task in incident.tasks:
        tasks.add_row(
            str(task.id),
            task.service or "—",
            Text(say_.title(task)),
            task.role or "—",
            say_.status(task.status),
        )
    out.print(tasks)
    _print_timeline(say_, incident)


def _print_timeline(say_: _Words, incident: Incident) -> None:
    """The timeline, Reprise's own entries worded as the reports word them."""
    from rich.table import Table
    from rich.text import Text

    from reprise.cli.output import stdout
    from reprise.reports.incident import Event, timeline_text
    from reprise.words.format import zone_of

    zone = zone_of(say_.timezone)
    timeline = Table(title=say_.labels["timeline"], box=None, pad_edge=False, title_justify="left")
    for column in ("time", "author", "event"):
        timeline.add_column(say_(f"col_{column}"))
    for entry in incident.timeline:
        event = Event(entry.at, entry.author, entry.kind, entry.text, entry.details)
        text = timeline_text(event, say_.labels, say_.language, zone)
        timeline.add_row(say_.when(entry.at), Text(entry.author), Text(text))
    stdout().print(timeline)


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
    say_ = _Words(loaded.plan)
    changes = "".join(
        say_(key, services=", ".join(services))
        for key, services in (
            ("updated_added", done.added),
            ("updated_state", done.changed),
            ("updated_target", done.targeted),
        )
        if services
    )
    stdout().print(say_("updated", id=incident_id, changes=changes), markup=False, highlight=False)


@app.command("note")
def incident_note(
    ctx: typer.Context,
    incident_id: IncidentArg,
    text: Annotated[str, typer.Argument(help="What to record.")],
    by: ByOption = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Also an update of the public status page (/status): write it for the public.",
        ),
    ] = False,
) -> None:
    """Add a note to an incident's timeline."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.incidents import NoteRequest, add_note

    with plan_state(ctx) as (loaded, store):
        add_note(store, NoteRequest(incident_id, text, who(by), public))
    stdout().print(_Words(loaded.plan)("noted", id=incident_id), markup=False)


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

    with plan_state(ctx) as (loaded, store):
        move_task(store, TaskRequest(incident_id, task_id, status, who(by), note))
    say_ = _Words(loaded.plan)
    stdout().print(
        say_("task_moved", task=task_id, id=incident_id, status=say_.status(status)),
        markup=False,
    )


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
    out, say_ = stdout(), _Words(loaded.plan)
    out.print(say_("closed", id=incident_id), markup=False)
    for path in closed.paths:
        out.print(say_("final_report", path=path), markup=False, highlight=False)
    for record in closed.deliveries:
        line = say_(
            "delivery_sent" if record.ok else "delivery_failed",
            role=record.role,
            contact=record.contact,
            error=record.error,
        )
        out.print(f"  {line}", markup=False, highlight=False)


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
    stdout().print(
        _Words(loaded.plan)("report_written", path=output), markup=False, highlight=False
    )


@app.command("plan")
def incident_plan_command(
    ctx: typer.Context, incident_id: IncidentArg, json: JsonOption = False
) -> None:
    """The recovery plan: affected services in priority then dependency order, each with
    its tasks."""
    from rich.text import Text

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.incidents import IncidentRequest, recovery_plan, task_title_words

    with plan_state(ctx) as (loaded, store):
        plan = loaded.plan
        found = recovery_plan(plan, store, IncidentRequest(incident_id))
    entries = found.entries
    if json:
        print_json({"incident": incident_id, "order": [e.to_dict() for e in entries]})
        return
    out, say_ = stdout(), _Words(plan, task_title_words(plan, found.incident))
    for entry in entries:
        state = entry.affected.state
        line = Text(f"{entry.position}. {entry.service.id} ", style="bold")
        line.append(f"({entry.service.name}, {entry.recovery_priority}) ")
        line.append(say_.state(state).lower(), STATE_STYLE.get(state, ""))
        line.append(say_("plan_target", target=say_.when(entry.affected.target_at)))
        if entry.waits_for:
            line.append(say_("plan_after", services=", ".join(entry.waits_for)))
        out.print(line)
        for task in entry.tasks:
            status = say_.status(task.status)
            out.print(Text(f"     [{status}] {task.id}. {say_.title(task)} ({task.role or '—'})"))


@app.command("next")
def incident_next(ctx: typer.Context, incident_id: IncidentArg, json: JsonOption = False) -> None:
    """What to do now, and who does it."""
    from rich.text import Text

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.incidents import IncidentRequest, next_steps, task_title_words

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
    say_ = _Words(loaded.plan, task_title_words(loaded.plan, found.incident))
    if not actions and not waiting:
        out.print(say_("all_up", id=incident_id), markup=False)
        return
    for index, action in enumerate(actions):
        who_does = action.role or "—"
        if action.people:
            who_does += f" ({', '.join(action.people)})"
        text = say_(
            "now" if index == 0 else "also",
            service=action.service,
            action=say_.action(action),
            who=who_does,
        )
        out.print(Text(text, style="bold" if index == 0 else ""))
    for line in waiting:
        waits = say_.labels["waits_for"].format(
            service=line.service, others=", ".join(line.waits_for)
        )
        out.print(Text(say_("waiting", line=waits), style="dim"))
