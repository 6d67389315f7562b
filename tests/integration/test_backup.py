"""Backups end to end on real components: a scratch PostgreSQL, a local repository, the
real `reprise` program in a child process."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import psycopg

from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import World, sample_database


def _postgres_source(postgres: ConnectionInfo, database: str, extra: str = "") -> str:
    return f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [{database}]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
{extra}"""


def _ready(world: World, sources: str) -> None:
    world.write_plan(sources)
    result = world.reprise("repo", "init")
    assert result.returncode == 0, result.stderr


def _deep_read(world: World, source: str, backup_id: str, part: str) -> bytes:
    """Decrypt and decompress a stored part with the plan's identity."""
    import pyrage

    from reprise.repository.streams import read_stream

    identity = pyrage.x25519.Identity.from_str(
        (world.plan_dir / "keys" / "identity.txt").read_text().splitlines()[-1]
    )
    chunks: list[bytes] = []
    path = world.repository / "backups" / source / backup_id / part
    with path.open("rb") as stream:
        read_stream(stream, [identity], chunks.append)
    return b"".join(chunks)


def test_postgres_backup_lists_verifies_and_restores_with_the_same_table_figures(
    world: World, postgres: ConnectionInfo
) -> None:
    database = sample_database(postgres, "bk_roundtrip")
    with psycopg.connect(postgres.dsn(database), autocommit=True) as connection:
        row = connection.execute("SELECT lo_from_bytea(0, 'scan de la facture')").fetchone()
        assert row is not None
        large_object = row[0]
    _ready(world, _postgres_source(postgres, database, "  table_stats: checksums\n"))

    result = world.reprise("backup", "run", "app", "--json")
    assert result.returncode == 0, result.stderr
    [done] = json.loads(result.stdout)
    assert done["source"] == "app-postgres" and done["bytes_in"] > done["bytes_out"] > 0

    [listed] = world.backups()
    assert listed["id"] == done["id"] and listed["verify_status"] is None
    assert listed["plain_size"] == done["bytes_in"] and listed["stored_size"] == done["bytes_out"]

    shown = json.loads(world.reprise("backup", "show", done["id"][:12], "--json").stdout)
    parts = {part["name"]: part for part in shown["manifest"]["parts"]}
    assert set(parts) == {"globals.sql.zst.age", f"db-{database}.pgdump.zst.age"}
    [figures] = shown["manifest"]["databases"]
    tables = {table["name"]: table for table in figures["tables"]}
    assert tables["customers"]["rows"] == 2000 and tables["invoices"]["rows"] == 6000

    for flags in ([], ["--deep"]):
        verified = world.reprise("backup", "verify", done["id"], *flags)
        assert verified.returncode == 0, verified.stderr
    assert world.backups()[0]["verify_status"] == "ok"

    # The dump restores with stock pg_restore, and the restored tables give the figures
    # recorded at backup time (the check a drill makes).
    globals_sql = _deep_read(world, "app-postgres", done["id"], "globals.sql.zst.age")
    assert b"CREATE ROLE" in globals_sql
    dump = world.root / "db.pgdump"
    dump.write_bytes(_deep_read(world, "app-postgres", done["id"], f"db-{database}.pgdump.zst.age"))
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS bk_restored")
        connection.execute("CREATE DATABASE bk_restored")
    subprocess.run(
        [str(find_tool("pg_restore")), "--no-owner", "-d", postgres.dsn("bk_restored"), str(dump)],
        check=True,
        env=postgres.env(),
    )
    from reprise.pg.connect import connect
    from reprise.pg.table_stats import STATS_SETTINGS, table_stats

    with connect(
        postgres.dsn(), what="test", dbname="bk_restored", options=STATS_SETTINGS
    ) as connection:
        restored = table_stats(connection, "checksums")
    assert restored["tables"] == figures["tables"]
    with psycopg.connect(postgres.dsn("bk_restored")) as connection:
        row = connection.execute("SELECT lo_get(%s)", (large_object,)).fetchone()
    assert row is not None and bytes(row[0]) == b"scan de la facture"


