"""Restores and drills that decrypt the next part while pg_restore loads the current one:
every database still comes only from a verified part, and a damaged part still fails the
restore or the drill, naming it, with nothing of it restored and nothing left staged."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import World, database_figures, sample_database
from tests.support.restores import (
    assert_nothing_staged,
    database_exists,
    drop_databases,
    memory_folders,
)


def _two_databases(
    world: World, postgres: ConnectionInfo, first: str, second: str
) -> dict[str, list[tuple[object, ...]]]:
    """Back up two databases, note their figures, then drop them (the restore recreates
    them)."""
    sample_database(postgres, first, rows=300)
    sample_database(postgres, second, rows=500)
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [{first}, {second}]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
  table_stats: checksums
""")
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    figures = {name: database_figures(postgres, name) for name in (first, second)}
    drop_databases(postgres, first, second)
    return figures


def _damage(world: World, part_name: str) -> None:
    for folder in (world.repository / "backups" / "app-postgres").iterdir():
        part = folder / part_name
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0x08
        part.write_bytes(bytes(data))


def _create_empty(postgres: ConnectionInfo, *databases: str) -> None:
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        for database in databases:
            connection.execute(f'CREATE DATABASE "{database}"')


def _is_empty(postgres: ConnectionInfo, database: str) -> bool:
    with psycopg.connect(postgres.dsn(database)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public'"
        ).fetchone()
    return row is not None and row[0] == 0


def test_two_databases_restore_each_from_its_verified_part_in_turn(
    world: World, postgres: ConnectionInfo
) -> None:
    """Into databases that exist (empty): each part is verified whole before pg_restore
    touches its database, the next decrypted meanwhile."""
    figures = _two_databases(world, postgres, "ov_one", "ov_two")
    _create_empty(postgres, "ov_one", "ov_two")
    before = memory_folders()
    result = world.reprise("restore", "app", "--target", postgres.dsn(), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert {name: database_figures(postgres, name) for name in figures} == figures
    names = _step_names(result.stdout)
    # The first part is waited for; the second decrypted while the first was restored.
    assert names.index("fetch, decrypt and verify") < names.index("pg_restore ov_one → ov_one")
    assert (
        names.index("pg_restore ov_one → ov_one")
        < names.index("fetch, decrypt and verify db-ov_two.pgdump.zst.age")
        < names.index("pg_restore ov_two → ov_two")
    )
    assert_nothing_staged(world, before)
    assert world.backups()[0]["verify_status"] == "ok"


def test_two_new_databases_are_each_loaded_while_their_part_is_read(
    world: World, postgres: ConnectionInfo
) -> None:
    figures = _two_databases(world, postgres, "ov_one", "ov_two")
    before = memory_folders()
    result = world.reprise("restore", "app", "--target", postgres.dsn(), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert {name: database_figures(postgres, name) for name in figures} == figures
    names = _step_names(result.stdout)
    assert (
        names.index("fetch, decrypt and verify")  # the roles' part, verified whole
        < names.index("fetch, verify and pg_restore ov_one → ov_one")
        < names.index("fetch, verify and pg_restore ov_two → ov_two")
    )
    assert_nothing_staged(world, before)
    assert world.backups()[0]["verify_status"] == "ok"


def _step_names(stdout: str) -> list[str]:
    report_md = Path(stdout.split("Report: ", 1)[1].split()[0])
    steps = json.loads(report_md.with_suffix(".json").read_text())["steps"]
    return [step["name"] for step in steps]


def test_a_damaged_second_part_fails_the_restore_and_its_database_is_never_created(
    world: World, postgres: ConnectionInfo
) -> None:
    _two_databases(world, postgres, "ov_good", "ov_bad")
    _damage(world, "db-ov_bad.pgdump.zst.age")
    before = memory_folders()
    result = world.reprise("restore", "app", "--target", postgres.dsn())
    assert result.returncode == 3, result.stderr
    assert "db-ov_bad.pgdump.zst.age" in result.stderr
    assert "Traceback" not in result.stderr
    # Said plainly: what was restored came from verified parts; the damaged one, nothing.
    assert "restored before the damage was found" in result.stderr
    assert "ov_good" in result.stderr
    assert database_exists(postgres, "ov_good") and not database_exists(postgres, "ov_bad")
    reports = list((world.root / "state" / "reports").glob("restore-*.json"))
    assert json.loads(reports[0].read_text())["result"] == "failed"
    assert_nothing_staged(world, before)
    assert world.backups()[0]["verify_status"] != "ok"


def test_a_damaged_first_part_leaves_existing_targets_untouched(
    world: World, postgres: ConnectionInfo
) -> None:
    """Into databases that exist, the roles wait for the first database's part too."""
    _two_databases(world, postgres, "ov_first", "ov_next")
    _create_empty(postgres, "ov_first", "ov_next")
    _damage(world, "db-ov_first.pgdump.zst.age")
    result = world.reprise("restore", "app", "--target", postgres.dsn())
    assert result.returncode == 3, result.stderr
    assert "db-ov_first.pgdump.zst.age" in result.stderr
    assert "restored before the damage" not in result.stderr
    assert _is_empty(postgres, "ov_first") and _is_empty(postgres, "ov_next")


def test_a_damaged_first_part_leaves_no_database(world: World, postgres: ConnectionInfo) -> None:
    """Into new databases, the first is loaded while read: the damage is found on the
    way, the database is dropped, and the message says the roles were restored (from
    their own verified part)."""
    _two_databases(world, postgres, "ov_first", "ov_next")
    _damage(world, "db-ov_first.pgdump.zst.age")
    result = world.reprise("restore", "app", "--target", postgres.dsn())
    assert result.returncode == 3, result.stderr
    assert "db-ov_first.pgdump.zst.age" in result.stderr
    assert "restored before the damage was found" in result.stderr
    assert "roles and tablespaces" in result.stderr
    assert not database_exists(postgres, "ov_first") and not database_exists(postgres, "ov_next")


def test_a_drill_of_two_databases_with_a_damaged_second_part_is_an_error(
    world: World, postgres: ConnectionInfo
) -> None:
    _two_databases(world, postgres, "ovd_one", "ovd_two")
    world.plan.write_text(
        world.plan.read_text().replace(
            "    drill: {enabled: false}\n", "    drill: {enabled: true}\n"
        )
    )
    passed = world.reprise("drill", "app", timeout=300)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    _damage(world, "db-ovd_two.pgdump.zst.age")
    before = memory_folders()
    damaged = world.reprise("drill", "app", timeout=300)
    assert damaged.returncode == 3, damaged.stdout + damaged.stderr
    assert "db-ovd_two.pgdump.zst.age" in damaged.stdout + damaged.stderr
    drills = json.loads(world.reprise("drill", "list", "--json").stdout)
    assert drills[0]["result"] == "error"
    assert_nothing_staged(world, before)
