"""Everything Reprise creates is private from its first byte: files 0600, folders 0700.

Through the CLI (whose umask is 077) and through the core called directly under the usual
umask 022, as the daemon and the web will call it: the state database and its -wal and -shm
files, restore and incident reports, local repository parts, manifests and folders, WAL
spools."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from reprise.incidents.closing import write_final_report
from reprise.incidents.lifecycle import open_incident
from reprise.plan.loader import load_plan
from reprise.repository.local import LocalBackend
from reprise.restore.report import Report, write_report
from reprise.security import operator_umask, private_umask
from reprise.store import open_plan_store, open_store
from reprise.wal.spool import Feeder
from tests.support.backups import ROUTER_CONFIG_SOURCE, World

SOURCE = ROUTER_CONFIG_SOURCE


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes_under(root: Path) -> dict[str, int]:
    """Every entry under ``root`` (itself included) with its mode."""
    found = {".": mode(root)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = mode(path)
    return found


def assert_private_tree(root: Path) -> None:
    loose = {
        name: f"{value:04o}"
        for name, value in modes_under(root).items()
        if value != (0o700 if (root / name).is_dir() else 0o600)
    }
    assert not loose, f"not 0600/0700 under {root}: {loose}"


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most processes run with: the core must not rely on the CLI's 077."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_backup_and_a_restore_leave_only_private_files_in_the_repository_and_state(
    world: World,
) -> None:
    world.write_plan(SOURCE)
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    result = world.reprise("restore", "app", "--target-dir", str(world.root / "router"))
    assert result.returncode == 0, result.stderr
    state = Path(os.environ["REPRISE_STATE_DIR"])
    assert (state / "reprise.db").is_file()
    assert list((state / "reports").glob("*.md")) and list((state / "reports").glob("*.json"))
    assert list(world.repository.glob("backups/app-command/*/manifest.json"))
    assert_private_tree(world.repository)
    assert_private_tree(state)


def test_the_state_database_and_its_wal_files_are_created_0600_in_a_0700_folder(
    tmp_path: Path, usual_umask: None
) -> None:
    folder = tmp_path / "new" / "state"
    store = open_store(f"sqlite:///{folder / 'reprise.db'}")
    try:
        with store.engine.begin() as connection:  # a write: the -wal and -shm files exist
            connection.execute(text("CREATE TABLE probe (x int)"))
        assert (folder / "reprise.db-wal").exists()
        assert mode(tmp_path / "new") == 0o700
        assert_private_tree(folder)
    finally:
        store.close()


def test_a_state_database_left_0644_by_an_older_reprise_is_narrowed_to_0600(
    tmp_path: Path, usual_umask: None
) -> None:
    database = tmp_path / "reprise.db"
    open_store(f"sqlite:///{database}").close()
    database.chmod(0o644)
    open_store(f"sqlite:///{database}").close()
    assert mode(database) == 0o600


def test_local_repository_parts_and_every_folder_created_are_private(
    tmp_path: Path, usual_umask: None
) -> None:
    root = tmp_path / "mnt" / "repository"
    backend = LocalBackend(root)
    writer = backend.open_writer("backups/app/20260101T000000Z-abcd/db.pgdump.zst.age")
    writer.write(b"part")
    writer.commit()
    assert backend.put_exclusive("locks/app.lock", b"lock")
    assert mode(tmp_path / "mnt") == 0o700
    assert_private_tree(root)


def test_restore_reports_are_written_0600_in_a_0700_folder(
    tmp_path: Path, usual_umask: None
) -> None:
    report = Report(
        "restore",
        "app",
        "app-command",
        "local",
        "20260101T000000Z-abcd",
        datetime(2026, 1, 1, tzinfo=UTC),
        "folder /srv/app",
    )
    folder = tmp_path / "state" / "reports"
    markdown = write_report(report, folder)
    assert markdown.is_file() and markdown.with_suffix(".json").is_file()
    assert mode(tmp_path / "state") == 0o700
    assert_private_tree(folder)


def test_an_incident_final_report_is_written_0600_in_0700_folders(
    world: World, usual_umask: None
) -> None:
    world.write_plan(SOURCE)
    loaded = load_plan(world.plan, contacts=False)
    store = open_plan_store(loaded.plan, loaded.path, loaded.sha256)
    try:
        now = datetime.now(UTC)
        incident = open_incident(store, loaded.plan, "Panne de courant", [], by="test", at=now)
        paths, _ = write_final_report(loaded.plan, store, incident, now)
    finally:
        store.close()
    state = Path(os.environ["REPRISE_STATE_DIR"])
    assert paths and all(path.is_file() for path in paths)
    assert_private_tree(state / "reports")


def test_a_wal_spool_is_private_and_its_script_only_runs_for_its_owner(
    tmp_path: Path, usual_umask: None
) -> None:
    archive: Any = None  # preparing the spool reads nothing from the archive
    spool = tmp_path / "work" / "wal-spool" / "db"
    feeder = Feeder(archive, [], [], spool, owner=None)
    feeder.prepare()
    assert mode(tmp_path / "work") == 0o700
    assert mode(spool) == 0o700
    assert mode(spool / "expected") == 0o600
    assert mode(feeder.script) == 0o700


def test_the_cli_runs_with_umask_077_and_gives_the_callers_umask_back(
    cli: Any, usual_umask: None, tmp_path: Path
) -> None:
    assert cli("init", tmp_path / "plan").exit_code == 0
    assert_private_tree(tmp_path / "plan")
    current = os.umask(0o022)
    assert current == 0o022


def test_the_plans_own_commands_can_run_with_the_operators_umask(usual_umask: None) -> None:
    with private_umask():
        assert operator_umask() == 0o022
        inside = os.umask(0o077)
        assert inside == 0o077
    assert operator_umask() == 0o022


def test_a_plan_command_creates_files_with_the_operators_umask_not_reprises(
    usual_umask: None, tmp_path: Path
) -> None:
    import asyncio

    from reprise.probes.command import run_shell

    made = tmp_path / "made-by-a-runbook-step"
    with private_umask():
        outcome = asyncio.run(run_shell(f"touch {made} && mkdir {made}.d"))
        private = tmp_path / "made-by-reprise"
        private.touch()
    assert outcome.code == 0, outcome.output
    assert (mode(made), mode(Path(f"{made}.d"))) == (0o644, 0o755)
    assert mode(private) == 0o600
