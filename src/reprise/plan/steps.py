"""Steps of a service's recovery procedure and of a runbook scenario, on ``kind``.

Text fields may use ``{{ name }}`` to take a scenario parameter at run time (``${…}`` is
already taken by the environment, expanded when the plan loads). Nothing else between double
braces is understood: no filters, attributes or expressions, so ``{{ host | upper }}`` is a
plan error rather than a pipe handed to the shell.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from reprise.plan.common import Dsn, Identifier, PlanModel, Text, one_or_many
from reprise.plan.units import Duration


class StepBase(PlanModel):
    """What every step has."""

    title: Text | None = Field(None, description="Short name in plans and reports.")
    role: Identifier | None = Field(
        None, description="Role that carries the step out; default: the service's owner."
    )

    def default_title(self) -> str:
        """How the step is named in task lists and reports when it has no ``title``."""
        raise NotImplementedError

    def display_title(self) -> str:
        """The step's ``title``, else the name its kind gives it."""
        return self.title or self.default_title()


class ManualStep(StepBase):
    """An instruction that a person carries out and confirms."""

    kind: Literal["manual"]
    text: Text

    def default_title(self) -> str:
        """The instruction itself."""
        return self.text


class CommandStep(StepBase):
    """A command run by Reprise, its output captured into the incident timeline."""

    kind: Literal["command"]
    command: Text = Field(description="Run with /bin/sh -c.")
    timeout: Duration = timedelta(minutes=5)
    expect_exit: int = Field(0, ge=0, le=255)
    safe_in_exercise: bool = Field(
        False,
        description="Run it during an exercise too (it touches nothing real); otherwise an "
        "exercise shows the command and skips it.",
    )

    def default_title(self) -> str:
        """``$ command``."""
        return f"$ {self.command}"


class RestoreStep(StepBase):
    """Restore a service's backup, or recover it to a point in time."""

    kind: Literal["restore"]
    service: Identifier
    backup: Text = Field("latest", description="'latest' or a backup id.")
    pitr: bool = Field(False, description="Point-in-time recovery from a physical backup.")
    at: str | None = Field(
        None,
        description="Recovery target time (with pitr); may be a scenario parameter: '{{ at }}'.",
    )
    only: str | None = Field(None, description="Restore only DB or DB.SCHEMA.TABLE.")
    target: Dsn | None = Field(None, description="Server to restore into.")
    to_dir: str | None = Field(None, description="Directory to restore into instead.")
    as_name: str | None = Field(
        None, alias="as", description="New name for the restored database or table."
    )
    clean: bool = Field(False, description="Allow restoring over a non-empty database.")
    start: bool = Field(
        False, description="With pitr and to_dir: start the recovered instance (a side instance)."
    )
    port: int | None = Field(None, ge=1, le=65535, description="Port of the started instance.")
    confirm: bool = Field(True, description="Ask a person before restoring.")

    def default_title(self) -> str:
        """The service and what is restored."""
        what = "point-in-time recovery" if self.pitr else f"restore ({self.backup})"
        return f"{self.service}: {what}"

    @model_validator(mode="after")
    def _consistent(self) -> RestoreStep:
        if self.target and self.to_dir:
            raise PydanticCustomError(
                "restore_target",
                "target and to_dir exclude each other",
                {"hint": "keep one: a server (target) or a directory"},
            )
        if self.at and not self.pitr:
            raise PydanticCustomError(
                "restore_at", "at needs pitr: true", {"hint": "add pitr: true, or remove at"}
            )
        if self.start and not (self.pitr and self.to_dir):
            raise PydanticCustomError(
                "restore_start",
                "start needs pitr: true and to_dir",
                {"hint": "add pitr: true and to_dir, or remove start"},
            )
        return self


class WaitCheckStep(StepBase):
    """Wait until every check of a service passes."""

    kind: Literal["wait_check"]
    service: Identifier
    timeout: Duration = timedelta(minutes=10)

    def default_title(self) -> str:
        """The service and how long it may take."""
        seconds = int(self.timeout.total_seconds())
        limit = f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
        return f"Wait until {self.service}'s checks pass (at most {limit})"


def _roles(value: Any) -> Any:
    return one_or_many(value)


class NotifyStep(StepBase):
    """Send a message to the contacts of some roles."""

    kind: Literal["notify"]
    roles: Annotated[list[Identifier], BeforeValidator(_roles), Field(min_length=1)]
    text: Text

    def default_title(self) -> str:
        """Who is notified, and of what."""
        return f"notify {', '.join(self.roles)}: {self.text}"


