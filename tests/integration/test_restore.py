"""Restores end to end: a real backup of a scratch PostgreSQL restored by the real program
into a real server, a folder, or a files target; and every way it must refuse."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import (
    ROUTER_CONFIG_SOURCE,
    World,
    database_figures,
    mounted_tmpfs,
    sample_database,
)


def _source(postgres: ConnectionInfo, database: str) -> str:
    return f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [{database}]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
  table_stats: checksums
"""


def _backed_up(world: World, postgres: ConnectionInfo, database: str) -> str:
    sample_database(postgres, database, rows=500)
    world.write_plan(_source(postgres, database))
    assert world.reprise("repo", "init").returncode == 0
    return world.backup_once()


def _exists(postgres: ConnectionInfo, database: str) -> bool:
    with psycopg.connect(postgres.dsn()) as connection:
        return (
            connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            is not None
        )


def _drop(postgres: ConnectionInfo, database: str) -> None:
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_restore_into_a_new_database_with_a_report_and_an_event(
    world: World, postgres: ConnectionInfo
) -> None:
    backup_id = _backed_up(world, postgres, "rs_new")
    _drop(postgres, "rs_new_copy")
    result = world.reprise(
        "restore",
        "app",
        "--target",
        postgres.dsn(),
        "--database",
        "rs_new",
        "--as",
        "rs_new_copy",
        "--jobs",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert database_figures(postgres, "rs_new_copy") == database_figures(postgres, "rs_new")
    assert "Report: " in result.stdout
    report_md = Path(result.stdout.split("Report: ", 1)[1].split()[0])
    report = json.loads(report_md.with_suffix(".json").read_text())
    assert report["backup_id"] == backup_id and report["result"] == "ok"
    names = [step["name"] for step in report["steps"]]
    assert names[0] == "verify signature and identity"
    # The new database is loaded while its part is read (chunk by verified chunk), after
    # the roles' part was verified whole.
    assert names.index("fetch, decrypt and verify") < names.index(
        "fetch, verify and pg_restore rs_new → rs_new_copy"
    )
    assert all(step["seconds"] >= 0 for step in report["steps"])
    assert "rs_new_copy" in report_md.read_text()
    events = json.loads(world.reprise("events", "list", "--kind", "restore", "--json").stdout)
    assert events[0]["kind"] == "restore.completed"
    assert events[0]["payload"]["report"] == str(report_md)
    # A full staging is a deep verification: the catalog knows.
    listed = world.backups()[0]
    assert listed["verify_status"] == "ok"


def test_a_non_empty_database_is_refused_unless_clean(
    world: World, postgres: ConnectionInfo
) -> None:
    _backed_up(world, postgres, "rs_clean")
    with psycopg.connect(postgres.dsn("rs_clean"), autocommit=True) as connection:
        connection.execute("DELETE FROM invoices WHERE id % 2 = 0")
        damaged = connection.execute("SELECT count(*) FROM invoices").fetchone()
    result = world.reprise("restore", "app", "--target", postgres.dsn())
    assert result.returncode == 2, result.stderr
    assert "'rs_clean' on the target is not empty" in result.stderr
    assert "--clean" in result.stderr and "Traceback" not in result.stderr
    with psycopg.connect(postgres.dsn("rs_clean")) as connection:
        assert connection.execute("SELECT count(*) FROM invoices").fetchone() == damaged
    result = world.reprise("restore", "app", "--target", postgres.dsn(), "--clean")
    assert result.returncode == 0, result.stderr
    with psycopg.connect(postgres.dsn("rs_clean")) as connection:
        assert connection.execute("SELECT count(*) FROM invoices").fetchone() == (1500,)


def test_dry_run_shows_the_backup_and_steps_and_changes_nothing(
    world: World, postgres: ConnectionInfo
) -> None:
    backup_id = _backed_up(world, postgres, "rs_dry")
    _drop(postgres, "rs_dry_copy")
    result = world.reprise(
        "restore", "app", "--target", postgres.dsn(), "--as", "rs_dry_copy", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert backup_id in result.stdout and "ago" in result.stdout
    assert "pg_restore -j 2: rs_dry → rs_dry_copy" in result.stdout
    # the database is new: its verified chunks are loaded as they arrive (the step says so)
    assert "loaded as its verified chunks arrive" in " ".join(result.stdout.split())
    assert "nothing was read or written" in result.stdout
    assert not _exists(postgres, "rs_dry_copy")
    planned = json.loads(
        world.reprise("restore", "app", "--target", postgres.dsn(), "--dry-run", "--json").stdout
    )
    assert planned["backup_id"] == backup_id and planned["plain_bytes"] > 0
    # the backup's time in the plan's zone, labelled (the JSON keeps UTC ISO 8601)
    taken = datetime.fromisoformat(planned["backup_time"])
    assert taken.utcoffset() == timedelta(0)
    taken = taken.astimezone(ZoneInfo("Europe/Paris"))
    assert f"taken {taken:%Y-%m-%d %H:%M:%S} {taken:%Z}, " in result.stdout
    assert planned["backup_age_seconds"] >= 0
    assert not (world.root / "state" / "reports").exists()


def test_to_dir_writes_standard_files_that_stock_pg_restore_reads(
    world: World, postgres: ConnectionInfo, tmp_path: Path
) -> None:
    _backed_up(world, postgres, "rs_dir")
    folder = tmp_path / "dump"
    result = world.reprise("restore", "app", "--to-dir", str(folder))
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["db-rs_dir.pgdump", "globals.sql"]
    listing = subprocess.run(
        [str(find_tool("pg_restore")), "-l", str(folder / "db-rs_dir.pgdump")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "TABLE DATA public invoices" in listing
    assert "CREATE ROLE" in (folder / "globals.sql").read_text()
    again = world.reprise("restore", "app", "--to-dir", str(folder))
    assert again.returncode == 2 and "already exist" in again.stderr
    assert world.reprise("restore", "app", "--to-dir", str(folder), "--overwrite").returncode == 0


def _corrupt_part(world: World, source: str, name: str) -> None:
    folder = next(world.repository.glob(f"backups/{source}/*"))
    part = folder / name
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x40
    part.write_bytes(bytes(data))


def test_a_corrupted_part_is_detected_before_the_target_is_touched(
    world: World, postgres: ConnectionInfo
) -> None:
    _backed_up(world, postgres, "rs_bad")
    _drop(postgres, "rs_bad_copy")
    _corrupt_part(world, "app-postgres", "db-rs_bad.pgdump.zst.age")
    result = world.reprise("restore", "app", "--target", postgres.dsn(), "--as", "rs_bad_copy")
    assert result.returncode == 3, result.stderr
    assert "db-rs_bad.pgdump.zst.age" in result.stderr
    assert "Traceback" not in result.stderr
    assert not _exists(postgres, "rs_bad_copy")
    work = world.root / "state" / "work"
    assert not any(work.iterdir()) if work.exists() else True
    reports = list((world.root / "state" / "reports").glob("restore-*.json"))
    assert json.loads(reports[0].read_text())["result"] == "failed"
    events = json.loads(world.reprise("events", "list", "--kind", "restore", "--json").stdout)
    assert events[0]["kind"] == "restore.failed"


def test_missing_or_wrong_identity_names_the_recipient(
    world: World, postgres: ConnectionInfo
) -> None:
    _backed_up(world, postgres, "rs_key")
    recipient = (world.plan_dir / "keys" / "recipients.txt").read_text().split()[-1]
    identity = world.plan_dir / "keys" / "identity.txt"
    import pyrage

    identity.write_text(str(pyrage.x25519.Identity.generate()) + "\n")
    identity.chmod(0o600)
    result = world.reprise("restore", "app", "--to-dir", str(world.root / "out"))
    assert result.returncode == 2, result.stderr
    assert recipient in result.stderr and "keys.identity" in result.stderr
    assert not (world.root / "out").exists()
    identity.unlink()
    result = world.reprise("restore", "app", "--to-dir", str(world.root / "out"))
    assert result.returncode == 2
    assert "identity" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_target_and_bad_options(world: World, postgres: ConnectionInfo) -> None:
    from tests.support.backups import free_port

    _backed_up(world, postgres, "rs_down")
    dead = f"postgresql://postgres:x@127.0.0.1:{free_port()}/postgres"
    result = world.reprise("restore", "app", "--target", dead)
    assert result.returncode == 1
    assert "cannot connect" in result.stderr and "Traceback" not in result.stderr
    both = world.reprise("restore", "app", "--target", dead, "--to-dir", "/tmp/x")
    assert both.returncode == 2 and "exclude each other" in both.stderr
    neither = world.reprise("restore", "app")
    assert neither.returncode == 2 and "--target DSN" in neither.stderr
    wrong_db = world.reprise("restore", "app", "--target", dead, "--database", "nope")
    assert wrong_db.returncode == 2 and "holds no database 'nope'" in wrong_db.stderr
    unknown = world.reprise("restore", "app", "--target", dead, "--backup", "20000101")
    assert unknown.returncode == 2 and "no backup" in unknown.stderr


def test_a_target_older_than_the_dump_is_refused(postgres: ConnectionInfo) -> None:
    from reprise.errors import InputError
    from reprise.restore.logical import check_target

    with pytest.raises(
        InputError,
        match=r"runs PostgreSQL 15, older than the dump's server "
        r"\(99\)",
    ):
        check_target(postgres.dsn(), 990000, [("a", "a")], clean=False)


def test_no_space_left_in_to_dir(world: World, postgres: ConnectionInfo) -> None:
    _backed_up(world, postgres, "rs_full")
    sample_database(postgres, "rs_full", rows=20_000)
    world.backup_once()
    folder = world.root / "small"
    with mounted_tmpfs(folder, "size=400k"):
        result = world.reprise("restore", "app", "--to-dir", str(folder))
        assert result.returncode == 1, result.stderr
        assert "free" in result.stderr or "no space left" in result.stderr
        assert "Traceback" not in result.stderr
        assert list(folder.iterdir()) == []


def _files_plan(world: World, tree: Path) -> None:
    """A plan backing up ``tree`` as a files source, its repository initialised."""
    world.write_plan(f"""\
- kind: files
  paths: [{tree}]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""")
    assert world.reprise("repo", "init").returncode == 0


def test_files_restore_into_a_target_dir(world: World, files_tree: Path) -> None:
    _files_plan(world, files_tree)
    world.backup_once()
    target = world.root / "restored"
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    copy = target / str(files_tree).lstrip("/")
    assert (copy / "conf" / "app.ini").read_text() == "[db]\nhost = db.local\n"
    assert (copy / "data.bin").read_bytes() == (files_tree / "data.bin").read_bytes()
    assert (copy / "conf" / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (copy / "current").readlink() == Path("conf/app.ini")
    assert (copy / "empty").is_dir()
    assert not [path for path in target.iterdir() if path.name.startswith(".reprise")]
    (copy / "conf" / "app.ini").write_text("changed since\n")
    again = world.reprise("restore", "app", "--target-dir", str(target))
    assert again.returncode == 2 and "already exist" in again.stderr
    assert (copy / "conf" / "app.ini").read_text() == "changed since\n"
    assert (
        world.reprise("restore", "app", "--target-dir", str(target), "--overwrite").returncode == 0
    )
    assert (copy / "conf" / "app.ini").read_text() == "[db]\nhost = db.local\n"
    root = world.reprise("restore", "app", "--target-dir", "/")
    assert root.returncode == 2 and "refused" in root.stderr
    missing = world.reprise("restore", "app")
    assert missing.returncode == 2 and "--target-dir" in missing.stderr


def test_command_output_restore(world: World) -> None:
    world.write_plan(ROUTER_CONFIG_SOURCE)
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    target = world.root / "router"
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "router.conf").read_text() == "interfaces {\n  eth0\n}\n"


def test_fifos_and_sockets_are_left_out_of_a_files_backup_and_listed(
    world: World, files_tree: Path
) -> None:
    import os
    import socket

    os.mkfifo(files_tree / "queue.fifo")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(files_tree / "app.sock"))
    try:
        _files_plan(world, files_tree)
        backup_id = world.backup_once()
    finally:
        listener.close()
    manifest = json.loads((world.backup_dirs("app-files")[0] / "manifest.json").read_text())
    assert manifest["id"] == backup_id
    assert sorted(manifest["server"]["skipped_special_files"]) == [
        str(files_tree / "app.sock"),
        str(files_tree / "queue.fifo"),
    ]
    assert manifest["server"]["counts"]["skipped"] == 2
    target = world.root / "restored"
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    copy = target / str(files_tree).lstrip("/")
    assert (copy / "data.bin").read_bytes() == (files_tree / "data.bin").read_bytes()
    assert not (copy / "queue.fifo").exists() and not (copy / "app.sock").exists()


def _router_config_plan(world: World) -> None:
    """A plan backing up one command's output (a router's configuration)."""
    world.write_plan("""\
- kind: command
  command: "printf 'interfaces {}'"
  filename: router.conf
  repository: local
  schedule: "@daily"
  retention: {keep_last: 3}
""")
    assert world.reprise("repo", "init").returncode == 0


def test_a_part_deleted_from_the_repository_fails_the_restore_with_exit_3(world: World) -> None:
    _router_config_plan(world)
    backup_id = world.backup_once()
    [folder] = world.backup_dirs("app-command")
    [part] = [path for path in folder.iterdir() if path.name.endswith(".age")]
    part.unlink()
    target = world.root / "router"
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 3, result.stderr
    assert (
        f"{part.name}: missing, although the signed manifest of backup {backup_id}" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not target.exists() or not any(target.iterdir())  # nothing half-written


def test_a_restore_folder_that_is_a_file_is_bad_input_naming_it(world: World) -> None:
    _router_config_plan(world)
    world.backup_once()
    blocker = world.root / "a-file"
    blocker.write_text("keep me\n")
    for flag, where in (("--to-dir", blocker), ("--target-dir", blocker / "below")):
        result = world.reprise("restore", "app", flag, str(where))
        assert result.returncode == 2, result.stderr
        assert f"{flag} {where}: {blocker} is a file, not a folder" in result.stderr
    assert blocker.read_text() == "keep me\n"
