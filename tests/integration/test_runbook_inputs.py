"""Runbook parameters are data, never syntax: only plain ``{{ name }}`` passes validation,
and a value that could become an option, a second command or shell syntax is refused as bad
input before any step runs, without the command ever being shown or recorded with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reprise.incidents.records import get_incident
from reprise.incidents.runs import runs_of
from reprise.plan.steps import parameter_value_problem
from reprise.store import open_store
from tests.integration.test_runbooks import reprise, write_plan

HOST = "[{name: host, description: Hôte}]"


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize(
    "written",
    ["{{ host | upper }}", "{{ host.x }}", "{{ 1+1 }}", "{{host}}{{ host", "{{ host() }}"],
)
def test_anything_but_a_plain_parameter_between_braces_is_a_located_plan_error(
    tmp_path: Path, written: str
) -> None:
    plan = write_plan(
        tmp_path,
        f"""\
        - {{kind: manual, text: "Vérifier"}}
        - {{kind: command, command: "ssh {written} uptime"}}
        """,
        parameters=HOST,
    )
    result = reprise(plan, "plan", "validate")
    assert result.returncode == 2, result.stdout
    [error] = _error_lines(result.stderr)
    line = next(
        number for number, text in enumerate(plan.read_text().splitlines(), 1) if "ssh " in text
    )
    assert re.match(
        rf"error: {re.escape(str(plan))}:{line}:\d+: "
        r"scenarios\[0\]\.steps\[1\]\.command: \{\{",
        error,
    ), error
    assert "is not a plain parameter" in error and "Fix: write a declared parameter" in error


def test_a_plain_parameter_passes_validation_and_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan = write_plan(
        tmp_path,
        f"""\
        - {{kind: command, command: "echo '{{{{ host }}}}' {{{{host}}}} > {out}"}}
        """,
        parameters=HOST,
    )
    result = reprise(plan, "runbook", "run", "recover", "--param", "host=db 1.example.org")
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_text() == "db 1.example.org db 1.example.org\n"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("-oProxyCommand=touch", "starts with '-'"),
        (" -x", "starts with '-'"),
        ("db.example.org -oProxyCommand=touch", "a word of its value starts with '-'"),
        ("db\ntouch", "control character (U+000A"),
        ("db\rx", "control character (U+000D"),
        ("db; touch", "contains ';'"),
        ("$(touch)", "contains '$'"),
        ("db'x", 'contains "\'"'),
        ("a*", "contains '*'"),
    ],
)
def test_a_hostile_value_is_bad_input_before_any_step_runs(
    tmp_path: Path, value: str, why: str
) -> None:
    first, marker = tmp_path / "first-step-ran", tmp_path / "pwned"
    plan = write_plan(
        tmp_path,
        f"""\
        - {{kind: command, title: Préparer, command: "touch {first}"}}
        - {{kind: command, command: "ssh {{{{ host }}}} uptime {marker}"}}
        """,
        parameters=HOST,
    )
    assert reprise(plan, "incident", "open", "Panne").returncode == 0
    result = reprise(
        plan, "runbook", "run", "recover", "--incident", "1", "--param", f"host={value}"
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    [error] = _error_lines(result.stderr)
    assert "parameter 'host' (given with --param)" in error and why in error
    assert "nothing was run" in error
    assert "Fix: " in result.stderr
    assert not first.exists() and not marker.exists()
    assert "ssh" not in result.stderr and value.strip() not in result.stderr
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'reprise.db'}")
    assert runs_of(store) == []
    assert [
        entry.kind for entry in get_incident(store, 1).timeline if entry.kind == "runbook"
    ] == []
    events = reprise(plan, "events", "list", "--json")
    assert events.returncode == 0, events.stderr
    assert value.strip() not in events.stdout and "ssh" not in events.stdout
    assert json.loads(events.stdout)  # the journal is there, just without the value


def test_a_value_outside_commands_may_hold_shell_characters_but_not_options(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        """\
        - {kind: manual, text: "Prévenir {{ who }}"}
        """,
        parameters="[{name: who, description: Qui}]",
    )
    fine = reprise(plan, "runbook", "run", "recover", "--yes", "--param", "who=l'équipe; DSI")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "Prévenir l'équipe; DSI" in fine.stdout
    option = reprise(
        plan, "runbook", "run", "recover", "--restart", "--yes", "--param", "who=--all"
    )
    assert option.returncode == 2 and "starts with '-'" in option.stderr


def test_a_hostile_default_is_a_located_plan_error_and_nothing_runs(tmp_path: Path) -> None:
    first = tmp_path / "first-step-ran"
    plan = write_plan(
        tmp_path,
        f"""\
        - {{kind: command, command: "touch {first}"}}
        - {{kind: command, command: "ssh {{{{ host }}}} uptime"}}
        """,
        parameters="[{name: host, description: Hôte, default: -oProxyCommand=sh}]",
    )
    result = reprise(plan, "runbook", "run", "recover")
    assert result.returncode == 2
    [error] = _error_lines(result.stderr)
    line = next(
        number
        for number, text in enumerate(plan.read_text().splitlines(), 1)
        if "parameters:" in text
    )
    assert f"{plan}:{line}:" in error
    assert (
        "scenarios[0].parameters[0].default: default of parameter 'host': its value "
        "starts with '-'" in error
    )
    assert not first.exists()


def test_a_default_with_shell_syntax_is_refused_only_where_a_command_uses_it(
    tmp_path: Path,
) -> None:
    plan = write_plan(
        tmp_path,
        """\
        - {kind: command, command: "echo {{ host }}"}
        """,
        parameters="[{name: host, description: Hôte, default: 'a;b'}]",
    )
    result = reprise(plan, "plan", "validate")
    assert result.returncode == 2 and "contains ';'" in result.stderr
    text = plan.read_text().replace('command: "echo {{ host }}"', 'command: "echo ok"')
    plan.write_text(text)
    assert reprise(plan, "plan", "validate").returncode == 0


def test_every_rule_has_a_reason_that_never_quotes_the_value() -> None:
    for value in ("a\x00b", "a\u2028b", "-rf", "x -rf", "a`id`", "a\\b", "a|b", "a>b"):
        problem = parameter_value_problem(value, in_command=True)
        assert problem is not None, value
        message, hint = problem
        assert value not in message and hint
    assert parameter_value_problem("a\x00b", in_command=False) is not None
    assert parameter_value_problem("2026-03-01 10:00:00+01:00", in_command=True) is None
    assert parameter_value_problem("l'équipe | DSI", in_command=False) is None
