"""Find PostgreSQL client and server programs, per major version.

Hosts often carry several versions (Debian keeps each under /usr/lib/postgresql/<major>/bin;
RHEL under /usr/pgsql-<major>/bin), and the right one matters: pg_dump refuses a server
newer than itself, and a restore needs a server at least as new as the dump.
Looked up in order: ``$REPRISE_PG_BINDIR``, the Debian and RHEL layouts, ``pg_config
--bindir``, then ``$PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from reprise.errors import ToolNotFoundError

SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Installation:
    """One directory of PostgreSQL programs of a single version."""

    bindir: Path
    major: int
    version: str
    tools: frozenset[str] = field(default_factory=frozenset)

    def tool(self, name: str) -> Path:
        """Path of a program of this installation (KeyError when it lacks it)."""
        if name not in self.tools:
            raise KeyError(name)
        return self.bindir / name

    @property
    def has_server(self) -> bool:
        """True when initdb, pg_ctl and postgres are all here."""
        return all(tool in self.tools for tool in SERVER_TOOLS)


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    if configured := os.environ.get("REPRISE_PG_BINDIR"):
        dirs.append(Path(configured))
    for pattern_root, pattern in (
        (Path("/usr/lib/postgresql"), "*/bin"),
        (Path("/usr"), "pgsql-*/bin"),
        (Path("/usr/local"), "pgsql*/bin"),
    ):
        if pattern_root.is_dir():
            dirs.extend(sorted(pattern_root.glob(pattern)))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            output = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            output = ""
        if output:
            dirs.append(Path(output))
    dirs.extend(Path(entry) for entry in os.environ.get("PATH", "").split(os.pathsep) if entry)
    return dirs


def _version_of(program: Path) -> tuple[int, str] | None:
    try:
        output = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(output)
    if not match:
        return None
    return int(match.group(1)), match.group(0).split()[-1]


def _programs_in(directory: Path) -> dict[str, Path]:
    names = (
        *SERVER_TOOLS,
        "pg_dump",
        "pg_dumpall",
        "pg_restore",
        "psql",
        "pg_basebackup",
        "pg_isready",
        "pg_waldump",
        "pg_controldata",
        "pg_verifybackup",
        "pgbench",
    )
    found: dict[str, Path] = {}
    for name in names:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found[name] = candidate
    return found


@cache
def find_installations() -> tuple[Installation, ...]:
    """Every PostgreSQL installation on this host, newest major version first.

    Programs reached through symlinks (``/usr/bin/psql`` → pg_wrapper, ``/usr/local/bin/
    initdb`` → ``/usr/lib/postgresql/15/bin/initdb``) are grouped with their real directory.
    """
    by_dir: dict[Path, dict[str, Path]] = {}
    for directory in _candidate_dirs():
        for name, program in _programs_in(directory).items():
            real = program.resolve()
            # Debian's /usr/bin/pg_dump is a Perl wrapper that picks a version by itself;
            # only real binaries are trusted to report their own version.
            if real.name != name:
                continue
            by_dir.setdefault(real.parent, {}).setdefault(name, real)
    installations: list[Installation] = []
    for directory, programs in by_dir.items():
        probe = next(iter(programs.values()))
        version = _version_of(probe)
        if version is None:
            continue
        installations.append(Installation(directory, version[0], version[1], frozenset(programs)))
    installations.sort(key=lambda inst: (-inst.major, str(inst.bindir)))
    return tuple(installations)


def look_ahead() -> threading.Thread:
    """Start :func:`find_installations` in a thread, for a caller with other work to do
    before it needs a program: the lookup starts programs (``pg_config``, ``--version``
    probes) whose waits then overlap that work. Join the thread before calling
    :func:`find_tool`; a failure here is left for that call to meet and report."""

    def lookup() -> None:
        with suppress(Exception):
            find_installations()

    thread = threading.Thread(target=lookup, name="pg-binaries", daemon=True)
    thread.start()
    return thread


def _install_hint(major: int | None, server: bool) -> str:
    package = "postgresql" if server else "postgresql-client"
    if major is not None:
        package = f"{package}-{major}"
    return (
        f"install Debian's {package} package (apt-get install {package}), or set "
        "REPRISE_PG_BINDIR to the directory holding the programs"
    )


def find_tool(name: str, *, min_major: int | None = None, major: int | None = None) -> Path:
    """The newest ``name`` program satisfying the version constraints.

    Raises ToolNotFoundError naming the version needed when none fits.
    """
    candidates = [inst for inst in find_installations() if name in inst.tools]
    if major is not None:
        candidates = [inst for inst in candidates if inst.major == major]
    if min_major is not None:
        candidates = [inst for inst in candidates if inst.major >= min_major]
    if candidates:
        return candidates[0].tool(name)
    available = sorted({inst.major for inst in find_installations() if name in inst.tools})
    need = (
        f" version {major}"
        if major is not None
        else f" version {min_major} or newer"
        if min_major is not None
        else ""
    )
    have = f" (found versions: {', '.join(map(str, available))})" if available else ""
    raise ToolNotFoundError(
        f"{name}{need} is not installed{have}",
        hint=_install_hint(major or min_major, server=name in SERVER_TOOLS),
    )


def find_server(*, major: int | None = None, min_major: int | None = None) -> Installation:
    """The newest installation with initdb, pg_ctl and postgres (for scratch instances)."""
    for inst in find_installations():
        if not inst.has_server:
            continue
        if major is not None and inst.major != major:
            continue
        if min_major is not None and inst.major < min_major:
            continue
        return inst
    need = (
        f" {major}"
        if major is not None
        else f" {min_major} or newer"
        if min_major is not None
        else ""
    )
    raise ToolNotFoundError(
        f"no PostgreSQL server{need} is installed (initdb, pg_ctl and "
        "postgres are needed for scratch instances and drills)",
        hint=_install_hint(major or min_major, server=True),
    )
