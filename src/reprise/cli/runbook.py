"""``reprise runbook``: list the plan's scenarios, run one step by step (resuming where it
stopped), and check an evidence bundle."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reprise.cli.context import who
from reprise.errors import EXIT_FAILED, EXIT_WAITING_FOR_PERSON
from reprise.words import say

if TYPE_CHECKING:
    from reprise.incidents.records import Incident
    from reprise.usecases.runbook import StepRecord

app = typer.Typer(
    no_args_is_help=True,
    help="Runbooks (the plan's scenarios): run them step by step into an incident.",
)
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("list")
def runbook_list(ctx: typer.Context, json: JsonOption = False) -> None:
    """The plan's scenarios with their steps and parameters."""
    from reprise.cli.context import load
    from reprise.cli.output import print_json, stdout

    plan = load(ctx, contacts=False).plan
    if json:
        print_json(
            {
                "scenarios": [
                    {
                        "id": s.id,
                        "title": s.title,
                        "services": s.services,
                        "parameters": [p.model_dump() for p in s.parameters],
                        "steps": [
                            {"kind": step.kind, "title": step.display_title()} for step in s.steps
                        ],
                    }
                    for s in plan.scenarios
                ]
            }
        )
        return
    out = stdout()
    if not plan.scenarios:
        out.print("The plan has no scenarios.")
    for scenario in plan.scenarios:
        out.print(
            f"{scenario.id}: {scenario.title} ({len(scenario.steps)} steps"
            + (
                f"; parameters: {', '.join(p.name for p in scenario.parameters)}"
                if scenario.parameters
                else ""
            )
            + ")",
            markup=False,
            highlight=False,
        )


@app.command("run")
def runbook_run(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="Scenario id (`reprise runbook list`).")],
    incident: Annotated[
        int | None, typer.Option("--incident", min=1, help="Record the steps into this incident.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="NAME=VALUE", help="A scenario parameter (repeatable)."),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            help="Confirm manual steps and restores without asking (only once they "
            "are really done).",
        ),
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start from the first step instead of resuming.")
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who runs it.")] = None,
    exercise: Annotated[
        bool,
        typer.Option(
            "--exercise",
            help="Rehearse: restores into scratch copies, commands only when "
            "safe_in_exercise, notifications to communication.test_contacts only "
            "([EXERCISE]/[EXERCICE]), into an exercise incident (opened when --incident "
            "is not given).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show what every step would do with its parameters filled in; nothing is "
            "run, written or sent.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Run a scenario step by step; it stops at a failure and resumes there next time.

    Exit 0 when every step is done, 1 when a step failed, 4 when it waits for a person."""
    from reprise.cli.context import plan_path, plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.runbook import RunbookRequest, run_runbook

    values: dict[str, str] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r}: write NAME=VALUE", param_hint="--param")
        values[name.strip()] = value
    if dry_run:
        _dry_run(ctx, scenario, incident, values, exercise=exercise, json=json)
        return
    interactive = not json and sys.stdin.isatty() and sys.stdout.isatty()
    out = stdout()

    def confirm(question: str) -> bool | None:
        if yes:
            return True
        if not interactive:
            return None
        return typer.confirm(question, default=False)

    def started(position: int, total: int, title: str) -> None:
        if not json:
            out.print(f"[{position + 1}/{total}] {title}", markup=False, highlight=False)

    def ended(record: StepRecord, total: int) -> None:
        if not json:
            mark = {"done": "  ✓", "failed": "  ✗", "waiting": "  …", "skipped": "  –"}[
                record.status
            ]
            out.print(
                f"{mark} {record.message} ({record.seconds:.1f} s)", markup=False, highlight=False
            )

    with plan_state(ctx) as (loaded, store):
        request = RunbookRequest(
            scenario,
            who(by),
            incident=incident,
            param=values,
            restart=restart,
            plan_path=plan_path(ctx) or loaded.path,
            exercise=exercise,
        )
        language = loaded.plan.organisation.language

        def opened(found: Incident) -> None:
            if not json:
                out.print(
                    say(language, "exercise.run_opened", id=found.id, title=found.title),
                    markup=False,
                    highlight=False,
                )

        result = run_runbook(
            loaded.plan,
            store,
            request,
            confirm=confirm,
            on_step_start=started,
            on_step_end=ended,
            on_exercise_opened=opened,
        )
    run, total = result.run, result.total_steps
    incident = incident or run.incident_id
    if json:
        print_json(run.to_dict())
    elif run.status == "done":
        out.print(f"Runbook {scenario} finished: {total} steps done.", markup=False)
        if exercise and incident:
            out.print(say(language, "exercise.run_close", id=incident), markup=False)
    else:
        again = (
            f"reprise runbook run {scenario}"
            + (f" --incident {incident}" if incident else "")
            + (" --exercise" if exercise else "")
        )
        what = "failed" if run.status == "failed" else "waits for a person"
        out.print(
            f"Runbook {scenario} stopped: step {run.next_step + 1} {what}. Fix the "
            f"cause, then `{again}` resumes at that step.",
            markup=False,
            highlight=False,
        )
    if run.status != "done":
        raise typer.Exit(EXIT_FAILED if run.status == "failed" else EXIT_WAITING_FOR_PERSON)


def _dry_run(
    ctx: typer.Context,
    scenario: str,
    incident: int | None,
    values: dict[str, str],
    *,
    exercise: bool,
    json: bool,
) -> None:
    """`runbook run --dry-run`: every step resolved, in the plan's language."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.runbook import DryRunRequest, dry_run

    with plan_state(ctx) as (loaded, store):
        preview = dry_run(
            loaded.plan,
            store,
            DryRunRequest(scenario, incident=incident, param=values, exercise=exercise),
        )
    language = loaded.plan.organisation.language
    if json:
        print_json(preview.to_dict(language))
        return
    out = stdout()
    for line in preview.lines(language):
        out.print(line, markup=False, highlight=False)


@app.command("verify-evidence")
def runbook_verify_evidence(
    folder: Annotated[Path, typer.Argument(help="An evidence bundle folder.")],
    json: JsonOption = False,
) -> None:
    """Check an evidence bundle: manifest signature and every file's SHA-256 (exit 3 when
    something differs)."""
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.runbook import EvidenceRequest, verify_evidence_bundle

    bundle = verify_evidence_bundle(EvidenceRequest(folder))
    if json:
        print_json(
            {
                "folder": str(folder),
                "ok": True,
                "files": bundle.files,
                "signing_key": bundle.signing_key,
            }
        )
        return
    stdout().print(
        f"{folder}: signature valid, {bundle.files} file(s) match "
        f"their SHA-256 (key {bundle.signing_key}).",
        markup=False,
        highlight=False,
    )
