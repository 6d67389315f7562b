"""Runbook steps: one executor per kind of step, found by ``kind`` in :data:`STEP_EXECUTORS`.

In an exercise (``RunbookOptions.exercise``) each executor rehearses instead: a command
runs only when ``safe_in_exercise`` (otherwise it is shown and recorded as skipped), a
restore goes into a scratch copy (``reprise.orchestrators.exercise``), wait_check checks
once without waiting, notify reaches the test contacts only; manual and evidence steps
behave as in a real run.

A new kind of step is three things: its model in ``reprise.plan.steps`` (a member of the
``Step`` union, with its ``default_title``), one executor here (a function of the
:class:`StepRun` and the step, returning a :class:`StepOutcome`) and its line in
:data:`STEP_EXECUTORS`. ``tests/unit/test_registries.py`` fails when a kind of the union has
no executor; ``tests/unit/test_words.py`` when it has no ``step.<kind>`` words. Then
regenerate ``docs/plan-reference.md`` (``python -m reprise.plan.reference``)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.alerts.delivery import Sender, apprise_send, send_to_roles
from reprise.alerts.messages import Notification
from reprise.alerts.routing import exercise_plan, exercise_subject
from reprise.errors import InputError, option, render_options
from reprise.incidents.lifecycle import set_state
from reprise.incidents.records import Incident, get_incident
from reprise.incidents.runs import StepRecord
from reprise.plan.model import Plan, Scenario
from reprise.plan.steps import (
    PARAMETER,
    CommandStep,
    EvidenceStep,
    ManualStep,
    NotifyStep,
    RestoreStep,
    Step,
    WaitCheckStep,
    parameter_value_problem,
)
from reprise.reports.wording import Part, english, part
from reprise.store.database import Store
from reprise.words import say

if TYPE_CHECKING:
    from reprise.restore.report import Report

Confirm = Callable[[str], bool | None]
"""Asks a person a yes/no question; None when nobody can answer."""


@dataclass
class StepOutcome:
    """How one step ended: ``done``, ``failed`` or ``waiting`` (for a person). ``message``
    is the English sentence (stored with the step); ``parts`` the same in catalog words
    (``runstep.*``), kept in the incident timeline so reports word it in their language."""

    status: str
    message: str
    output: str | None = None
    parts: list[Part] = field(default_factory=list)


def outcome(status: str, parts: list[Part], output: str | None = None) -> StepOutcome:
    """A step's outcome from its catalog words (the message is their English)."""
    return StepOutcome(status, english(parts), output, parts)


@dataclass
class RunbookOptions:
    """How to run: for which incident, with which values, who runs it, how to ask."""

    by: str
    incident_id: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    confirm: Confirm = lambda _question: None
    restart: bool = False
    poll_seconds: float = 2.0
    sender: Sender = apprise_send
    on_step_start: Callable[[int, int, str], None] | None = None
    on_step_end: Callable[[StepRecord, int], None] | None = None
    plan_path: Path | None = None
    on_exercise_opened: Callable[[Incident], None] | None = None
    """Hears the exercise incident a run opened (none was given)."""
    exercise: bool = False
    """A rehearsal: restores into scratch copies, only ``safe_in_exercise`` commands run,
    notifications to the test contacts only (see ``reprise.orchestrators.exercise``)."""


def substitute(text: str, values: dict[str, str], *, quote_check: bool = False) -> str:
    """Replace ``{{ name }}``; in shell commands (``quote_check``) only values that cannot
    change the command's meaning are allowed (checked for the whole run when it starts,
    and again here)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values[name]
        problem = parameter_value_problem(value, in_command=quote_check)
        if problem:
            message, hint = problem
            raise InputError(f"parameter {name!r}: {message}", hint=hint)
        return value

    return PARAMETER.sub(replace, text)


@dataclass
class StepRun:
    """What every executor works with: the plan and state store, the scenario being run,
    its incident (if any), the parameter values and the run's options."""

    plan: Plan
    store: Store
    scenario: Scenario
    incident: Incident | None
    values: dict[str, str]
    options: RunbookOptions

    def text(self, text: str, *, quote_check: bool = False) -> str:
        """``text`` with the scenario parameters put in (see :func:`substitute`)."""
        return substitute(text, self.values, quote_check=quote_check)

    def ask(self, question: str) -> StepOutcome | None:
        """None when the person confirms; otherwise how the step ends (refused, or waiting
        when nobody can answer)."""
        answer = self.options.confirm(question)
        if answer is None:
            return outcome("waiting", [part("runstep.waiting", yes=render_options(option("yes")))])
        if not answer:
            return outcome("failed", [part("runstep.refused", by=self.options.by)])
        return None


