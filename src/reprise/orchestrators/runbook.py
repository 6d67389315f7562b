"""Runbooks: a plan scenario run step by step, each step recorded with its timing (and into
the incident's timeline), stopping at the first failure and resuming there next time.

A step that needs a person (a manual instruction, a restore to confirm) asks through the
``confirm`` callback; when nobody can answer (no terminal, no ``--yes``) the run stops as
*waiting* and resumes at that step."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.alerts.delivery import Sender, apprise_send, send_to_roles
from reprise.alerts.messages import Notification
from reprise.errors import InputError, RepriseError
from reprise.incidents.lifecycle import add_note, set_state, step_title
from reprise.incidents.records import Incident, get_incident
from reprise.incidents.runs import (
    RunRecord,
    StepRecord,
    create_run,
    finish_run,
    resumable_run,
    save_step,
)
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
    command_parameters,
    parameter_value_problem,
    step_texts,
)
from reprise.store.database import Store

if TYPE_CHECKING:
    from reprise.restore.report import Report

Confirm = Callable[[str], bool | None]
"""Asks a person a yes/no question; None when nobody can answer."""

OUTPUT_IN_TIMELINE = 4000


@dataclass
class StepOutcome:
    """How one step ended."""

    status: str
    message: str
    output: str | None = None


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
        **dict.fromkeys(given, "given with --param"),
    }
    for name, parameter in declared.items():
        if name not in values:
            if parameter.default is None:
                raise InputError(
                    f"scenario {scenario.id!r} needs --param {name}=…", hint=parameter.description
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


def run_runbook(
    plan: Plan,
    store: Store,
    scenario_id: str,
    options: RunbookOptions,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunRecord:
    """Run a scenario from its first step, or resume its last unfinished run at the step
    that failed or waited (``restart`` starts over). Returns the run as it stands."""
    scenario = find_scenario(plan, scenario_id)
    incident = get_incident(store, options.incident_id) if options.incident_id else None
    if incident is not None and incident.status != "open":
        raise InputError(
            f"incident {incident.id} is closed", hint="open a new one with `reprise incident open`"
        )
    if incident is None and _uses_incident(scenario):
        raise InputError(
            f"scenario {scenario.id!r} uses {{{{ incident }}}}: give --incident N",
            hint="`reprise incident open TITLE` makes one",
        )
    previous = (
        None
        if options.restart
        else resumable_run(store, scenario.id, incident.id if incident else None)
    )
    values = _values(
        scenario, options.parameters, previous.parameters if previous else {}, incident
    )
    stored = {k: v for k, v in values.items() if k != "incident"}
    if previous is not None:
        run = previous
        run.parameters = stored
    else:
        run = create_run(
            store, scenario.id, incident.id if incident else None, stored, by=options.by, at=clock()
        )
        _timeline(
            store,
            run,
            incident,
            clock(),
            options.by,
            f"runbook {scenario.id} started ({scenario.title})",
        )
    executor = _Executor(plan, store, scenario, incident, values, options)
    total = len(scenario.steps)
    for position in range(run.next_step, total):
        step = scenario.steps[position]
        title = substitute(step_title(step), values)
        if options.on_step_start:
            options.on_step_start(position, total, title)
        started = clock()
        try:
            outcome = executor.run(step)
        except RepriseError as error:
            outcome = StepOutcome(
                "failed", error.message + (f" ({error.hint})" if error.hint else "")
            )
        record = StepRecord(
            position,
            step.kind,
            title,
            outcome.status,
            started,
            clock(),
            outcome.message,
            outcome.output,
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
            f"{outcome.status} in {record.seconds:.1f} s — {outcome.message}",
            {
                "run": run.id,
                "step": position + 1,
                "status": outcome.status,
                "seconds": round(record.seconds, 3),
                "output": (outcome.output or "")[-OUTPUT_IN_TIMELINE:],
            },
        )
        if options.on_step_end:
            options.on_step_end(record, total)
        if outcome.status != "done":
            return run
    finish_run(store, run, clock())
    _timeline(store, run, incident, clock(), options.by, f"runbook {scenario.id} finished")
    return run


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


class _Executor:
    """Carries out each kind of step."""

    def __init__(
        self,
        plan: Plan,
        store: Store,
        scenario: Scenario,
        incident: Incident | None,
        values: dict[str, str],
        options: RunbookOptions,
    ) -> None:
        self.plan, self.store, self.scenario = plan, store, scenario
        self.incident, self.values, self.options = incident, values, options

    def run(self, step: Step) -> StepOutcome:
        if isinstance(step, ManualStep):
            return self.manual(step)
        if isinstance(step, CommandStep):
            return self.command(step)
        if isinstance(step, RestoreStep):
            return self.restore(step)
        if isinstance(step, WaitCheckStep):
            return self.wait_check(step)
        if isinstance(step, NotifyStep):
            return self.notify(step)
        assert isinstance(step, EvidenceStep)
        return self.evidence(step)

    def _ask(self, question: str) -> StepOutcome | None:
        answer = self.options.confirm(question)
        if answer is None:
            return StepOutcome(
                "waiting",
                "waiting for a person to confirm: run the runbook "
                "again on a terminal, or with --yes once done",
            )
        if not answer:
            return StepOutcome("failed", f"not confirmed by {self.options.by}")
        return None

    def manual(self, step: ManualStep) -> StepOutcome:
        text = substitute(step.text, self.values)
        role = f" [{step.role}]" if step.role else ""
        refused = self._ask(f"{text}{role}\nDone?")
        return refused or StepOutcome("done", f"confirmed by {self.options.by}")

    def command(self, step: CommandStep) -> StepOutcome:
        from reprise.probes.command import run_shell

        command = substitute(step.command, self.values, quote_check=True)
        timeout = step.timeout.total_seconds()
        try:
            outcome = asyncio.run(asyncio.wait_for(run_shell(command, flood_limit=None), timeout))
        except TimeoutError:
            return StepOutcome(
                "failed",
                f"still running after {timeout:g} s: stopped (the whole process group was killed)",
            )
        except OSError as error:
            return StepOutcome("failed", f"cannot run the command: {error.strerror or error}")
        last = outcome.output.splitlines()[-1][:200] if outcome.output else ""
        if outcome.code != step.expect_exit:
            why = (
                f"killed by signal {-outcome.code}" if outcome.code < 0 else f"exit {outcome.code}"
            )
            return StepOutcome(
                "failed",
                f"{why} (expected {step.expect_exit})" + (f": {last}" if last else ""),
                outcome.output,
            )
        return StepOutcome(
            "done", f"exit {outcome.code}" + (f": {last}" if last else ""), outcome.output
        )

    def restore(self, step: RestoreStep) -> StepOutcome:
        def value(text: str | None) -> str | None:
            return substitute(text, self.values) if text is not None else None

        target, to_dir, only, as_name = (
            value(step.target),
            value(step.to_dir),
            value(step.only),
            value(step.as_name),
        )
        backup = value(step.backup)
        where = (target and _public(target)) or to_dir or "the plan's target"
        what = f"point in time {value(step.at) or 'latest'}" if step.pitr else backup
        if step.confirm:
            refused = self._ask(f"Restore {step.service} ({what}) into {where}?")
            if refused:
                return refused
        report, path = self._restore(step, backup, target, to_dir, only, as_name, value(step.at))
        figures = ", ".join(
            f"{k} {v}"
            for k, v in report.figures.items()
            if k in ("target", "reached_time", "restored_as", "databases")
        )
        return StepOutcome(
            "done",
            f"{report.kind} of {report.service} into "
            f"{report.target or where} in {report.seconds:.1f} s"
            + (f" ({figures})" if figures else "")
            + f"; report {path}",
        )

    def _restore(
        self,
        step: RestoreStep,
        backup: str | None,
        target: str | None,
        to_dir: str | None,
        only: str | None,
        as_name: str | None,
        at: str | None,
    ) -> tuple[Report, Path]:
        backup_id = None if backup in (None, "latest") else backup
        if step.pitr:
            from reprise.restore.pitr import PitrRequest, parse_target_time, run_pitr

            moment = (
                parse_target_time(
                    at, self.plan.organisation.timezone, label=f"step {step.kind} `at`"
                )
                if at
                else None
            )
            request = PitrRequest(
                service=step.service,
                backup_id=backup_id,
                at=moment,
                to_dir=Path(to_dir).absolute() if to_dir else None,
                start=step.start,
                port=step.port,
            )
            if to_dir:
                report, path, _reached = run_pitr(
                    self.plan, self.store, request, plan_path=self.options.plan_path
                )
                return report, path
            if not (only and target):
                raise InputError(
                    "a point-in-time restore step needs to_dir, or only and target",
                    hint="fix the step in the plan",
                )
            from reprise.restore.partial import run_partial

            return run_partial(
                self.plan, self.store, request, only=only, target=target, as_name=as_name
            )
        from reprise.restore.run import RestoreRequest, run_restore

        return run_restore(
            self.plan,
            self.store,
            RestoreRequest(
                service=step.service,
                backup_id=backup_id,
                database=only,
                as_name=as_name,
                target=target,
                to_dir=Path(to_dir).absolute() if to_dir else None,
                clean=step.clean,
            ),
        )

    def wait_check(self, step: WaitCheckStep) -> StepOutcome:
        from reprise.orchestrators.status import check_services

        deadline = time.monotonic() + step.timeout.total_seconds()
        rounds = 0
        while True:
            rounds += 1
            status = check_services(self.plan, self.store, [step.service])[0]
            if not status.checks:
                return StepOutcome(
                    "failed",
                    f"{step.service} has no checks to wait for",
                )
            if status.state == "up":
                self._mark_up(step.service)
                return StepOutcome(
                    "done", f"{step.service} up after {rounds} round(s) of checks: {status.message}"
                )
            if time.monotonic() + self.options.poll_seconds > deadline:
                return StepOutcome(
                    "failed",
                    f"{step.service} still {status.state} after "
                    f"{step.timeout.total_seconds():g} s: "
                    f"{status.message}",
                )
            time.sleep(self.options.poll_seconds)

    def _mark_up(self, service: str) -> None:
        if self.incident is None:
            return
        incident = get_incident(self.store, self.incident.id)
        entry = incident.affected(service)
        if entry is not None and entry.state != "up":
            set_state(
                self.store,
                incident.id,
                service,
                "up",
                source=f"checks pass (runbook {self.scenario.id})",
                at=datetime.now(UTC),
                author=self.options.by,
            )

    def notify(self, step: NotifyStep) -> StepOutcome:
        text = substitute(step.text, self.values)
        subject = f"[{self.plan.organisation.name}] {self.scenario.title}: {text}"[:200]
        body = text
        if self.incident is not None:
            body += f"\n\nIncident {self.incident.id}: {self.incident.title}"
        records = asyncio.run(
            send_to_roles(
                self.plan,
                self.store,
                Notification("runbook", tuple(step.roles), subject, body),
                self.options.sender,
            )
        )
        if not records:
            return StepOutcome(
                "failed",
                "nobody to notify: the roles " + ", ".join(step.roles) + " have no contact",
            )
        sent = [r for r in records if r.ok]
        failed = [f"{r.role} ({r.contact}): {r.error}" for r in records if not r.ok]
        if not sent:
            return StepOutcome("failed", "no notification delivered: " + "; ".join(failed))
        message = f"sent to {len(sent)} contact(s) of {', '.join(step.roles)}"
        return StepOutcome("done", message + (f"; failed: {'; '.join(failed)}" if failed else ""))

    def evidence(self, step: EvidenceStep) -> StepOutcome:
        from reprise.incidents.evidence import collect_evidence
        from reprise.store import state_dir

        at = datetime.now(UTC)
        name = f"incident-{self.incident.id}" if self.incident else f"run-{self.scenario.id}"
        folder = state_dir(self.plan) / "evidence" / f"{name}-{at:%Y%m%dT%H%M%SZ}"
        paths = [substitute(path, self.values) for path in step.paths]
        bundle = collect_evidence(
            self.plan,
            paths,
            folder,
            at=at,
            labels={
                "incident": self.incident.id if self.incident else None,
                "scenario": self.scenario.id,
            },
            plan_path=self.options.plan_path,
            include_secrets=step.include_secrets,
        )
        message = (
            f"{len(bundle.files)} file(s) preserved in {folder} (SHA-256 each, signed manifest)"
        )
        if bundle.missing:
            message += "; not found: " + ", ".join(bundle.missing)
        if bundle.secrets_included:
            message += (
                f"; including {len(bundle.secrets_included)} secret file(s) of the "
                "plan (include_secrets: true): keep the bundle as safe as the keys"
            )
        secrets = bundle.secrets_skipped
        if secrets:
            message += (
                f"; {len(secrets)} secret file(s) of the plan left out ("
                + ", ".join(secrets)
                + "): add include_secrets: true to the step to "
                "collect them"
            )
        others = [
            f"{entry['path']} ({entry['reason']})"
            for entry in bundle.skipped
            if not entry.get("secret")
        ]
        if others:
            message += "; skipped: " + ", ".join(others)
        return StepOutcome("done", message)


def _public(dsn: str) -> str:
    from reprise.restore.logical import public_address

    return public_address(dsn)
