"""How the CLI writes: Rich tables for people, plain JSON for programs, errors on stderr.

Lines are never wrapped (``soft_wrap``): an error's ``file:line:column`` must stay on one
line that grep and editors can read.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from reprise.errors import PlanIssue, RepriseError


def stdout() -> Console:
    """The console for results. Piped into a file or a log, tables are laid out 200
    columns wide (unless $COLUMNS says otherwise) instead of being cut at 80."""
    import os

    from rich.console import Console

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(soft_wrap=True, highlight=False, width=width)


def stderr() -> Console:
    """The console for errors, warnings and progress."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout (UTF-8 kept readable)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_warning(issue: PlanIssue) -> None:
    """One warning line on stderr."""
    stderr().print(f"[yellow]warning:[/] {_escape(issue.render())}")


def print_error(error: RepriseError) -> None:
    """An error as people should see it: the message, then the fix, on stderr."""
    from reprise.errors import PlanError

    console = stderr()
    if isinstance(error, PlanError):
        for issue in error.issues:
            console.print(f"[red]error:[/] {_escape(issue.render())}")
        count = len(error.issues)
        if count > 1:
            console.print(f"{count} problems found in the plan.")
        return
    message, hint = error.render()
    lines = message.splitlines() or [""]
    console.print(f"[red]error:[/] {_escape(lines[0])}")
    for line in lines[1:]:
        console.print(f"  {_escape(line)}")
    if hint:
        console.print(f"[bold]Fix:[/] {_escape(hint)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def local_time(zone: str, value: datetime | None) -> str:
    """A stored (UTC) time in the plan's zone with the zone's abbreviation, or a dash."""
    from zoneinfo import ZoneInfo

    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S %Z")