class EvidenceStep(StepBase):
    """Preserve files (logs) for an investigation: copied into an evidence bundle with the
    SHA-256 of each file and a manifest signed with the plan's signing key."""

    kind: Literal["evidence"]
    paths: Annotated[list[Text], BeforeValidator(one_or_many), Field(min_length=1)] = Field(
        description="Files, directories or glob patterns (/var/log/nginx/*.log). Symbolic "
        "links are recorded, never followed."
    )
    include_secrets: bool = Field(
        False,
        description="Also collect the plan's own secrets "
        "(age identity, signing key, .env) "
        "when the paths reach them; by default "
        "they are skipped and the bundle says "
        "so.",
    )

    def default_title(self) -> str:
        """The paths preserved."""
        return "preserve evidence: " + ", ".join(self.paths)


Step = Annotated[
    ManualStep | CommandStep | RestoreStep | WaitCheckStep | NotifyStep | EvidenceStep,
    Field(discriminator="kind"),
]
"""Any step; ``kind`` selects the model.

A new kind of step is its model here (with ``default_title``) in this union, and one
executor registered in ``reprise.orchestrators.steps.STEP_EXECUTORS``."""

PARAMETER = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}")
"""``{{ name }}`` in a step's text: a scenario parameter."""

_UNTIL_CLOSE = re.compile(r"\{\{.*?(\}\}|$)", re.DOTALL)


def template_errors(text: str) -> list[str]:
    """Every ``{{`` of ``text`` that does not open a plain ``{{ name }}`` parameter, as
    written (``{{ host | upper }}``, ``{{ 1+1 }}``, an unclosed ``{{ host``)."""
    found: list[str] = []
    position = text.find("{{")
    while position != -1:
        plain = PARAMETER.match(text, position)
        if plain:
            position = text.find("{{", plain.end())
            continue
        written = _UNTIL_CLOSE.match(text, position)
        snippet = written.group(0) if written else text[position:]
        found.append(snippet if len(snippet) <= 60 else snippet[:57] + "...")
        position = text.find("{{", position + max(len(snippet), 2))
    return found


SHELL_SAFE = re.compile(r"[A-Za-z0-9 _.,:+@/=%-]*")
"""What a parameter value going into a command may contain: nothing the shell reads (no
quotes, ``$``, ``;``, ``|``, ``&``, backquotes, redirections, globs, backslashes), so the value
means the same bare, in single quotes or in double quotes."""


def parameter_value_problem(value: str, *, in_command: bool) -> tuple[str, str] | None:
    """Why a parameter value is refused (and how to fix it), or None when it is acceptable.

    Every value: no control character (line break, tab, NUL…) and no leading ``-``, which a
    program would read as an option (``ssh {{ host }}`` with ``-oProxyCommand=…``). A value
    that goes into a command also keeps to :data:`SHELL_SAFE`, and none of its words may
    start with ``-`` either (the shell splits it on spaces). The reasons never quote the
    value itself: it may be hostile, and it ends up in logs.
    """
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return (
                f"its value contains a control character (U+{ord(char):04X}: a line "
                "break, a tab, NUL…), which could start another command",
                "give the value on one line, without tabs or control characters",
            )
    if value.lstrip().startswith("-"):
        return (
            "its value starts with '-', which a program would read as an option",
            "write the value without the leading '-' (a file name can be written ./-name)",
        )
    if in_command:
        if not SHELL_SAFE.fullmatch(value):
            char = next(c for c in value if not SHELL_SAFE.fullmatch(c))
            return (
                f"its value contains {char!r}, which cannot go into a shell command",
                "use letters, digits, spaces and . , : + @ / = % - _",
            )
        if any(word.startswith("-") for word in value.split()):
            return (
                "a word of its value starts with '-', which the command would read as an option",
                "remove the word starting with '-'",
            )
    return None


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


def command_parameters(steps: Sequence[StepBase]) -> set[str]:
    """The parameters that a scenario's command steps put into a shell command."""
    return {
        name
        for step in steps
        if isinstance(step, CommandStep)
        for name in PARAMETER.findall(step.command)
    }


STEP_KINDS: tuple[str, ...] = tuple(
    get_args(member.model_fields["kind"].annotation)[0] for member in get_args(get_args(Step)[0])
)
"""The ``kind`` of every member of :data:`Step`, in the union's order."""
