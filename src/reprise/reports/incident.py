"""Incident reports (progress and final), in Markdown or HTML, in French or English.

The incidents domain computes the figures into an :class:`IncidentView` (plain data, no
words); this module only puts them into words from the catalog and lays them out with the
Jinja2 templates. Text typed by people (titles, notes, causes) is escaped for the format:
HTML through autoescaping, Markdown by backslash-escaping what would change the layout.
Durations, percentages, numbers and times are spelled by ``reprise.words.format``, the same
for every mail, report and message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from reprise.errors import InputError
from reprise.reports.wording import is_parts, reworded
from reprise.words import LANGUAGES, words
from reprise.words.format import duration, number, percent, zone_of
from reprise.words.format import when as moment_text

FORMATS = ("md", "html")
_BREAKS = re.compile(r"[^\S\u00a0\u2007\u202f]+")
"""Runs of white space other than the no-break spaces (French typography keeps those)."""
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_<>#|~]|\](?=[(\[:])")


def markdown_text(value: object) -> str:
    """Text made inert in Markdown: one line (no-break spaces kept), every layout
    character escaped (tables, emphasis, raw HTML, autolinks), and a bracket escaped where
    it would close a link or an image (``](``, ``][``, ``]:``). A bracket that links
    nothing stays as it is, so that a mail subject reads ``[P1] EN PANNE``, not
    ``\\[P1\\] EN PANNE``, in a report read as plain text."""
    text = _BREAKS.sub(" ", str(value)).strip(" ")
    return _MARKDOWN_SPECIAL.sub(lambda match: "\\" + match.group(0), text)


@dataclass(frozen=True)
class Worded:
    """A text Reprise wrote (a step's name): as stored, and in catalog words when they say
    the same (``parts``, see ``reprise.reports.wording``), worded in the report's language."""

    text: str
    parts: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """One affected service with every figure a report shows about it."""

    id: str
    name: str
    category: str
    criticality: str
    priority: str
    initial_state: str
    state: str
    target_at: datetime
    resolved_at: datetime | None
    problem: str
    actions: list[Worded]
    rto: timedelta
    time_to_recover: timedelta | None
    elapsed: timedelta
    met: bool | None
    history: list[tuple[datetime, str, str]]


@dataclass(frozen=True)
class SentReport:
    """A report already sent: when, which kind, in which language."""

    at: datetime
    kind: str
    language: str


@dataclass(frozen=True)
class Header:
    """The incident itself, as the top of a report shows it."""

    id: int
    title: str
    status: str
    severity: str
    opened_at: datetime
    closed_at: datetime | None
    opened_by: str
    cause: str | None
    reports: list[SentReport]
    recovered: list[str] = field(default_factory=list)
    """Names of the elements, all back, when the title Reprise gave the incident (naming
    them down) no longer says the situation: the report titles it after them instead."""
    exercise: bool = False
    """An exercise: the report says so in its title and at its top."""


@dataclass(frozen=True)
class Objectives:
    """The plan's default recovery objectives."""

    rpo: timedelta
    rto: timedelta
    uptime: float


@dataclass(frozen=True)
class Event:
    """A timeline entry: ``kind`` and ``details`` let Reprise's own entries be worded in
    the report's language; ``text`` is shown as typed otherwise."""

    at: datetime
    author: str
    kind: str
    text: str
    details: dict[str, Any]


@dataclass(frozen=True)
class RunStep:
    """One step of a runbook run: ``message`` as stored (English), ``parts`` the same in
    catalog words when Reprise kept them (see ``reprise.reports.wording``)."""

    position: int
    title: str
    status: str
    started_at: datetime
    finished_at: datetime
    message: str
    parts: list[Any] = field(default_factory=list)
    title_parts: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """A runbook run of the incident."""

    scenario: str
    status: str
    started_at: datetime
    steps: list[RunStep]


@dataclass(frozen=True)
class FollowUp:
    """Something left open: ``kind`` is ``service``, ``task``, ``skipped`` or ``run``;
    ``fields`` fill its sentence (states and task statuses as codes, worded here);
    ``worded``: fields also kept in catalog words (a task's title, a step's message)."""

    kind: str
    fields: dict[str, str | int]
    worded: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskRef:
    """The task an action is about."""

    id: int
    title: str
    status: str
    title_parts: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    """Something to do now on one service, and who does it (``task`` None: every task
    is done or skipped and the service is still not up)."""

    service: str
    state: str
    task: TaskRef | None
    role: str | None
    people: list[str]


@dataclass(frozen=True)
class WaitingLine:
    """A service that waits for others to be recovered first."""

    service: str
    waits_for: list[str]


@dataclass(frozen=True)
class IncidentView:
    """Every figure of one incident report, computed by the incidents domain."""

    kind: str
    """``final`` or ``progress``."""
    incident: Header
    organisation: str
    timezone: str
    now: datetime
    duration: timedelta
    commander: str | None
    objectives: Objectives
    responses: dict[str, timedelta | None]
    """Response time per priority (None: the next business day)."""
    rows: list[Row]
    strategy: list[tuple[str, list[Row]]]
    roles: list[tuple[str, list[str], list[str]]]
    """(title, members, responsibilities) of every role involved."""
    every: timedelta
    audiences: list[str]
    timeline: list[Event]
    runs: list[Run]
    followups: list[FollowUp]
    actions: list[Action] = field(default_factory=list)
    waiting: list[WaitingLine] = field(default_factory=list)
    since: datetime | None = None
    """What a progress report's news start after: the last report (None: the opening)."""
    names: dict[str, str] = field(default_factory=dict)
    """Service id → name, for the lines that tell of a service by its id."""
    authors: dict[str, str] = field(default_factory=dict)
    """Author Reprise writes under (``monitor``, kept as stored) → its ``report.*`` key."""


def check_request(language: str, fmt: str) -> None:
    """Refuse a language or format that no report exists in."""
    if language not in LANGUAGES:
        raise InputError(f"no report language {language!r}", hint="use fr or en")
    if fmt not in FORMATS:
        raise InputError(f"no report format {fmt!r}", hint="use md or html")


def followup_text(
    item: FollowUp,
    labels: Mapping[str, str],
    language: str = "en",
    names: Mapping[str, str] | None = None,
) -> str:
    """A follow-up in a sentence of the report's language; ``names``: service id → name."""
    fields = dict(item.fields)
    if "service" in fields:
        fields["service"] = _name(fields["service"], names)
    if item.kind == "service":
        fields["state"] = labels[f"state_{fields['state']}"]
    elif item.kind == "task":
        fields["status"] = labels[f"task_{fields['status']}"]
    for name, parts in item.worded.items():
        fields[name] = reworded(language, parts, str(fields[name]), names)
    return labels[f"followup_{item.kind}"].format(**fields)


def step_message(step: RunStep, language: str, names: Mapping[str, str] | None = None) -> str:
    """A runbook step's outcome in the report's language (as stored when Reprise kept no
    catalog words for it); ``names``: service id → name."""
    return reworded(language, step.parts, step.message, names)


_RUNBOOK_CHECKS = re.compile(r"checks pass \(runbook (.+)\)")


def source_text(source: str, labels: Mapping[str, str]) -> str:
    """What set a state, in the report's language: the sources Reprise writes
    (``check: …``, ``person: …``, ``checks pass (runbook …)``) worded, the facts in them
    (a check's own message, a name) as they are."""
    if source == "check: checks pass":
        return labels["source_check_pass"]
    if source == "checks pass":
        return labels["source_checks_pass"]
    if source.startswith("check: "):
        return labels["source_check"].format(what=source.removeprefix("check: "))
    if source.startswith("person: "):
        return labels["source_person"].format(by=source.removeprefix("person: "))
    if match := _RUNBOOK_CHECKS.fullmatch(source):
        return labels["source_runbook"].format(scenario=match.group(1))
    return source


def _name(service: object, names: Mapping[str, str] | None) -> str:
    """A service's name from its id (as stored), the id when the plan no longer has it."""
    return (names or {}).get(str(service), str(service))


UPDATED = ("title", "cause", "commander")
"""The incident fields an ``update`` entry tells about."""


def timeline_text(
    entry: Event,
    labels: Mapping[str, str],
    language: str = "en",
    zone: Any = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """A timeline entry in the report's language when Reprise wrote it (see
    :func:`_reprise_text`); people's notes as they typed them. ``zone``: the report's time
    zone, for the moments an entry tells (other languages than English; English reads them
    as stored); ``names``: service id → name, for the services an entry tells of."""
    try:
        text = _reprise_text(entry, labels, language, zone, names)
    except (KeyError, IndexError, TypeError, ValueError):  # details of an unexpected shape
        text = None
    return entry.text if text is None else text


def _stored_moment(value: object, language: str, zone: Any) -> object:
    """A moment kept in an entry's facts (ISO text), spelled for people in ``language``;
    English, and anything that is not such a moment, as stored."""
    if language == "en" or not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment_text(moment, language, zone if moment.tzinfo else None)


_DECIMAL_TEXT = re.compile(r"-?\d+(?:\.(\d+))?")


def _seconds_text(value: object, language: str) -> object:
    """A number of seconds kept in an entry's facts (a number, or its text such as
    ``"1.0"``), in the language's decimals (``1,0`` in French); anything else as stored."""
    if isinstance(value, str) and (match := _DECIMAL_TEXT.fullmatch(value)):
        return number(float(value), language, len(match.group(1) or ""))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value, language)
    return value


def _reprise_text(
    entry: Event,
    labels: Mapping[str, str],
    language: str,
    zone: Any = None,
    names: Mapping[str, str] | None = None,
) -> str | None:
    """The entry worded from its ``kind`` and ``details``; None when it is not one of
    Reprise's own (a note) or was stored without the facts to word it."""
    details = entry.details
    kind = entry.kind
    if kind == "target" and {"service", "target_at"} <= details.keys():
        return labels["timeline_target"].format(
            service=_name(details["service"], names),
            target=_stored_moment(details["target_at"], language, zone),
        )
    if kind == "update" and len(details) == 1 and next(iter(details)) in UPDATED:
        name, value = next(iter(details.items()))
        return labels[f"timeline_update_{name}"].format(value=value)
    if kind == "detected" and {"service", "source"} <= details.keys():
        return labels["timeline_detected"].format(
            service=details["service"], source=source_text(str(details["source"]), labels)
        )
    if kind == "closed" and "note" in details and details["note"] is None:
        return labels["timeline_closed"]
    if kind == "notification" and {"notification", "role", "contact", "ok"} <= details.keys():
        notification = str(details["notification"])
        return labels[
            "timeline_notification_sent" if details["ok"] else "timeline_notification_failed"
        ].format(
            kind=labels.get(f"notification_{notification}", notification),
            role=details["role"],
            contact=details["contact"],
            error=details.get("error"),
            subject=details.get("subject", ""),
        )
    if kind == "report" and details.get("report") == "progress" and "audiences" in details:
        audiences = ", ".join(details["audiences"])
        if not audiences:
            return labels["timeline_progress_nobody"]
        return labels["timeline_progress_sent"].format(audiences=audiences)
    if kind == "report" and details.get("report") == "exercise":
        return labels["timeline_exercise"].format(
            sent=details["sent"], contacts=details["contacts"]
        )
    if kind == "report" and details.get("report") == "final":
        return labels["timeline_final"].format(
            files=", ".join(details["files"]), sent=details["sent"], contacts=details["contacts"]
        )
    if kind == "runbook":
        return _runbook_text(details, labels, language, names)
    return _change_text(entry, labels, names)


def _runbook_text(
    details: Mapping[str, Any],
    labels: Mapping[str, str],
    language: str,
    names: Mapping[str, str] | None = None,
) -> str | None:
    event = details.get("event")
    if event == "started":
        return labels["timeline_run_started"].format(
            scenario=details["scenario"], title=details["title"]
        )
    if event == "finished":
        return labels["timeline_run_finished"].format(scenario=details["scenario"])
    if event == "step" and is_parts(details.get("message")) and details["message"]:
        status = str(details["status"])
        return labels["timeline_run_step"].format(
            scenario=details["scenario"],
            step=details["step"],
            total=details["total"],
            title=reworded(language, details.get("title_words"), str(details["title"]), names),
            status=labels.get(f"step_{status}", status),
            seconds=_seconds_text(details["took"], language),
            message=reworded(language, details["message"], "", names),
        )
    return None


def _change_text(
    entry: Event, labels: Mapping[str, str], names: Mapping[str, str] | None = None
) -> str | None:
    """State, joining and task changes."""
    details = entry.details
    if entry.kind == "state" and {"service", "from", "to"} <= details.keys():
        return labels["timeline_state"].format(
            service=_name(details["service"], names),
            old=labels.get(f"state_{details['from']}", ""),
            new=labels.get(f"state_{details['to']}", ""),
            source=source_text(str(details.get("source", "")), labels),
        )
    if entry.kind == "service" and {"service", "state"} <= details.keys():
        return labels["timeline_joined"].format(
            service=_name(details["service"], names),
            state=labels.get(f"state_{details['state']}", ""),
            source=source_text(str(details.get("source", "")), labels),
        )
    if entry.kind == "task" and {"task", "from", "to"} <= details.keys():
        return labels["timeline_task"].format(
            id=details["task"],
            old=labels.get(f"task_{details['from']}", ""),
            new=labels.get(f"task_{details['to']}", ""),
        ) + _after(entry.text, " — ")
    return None


def _after(text: str, marker: str) -> str:
    return text[text.index(marker) :] if marker in text else ""


def environment(language: str) -> Environment:
    """The Jinja2 environment of the report templates, with the ``md`` and ``duration``
    filters (durations in ``language``)."""
    environment = Environment(
        loader=PackageLoader("reprise.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = markdown_text
    environment.filters["duration"] = lambda delta: duration(delta, language)
    environment.filters["number"] = lambda value, digits=None: number(value, language, digits)
    return environment


def render_incident(view: IncidentView, fmt: str = "md", language: str = "en") -> str:
    """Render an incident report from its view: the progress report in Markdown, or the
    full report (``final`` or ``progress``) in Markdown or HTML."""
    check_request(language, fmt)
    labels = words(language, "report")
    zone = zone_of(view.timezone)

    def when(value: datetime | None) -> str:
        return labels["pending"] if value is None else moment_text(value, language, zone)

    def response(priority: str) -> str:
        setting = view.responses[priority]
        return labels["next_business_day"] if setting is None else duration(setting, language)

    def strategy_text(priority: str) -> str:
        if view.responses[priority] is None:
            return labels["strategy_next_day"]
        return labels["strategy_text"].format(response=response(priority))

    def name(service: str) -> str:
        return _name(service, view.names)

    def author(who: str) -> str:
        return labels[view.authors[who]] if who in view.authors else who

    unrecovered = "ongoing" if view.incident.closed_at is None else "not_recovered"

    def outcome(row: Row) -> str:
        """Whether the RTO was met, as a label: ``yes``, ``no`` (also when the element was
        still not back when its RTO had passed), else ``ongoing`` or ``not_recovered`` (the
        incident closed first)."""
        if row.met is not None:
            return "yes" if row.met else "no"
        return "no" if unrecovered == "not_recovered" and row.elapsed >= row.rto else unrecovered

    def waits(line: WaitingLine) -> str:
        others = ", ".join(name(other) for other in line.waits_for)
        return labels["waits_for"].format(service=name(line.service), others=others)

    def describe(action: Action) -> str:
        if action.task is None:
            return labels["action_check"].format(state=labels[f"state_{action.state}"].lower())
        key = "action_continue" if action.task.status == "doing" else "action_start"
        title = reworded(language, action.task.title_parts, action.task.title, view.names)
        return labels[key].format(id=action.task.id, title=title)

    recovered = view.incident.recovered
    if len(recovered) == 1:
        title = labels["title_recovered_one"].format(name=recovered[0])
    elif recovered:
        title = labels["title_recovered"].format(count=len(recovered))
    else:
        title = view.incident.title
    exercise = words(language, "exercise") if view.incident.exercise else None
    if exercise is not None:
        title = exercise["title_prefix"] + title

    context: dict[str, Any] = {
        "t": labels,
        "title": title,
        "exercise": exercise,
        "kind": view.kind,
        "language": language,
        "incident": view.incident,
        "organisation": view.organisation,
        "timezone": view.timezone,
        "now": view.now,
        "when": when,
        "response": response,
        "strategy_text": strategy_text,
        "uptime": percent(view.objectives.uptime, language),
        "rows": view.rows,
        "objectives": view.objectives,
        "strategy": view.strategy,
        "roles": view.roles,
        "commander": view.commander,
        "every": duration(view.every, language),
        "audiences": ", ".join(view.audiences) or labels["nobody"],
        "timeline": view.timeline,
        "runs": view.runs,
        "followups": [followup_text(item, labels, language, view.names) for item in view.followups],
        "actions": view.actions,
        "waiting": view.waiting,
        "describe": describe,
        "event_text": lambda entry: timeline_text(entry, labels, language, zone, view.names),
        "name": name,
        "author": author,
        "waits": waits,
        "unrecovered": unrecovered,
        "outcome": outcome,
        "since": view.since,
        "step_message": lambda step: step_message(step, language, view.names),
        "source_text": lambda source: source_text(source, labels),
        "worded": lambda item: reworded(language, item.parts, item.text, view.names),
        "step_title": lambda step: reworded(language, step.title_parts, step.title, view.names),
        "duration": view.duration,
    }
    template = "progress.md.j2" if view.kind == "progress" and fmt == "md" else f"incident.{fmt}.j2"
    return environment(language).get_template(template).render(context)
