"""`.env` values reach the programs Reprise starts, and secrets can come from files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reprise.errors import PlanError
from reprise.plan.loader import load_plan
from tests.conftest import EXAMPLES
from tests.support.backups import World

PRINTENV = """\
- kind: command
  command: "printenv REPRISE_TEST_TOKEN"
  filename: token.txt
  repository: local
  schedule: "@daily"
  retention: {keep_last: 3}
"""


def _restored_token(world: World, name: str, env: dict[str, str] | None = None) -> str:
    assert world.reprise("backup", "run", "--all", env=env).returncode == 0
    target = world.root / name
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    return (target / "token.txt").read_text().strip()


def test_env_file_values_reach_the_commands_reprise_starts_and_the_environment_wins(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPRISE_TEST_TOKEN", raising=False)
    world.write_plan(PRINTENV)
    env_file = world.plan_dir / ".env"
    env_file.write_text("REPRISE_TEST_TOKEN=from-dot-env\n")
    env_file.chmod(0o600)
    assert world.reprise("repo", "init").returncode == 0
    assert _restored_token(world, "first") == "from-dot-env"
    assert (
        _restored_token(world, "second", {"REPRISE_TEST_TOKEN": "from-process"}) == "from-process"
    )


def test_the_in_process_cli_gives_the_environment_back(
    cli, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPRISE_TEST_TOKEN", raising=False)
    world.write_plan(PRINTENV)
    (world.plan_dir / ".env").write_text("REPRISE_TEST_TOKEN=from-dot-env\n")
    (world.plan_dir / ".env").chmod(0o600)
    assert cli("--plan", world.plan, "keys", "show").exit_code == 0
    assert "REPRISE_TEST_TOKEN" not in os.environ


def _minimal(tmp_path: Path) -> Path:
    plan = tmp_path / "reprise.yaml"
    plan.write_text((EXAMPLES / "minimal" / "reprise.yaml").read_text())
    return plan


def _secret(tmp_path: Path, text: str, mode: int) -> Path:
    secret = tmp_path / "smtp-password"
    secret.write_text(text)
    secret.chmod(mode)
    return secret


def test_a_secret_comes_from_a_file_by_reference_or_by_a_file_variable(tmp_path: Path) -> None:
    secret = _secret(tmp_path, "s3cr3t-from-a-file\n", 0o400)
    plan = _minimal(tmp_path)
    by_variable = load_plan(plan, environ={"SMTP_PASSWORD_FILE": str(secret)}, contacts=False)
    contact = by_variable.plan.roles[0].members[0].contacts[0]
    assert ":s3cr3t-from-a-file@" in contact
    plan.write_text(plan.read_text().replace("${SMTP_PASSWORD:-}", f"${{file:{secret}}}"))
    by_reference = load_plan(plan, environ={}, contacts=False)
    assert by_reference.plan.roles[0].members[0].contacts[0] == contact


def test_a_secret_file_others_can_read_or_a_relative_one_is_refused_and_located(
    tmp_path: Path,
) -> None:
    secret = _secret(tmp_path, "s3cr3t\n", 0o644)
    plan = _minimal(tmp_path)
    with pytest.raises(PlanError) as refused:
        load_plan(plan, environ={"SMTP_PASSWORD_FILE": str(secret)}, contacts=False)
    text = str(refused.value)
    assert f"SMTP_PASSWORD_FILE={secret}" in text and f"chmod 600 {secret}" in text
    assert "reprise.yaml:" in text and "s3cr3t" not in text
    plan.write_text(plan.read_text().replace("${SMTP_PASSWORD:-}", "${file:relative/pw}"))
    with pytest.raises(PlanError, match="a secret file needs an absolute path"):
        load_plan(plan, environ={}, contacts=False)
    plan.write_text(
        plan.read_text().replace("${file:relative/pw}", f"${{file:{tmp_path}/missing}}")
    )
    with pytest.raises(PlanError, match="cannot read the secret file"):
        load_plan(plan, environ={}, contacts=False)
