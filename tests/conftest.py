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
        # The core names request settings as {option:name}; the CLI must spell every one.
        assert "{option:" not in captured.out + captured.err, captured.out + captured.err
        return CliResult(code, captured.out, captured.err)

    yield run


def run_reprise(
    *args: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``reprise`` program in a child process."""
    result = subprocess.run(
        [sys.executable, "-m", "reprise", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    # The core names request settings as {option:name}; the CLI must spell every one.
    assert "{option:" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`wal push`/`wal fetch` keep the plan's settings in the user's cache: the tests'
    go to a folder of the session, not to ~/.cache."""
    folder = tmp_path_factory.mktemp("cache")
    folder.chmod(0o700)
    previous = os.environ.get("REPRISE_CACHE_DIR")
    os.environ["REPRISE_CACHE_DIR"] = str(folder)
    yield
    if previous is None:
        os.environ.pop("REPRISE_CACHE_DIR", None)
    else:
        os.environ["REPRISE_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's plan or writes to /var/lib/reprise."""
    monkeypatch.delenv("REPRISE_PLAN", raising=False)
    monkeypatch.setenv("REPRISE_STATE_DIR", str(tmp_path / "state"))


POSTGRES_FIXTURES = frozenset({"postgres"})
"""Fixtures that start or need the scratch PostgreSQL: a test using one, itself or through
another fixture (``restored``…), gets the ``postgres`` marker."""

POSTGRES_PARAMETERS = {"state_url": "postgresql"}
"""Parametrized fixtures that ask for ``postgres`` at run time (request.getfixturevalue, which
the fixture closure cannot see) for this value of their parameter."""

POSTGRES_TESTS = frozenset(
    {
        # Starts its own scratch server, to bring it down mid-dump.
        (
            "tests/integration/test_backup_faults.py",
            "test_a_server_that_dies_mid_dump_is_named_not_a_pg_dump_to_install",
        ),
        # Lists the server binaries installed.
        ("tests/integration/test_cli.py", "test_pg_list_shows_the_server_installation"),
    }
)
"""Tests that need PostgreSQL without a fixture, in modules where other tests do not (whole
modules that need it say so with ``pytestmark = pytest.mark.postgres``)."""


def _where(item: pytest.Item) -> str:
    """The test file, relative to the repository (as in POSTGRES_TESTS)."""
    return item.path.relative_to(REPO).as_posix() if item.path.is_relative_to(REPO) else ""


def needs_postgres(item: pytest.Item) -> bool:
    """Whether a collected test starts or needs a scratch PostgreSQL."""
    if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    if any(params.get(name) == value for name, value in POSTGRES_PARAMETERS.items()):
        return True
    return (_where(item), getattr(item, "originalname", item.name)) in POSTGRES_TESTS


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses PostgreSQL ``postgres``, so ``-m "not postgres"`` runs the
    rest on a machine without its server binaries."""
    for item in items:
        if needs_postgres(item):
            item.add_marker(pytest.mark.postgres)
        module = getattr(item, "module", None)
        for path, name in POSTGRES_TESTS:
            if path == _where(item) and module is not None and not hasattr(module, name):
                raise pytest.UsageError(
                    f"tests/conftest.py: POSTGRES_TESTS names {path}::{name}, "
                    "which no longer exists (renamed?)"
                )


@pytest.fixture(scope="session")
def postgres() -> Iterator[ConnectionInfo]:
    """One scratch PostgreSQL server for the session (tests create their own databases)."""
    with ScratchPostgres() as info:
        yield info
