"""The plan's integrity assertions run as one read-only statement each, with a timeout, as a
role that can only read: a hostile or careless assertion fails the drill and changes
nothing, on a real scratch PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from reprise.drill.checks import run_assertions
from reprise.pg.scratch import ConnectionInfo, create_reader
from reprise.plan.sqltext import split_statements
from tests.integration.test_drill import drilled_world
from tests.support.backups import World, sample_database


@pytest.fixture(scope="module")
def restored(postgres: ConnectionInfo) -> tuple[ConnectionInfo, ConnectionInfo]:
    """A database standing for a restored one, and a reader role on it."""
    sample_database(postgres, "as_restored", rows=50)
    return postgres, create_reader(postgres, ["as_restored"])


def _finding(reader: ConnectionInfo, assertion: str, timeout: float = 30) -> tuple[bool, str]:
    [finding] = run_assertions(
        reader.dsn(), ["as_restored"], [assertion], timeout=timedelta(seconds=timeout)
    )
    return finding.ok, finding.detail or ""


def test_a_normal_assertion_passes_as_the_reader_role(
    restored: tuple[ConnectionInfo, ConnectionInfo],
) -> None:
    _superuser, reader = restored
    assert _finding(reader, "SELECT count(*) = 150 FROM invoices") == (True, "true in as_restored")
    assert _finding(reader, "SELECT ';' = ';' AND $$;$$ = ';';")[0]


def test_the_reader_role_is_not_a_superuser_and_cannot_read_server_files(
    restored: tuple[ConnectionInfo, ConnectionInfo],
) -> None:
    _superuser, reader = restored
    with psycopg.connect(reader.dsn("as_restored")) as connection:
        row = connection.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (False, False, False)
    for assertion in (
        "SELECT length(pg_read_file('/etc/hostname')) > 0",
        "SELECT lo_import('/etc/hostname') > 0",
    ):
        ok, detail = _finding(reader, assertion)
        assert not ok and "permission denied" in detail, detail


def test_copy_to_program_fails_without_running_the_program(
    restored: tuple[ConnectionInfo, ConnectionInfo], tmp_path: Path
) -> None:
    _superuser, reader = restored
    sentinel = tmp_path / "pwned"
    ok, detail = _finding(reader, f"COPY (SELECT 1) TO PROGRAM 'touch {sentinel}'")
    assert not ok
    assert "pg_execute_server_program" in detail or "permission denied" in detail, detail
    assert not sentinel.exists()


def test_two_statements_are_refused_by_postgresql_itself(
    restored: tuple[ConnectionInfo, ConnectionInfo],
) -> None:
    superuser, reader = restored
    ok, detail = _finding(reader, "SELECT true; SELECT true")
    assert not ok and "holds several statements" in detail, detail
    # even as the superuser, the second statement never runs
    [finding] = run_assertions(
        superuser.dsn(), ["as_restored"], ["SELECT true; DROP TABLE invoices"]
    )
    assert not finding.ok
    with psycopg.connect(superuser.dsn("as_restored")) as connection:
        assert connection.execute("SELECT count(*) FROM invoices").fetchone() == (150,)


def test_a_write_fails_read_only_even_as_the_superuser(
    restored: tuple[ConnectionInfo, ConnectionInfo],
) -> None:
    superuser, _reader = restored
    [finding] = run_assertions(
        superuser.dsn(),
        ["as_restored"],
        ["WITH gone AS (DELETE FROM invoices RETURNING 1) SELECT count(*) = 0 FROM gone"],
    )
    assert not finding.ok
    assert "assertions run read-only, and this one writes" in (finding.detail or "")
    with psycopg.connect(superuser.dsn("as_restored")) as connection:
        assert connection.execute("SELECT count(*) FROM invoices").fetchone() == (150,)


def test_a_slow_assertion_is_cancelled_at_its_timeout(
    restored: tuple[ConnectionInfo, ConnectionInfo],
) -> None:
    _superuser, reader = restored
    ok, detail = _finding(reader, "SELECT pg_sleep(20) IS NOT NULL", timeout=1)
    assert not ok
    assert "cancelled after 1s (drill.assertion_timeout)" in detail, detail


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("SELECT 1", 1),
        ("SELECT 1;", 1),
        ("SELECT 1; SELECT 2", 2),
        ("SELECT ';' = ';'", 1),
        ("SELECT 'it''s; fine'", 1),
        ("SELECT E'\\';' ; SELECT 2", 2),
        ("SELECT $$;$$, $tag$ ; $$ ; $tag$", 1),
        ('SELECT "odd;name" FROM t', 1),
        ("SELECT 1 -- ; DROP TABLE t", 1),
        ("SELECT /* ; /* ; */ ; */ 1", 1),
        ("DELETE FROM t; SELECT true", 2),
    ],
)
def test_statements_are_counted_past_semicolons_in_strings_and_comments(
    text: str, count: int
) -> None:
    statements = split_statements(text)
    assert statements is not None and len(statements) == count


def test_plan_validation_refuses_an_assertion_with_two_statements(world: World) -> None:
    world.write_plan("""\
        - {kind: postgres, dsn: "postgresql://backup@db/postgres", databases: [app],
           repository: local, schedule: "@hourly", retention: {keep_last: 2}}
        """)
    text = world.plan.read_text().replace(
        "    drill: {enabled: false}\n",
        """\
    drill: {enabled: true, assertion_timeout: 2h}
    integrity:
      - "SELECT ';' = ';'"
      - "SELECT count(*) > 0 FROM invoices; DELETE FROM invoices"