StepExecutor = Callable[[StepRun, Any], StepOutcome]
"""Carries out one kind of step (its second argument is that kind's model)."""


def run_manual(run: StepRun, step: ManualStep) -> StepOutcome:
    """Show the instruction and wait for a person to confirm it is done."""
    text = run.text(step.text)
    role = f" [{step.role}]" if step.role else ""
    refused = run.ask(f"{text}{role}\nDone?")
    return refused or outcome("done", [part("runstep.confirmed", by=run.options.by)])


def run_command(run: StepRun, step: CommandStep) -> StepOutcome:
    """Run the shell command, its output kept; done when it exits as expected."""
    from reprise.probes.command import run_shell

    command = run.text(step.command, quote_check=True)
    if run.options.exercise and not step.safe_in_exercise:
        return outcome("skipped", [part("exercise.command_skipped", command=command)])
    timeout = step.timeout.total_seconds()
    try:
        result = asyncio.run(asyncio.wait_for(run_shell(command, flood_limit=None), timeout))
    except TimeoutError:
        return outcome("failed", [part("runstep.command_timeout", timeout=f"{timeout:g}")])
    except OSError as error:
        return outcome(
            "failed", [part("runstep.command_oserror", error=str(error.strerror or error))]
        )
    last = result.output.splitlines()[-1][:200] if result.output else ""
    tail = [part("runstep.last_line", line=last)] if last else []
    if result.code != step.expect_exit:
        why = (
            part("runstep.signal", signal=-result.code)
            if result.code < 0
            else part("runstep.exit", code=result.code)
        )
        return outcome(
            "failed",
            [why, part("runstep.expected", expected=step.expect_exit), *tail],
            result.output,
        )
    return outcome("done", [part("runstep.exit", code=result.code), *tail], result.output)


def run_restore(run: StepRun, step: RestoreStep) -> StepOutcome:
    """Restore the service (after a person confirms, unless the step says not to ask)."""

    def value(text: str | None) -> str | None:
        return run.text(text) if text is not None else None

    target, to_dir, only, as_name = (
        value(step.target),
        value(step.to_dir),
        value(step.only),
        value(step.as_name),
    )
    backup = value(step.backup)
    where = (target and _public(target)) or to_dir or "the plan's target"
    what = f"point in time {value(step.at) or 'latest'}" if step.pitr else backup
    if run.options.exercise:
        from reprise.orchestrators.exercise import (
            Rehearsal,
            restore_in_exercise,
            scratch_or_folder,
        )

        copy = f"{scratch_or_folder(step, target)} (exercise, instead of {where})"
        if step.confirm:
            refused = run.ask(f"Restore {step.service} ({what}) into {copy}?")
            if refused:
                return refused
        rehearsal = Rehearsal(run.plan, run.store, run.options.plan_path)
        parts, output = restore_in_exercise(
            rehearsal, step, backup, target, only, as_name, value(step.at)
        )
        return outcome("done", parts, output)
    if step.confirm:
        refused = run.ask(f"Restore {step.service} ({what}) into {where}?")
        if refused:
            return refused
    report, path = _restore(run, step, backup, target, to_dir, only, as_name, value(step.at))
    figures = [
        part(f"runstep.figure_{k}", value=str(v))
        for k, v in report.figures.items()
        if k in ("target", "reached_time", "restored_as", "databases")
    ]
    into = report.target or (target and _public(target)) or to_dir
    parts = [
        part(f"runstep.restore_{report.kind}", service=report.service)
        if report.kind in ("restore", "pitr", "drill")
        else part("runstep.restore_other", kind=report.kind, service=report.service),
        part("runstep.into", target=into) if into else part("runstep.into_plan_target"),
        part("runstep.in_seconds", seconds=f"{report.seconds:.1f}"),
    ]
    if figures:
        parts.append(part("runstep.figures", figures=figures))
    parts.append(part("runstep.report_path", path=str(path)))
    return outcome("done", parts)


