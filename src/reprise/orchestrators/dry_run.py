"""``runbook run --dry-run``: what every step of a scenario would do, its parameters filled
in, touching nothing: no run, no incident, no notification, no connection to a target (the
state store and the plan are only read). With ``exercise``, what the exercise would do
instead (scratch copies, commands skipped, test contacts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reprise.alerts.delivery import contacts_of
from reprise.alerts.routing import exercise_plan
from reprise.errors import RepriseError, render_options
from reprise.incidents.lifecycle import step_title, title_parts
from reprise.incidents.records import get_incident
from reprise.orchestrators.runbook import _check_incident, _uses_incident, _values, find_scenario
from reprise.orchestrators.steps import notify_recipients, substitute
from reprise.plan.contacts import recipient
from reprise.plan.model import Plan
from reprise.plan.steps import (
    CommandStep,
    EvidenceStep,
    ManualStep,
    NotifyStep,
    RestoreStep,
    Step,
    WaitCheckStep,
)
from reprise.reports.wording import Part, part, reworded, word_parts
from reprise.store.database import Store
from reprise.words import say

EXERCISE_DIR = Path("/nonexistent/reprise-exercise")
"""Stands for the temporary folder an exercise restores files into (never created here)."""

NEW_INCIDENT = "N"
"""What ``{{ incident }}`` shows in an exercise's dry run: its incident is opened when it
starts."""


@dataclass
class StepPreview:
    """One step: its title and what it would do, in catalog words, and its facts."""

    position: int
    kind: str
    title: str
    does: list[Part]
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunbookPreview:
    """A scenario's steps as they would run, with the values they would take."""

    scenario: str
    title: str
    exercise: bool
    parameters: dict[str, str]
    incident: int | None
    new_incident: bool
    steps: list[StepPreview]

    @property
    def needs_incident(self) -> bool:
        """A real run would need an incident (the steps use ``{{ incident }}``, shown N)."""
        return self.incident is None and self.parameters.get("incident") == NEW_INCIDENT

    def lines(self, language: str) -> list[str]:
        """The dry run for people, in ``language``."""
        heading = "exercise.dry_heading_exercise" if self.exercise else "exercise.dry_heading"
        lines = [say(language, heading, scenario=self.scenario, title=self.title)]
        shown = {k: v for k, v in self.parameters.items() if k != "incident"}
        lines.append(
            say(
                language,
                "exercise.dry_parameters",
                values=", ".join(f"{k}={v}" for k, v in shown.items()),
            )
            if shown
            else say(language, "exercise.dry_no_parameters")
        )
        if self.new_incident:
            incident = say(language, "exercise.dry_incident_new")
        elif self.incident is not None:
            incident = str(self.incident)
        elif self.needs_incident:
            incident = say(language, "exercise.dry_incident_needed")
        else:
            incident = say(language, "exercise.dry_incident_none")
        lines.append(say(language, "exercise.dry_incident", incident=incident))
        total = len(self.steps)
        for step in self.steps:
            lines.append(f"[{step.position + 1}/{total}] {step.title}")
            lines.append("    " + word_parts(language, step.does))
        return lines

    def to_dict(self, language: str) -> dict[str, Any]:
        """JSON form of `runbook run --dry-run --json` (``does`` in ``language``)."""
        return {
            "dry_run": True,
            "scenario": self.scenario,
            "title": self.title,
            "exercise": self.exercise,
            "parameters": {k: v for k, v in self.parameters.items() if k != "incident"},
            "incident": "new"
            if self.new_incident
            else ("required" if self.needs_incident else self.incident),
            "steps": [
                {
                    "step": step.position + 1,
                    "kind": step.kind,
                    "title": step.title,
                    "does": word_parts(language, step.does),
                    **step.facts,
                }
                for step in self.steps
            ],
        }


def preview_runbook(
    plan: Plan,
    store: Store,
    scenario_id: str,
    parameters: dict[str, str],
    *,
    incident_id: int | None = None,
    exercise: bool = False,
) -> RunbookPreview:
    """Every step of the scenario as a run with these parameters would carry it out, with
    the same refusals as the run (unknown or hostile parameters, a missing incident, no
    test contacts for an exercise); nothing is written or sent."""
    scenario = find_scenario(plan, scenario_id)
    if exercise:
        exercise_plan(plan)
    incident = get_incident(store, incident_id) if incident_id else None
    if incident is not None:
        _check_incident(incident, exercise)
    new_incident = exercise and incident is None
    # A real run of a scenario using {{ incident }} needs --incident; its dry run shows
    # the steps anyway, with N standing for the incident's number.
    placeholder = new_incident or (incident is None and _uses_incident(scenario))
    values = _values(scenario, parameters, {}, incident)
    declared = [p.name for p in scenario.parameters]  # shown in the plan's order
    values = {name: values[name] for name in declared} | values
    if placeholder:
        values["incident"] = NEW_INCIDENT
    preview = _Preview(plan, store, scenario.title, values, exercise)
    steps = [preview.step(position, step) for position, step in enumerate(scenario.steps)]
    return RunbookPreview(
        scenario.id,
        scenario.title,
        exercise,
        values,
        incident.id if incident else None,
        new_incident,
        steps,
    )


