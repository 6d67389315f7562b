"""Tests that keep the documentation honest."""

from __future__ import annotations

import re

from reprise import errors
from reprise.cli.main import app
from reprise.plan.reference import render_reference
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_the_plan_reference_is_up_to_date() -> None:
    current = (REPO / "docs" / "plan-reference.md").read_text()
    assert current == render_reference(), (
        "docs/plan-reference.md is stale: run "
        ".venv/bin/python -m reprise.plan.reference > docs/plan-reference.md"
    )


def test_ci_runs_the_test_command_written_in_the_readme() -> None:
    commands = re.findall(r"^(bash scripts/\S+)", README, re.M)
    assert commands[:2] == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_every_command_group_appears_in_the_readme() -> None:
    groups = [group.name for group in app.registered_groups]
    groups += [command.name for command in app.registered_commands]
    assert groups
    for name in groups:
        assert f"reprise {name}" in README or f"reprise --plan ./site {name}" in README, name


def test_the_exit_code_table_matches_the_code() -> None:
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", README, re.M))
    for code in (
        errors.EXIT_OK,
        errors.EXIT_FAILED,
        errors.EXIT_BAD_INPUT,
        errors.EXIT_VERIFICATION_FAILED,
        errors.EXIT_INTERRUPTED,
        errors.EXIT_INTERNAL_ERROR,
    ):
        assert str(code) in table, code
    assert "bad input" in table[str(errors.EXIT_BAD_INPUT)]
    assert "verification" in table[str(errors.EXIT_VERIFICATION_FAILED)]
