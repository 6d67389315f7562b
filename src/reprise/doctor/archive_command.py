"""What a server's ``archive_command`` runs: Reprise's ``wal push`` for which plan and
source, and the shell prefix that starts Reprise (to run something else with it)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

_WAL_PUSH = re.compile(r"^(?P<prefix>.*?)\s+wal\s+push(?P<rest>(\s.*)?)$", re.DOTALL)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class ArchiveCommand:
    """A ``… reprise [--plan P] wal push %p [--source S]`` command, taken apart."""

    prefix: str
    """The shell text before ``wal push``: variables, the program, its root options."""
    plan: str | None
    source: str | None
    environment: dict[str, str]
    words: tuple[str, ...] = ()
    """The program and its root options (the prefix without its variables), as the shell
    would split them: what doctor runs, with no shell."""


def parse(command: str) -> ArchiveCommand | None:
    """The parts of ``command``, or None when it does not run Reprise's ``wal push %p``."""
    match = _WAL_PUSH.match(command.strip())
    if match is None:
        return None
    try:
        before = shlex.split(match.group("prefix"))
        after = shlex.split(match.group("rest") or "")
    except ValueError:
        return None
    if "%p" not in after:
        return None
    environment: dict[str, str] = {}
    words = list(before)
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        environment[name] = value
    if not _runs_reprise(words):
        return None
    return ArchiveCommand(
        match.group("prefix"),
        _option(words, "--plan", "-p") or _plan_variable(environment),
        _option(after, "--source"),
        environment,
        tuple(words),
    )


def _runs_reprise(words: list[str]) -> bool:
    """The program is ``reprise`` (any path) or ``python -m reprise``."""
    for index, word in enumerate(words):
        if word.startswith("-") and word != "-m":
            continue
        if Path(word).name == "reprise" and (index == 0 or words[index - 1] == "-m"):
            return True
    return False


def _option(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(f"{name}="):
                return word.split("=", 1)[1]
    return None


def _plan_variable(environment: dict[str, str]) -> str | None:
    return environment.get("REPRISE_PLAN")


def plan_of(parsed: ArchiveCommand, cwd: Path | None) -> Path | None:
    """The plan file the command uses, resolved (relative paths from the server's data
    directory, where PostgreSQL runs it); None when it names none."""
    if parsed.plan is None:
        return None
    path = Path(parsed.plan)
    if not path.is_absolute() and cwd is not None:
        path = cwd / path
    if path.is_dir():
        path = path / "reprise.yaml"
    return path.resolve()