""",
    )
    world.plan.write_text(text)
    lines = text.splitlines()
    timeout_line = next(i for i, line in enumerate(lines, 1) if "assertion_timeout" in line)
    delete_line = next(i for i, line in enumerate(lines, 1) if "DELETE" in line)
    too_long = world.reprise("plan", "validate")
    assert too_long.returncode == 2
    assert f"reprise.yaml:{timeout_line}:" in too_long.stderr
    assert "drill.assertion_timeout: must be between 1s and 1h (got 2h)" in too_long.stderr
    world.plan.write_text(text.replace("assertion_timeout: 2h", "assertion_timeout: 5s"))
    result = world.reprise("plan", "validate")
    assert result.returncode == 2
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert f"reprise.yaml:{delete_line}:" in error
    assert "services[0].integrity[1]: this assertion holds 2 statements" in error
    assert "Fix: split it into one list item per check" in error


def test_hostile_assertions_fail_the_drill_and_change_nothing(
    world: World, postgres: ConnectionInfo, tmp_path: Path
) -> None:
    sentinel = tmp_path / "copied-to-program"
    drilled_world(
        world,
        postgres,
        "dr_hostile",
        drill="enabled: true, assertion_timeout: 1s",
        integrity=[
            "SELECT count(*) = 1200 FROM invoices",
            f"COPY (SELECT 1) TO PROGRAM 'touch {sentinel}'",
            "SELECT pg_sleep(30) IS NOT NULL",
            "WITH gone AS (DELETE FROM invoices RETURNING 1) SELECT true",
            "SELECT lo_import('/etc/hostname') > 0",
        ],
    )
    result = world.reprise("drill", "app", "--json", timeout=300)
    assert result.returncode == 3, result.stdout + result.stderr
    [outcome] = json.loads(result.stdout)
    checks = {check["name"]: check for check in outcome["checks"]}
    assert checks["SELECT count(*) = 1200 FROM invoices"]["result"] == "ok"
    copy = checks[f"COPY (SELECT 1) TO PROGRAM 'touch {sentinel}'"]
    assert copy["result"] == "failed"
    assert "assertions run as a role that can only read" in copy["detail"]
    assert not sentinel.exists()
    sleep = checks["SELECT pg_sleep(30) IS NOT NULL"]
    assert "cancelled after 1s (drill.assertion_timeout)" in sleep["detail"]
    write = checks["WITH gone AS (DELETE FROM invoices RETURNING 1) SELECT true"]
    assert "read-only" in write["detail"]
    assert "permission denied" in checks["SELECT lo_import('/etc/hostname') > 0"]["detail"]
    assert outcome["seconds"] < 120  # the sleep did not run its 30 s
    steps = {step["name"]: step for step in outcome["steps"]}
    detail = steps["run the plan's integrity assertions"]["detail"]
    assert "read-only, not a superuser" in detail and "at most 1s each" in detail
