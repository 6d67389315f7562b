"""Runbooks: a plan scenario run step by step, each step recorded with its timing (and into
the incident's timeline), stopping at the first failure and resuming there next time.

A step that needs a person (a manual instruction, a restore to confirm) asks through the
``confirm`` callback; when nobody can answer (no terminal, no confirmation given in advance)
the run stops as *waiting* and resumes at that step. Each kind of step is carried out by its
executor in ``reprise.orchestrators.steps``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from reprise.alerts.routing import exercise_plan
from reprise.errors import InputError, RepriseError, option
from reprise.incidents.exercise import open_exercise
from reprise.incidents.lifecycle import add_note, step_title, title_parts
from reprise.incidents.records import Incident, get_incident
from reprise.incidents.runs import (
    RunRecord,
    StepRecord,
    create_run,
    finish_run,
    resumable_run,
    save_step,
)
from reprise.orchestrators.steps import (
    Confirm,
    RunbookOptions,
    StepOutcome,
    StepRun,
    execute_step,
    outcome,
    substitute,
)
from reprise.plan.model import Plan, Scenario
from reprise.plan.steps import PARAMETER, command_parameters, parameter_value_problem, step_texts
from reprise.reports.wording import json_parts, part
from reprise.store.database import Store
from reprise.words import say

__all__ = ["Confirm", "RunbookOptions", "StepOutcome", "find_scenario", "run_runbook", "substitute"]

OUTPUT_IN_TIMELINE = 4000


def find_scenario(plan: Plan, scenario_id: str) -> Scenario:
    """The scenario with this id (InputError listing the others)."""
    for scenario in plan.scenarios:
        if scenario.id == scenario_id:
            return scenario
    known = ", ".join(s.id for s in plan.scenarios) or "none: add scenarios to the plan"
    raise InputError(f"unknown scenario {scenario_id!r}", hint=f"use one of: {known}")


def _values(
    scenario: Scenario, given: dict[str, str], previous: dict[str, str], incident: Incident | None
) -> dict[str, str]:
    declared = {p.name: p for p in scenario.parameters}
    for name in given:
        if name not in declared:
            raise InputError(
                f"scenario {scenario.id!r} has no parameter {name!r}",
                hint="its parameters: " + (", ".join(declared) or "none"),
            )
    values = {**previous, **given}
    origin = {
        **dict.fromkeys(previous, "kept from the run being resumed"),
        **dict.fromkeys(given, f"given with {option('param')}"),
    }
    for name, parameter in declared.items():
        if name not in values:
            if parameter.default is None:
                raise InputError(
                    f"scenario {scenario.id!r} needs {option('param')} {name}=…",
                    hint=parameter.description,
                )
            values[name] = parameter.default
            origin[name] = "the plan's default"
    _check_values(scenario, values, origin)
    if incident is not None:
        values["incident"] = str(incident.id)
    return values


def _check_values(scenario: Scenario, values: dict[str, str], origin: dict[str, str]) -> None:
    """Refuse, before any step runs, a value that could change what a command does (an
    option, a line break, shell syntax); the message never repeats the value."""
    in_commands = command_parameters(scenario.steps)
    for name, value in values.items():
        problem = parameter_value_problem(value, in_command=name in in_commands)
        if problem:
            message, hint = problem
            raise InputError(
                f"scenario {scenario.id!r}, parameter {name!r} "
                f"({origin.get(name, 'given')}): {message}; nothing was run",
                hint=hint,
            )


def _uses_incident(scenario: Scenario) -> bool:
    return any(
        "incident" in PARAMETER.findall(text)
        for step in scenario.steps
        for _field, text in step_texts(step)
    )


def run_runbook(
    plan: Plan,
    store: Store,
    scenario_id: str,
    options: RunbookOptions,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunRecord:
    """Run a scenario from its first step, or resume its last unfinished run at the step
    that failed or waited (``restart`` starts over). Returns the run as it stands.

    An exercise (``options.exercise``) needs the plan's test contacts; without an incident
    it resumes its last unfinished exercise or opens an exercise incident for the
    scenario's services, announced to the test contacts."""
    scenario = find_scenario(plan, scenario_id)
    exercise = options.exercise
    if exercise:
        exercise_plan(plan)  # no test contacts: refused before anything happens
    incident = get_incident(store, options.incident_id) if options.incident_id else None
    if incident is not None:
        _check_incident(incident, exercise)
    if incident is None and not exercise and _uses_incident(scenario):
        raise InputError(
            f"scenario {scenario.id!r} uses {{{{ incident }}}}: give {option('incident')} N",
            hint="`reprise incident open TITLE` makes one",
        )
    previous = (
        None
        if options.restart
        else resumable_run(store, scenario.id, incident.id if incident else None, exercise=exercise)
    )
    if exercise and incident is None:
        incident, previous = _exercise_incident(plan, store, scenario, previous, options, clock)
    values = _values(
        scenario, options.parameters, previous.parameters if previous else {}, incident
    )
    stored = {k: v for k, v in values.items() if k != "incident"}
    if previous is not None:
        run = previous
        run.parameters = stored
    else:
        run = create_run(
            store,
            scenario.id,
            incident.id if incident else None,
            stored,
            by=options.by,
            at=clock(),
            exercise=exercise,
        )
        _timeline(
            store,
            run,
            incident,
            clock(),
            options.by,
            f"runbook {scenario.id} started ({scenario.title})",
            {"run": run.id, "event": "started", "scenario": scenario.id, "title": scenario.title},
        )
    step_run = StepRun(plan, store, scenario, incident, values, options)
    total = len(scenario.steps)
    for position in range(run.next_step, total):
        step = scenario.steps[position]
        title = substitute(step_title(step), values)
        if options.on_step_start:
            options.on_step_start(position, total, title)
        started = clock()
        try:
            result = execute_step(step_run, step)
        except RepriseError as error:
            message, hint = error.render()
            result = outcome(
                "failed", [part("runstep.error", error=message + (f" ({hint})" if hint else ""))]
            )
        record = StepRecord(
            position,
            step.kind,
            title,
            result.status,
            started,
            clock(),
            result.message,
            result.output,
            options.by,
        )
        save_step(store, run, record)
        _timeline(
            store,
            run,
            incident,
            record.finished_at,
            options.by,
            f"runbook {scenario.id} step {position + 1}/{total} ({title}): "
            f"{result.status} in {record.seconds:.1f} s — {result.message}",
            {
                "run": run.id,
                "step": position + 1,
                "status": result.status,
                "seconds": round(record.seconds, 3),
                "output": (result.output or "")[-OUTPUT_IN_TIMELINE:],
                "event": "step",
                "scenario": scenario.id,
                "total": total,
                "title": title,
                "title_words": json_parts(title_parts(step, values)),
                "took": f"{record.seconds:.1f}",
                "message": json_parts(result.parts),
            },
        )
        if options.on_step_end:
            options.on_step_end(record, total)
        if result.status not in ("done", "skipped"):
            return run
    finish_run(store, run, clock())
    _timeline(
        store,
        run,
        incident,
        clock(),
        options.by,
        f"runbook {scenario.id} finished",
        {"run": run.id, "event": "finished", "scenario": scenario.id},
    )
    return run