def _restore(
    run: StepRun,
    step: RestoreStep,
    backup: str | None,
    target: str | None,
    to_dir: str | None,
    only: str | None,
    as_name: str | None,
    at: str | None,
) -> tuple[Report, Path]:
    """The restore, point-in-time recovery or partial recovery the step asks for, through
    the one restore dispatcher (``reprise.restore.dispatch``)."""
    from reprise.restore.dispatch import RestoreOrder, restore
    from reprise.restore.pitr import parse_target_time

    moment = (
        parse_target_time(at, run.plan.organisation.timezone, label=f"step {step.kind} `at`")
        if step.pitr and at
        else None
    )
    if step.pitr and not to_dir and not (only and target):
        raise InputError(
            "a point-in-time restore step needs to_dir, or only and target",
            hint="fix the step in the plan",
        )
    result = restore(
        run.plan,
        run.store,
        RestoreOrder(
            service=step.service,
            backup_id=None if backup in (None, "latest") else backup,
            pitr=step.pitr,
            at=moment,
            only=only if step.pitr else None,
            database=None if step.pitr else only,
            as_name=as_name,
            target=target,
            to_dir=Path(to_dir).absolute() if to_dir else None,
            clean=False if step.pitr else step.clean,
            start=step.start if step.pitr else False,
            port=step.port if step.pitr else None,
        ),
        plan_path=run.options.plan_path,
    )
    return result.report, result.path


def _public(dsn: str) -> str:
    from reprise.restore.logical import public_address

    return public_address(dsn)


def run_wait_check(run: StepRun, step: WaitCheckStep) -> StepOutcome:
    """Run the service's checks until they all pass (the service is then up in the
    incident) or the step's timeout."""
    from reprise.orchestrators.status import check_services

    if run.options.exercise:
        return _check_once(run, step)
    deadline = time.monotonic() + step.timeout.total_seconds()
    rounds = 0
    while True:
        rounds += 1
        status = check_services(run.plan, run.store, [step.service])[0]
        if not status.checks:
            return outcome("failed", [part("runstep.no_checks", service=step.service)])
        if status.state == "up":
            _mark_up(run, step.service)
            return outcome(
                "done",
                [
                    part(
                        "runstep.checks_up",
                        service=step.service,
                        rounds=rounds,
                        status=status.message,
                    )
                ],
            )
        if time.monotonic() + run.options.poll_seconds > deadline:
            return outcome(
                "failed",
                [
                    part(
                        "runstep.checks_still",
                        service=step.service,
                        state=_state_words(status.state),
                        timeout=f"{step.timeout.total_seconds():g}",
                        status=status.message,
                    )
                ],
            )
        time.sleep(run.options.poll_seconds)


def _state_words(state: str) -> list[Part] | str:
    if state in ("down", "degraded", "up", "unknown"):
        return [part(f"runstep.state_{state}")]
    return state


def _check_once(run: StepRun, step: WaitCheckStep) -> StepOutcome:
    """In an exercise: the service's checks run once, never waited for (nothing real was
    broken, nothing real is being repaired); the state found is recorded, and the
    service marked up in the exercise's incident when it is."""
    from reprise.orchestrators.status import check_services

    status = check_services(run.plan, run.store, [step.service])[0]
    if not status.checks:
        return outcome("failed", [part("runstep.no_checks", service=step.service)])
    if status.state == "up":
        _mark_up(run, step.service)
    return outcome(
        "done",
        [part("exercise.checked_once", service=step.service, state=_state_words(status.state))],
    )