def test_table_checksum_changes_when_one_value_changes(postgres: ConnectionInfo) -> None:
    from reprise.pg.connect import connect
    from reprise.pg.table_stats import STATS_SETTINGS, table_stats

    database = sample_database(postgres, "bk_checksum", rows=50)
    with connect(postgres.dsn(), what="t", dbname=database, options=STATS_SETTINGS) as conn:
        before = table_stats(conn, "checksums")["tables"]
        conn.execute("UPDATE invoices SET amount = amount + 0.01 WHERE id = 7")
        after = table_stats(conn, "checksums")["tables"]
    assert [t["rows"] for t in before] == [t["rows"] for t in after]
    assert before[0]["checksum"] == after[0]["checksum"]  # customers untouched
    assert before[1]["checksum"] != after[1]["checksum"]


def test_files_backup_keeps_modes_links_and_honours_excludes(
    world: World, files_tree: Path
) -> None:
    _ready(
        world,
        f"""\
- kind: files
  paths: [{files_tree}]
  exclude: ["*.tmp"]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""",
    )
    result = world.reprise("backup", "run", "app", "--json")
    assert result.returncode == 0, result.stderr
    backup_id = json.loads(result.stdout)[0]["id"]
    data = _deep_read(world, "app-files", backup_id, "files.tar.zst.age")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {member.name: member for member in archive.getmembers()}
        prefix = str(files_tree).lstrip("/")
        assert f"{prefix}/conf/secret.key" in members
        assert members[f"{prefix}/conf/secret.key"].mode & 0o777 == 0o600
        assert members[f"{prefix}/current"].issym()
        assert members[f"{prefix}/current"].linkname == "conf/app.ini"
        assert members[f"{prefix}/empty"].isdir()
        assert f"{prefix}/cache.tmp" not in members
        blob = archive.extractfile(members[f"{prefix}/data.bin"])
        assert blob is not None and blob.read() == (files_tree / "data.bin").read_bytes()


def test_command_output_is_one_part(world: World) -> None:
    _ready(
        world,
        """\
- kind: command
  command: "printf 'set system host-name vyos\\nset interfaces ethernet eth0\\n'"
  filename: vyos.conf
  repository: local
  schedule: "@daily"
  retention: {keep_last: 3}
""",
    )
    result = world.reprise("backup", "run", "app", "--json")
    assert result.returncode == 0, result.stderr
    backup_id = json.loads(result.stdout)[0]["id"]
    assert (
        _deep_read(world, "app-command", backup_id, "vyos.conf.zst.age")
        == b"set system host-name vyos\nset interfaces ethernet eth0\n"
    )


def test_run_all_records_one_event_per_backup(
    world: World, postgres: ConnectionInfo, files_tree: Path
) -> None:
    database = sample_database(postgres, "bk_events", rows=10)
    _ready(
        world,
        _postgres_source(postgres, database)
        + f"""\
- kind: files
  paths: [{files_tree}]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""",
    )
    assert world.reprise("backup", "run", "--all").returncode == 0
    events = json.loads(world.reprise("events", "list", "--kind", "backup", "--json").stdout)
    completed = [event for event in events if event["kind"] == "backup.completed"]
    assert {event["payload"]["source"] for event in completed} == {"app-postgres", "app-files"}
    for event in completed:
        payload = event["payload"]
        assert event["subject"] == "app"
        assert payload["bytes_in"] > 0 and payload["bytes_out"] > 0
        assert payload["seconds"] >= 0 and payload["bytes_per_second"] > 0


def test_directory_format_with_parallel_jobs(world: World, postgres: ConnectionInfo) -> None:
    database = sample_database(postgres, "bk_directory", rows=500)
    _ready(
        world,
        _postgres_source(postgres, database, "  format: directory\n  jobs: 2\n  globals: false\n"),
    )
    result = world.reprise("backup", "run", "app", "--json")
    assert result.returncode == 0, result.stderr
    backup_id = json.loads(result.stdout)[0]["id"]
    data = _deep_read(world, "app-postgres", backup_id, f"db-{database}.pgdir.tar.zst.age")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
    assert f"{database}/toc.dat" in names
    assert not any((world.root / "state" / "work").glob("pgdir-*")), "temporary dump left"