def _check_incident(incident: Incident, exercise: bool) -> None:
    """An open incident of the run's kind: a rehearsal never writes into a real incident,
    nor a real run into an exercise."""
    if incident.status != "open":
        raise InputError(
            f"incident {incident.id} is closed", hint="open a new one with `reprise incident open`"
        )
    if exercise and not incident.exercise:
        raise InputError(
            f"incident {incident.id} is a real incident: an exercise never runs into it",
            hint=f"leave out {option('incident')} (an exercise incident is opened), or open "
            f"one with `reprise incident open TITLE {option('exercise')}`",
        )
    if incident.exercise and not exercise:
        raise InputError(
            f"incident {incident.id} is an exercise: a real run never runs into it",
            hint=f"add {option('exercise')}, or give a real incident",
        )


def _exercise_incident(
    plan: Plan,
    store: Store,
    scenario: Scenario,
    previous: RunRecord | None,
    options: RunbookOptions,
    clock: Callable[[], datetime],
) -> tuple[Incident, RunRecord | None]:
    """The incident of an exercise run given none: the one of the unfinished exercise
    being resumed while it is open, else a new exercise incident (announced)."""
    if previous is not None and previous.incident_id is not None:
        incident = get_incident(store, previous.incident_id)
        if incident.status == "open":
            return incident, previous
    title = say(plan.organisation.language, "exercise.incident_title", scenario=scenario.title)
    incident, _deliveries = open_exercise(
        plan,
        store,
        title,
        list(scenario.services),
        by=options.by,
        at=clock(),
        sender=options.sender,
    )
    if options.on_exercise_opened is not None:
        options.on_exercise_opened(incident)
    return incident, None


def _timeline(
    store: Store,
    run: RunRecord,
    incident: Incident | None,
    at: datetime,
    by: str,
    text: str,
    details: dict[str, object] | None = None,
) -> None:
    if incident is not None:
        add_note(
            store,
            incident.id,
            text,
            by=by,
            at=at,
            kind="runbook",
            details=details or {"run": run.id},
        )
