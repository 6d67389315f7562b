"""The CLI as users meet it: help, version, the plan commands, state and events, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_reprise

PCRA = EXAMPLES / "pcra-infra" / "reprise.yaml"
AKIG = EXAMPLES / "akig-app" / "reprise.yaml"


def test_help_lists_every_command_group(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for group in ("init", "plan", "state", "events", "pg"):
        assert f" {group} " in result.stdout


def test_version(cli) -> None:
    from reprise import __version__

    result = cli("--version")
    assert (result.exit_code, result.stdout.strip()) == (0, f"reprise {__version__}")


def test_help_does_not_load_heavy_libraries() -> None:
    probe = (
        "import sys; from reprise.cli.main import main; "
        "code = main(['--help']); "
        "heavy = [m for m in ('sqlalchemy', 'pydantic', 'alembic', 'psycopg', 'pyrage', "
        "'cryptography', 'croniter', 'yaml') if m in sys.modules]; "
        "print('HEAVY', heavy)"
    )
    import subprocess
    import sys

    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip().endswith("HEAVY []")


@pytest.mark.parametrize("plan", [PCRA, AKIG, EXAMPLES / "minimal" / "reprise.yaml"])
def test_validate_accepts_the_examples(cli, plan: Path) -> None:
    result = cli("plan", "validate", plan)
    assert result.exit_code == 0, result.stderr
    assert "is valid" in result.stdout


def test_validate_json_reports_counts_and_warnings(cli) -> None:
    result = cli("plan", "validate", "--json", PCRA)
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert report["services"] == 6
    # The examples point at keys that `reprise init` writes; here they do not exist yet.
    assert {w["path"] for w in report["warnings"]} == {"keys.recipients_file", "keys.signing_key"}


def test_order_puts_the_router_before_its_dependents(cli) -> None:
    result = cli("plan", "order", "--json", PCRA)
    assert result.exit_code == 0
    entries = json.loads(result.stdout)
    order = [entry["service"] for entry in entries]
    assert order.index("router") < min(
        order.index(s) for s in ("openvpn", "zabbix", "mail", "storage", "windows")
    )
    router = entries[0]
    assert router["needed_by"] == ["openvpn", "zabbix", "mail", "storage", "windows"]


def test_order_table_gives_a_reason_for_each_place(cli, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = cli("plan", "order", PCRA)
    assert result.exit_code == 0
    assert "after router (depends on it)" in result.stdout


def test_show_groups_services_by_priority(cli) -> None:
    result = cli("plan", "show", "--json", PCRA)
    groups = json.loads(result.stdout)["priorities"]
    assert [g["priority"] for g in groups] == ["P1", "P2", "P3"]
    assert [g["response"] for g in groups] == ["15m", "1h", "next_business_day"]
    assert [s["id"] for s in groups[1]["services"]] == ["storage"]
    table = cli("plan", "show", PCRA).stdout
    assert "Recovery strategy" in table
    assert "Serveur iRedMail" in table


def test_show_never_prints_secrets_from_the_environment(cli, monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-secret")
    for command in (
        ["plan", "show"],
        ["plan", "show", "--json"],
        ["plan", "order", "--json"],
        ["plan", "validate", "--json"],
    ):
        result = cli(*command, AKIG)
        assert result.exit_code == 0
        assert "hunter2-secret" not in result.stdout + result.stderr


def test_schema_is_json_and_can_be_written_to_a_file(cli, tmp_path: Path) -> None:
    printed = json.loads(cli("plan", "schema").stdout)
    assert printed["title"].startswith("Reprise plan")
    target = tmp_path / "reprise.schema.json"
    assert cli("plan", "schema", "--output", target).exit_code == 0
    assert json.loads(target.read_text()) == printed


def test_the_plan_comes_from_the_option_the_environment_or_the_directory(
    cli, monkeypatch, tmp_path: Path
) -> None:
    assert cli("--plan", PCRA, "plan", "validate").exit_code == 0
    monkeypatch.setenv("REPRISE_PLAN", str(PCRA))
    assert cli("plan", "validate").exit_code == 0
    assert cli("plan", "validate", EXAMPLES / "akig-app").exit_code == 0


def test_a_missing_plan_says_how_to_get_one(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("plan", "validate")
    assert result.exit_code == 2
    assert "reprise.yaml: no such plan file" in result.stderr
    assert "reprise init" in result.stderr


def test_usage_errors_exit_2(cli) -> None:
    assert cli("plan", "validate", "--nope").exit_code == 2
    assert cli("no-such-command").exit_code == 2
    result = cli("--plan", PCRA, "events", "list", "--since", "yesterday")
    assert result.exit_code == 2
    assert "not a duration" in result.stderr


def test_state_info_creates_and_describes_the_state_database(cli, tmp_path: Path) -> None:
    result = cli("--plan", AKIG, "state", "info", "--json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    # The akig plan puts state in ${REPRISE_STATE_DIR}, which the test suite sets.
    assert info["url"] == f"sqlite:///{tmp_path / 'state' / 'reprise.db'}"
    assert info["revision"] == info["head_revision"]
    assert info["plan_versions"] == 1
    assert (tmp_path / "state" / "reprise.db").exists()


def test_a_changed_plan_is_recorded_as_a_new_version(cli, tmp_path: Path) -> None:
    plan = tmp_path / "reprise.yaml"
    plan.write_text(PCRA.read_text())
    cli("--plan", plan, "state", "info")
    cli("--plan", plan, "state", "info")
    plan.write_text(
        PCRA.read_text().replace("progress_report_every: 4h", "progress_report_every: 2h")
    )
    result = cli("--plan", plan, "events", "list", "--json", "--kind", "plan")
    events = json.loads(result.stdout)
    assert [e["kind"] for e in events] == ["plan.changed", "plan.changed"]
    assert events[0]["payload"]["previous_sha256"] == events[1]["payload"]["sha256"]
    table = cli("--plan", plan, "events", "list").stdout
    assert "plan.changed" in table


def test_an_unreachable_state_database_is_one_clear_error(cli, tmp_path: Path) -> None:
    plan = tmp_path / "reprise.yaml"
    plan.write_text(
        PCRA.read_text().replace(
            "keys:\n", "state: {url: 'postgresql://reprise:pw@127.0.0.1:1/state'}\nkeys:\n", 1
        )
    )
    result = cli("--plan", plan, "state", "info")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot open the state database")
    assert "pw@" not in result.stderr
    assert "Traceback" not in result.stderr


def test_pg_list_shows_the_server_installation(cli) -> None:
    installations = json.loads(cli("pg", "list", "--json").stdout)
    assert any(inst["server"] for inst in installations)


def test_the_installed_program_runs(tmp_path: Path) -> None:
    result = run_reprise("plan", "order", PCRA)
    assert result.returncode == 0
    assert "Routeur VyOS" in result.stdout


def test_output_piped_into_a_closed_reader_is_not_an_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    pipeline = subprocess.run(  # noqa: S602 - a shell pipeline is the point
        f"{sys.executable} -m reprise plan schema | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}",
        shell=True,
        capture_output=True,
        text=True,
        executable="/bin/bash",
        check=True,
    )
    assert pipeline.stdout.strip() == "0"
    assert "Traceback" not in pipeline.stderr