def _mark_up(run: StepRun, service: str) -> None:
    if run.incident is None:
        return
    incident = get_incident(run.store, run.incident.id)
    entry = incident.affected(service)
    if entry is not None and entry.state != "up":
        set_state(
            run.store,
            incident.id,
            service,
            "up",
            source=f"checks pass (runbook {run.scenario.id})",
            at=datetime.now(UTC),
            author=run.options.by,
        )


def notify_recipients(
    plan: Plan, scenario_title: str, text: str, exercise: bool
) -> tuple[Plan, str]:
    """Whom a notify step reaches (the test contacts only in an exercise, never the roles'
    own) and its subject, ``[Organisation] Scenario : text`` in the plan's typography."""
    colon = say(plan.organisation.language, "report.colon")
    subject = f"[{plan.organisation.name}] {scenario_title}{colon} {text}"[:200]
    if exercise:
        return exercise_plan(plan), exercise_subject(plan, subject)
    return plan, subject


def run_notify(run: StepRun, step: NotifyStep) -> StepOutcome:
    """Send the message to the contacts of the step's roles; done when one got it."""
    text = run.text(step.text)
    recipients, subject = notify_recipients(
        run.plan, run.scenario.title, text, run.options.exercise
    )
    body = text
    if run.incident is not None:
        colon = say(run.plan.organisation.language, "report.colon")
        body += f"\n\nIncident {run.incident.id}{colon} {run.incident.title}"
    records = asyncio.run(
        send_to_roles(
            recipients,
            run.store,
            Notification("runbook", tuple(step.roles), subject, body),
            run.options.sender,
        )
    )
    roles = ", ".join(step.roles)
    if not records:
        return outcome("failed", [part("runstep.nobody_to_notify", roles=roles)])
    sent = [r for r in records if r.ok]
    failed = "; ".join(f"{r.role} ({r.contact}): {r.error}" for r in records if not r.ok)
    if not sent:
        return outcome("failed", [part("runstep.none_delivered", failures=failed)])
    parts = [
        part(
            "exercise.sent_test" if run.options.exercise else "runstep.sent",
            count=len(sent),
            roles=roles,
        )
    ]
    if failed:
        parts.append(part("runstep.sent_failed", failures=failed))
    return outcome("done", parts)


def run_evidence(run: StepRun, step: EvidenceStep) -> StepOutcome:
    """Copy the step's files into a signed evidence bundle under the state directory."""
    from reprise.incidents.evidence import collect_evidence
    from reprise.store import state_dir

    at = datetime.now(UTC)
    name = f"incident-{run.incident.id}" if run.incident else f"run-{run.scenario.id}"
    folder = state_dir(run.plan) / "evidence" / f"{name}-{at:%Y%m%dT%H%M%SZ}"
    paths = [run.text(path) for path in step.paths]
    bundle = collect_evidence(
        run.plan,
        paths,
        folder,
        at=at,
        labels={
            "incident": run.incident.id if run.incident else None,
            "scenario": run.scenario.id,
        },
        plan_path=run.options.plan_path,
        include_secrets=step.include_secrets,
    )
    parts = [part("runstep.preserved", count=len(bundle.files), folder=str(folder))]
    if bundle.missing:
        parts.append(part("runstep.not_found", paths=", ".join(bundle.missing)))
    if bundle.secrets_included:
        parts.append(part("runstep.secrets_included", count=len(bundle.secrets_included)))
    secrets = bundle.secrets_skipped
    if secrets:
        parts.append(part("runstep.secrets_skipped", count=len(secrets), files=", ".join(secrets)))
    others = [
        f"{entry['path']} ({entry['reason']})"
        for entry in bundle.skipped
        if not entry.get("secret")
    ]
    if others:
        parts.append(part("runstep.skipped", entries=", ".join(others)))
    return outcome("done", parts)


STEP_EXECUTORS: dict[str, StepExecutor] = {
    "manual": run_manual,
    "command": run_command,
    "restore": run_restore,
    "wait_check": run_wait_check,
    "notify": run_notify,
    "evidence": run_evidence,
}
"""Kind of step → its executor: the one place a new kind is wired in."""


def execute_step(run: StepRun, step: Step) -> StepOutcome:
    """Carry out one step with the executor of its kind."""
    return STEP_EXECUTORS[step.kind](run, step)
