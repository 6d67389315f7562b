"""The plan as people read it: a summary of a valid plan, its recovery strategy and
order, its JSON Schema, and a plan written from an existing PCRA document."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import FileExistsRefusal, InputError, option
from reprise.plan.importer import ImportResult, import_pcra
from reprise.plan.loader import load_plan
from reprise.plan.order import OrderEntry, recovery_order
from reprise.plan.schema import plan_json_schema
from reprise.plan.strategy import PriorityGroup, recovery_strategy

if TYPE_CHECKING:
    from reprise.plan.loader import LoadedPlan
    from reprise.plan.model import Plan

__all__ = [
    "ImportRequest",
    "ImportedPlan",
    "OrderEntry",
    "PlanSummary",
    "PriorityGroup",
    "import_plan",
    "plan_order",
    "plan_schema",
    "plan_strategy",
    "summarise",
]


@dataclass(frozen=True)
class PlanSummary:
    """A valid plan: where, which version, how much it holds, what it warns about."""

    loaded: LoadedPlan

    def to_dict(self) -> dict[str, Any]:
        """JSON form of a valid plan."""
        plan = self.loaded.plan
        return {
            "valid": True,
            "plan": str(self.loaded.path),
            "sha256": self.loaded.sha256,
            "services": len(plan.services),
            "roles": len(plan.roles),
            "scenarios": len(plan.scenarios),
            "repositories": len(plan.repositories),
            "errors": [],
            "warnings": [warning.to_dict() for warning in self.loaded.warnings],
        }


def summarise(loaded: LoadedPlan) -> PlanSummary:
    """The summary of a plan that loaded (loading is what validates it)."""
    return PlanSummary(loaded)


def plan_strategy(plan: Plan) -> list[PriorityGroup]:
    """Services grouped by priority, with their objectives."""
    return recovery_strategy(plan)


def plan_order(plan: Plan) -> list[OrderEntry]:
    """The order in which to recover services, with the reason for each place."""
    return recovery_order(plan)


def plan_schema() -> dict[str, Any]:
    """The plan's JSON Schema."""
    return plan_json_schema()


@dataclass(frozen=True)
class ImportRequest:
    """The PCRA document to read, the plan file to write (a folder means its
    ``reprise.yaml``) and whether an existing file may be replaced."""

    document: Path
    output: Path = Path("reprise.yaml")
    force: bool = False


@dataclass(frozen=True)
class ImportedPlan:
    """The plan written, where, and what the import mapped or left to a person."""

    output: Path
    plan: Plan
    result: ImportResult

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "output": str(self.output),
            "services": [service.id for service in self.plan.services],
            "roles": [role.id for role in self.plan.roles],
            "mapped": self.result.notes,
            "unmapped": self.result.unmapped,
        }


def import_plan(request: ImportRequest) -> ImportedPlan:
    """Write a plan from a PCRA document. The draft is validated before it replaces the
    output, so that a plan that does not load is never left behind."""
    output = request.output
    if output.is_dir():
        output = output / "reprise.yaml"  # a folder means its plan, as the plan path reads it
    if output.exists() and not request.force:
        raise FileExistsRefusal(
            f"{output} already exists",
            hint=f"choose another {option('output')}, or {option('force')} to replace it",
        )
    folder = output.absolute().parent
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such folder for {option('output')}",
            hint=f"create it first (mkdir -p {folder}), or choose another {option('output')}",
        )
    result = import_pcra(request.document)
    text = result.yaml_text(request.document)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, suffix=".yaml", prefix=".reprise-import-", delete=False
    ) as handle:
        handle.write(text)
    draft = Path(handle.name)
    try:
        loaded = load_plan(draft, environ={}, contacts=False)
        draft.replace(output)
    finally:
        draft.unlink(missing_ok=True)
    return ImportedPlan(output, loaded.plan, result)
