"""Inputs a user will type that once ended in exit 70 ("a bug in Reprise"): each now gets one
clear line naming the value and the fix, and a meaningful exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

SEEDS = Path(__file__).parent.parent / "data" / "seeds"


def _minimal_with(tmp_path: Path, old: str, new: str) -> Path:
    """The minimal example plan with one piece of text replaced."""
    plan = tmp_path / "reprise.yaml"
    plan.write_text((EXAMPLES / "minimal" / "reprise.yaml").read_text().replace(old, new))
    return plan


@pytest.fixture
def plan_dir(cli, tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    assert cli("init", folder, "--example", "minimal").exit_code == 0
    return folder


@pytest.mark.parametrize(
    "args",
    [
        ("incident", "show", "99999999999999999999"),
        ("incident", "task", "1", "99999999999999999999", "done"),
        ("silence", "remove", "99999999999999999999"),
    ],
)
def test_an_id_past_what_the_database_holds_is_a_usage_error(
    cli, plan_dir: Path, args: tuple[str, ...]
) -> None:
    result = cli("--plan", plan_dir, *args)
    assert result.exit_code == 2, result.stderr
    assert "less than or equal to 9223372036854775807" in result.stderr


def test_a_silence_of_a_thousand_centuries_is_refused_with_the_limit(cli, plan_dir) -> None:
    result = cli(
        "--plan", plan_dir, "silence", "add", "website", "--for", "99999999999d", "--reason", "typo"
    )
    assert result.exit_code == 2
    assert "--for '99999999999d': too long" in result.stderr
    assert "at most 100 years" in result.stderr


def test_a_huge_objective_in_the_plan_is_located(cli, tmp_path: Path) -> None:
    plan = _minimal_with(tmp_path, "rpo: 24h", "rpo: 999999999999999999d")
    result = cli("plan", "validate", plan)
    assert result.exit_code == 2
    assert (
        "objectives.rpo: too long (got '999999999999999999d'); at most 100 years" in result.stderr
    )
    assert "reprise.yaml:15:" in result.stderr


def test_a_lone_surrogate_is_refused_at_validation_so_json_output_cannot_crash(
    cli, tmp_path: Path
) -> None:
    plan = _minimal_with(tmp_path, "name: My organisation", 'name: "My \\ud800 org"')
    for args in (("plan", "validate", plan), ("plan", "show", "--json", plan)):
        result = cli(*args)
        assert result.exit_code == 2, result
        assert "organisation.name: the text holds a lone UTF-16 surrogate" in result.stderr


def test_thousands_of_nested_brackets_are_refused_not_a_recursion_error(
    cli, tmp_path: Path
) -> None:
    plan = tmp_path / "reprise.yaml"
    plan.write_text("x: " + "[" * 5000 + "]" * 5000 + "\n")
    result = cli("plan", "validate", plan)
    assert result.exit_code == 2
    assert "nested more than 64 levels deep" in result.stderr


def test_plan_import_into_a_missing_folder_names_it(cli, tmp_path: Path) -> None:
    target = tmp_path / "nope" / "reprise.yaml"
    result = cli("plan", "import", SEEDS / "pcra-incident-plan.md", "-o", target)
    assert result.exit_code == 2
    assert f"{target.parent}: no such folder for --output" in result.stderr
    assert f"mkdir -p {target.parent}" in result.stderr
    assert not target.parent.exists()


def test_plan_import_into_a_folder_writes_its_reprise_yaml(cli, tmp_path: Path) -> None:
    result = cli("plan", "import", "--json", SEEDS / "pcra-incident-plan.md", "-o", tmp_path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output"] == str(tmp_path / "reprise.yaml")
    assert cli("plan", "validate", tmp_path / "reprise.yaml").exit_code == 0


def test_a_bad_incident_target_time_names_the_target_option(cli, plan_dir: Path) -> None:
    assert (
        cli("--plan", plan_dir, "incident", "open", "Test", "--services", "website").exit_code == 0
    )
    result = cli("--plan", plan_dir, "incident", "update", "1", "--target", "website=garbage")
    assert result.exit_code == 2
    assert "--target website= 'garbage': not a date and time" in result.stderr
    assert "--at" not in result.stderr


def test_a_state_directory_that_is_a_file_is_bad_input(
    cli, plan_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    for state in (blocker, blocker / "state"):
        monkeypatch.setenv("REPRISE_STATE_DIR", str(state))
        result = cli("--plan", plan_dir, "events", "list")
        assert result.exit_code == 2
        assert f"{blocker} is a file, not a folder" in result.stderr


def test_a_read_needs_no_write_lock_and_a_write_waits_then_says_who_to_wait_for(
    cli, plan_dir: Path, tmp_path: Path
) -> None:
    import sqlite3

    assert cli("--plan", plan_dir, "events", "list").exit_code == 0
    plan = plan_dir / "reprise.yaml"
    plan.write_text(plan.read_text() + "# changed: the next command records a plan version\n")
    holder = sqlite3.connect(tmp_path / "state" / "reprise.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing, as a backup would
        read = cli("--plan", plan_dir, "events", "list", "--json")
        assert read.exit_code == 0, read.stderr
        write = cli("--plan", plan_dir, "incident", "open", "Coupure", "--services", "website")
        assert write.exit_code == 1
        assert "database is locked" in write.stderr
        assert "another process" in write.stderr and "run the command again" in write.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (
        cli("--plan", plan_dir, "incident", "open", "Coupure", "--services", "website").exit_code
        == 0
    )
    kinds = [
        event["kind"]
        for event in json.loads(cli("--plan", plan_dir, "events", "list", "--json").stdout)
    ]
    assert "plan.changed" in kinds


def test_a_retention_count_past_any_real_need_is_located(cli, tmp_path: Path) -> None:
    plan = _minimal_with(tmp_path, "keep_daily: 7", "keep_daily: 99999999999999999999999")
    result = cli("plan", "validate", plan)
    assert result.exit_code == 2
    assert "retention.keep_daily: must be at most 100000" in result.stderr
