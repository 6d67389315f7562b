"""Errors that Reprise shows to people.

Core code raises these and never prints or exits; the CLI (and later the web) turns one into
a clear message and an exit code in a single place. The exit code says what happened:

====  =====================================================================
code  meaning
====  =====================================================================
0     success
1     the operation failed (a server unreachable, a tool missing, a disk full)
2     bad input or configuration (the plan, a flag, a file's permissions)
3     verification failed (a checksum, a signature, a restore drill)
70    internal error: a bug in Reprise (EX_SOFTWARE)
130   interrupted (Ctrl-C)
====  =====================================================================

The tree, grouped by area::

    RepriseError                      exit 1 unless a subclass says otherwise
    ├── InputError                    exit 2: the user can fix it by changing input
    │   ├── PlanError                 the plan does not load or validate (carries issues)
    │   ├── UnsafePermissionsError    a secret file is readable by group or others
    │   └── FileExistsRefusal         a file would be overwritten without --force
    ├── OperationError                exit 1: the world did not cooperate
    │   ├── ToolNotFoundError         a PostgreSQL binary is missing or too old
    │   ├── ScratchInstanceError      a throwaway PostgreSQL did not start or stop
    │   └── StateStoreError           the state database cannot be opened or migrated
    └── VerificationError             exit 3: data did not prove what it claims
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_VERIFICATION_FAILED = 3
EXIT_WAITING_FOR_PERSON = 4
"""`runbook run`: a manual step waits for a person (run again on a terminal, or --yes)."""
EXIT_INTERNAL_ERROR = 70
EXIT_INTERRUPTED = 130


_OPTION = re.compile(r"\{option:([a-z][a-z0-9_]*)\}")


def option(name: str) -> str:
    """A reference to one setting of a request (``overwrite``, ``as_name``) inside a
    message: the core names what the person can change and each door renders it its own way
    (the CLI as ``--overwrite``, a web form by its label). The core never spells a flag."""
    return "{option:" + name + "}"


def cli_flag(name: str) -> str:
    """How the CLI spells a request setting: ``as_name`` → ``--as``, ``target_dir`` →
    ``--target-dir``."""
    return "--" + name.removesuffix("_name").replace("_", "-")


def render_options(text: str, render: Callable[[str], str] = cli_flag) -> str:
    """``text`` with every ``option(...)`` reference rendered by ``render``."""
    return _OPTION.sub(lambda match: render(match.group(1)), text)


def referenced_options(text: str) -> list[str]:
    """The request settings a message refers to, in order."""
    return _OPTION.findall(text)


class RepriseError(Exception):
    """Base of every error meant for a person: a message, an optional fix, an exit code.

    ``retryable`` tells schedulers whether running the same thing again may help
    (a network blip) or not (a malformed plan).
    """

    exit_code: int = EXIT_FAILED
    retryable: bool = False

    def __init__(
        self, message: str, *, hint: str | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if retryable is not None:
            self.retryable = retryable

    @property
    def options(self) -> list[str]:
        """The request settings the message and fix refer to (see ``option``)."""
        return referenced_options(self.message + "\n" + (self.hint or ""))

    def render(self, render: Callable[[str], str] = cli_flag) -> tuple[str, str | None]:
        """Message and fix with option references rendered by a door."""
        hint = render_options(self.hint, render) if self.hint else None
        return render_options(self.message, render), hint

    def __str__(self) -> str:
        message, hint = self.render()
        if hint:
            return f"{message}\nFix: {hint}"
        return message


class InputError(RepriseError):
    """The input (plan, arguments, files) is wrong; changing it fixes the problem."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class PlanIssue:
    """One problem found in a plan, located as precisely as the source allows.

    ``path`` is the position inside the plan (``services[3].checks[0].port``); ``line`` and
    ``column`` are 1-based and refer to ``file``.
    """

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None = None

    def location(self) -> str:
        """``file:line:column`` (or as much of it as is known)."""
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"

    def render(self) -> str:
        """One line a person can act on: where, what, and how to fix it."""
        where = f"{self.path}: " if self.path else ""
        fix = f" Fix: {self.hint}" if self.hint else ""
        return f"{self.location()}: {where}{self.message}.{fix}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly form for ``--json`` output and editors."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class PlanError(InputError):
    """The plan file cannot be read, parsed or validated; ``issues`` lists every problem."""

    def __init__(self, issues: list[PlanIssue]) -> None:
        self.issues = issues
        lines = [issue.render() for issue in issues]
        super().__init__("\n".join(lines))

    def __str__(self) -> str:
        return self.message


class UnsafePermissionsError(InputError):
    """A file holding secrets (``.env``, a private key) is accessible to group or others.

    ``detail`` is the message without the file name, for callers that show it elsewhere.
    """

    detail: str = ""


class FileExistsRefusal(InputError):
    """Writing would replace a file the user already has; ``--force`` is required."""


class OperationError(RepriseError):
    """Something outside the input failed: a server, a tool, a disk."""


class ToolNotFoundError(OperationError):
    """A required external program (pg_dump, initdb…) is missing or too old."""


class ScratchInstanceError(OperationError):
    """A throwaway PostgreSQL instance could not be created, started or stopped."""


class StateStoreError(OperationError):
    """The state database cannot be reached, opened or migrated."""


class VerificationError(RepriseError):
    """Data failed to prove what it claims: a checksum, a signature, a drill assertion."""

    exit_code = EXIT_VERIFICATION_FAILED
