"""Shared fixtures: the CLI run in-process through its single exit point, and a scratch
PostgreSQL for the whole session (a real server, started by the test run itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reprise.cli.main import main
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@dataclass
class CliResult:
    """What a CLI run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    """Run ``reprise ARGS`` in-process; returns a CliResult."""

    def run(*args: str | os.PathLike[str]) -> CliResult:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield run


def run_reprise(
    *args: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``reprise`` program in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "reprise", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's plan or writes to /var/lib/reprise."""
    monkeypatch.delenv("REPRISE_PLAN", raising=False)
    monkeypatch.setenv("REPRISE_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[ConnectionInfo]:
    """One scratch PostgreSQL server for the session (tests create their own databases)."""
    with ScratchPostgres() as info:
        yield info
