"""Drills end to end: a real backup restored into a real scratch PostgreSQL and checked."""

from __future__ import annotations

import json
from pathlib import Path

from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import World, sample_database


def drilled_world(
    world: World,
    postgres: ConnectionInfo,
    database: str,
    *,
    integrity: list[str],
    rto: str = "30m",
    drill: str = "enabled: true",
) -> None:
    sample_database(postgres, database, rows=400)
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [{database}]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
  table_stats: checksums
""")
    assertions = "".join(f"      - {json.dumps(text)}\n" for text in integrity)
    text = world.plan.read_text().replace(
        "    drill: {enabled: false}\n",
        f"    objectives: {{rto: {rto}}}\n    drill: {{{drill}}}\n"
        + (f"    integrity:\n{assertions}" if integrity else ""),
    )
    world.plan.write_text(text)
    assert world.reprise("repo", "init").returncode == 0, world.reprise("plan", "validate")
    world.backup_once()


def _drills(world: World) -> list[dict[str, object]]:
    result = world.reprise("drill", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_a_drill_restores_checks_and_measures_the_rto(
    world: World, postgres: ConnectionInfo
) -> None:
    drilled_world(
        world,
        postgres,
        "dr_ok",
        integrity=[
            "SELECT count(*) > 0 FROM invoices",
            "dr_ok: SELECT max(issued) >= date '2026-01-01' FROM invoices",
        ],
    )
    result = world.reprise("drill", "app", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout and "RTO achieved" in result.stdout
    assert "2 table(s): row counts and checksums match the backup" in result.stdout
    assert "B-tree index(es) structurally sound" in result.stdout
    drills = _drills(world)
    assert len(drills) == 1
    drill = drills[0]
    assert drill["result"] == "passed" and drill["failures"] == []
    assert isinstance(drill["rto_seconds"], float) and 0 < drill["rto_seconds"] < 300
    assert drill["objective_seconds"] == 1800
    steps = [step["name"] for step in drill["steps"]]  # type: ignore[attr-defined, index]
    assert steps[0] == "verify signature and identity"
    assert "pg_restore dr_ok → dr_ok" in steps and steps[-1] == "stop the scratch PostgreSQL"
    report = Path(str(drill["report"]))
    text = report.read_text()
    assert "Restore drill report" in text and "SELECT count(*) > 0 FROM invoices" in text
    events = json.loads(world.reprise("events", "list", "--kind", "drill", "--json").stdout)
    assert events[0]["kind"] == "drill.completed"
    table = world.reprise("drill", "list")
    assert "passed" in table.stdout and "dr_ok" not in table.stderr


def test_a_false_assertion_and_a_missed_rto_fail_the_drill(
    world: World, postgres: ConnectionInfo
) -> None:
    drilled_world(
        world,
        postgres,
        "dr_bad",
        rto="1ms",
        integrity=["SELECT count(*) > 1000000 FROM invoices", "SELECT count(*) FROM nowhere"],
    )
    result = world.reprise("drill", "--all", "--json", timeout=300)
    assert result.returncode == 3, result.stderr
    outcome = json.loads(result.stdout)[0]
    assert outcome["result"] == "failed"
    failures = " ".join(outcome["failures"])
    assert "returned False, expected true" in failures
    assert "no restored database has the tables it reads" in failures
    assert "exceeds the objective 1ms" in failures
    assert _drills(world)[0]["result"] == "failed"


def _forge_manifest(world: World, change: dict[str, int]) -> None:
    """Re-sign an altered manifest with the plan's own signing key: figures that no longer
    match the data, as if the dump had lost rows."""
    from cryptography.hazmat.primitives import serialization

    folder = next((world.repository / "backups" / "app-postgres").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    for table in manifest["databases"][0]["tables"]:
        table["rows"] += change.get(table["name"], 0)
    data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    key = serialization.load_pem_private_key(
        (world.plan_dir / "keys" / "signing.key").read_bytes(), password=None
    )
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.json.sig").write_bytes(key.sign(data))  # type: ignore[call-arg, union-attr, arg-type]
    assert world.reprise("repo", "reindex", "local").returncode == 0


def test_restored_rows_that_differ_from_the_backup_figures_fail(
    world: World, postgres: ConnectionInfo
) -> None:
    drilled_world(world, postgres, "dr_rows", integrity=[])
    _forge_manifest(world, {"invoices": 5})
    result = world.reprise("drill", "app", timeout=300)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "dr_rows.public.invoices: 1205 rows at backup, 1200 restored" in result.stdout


def test_a_drill_without_backups_or_with_a_damaged_backup(
    world: World, postgres: ConnectionInfo
) -> None:
    drilled_world(world, postgres, "dr_none", integrity=[])
    for folder in (world.repository / "backups" / "app-postgres").iterdir():
        part = folder / "db-dr_none.pgdump.zst.age"
        data = bytearray(part.read_bytes())
        data[-100] ^= 1
        part.write_bytes(bytes(data))
    damaged = world.reprise("drill", "app", timeout=300)
    assert damaged.returncode == 3, damaged.stderr
    assert "db-dr_none.pgdump.zst.age" in damaged.stderr + damaged.stdout
    assert "could not run" in damaged.stdout
    assert _drills(world)[0]["result"] == "error"
    unknown = world.reprise("drill", "nope")
    assert unknown.returncode == 2 and "no service 'nope'" in unknown.stderr
    neither = world.reprise("drill", "run")
    assert neither.returncode == 2
