"""How the CLI writes: Rich tables for people, plain JSON for programs, errors on stderr.

Lines are never wrapped (``soft_wrap``): an error's ``file:line:column`` must stay on one
line that grep and editors can read.

Two settings of the run shape what people see, set once per command: the **clock** (every
time in the plan's zone and language, labelled: ``26/11/2026 12:34 CET``; without a plan,
the machine's zone) and the **verbosity** (``--quiet``: errors and the result only;
``--verbose``: details too). JSON stays the same whatever they are, its times in UTC.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from reprise.errors import PlanIssue, RepriseError


@dataclass(frozen=True)
class Clock:
    """Where and how times are shown: a zone and a language (``fr`` or ``en``)."""

    zone: tzinfo
    language: str


@dataclass(frozen=True)
class Verbosity:
    """What ``--quiet`` / ``--verbose`` mean, in one place.

    ``level`` -1 (quiet): errors and the command's result (its table, its JSON, the line
    that answers it), no progress bar, no info line, logs at ``error``. 0: the default.
    1 (``-v``): info lines, extra details and logs at ``info``; 2 (``-vv``): logs at
    ``debug``. An explicit ``--log-level`` (or ``$REPRISE_LOG_LEVEL``) wins over the log
    level these imply."""

    level: int = 0

    @property
    def quiet(self) -> bool:
        """Only errors and the result."""
        return self.level < 0

    @property
    def verbose(self) -> bool:
        """Details too."""
        return self.level > 0

    @property
    def log_level(self) -> str | None:
        """The log level implied (None: the default one)."""
        if self.level < 0:
            return "error"
        return {0: None, 1: "info"}.get(self.level, "debug")


def machine_zone() -> tzinfo:
    """The machine's time zone, with its daylight saving rules: ``$TZ`` when it names a
    zone, else /etc/localtime, else UTC."""
    from zoneinfo import ZoneInfo

    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            pass
    try:
        with Path("/etc/localtime").open("rb") as file:
            return ZoneInfo.from_file(file, key="localtime")
    except (OSError, ValueError):
        return UTC


_clock: Clock | None = None
_verbosity = Verbosity()


def use_clock(zone: str | tzinfo | None, language: str = "en") -> None:
    """Show times from now on in ``zone`` (None: the machine's) and ``language``."""
    global _clock
    from reprise.words.format import zone_of

    _clock = Clock(zone_of(zone) or machine_zone(), language)


def clock() -> Clock:
    """The clock of this run: the plan's once it is loaded, else the machine's, in English."""
    global _clock
    if _clock is None:
        _clock = Clock(machine_zone(), "en")
    return _clock


def set_verbosity(level: int) -> None:
    """Set by the root command from ``--quiet`` / ``--verbose`` (see :class:`Verbosity`)."""
    global _verbosity
    _verbosity = Verbosity(level)


def verbosity() -> Verbosity:
    """The verbosity of this run."""
    return _verbosity


def reset() -> None:
    """Back to the defaults (the root command calls it first: tests run many commands in
    one process)."""
    global _clock
    _clock = None
    set_verbosity(0)


def shown(value: datetime | None, *, seconds: bool = False) -> str:
    """A time as people read it in this run: ``26/11/2026 12:34 CET`` (French plan),
    ``2026-11-26 12:34:56 CET`` (English, ``seconds``), or a dash for None."""
    from reprise.words import say
    from reprise.words.format import stamp

    current = clock()
    if value is None:
        return say(current.language, "clock.none")
    return stamp(value, current.language, current.zone, seconds=seconds)


def info(text: str, *, markup: bool = True) -> None:
    """An informative line on stdout ("Monitor stopped."), left out under ``--quiet``."""
    if not _verbosity.quiet:
        stdout().print(text, markup=markup, highlight=False)


def detail(text: str, *, markup: bool = True) -> None:
    """A detail line on stderr, shown only under ``--verbose``."""
    if _verbosity.verbose:
        stderr().print(text, markup=markup, highlight=False)


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
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value) + "\n")
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


def _json_value(value: Any) -> Any:
    """What JSON cannot hold as is: a time in UTC ISO 8601 with its offset
    (``2026-11-26T11:34:56+00:00``; a naive one is taken as UTC, as the store keeps them),
    anything else as text."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return str(value)


def local_time(zone: str, value: datetime | None) -> str:
    """A stored (UTC) time in ``zone`` with the zone's abbreviation and seconds, in the
    run's language (see :func:`shown`), or a dash."""
    from reprise.words import say
    from reprise.words.format import stamp

    language = clock().language
    if value is None:
        return say(language, "clock.none")
    return stamp(value, language, zone, seconds=True)
