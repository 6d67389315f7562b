"""Start-up of the ``reprise`` process: what skips work must give the same answers.

Proposed as tests/unit/test_startup.py (issue 20, start-up cost of `reprise backup run`).
"""

from __future__ import annotations

import gc
import itertools
import os
import subprocess
import sys
from datetime import datetime

import pytest
import typer.main
from croniter import croniter
from typer.testing import CliRunner

from reprise.cli import collector
from reprise.cli import main as cli_main
from reprise.plan.units import _SCHEDULE_PROBE, _plainly_fires, parse_schedule

_FIELD_SAMPLES = [
    ["*", "0", "5", "59", "60", "07", "-1", "1-5", "*/5"],
    ["*", "0", "23", "24", "8"],
    ["*", "0", "1", "28", "29", "30", "31", "32"],
    ["*", "0", "1", "2", "12", "13"],
    ["*", "0", "6", "7", "1"],
]


def test_cron_expressions_that_skip_croniter_are_valid_and_fire() -> None:
    accepted = 0
    for fields in itertools.product(*_FIELD_SAMPLES):
        text = " ".join(fields)
        if _plainly_fires(text):
            accepted += 1
            assert croniter.is_valid(text), text
            croniter(text, _SCHEDULE_PROBE).get_next(datetime)  # raises if it never fires
            assert parse_schedule(text) == text
    assert accepted > 500


@pytest.mark.parametrize("text", ["0 8 1 * *", "30 2 * * 1", "0 0 28 2 *", "0 0 31 * *"])
def test_plain_schedules_skip_croniter(text: str) -> None:
    assert _plainly_fires(text)


@pytest.mark.parametrize("text", ["0 0 30 2 *", "0 0 29 2 *", "*/5 * * * *", "0 0 * * 7"])
def test_other_schedules_are_croniters_to_judge(text: str) -> None:
    assert not _plainly_fires(text)


def _group_cases() -> list[list[str]]:
    cases: list[list[str]] = [["backup", "run"], ["backup", "run", "--bogus"]]
    for name, group in typer.main.get_group(cli_main.app).commands.items():
        if not hasattr(group, "commands"):
            continue
        cases += [[name], [name, "--help"], [name, "nosuch"], ["-q", "--plan", "/none", name, "-h"]]
        cases += [[name, command, "--help"] for command in group.commands]  # type: ignore[attr-defined]
    return cases


def test_the_narrowed_root_answers_as_the_full_one() -> None:
    runner = CliRunner()
    for args in _group_cases():
        narrow = cli_main._narrowed(args)
        assert narrow is not None, args
        full, only = runner.invoke(cli_main.app, args), runner.invoke(narrow, args)
        assert (only.output, only.exit_code) == (full.output, full.exit_code), args


@pytest.mark.parametrize(
    "args",
    [[], ["--help"], ["--version"], ["status"], ["man"], ["nosuch"], ["-qv", "backup"], ["--"]],
)
def test_anything_but_a_group_goes_to_the_full_root(args: list[str]) -> None:
    assert cli_main._narrowed(args) is None


def test_the_collector_is_left_alone_outside_the_console_process() -> None:
    frozen = gc.get_freeze_count()
    with collector.building():
        assert gc.isenabled()
    collector.before_exit()
    assert gc.get_freeze_count() == frozen


def test_the_console_process_builds_without_the_collector_then_freezes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(collector, "_console", True)
    try:
        with collector.building():
            assert not gc.isenabled()
            kept = [object(), [], {}]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0 and kept
    finally:
        gc.unfreeze()


def test_the_console_command_runs_and_exits_with_its_code() -> None:
    env = {**os.environ, "REPRISE_NO_LEAN": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "reprise", "backup", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0 and "run" in done.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "reprise", "--plan", "/nonexistent/plan.yaml", "backup", "list"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert failed.returncode == 2 and "/nonexistent/plan.yaml" in failed.stderr