@dataclass
class _Preview:
    plan: Plan
    store: Store
    scenario_title: str
    values: dict[str, str]
    exercise: bool

    def text(self, text: str | None, *, quote_check: bool = False) -> str | None:
        return None if text is None else substitute(text, self.values, quote_check=quote_check)

    def step(self, position: int, step: Step) -> StepPreview:
        language = self.plan.organisation.language
        english = substitute(step_title(step), self.values)
        title = reworded(language, title_parts(step, self.values), english)
        does, facts = self.describe(step)
        return StepPreview(position, step.kind, title, does, facts)

    def describe(self, step: Step) -> tuple[list[Part], dict[str, Any]]:
        if isinstance(step, ManualStep):
            text = self.text(step.text) or ""
            text += f" [{step.role}]" if step.role else ""
            return [part("exercise.dry_manual", text=text)], {"text": text}
        if isinstance(step, CommandStep):
            return self.command(step)
        if isinstance(step, RestoreStep):
            return self.restore(step)
        if isinstance(step, WaitCheckStep):
            return self.wait_check(step)
        if isinstance(step, NotifyStep):
            return self.notify(step)
        assert isinstance(step, EvidenceStep)
        paths = [self.text(path) or "" for path in step.paths]
        return [part("exercise.dry_evidence", paths=", ".join(paths))], {"paths": paths}

    def command(self, step: CommandStep) -> tuple[list[Part], dict[str, Any]]:
        command = self.text(step.command, quote_check=True) or ""
        runs = not self.exercise or step.safe_in_exercise
        facts = {
            "command": command,
            "timeout": step.timeout.total_seconds(),
            "expect_exit": step.expect_exit,
            "runs": runs,
        }
        if not runs:
            return [part("exercise.dry_command_skipped", command=command)], facts
        does = part(
            "exercise.dry_command",
            command=command,
            timeout=f"{step.timeout.total_seconds():g}",
            expect=step.expect_exit,
        )
        return [does], facts

    def restore(self, step: RestoreStep) -> tuple[list[Part], dict[str, Any]]:
        from reprise.orchestrators.exercise import PLACEHOLDER_DSN, into_server
        from reprise.restore.dispatch import RestoreOrder, preview
        from reprise.restore.logical import public_address
        from reprise.restore.pitr import parse_target_time

        target, to_dir = self.text(step.target), self.text(step.to_dir)
        only, backup, at = self.text(step.only), self.text(step.backup), self.text(step.at)
        written = (target and public_address(target)) or to_dir
        where: list[Part] | str = written or [part("exercise.dry_plan_target")]
        server = into_server(step, target)
        if self.exercise:
            key = "exercise.dry_restore_scratch" if server else "exercise.dry_restore_dir"
            where = [part(key, target=where)]
        facts: dict[str, Any] = {"service": step.service, "target": written, "exercise": None}
        if self.exercise:
            facts["exercise"] = "scratch instance" if server else "temporary folder"
        confirm = [part("exercise.dry_confirm")] if step.confirm else []
        try:
            order = RestoreOrder(
                service=step.service,
                backup_id=None if backup in (None, "latest") else backup,
                pitr=step.pitr,
                at=parse_target_time(at, self.plan.organisation.timezone) if at else None,
                only=only if step.pitr else None,
                database=None if step.pitr else only,
                as_name=self.text(step.as_name),
                target=PLACEHOLDER_DSN if self.exercise and server else target,
                to_dir=(EXERCISE_DIR if not server else None)
                if self.exercise
                else (Path(to_dir).absolute() if to_dir else None),
                clean=step.clean,
            )
            chosen = preview(self.plan, self.store, order).to_dict()
        except RepriseError as error:
            message, _hint = error.render()
            facts["error"] = render_options(message)
            does = part(
                "exercise.dry_restore_unknown",
                service=step.service,
                backup=backup or "latest",
                target=where,
            )
            return [does, *confirm, part("exercise.dry_would_fail", error=facts["error"])], facts
        facts["restore"] = chosen
        if step.pitr:
            does = part(
                "exercise.dry_restore_pitr",
                service=step.service,
                at=at or [part("exercise.dry_latest")],
                target=where,
            )
        else:
            does = part(
                "exercise.dry_restore",
                backup=chosen.get("backup_id"),
                at=self.moment(chosen.get("backup_time")),
                service=step.service,
                target=where,
            )
        return [does, *confirm], facts

    def moment(self, value: object) -> str:
        """A moment kept as ISO text, in the plan's time zone as its language writes it."""
        from datetime import datetime

        from reprise.words.format import when

        if not isinstance(value, str):
            return str(value)
        organisation = self.plan.organisation
        moment = datetime.fromisoformat(value)
        return when(moment, organisation.language, organisation.timezone, seconds=True, zone=True)

    def wait_check(self, step: WaitCheckStep) -> tuple[list[Part], dict[str, Any]]:
        try:
            checks = ", ".join(check.target() for check in self.plan.service(step.service).checks)
        except KeyError:
            checks = ""
        timeout = step.timeout.total_seconds()
        facts = {"service": step.service, "checks": checks, "timeout": timeout}
        if self.exercise:
            return [
                part("exercise.dry_wait_check_once", service=step.service, checks=checks)
            ], facts
        does = part(
            "exercise.dry_wait_check", service=step.service, checks=checks, timeout=f"{timeout:g}"
        )
        return [does], facts

    def notify(self, step: NotifyStep) -> tuple[list[Part], dict[str, Any]]:
        text = self.text(step.text) or ""
        recipients, subject = notify_recipients(self.plan, self.scenario_title, text, self.exercise)
        contacts = [recipient(url) for _role, url in contacts_of(recipients, step.roles)]
        facts = {"roles": list(step.roles), "subject": subject, "contacts": contacts}
        does = part(
            "exercise.dry_notify",
            roles=", ".join(step.roles),
            subject=subject,
            contacts=", ".join(contacts) or [part("exercise.dry_nobody")],
        )
        return [does], facts
