"""Runbooks: run one of the plan's scenarios step by step (resuming where it stopped), and
check an evidence bundle one of its steps wrote."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import InputError
from reprise.incidents.evidence import verify_evidence
from reprise.incidents.records import Incident
from reprise.incidents.runs import RunRecord, StepRecord
from reprise.orchestrators import runbook
from reprise.orchestrators.dry_run import RunbookPreview, preview_runbook
from reprise.orchestrators.runbook import Confirm, RunbookOptions

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "Confirm",
    "DryRunRequest",
    "EvidenceCheck",
    "EvidenceRequest",
    "RunRecord",
    "RunbookPreview",
    "RunbookRequest",
    "RunbookResult",
    "StepRecord",
    "dry_run",
    "run_runbook",
    "verify_evidence_bundle",
]


def _nobody(_question: str) -> bool | None:
    return None


@dataclass(frozen=True)
class RunbookRequest:
    """The scenario to run, who runs it, the incident to record it into, the scenario's
    parameters (``param``: name → value), whether to start over instead of resuming, and
    the plan file (to find its secrets for evidence steps)."""

    scenario: str
    by: str
    incident: int | None = None
    param: Mapping[str, str] = field(default_factory=dict)
    restart: bool = False
    plan_path: Path | None = None
    exercise: bool = False
    """A rehearsal: restores into scratch copies, commands only when
    ``safe_in_exercise``, notifications to ``communication.test_contacts`` only, into an
    exercise incident (opened when none is given)."""


@dataclass(frozen=True)
class RunbookResult:
    """The run as it stands, how many steps the scenario has, and the exercise incident
    the run opened (None when it opened none)."""

    run: RunRecord
    total_steps: int
    opened: Incident | None = None

    @property
    def status(self) -> str:
        """``done``, ``failed`` or ``waiting`` (for a person)."""
        return self.run.status


def run_runbook(
    plan: Plan,
    store: Store,
    request: RunbookRequest,
    *,
    confirm: Confirm = _nobody,
    on_step_start: Callable[[int, int, str], None] | None = None,
    on_step_end: Callable[[StepRecord, int], None] | None = None,
    on_exercise_opened: Callable[[Incident], None] | None = None,
) -> RunbookResult:
    """Run the scenario from its first step, or resume its last unfinished run at the step
    that failed or waited. A step that needs a person asks ``confirm`` (None: nobody can
    answer, the run waits); ``on_step_start`` and ``on_step_end`` hear each step,
    ``on_exercise_opened`` the exercise incident opened for the run."""
    scenario = runbook.find_scenario(plan, request.scenario)
    opened: list[Incident] = []

    def heard(incident: Incident) -> None:
        opened.append(incident)
        if on_exercise_opened is not None:
            on_exercise_opened(incident)

    run = runbook.run_runbook(
        plan,
        store,
        scenario.id,
        RunbookOptions(
            by=request.by,
            incident_id=request.incident,
            parameters=dict(request.param),
            confirm=confirm,
            restart=request.restart,
            on_step_start=on_step_start,
            on_step_end=on_step_end,
            plan_path=request.plan_path,
            exercise=request.exercise,
            on_exercise_opened=heard,
        ),
    )
    return RunbookResult(run, len(scenario.steps), opened[0] if opened else None)


@dataclass(frozen=True)
class DryRunRequest:
    """The scenario to show, its parameters, the incident it would record into, and
    whether as an exercise."""

    scenario: str
    incident: int | None = None
    param: Mapping[str, str] = field(default_factory=dict)
    exercise: bool = False


def dry_run(plan: Plan, store: Store, request: DryRunRequest) -> RunbookPreview:
    """What every step would do with its parameters filled in; nothing is run, written or
    sent (the same refusals as a run: unknown parameters, no incident, no test contacts)."""
    return preview_runbook(
        plan,
        store,
        request.scenario,
        dict(request.param),
        incident_id=request.incident,
        exercise=request.exercise,
    )


@dataclass(frozen=True)
class EvidenceRequest:
    """The evidence bundle folder to check."""

    folder: Path


@dataclass(frozen=True)
class EvidenceCheck:
    """A bundle whose signature and files all check out."""

    folder: Path
    files: int
    signing_key: str


def verify_evidence_bundle(request: EvidenceRequest) -> EvidenceCheck:
    """Check the bundle's manifest signature and every file's SHA-256 (VerificationError
    naming the first difference; InputError when the folder holds no bundle)."""
    folder = request.folder
    if not (folder / "manifest.json").is_file():
        raise InputError(
            f"{folder}: no manifest.json here", hint="give the folder an evidence step wrote"
        )
    manifest = verify_evidence(folder)
    return EvidenceCheck(folder, len(manifest["files"]), str(manifest["signing_key"]))
