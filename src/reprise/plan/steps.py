"""Steps of a service's recovery procedure and of a runbook scenario, on ``kind``.

Text fields may use ``{{ name }}`` to take a scenario parameter at run time (``${…}`` is
already taken by the environment, expanded when the plan loads).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from reprise.plan.common import Dsn, Identifier, PlanModel, Text, one_or_many
from reprise.plan.units import Duration


class StepBase(PlanModel):
    """What every step has."""

    title: Text | None = Field(None, description="Short name in plans and reports.")
    role: Identifier | None = Field(None, description="Role that carries the step out; "
                                                      "default: the service's owner.")


class ManualStep(StepBase):
    """An instruction that a person carries out and confirms."""

    kind: Literal["manual"]
    text: Text


class CommandStep(StepBase):
    """A command run by Reprise, its output captured into the incident timeline."""

    kind: Literal["command"]
    command: Text = Field(description="Run with /bin/sh -c.")
    timeout: Duration = timedelta(minutes=5)
    expect_exit: int = Field(0, ge=0, le=255)


class RestoreStep(StepBase):
    """Restore a service's backup, or recover it to a point in time."""

    kind: Literal["restore"]
    service: Identifier
    backup: Text = Field("latest", description="'latest' or a backup id.")
    pitr: bool = Field(False, description="Point-in-time recovery from a physical backup.")
    at: str | None = Field(None, description="Recovery target time (with pitr); may be a "
                                             "scenario parameter: '{{ at }}'.")
    only: str | None = Field(None, description="Restore only DB or DB.SCHEMA.TABLE.")
    target: Dsn | None = Field(None, description="Server to restore into.")
    to_dir: str | None = Field(None, description="Directory to restore into instead.")
    as_name: str | None = Field(None, alias="as", description="New name for the restored "
                                                              "database or table.")
    clean: bool = Field(False, description="Allow restoring over a non-empty database.")
    start: bool = Field(False, description="With pitr and to_dir: start the recovered "
                                           "instance (a side instance).")
    port: int | None = Field(None, ge=1, le=65535, description="Port of the started instance.")
    confirm: bool = Field(True, description="Ask a person before restoring.")

    @model_validator(mode="after")
    def _consistent(self) -> RestoreStep:
        if self.target and self.to_dir:
            raise PydanticCustomError("restore_target", "target and to_dir exclude each other",
                                      {"hint": "keep one: a server (target) or a directory"})
        if self.at and not self.pitr:
            raise PydanticCustomError("restore_at", "at needs pitr: true",
                                      {"hint": "add pitr: true, or remove at"})
        if self.start and not (self.pitr and self.to_dir):
            raise PydanticCustomError("restore_start", "start needs pitr: true and to_dir",
                                      {"hint": "add pitr: true and to_dir, or remove start"})
        return self


class WaitCheckStep(StepBase):
    """Wait until every check of a service passes."""

    kind: Literal["wait_check"]
    service: Identifier
    timeout: Duration = timedelta(minutes=10)


def _roles(value: Any) -> Any:
    return one_or_many(value)


class NotifyStep(StepBase):
    """Send a message to the contacts of some roles."""

    kind: Literal["notify"]
    roles: Annotated[list[Identifier], BeforeValidator(_roles), Field(min_length=1)]
    text: Text


class EvidenceStep(StepBase):
    """Preserve files (logs) for an investigation: copied into an evidence bundle with the
    SHA-256 of each file and a manifest signed with the plan's signing key."""

    kind: Literal["evidence"]
    paths: Annotated[list[Text], BeforeValidator(one_or_many), Field(min_length=1)] = Field(
        description="Files, directories or glob patterns (/var/log/nginx/*.log).")


Step = Annotated[
    ManualStep | CommandStep | RestoreStep | WaitCheckStep | NotifyStep | EvidenceStep,
    Field(discriminator="kind"),
]
"""Any step; ``kind`` selects the model."""

PARAMETER = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}")
"""``{{ name }}`` in a step's text: a scenario parameter."""


def step_texts(step: StepBase) -> list[tuple[str, str]]:
    """Every text of a step with its field (strings, and the strings of lists): where
    parameters may appear."""
    found: list[tuple[str, str]] = []
    for field, value in step.model_dump(exclude_none=True, by_alias=True).items():
        if isinstance(value, str):
            found.append((field, value))
        elif isinstance(value, list):
            found.extend((field, item) for item in value if isinstance(item, str))
    return found


STEP_KINDS = ("manual", "command", "restore", "wait_check", "notify", "evidence")
