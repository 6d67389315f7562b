"""Bad input to the backup commands: clear messages, exit 2, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.backups import ECHO_SOURCE, World

SOURCE = ECHO_SOURCE


@pytest.fixture
def ready(world: World, cli: Any) -> World:
    world.write_plan(SOURCE)
    assert cli("--plan", world.plan, "repo", "init").exit_code == 0
    return world


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backup", "run"], "give a SERVICE or --all"),
        (["backup", "run", "app", "--all"], "give a SERVICE or --all"),
        (["backup", "run", "nosuch"], "no service 'nosuch'"),
        (["backup", "run", "app", "--source", "nosuch"], "sources: app-command"),
        (["backup", "show", "20991231"], "no backup '20991231' in the catalog"),
        (["backup", "verify"], "give an ID, --all or --budget"),
        (["backup", "verify", "x", "--all"], "cannot be combined"),
        (["backup", "prune", "--grace", "soon"], "--grace"),
        (["repo", "init", "nosuch"], "no repository named 'nosuch'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    ready: World, cli: Any, args: list[str], message: str
) -> None:
    before = sorted(path.name for path in ready.repository.rglob("*"))
    result = cli("--plan", ready.plan, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in ready.repository.rglob("*")) == before


def test_service_without_backups(world: World, cli: Any) -> None:
    world.write_plan(SOURCE)
    text = world.plan.read_text().replace("    backups:\n", "    backups: []\n", 1)
    text = text.split("    backups: []\n")[0].replace("    drill: {enabled: false}\n", "")
    text += "    backups: []\n"
    world.plan.write_text(text)
    result = cli("--plan", world.plan, "backup", "run", "app")
    assert result.exit_code == 2 and "has no backups" in result.stderr


def test_a_malformed_recipients_file_names_the_line(ready: World, cli: Any) -> None:
    recipients = ready.plan_dir / "keys" / "recipients.txt"
    recipients.write_text(recipients.read_text() + "AGE-SECRET-KEY-1QQQQ\n")
    result = cli("--plan", ready.plan, "backup", "run", "app")
    assert result.exit_code == 2
    assert f"{recipients}:" in result.stderr and "never a secret key" in result.stderr
    assert ready.backups() == []


def test_a_garbage_signing_key_is_refused(ready: World, cli: Any) -> None:
    key = ready.plan_dir / "keys" / "signing.key"
    key.write_text("not a key\n")
    result = cli("--plan", ready.plan, "backup", "run", "app")
    assert result.exit_code == 2 and "not an unencrypted PEM private key" in result.stderr


def test_a_foreign_repository_file_is_refused(ready: World, cli: Any) -> None:
    (ready.repository / "reprise-repository.json").write_text('{"format": "restic"}')
    result = cli("--plan", ready.plan, "backup", "run", "app")
    assert result.exit_code == 3 and "unreadable repository file" in result.stderr
