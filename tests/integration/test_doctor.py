"""`reprise doctor` on a real installation: a scratch PostgreSQL running as the server's
user, archiving with the real `reprise wal push` into a local repository. Sound, then
broken one way at a time (and mended): only the expected check ids fail.

One server for the module; each test leaves the installation sound again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reprise.pg.scratch import ConnectionInfo, ScratchPostgres, server_os_user
from tests.support.backups import ECHO_SOURCE, S3_ENV, S3Server, World
from tests.support.pitr import (
    archiving_server,
    give_to_server_user,
    physical_source,
    shared_world,
    switch_and_wait,
)

pytestmark = pytest.mark.postgres

DEFAULT_IDS = {
    "plan.valid",
    "postgres.reachable",
    "postgres.client",
    "clock.skew",
    "wal.archive-command",
    "wal.server-user",
    "repository.local",
    "keys.present",
    "keys.match",
    "files.modes",
    "disk.space",
    "service.running",
}


@dataclass
class Installation:
    """The world, its archiving server and how to reach it."""

    world: World
    server: ScratchPostgres
    info: ConnectionInfo


@pytest.fixture(scope="module")
def installation() -> Iterator[Installation]:
    world = shared_world("reprise-doctor-")
    server = archiving_server(world)
    info = server.start()
    try:
        world.write_plan(physical_source(info))
        assert world.reprise("repo", "init").returncode == 0
        give_to_server_user(world.root)
        switch_and_wait(info.dsn())
        world.backup_once()
        yield Installation(world, server, info)
    finally:
        server.stop()
        shutil.rmtree(world.root, ignore_errors=True)


def _doctor(world: World, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    result = world.reprise("doctor", "--json", *args, timeout=300)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def _failing(checks: list[dict[str, Any]]) -> set[str]:
    return {check["id"] for check in checks if check["status"] == "fail"}


def _by_id(checks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in checks}


def test_a_sound_installation_passes_every_check(installation: Installation) -> None:
    code, checks, stderr = _doctor(installation.world)
    assert code == 0, checks
    assert {check["id"] for check in checks} == DEFAULT_IDS
    assert all(list(check) == ["id", "status", "title", "detail", "fix"] for check in checks)
    found = _by_id(checks)
    expected_ok = DEFAULT_IDS - {"service.running"}
    if server_os_user() is None:
        expected_ok -= {"wal.server-user"}  # not root: it cannot act as another user
    assert {i for i in expected_ok if found[i]["status"] == "ok"} == expected_ok, checks
    assert found["service.running"]["status"] == "skip"  # `reprise serve` never ran
    assert found["wal.archive-command"]["fix"] is None
    assert stderr == ""


def test_only_runs_the_checks_named_and_human_output_lists_them(
    installation: Installation,
) -> None:
    code, checks, _ = _doctor(installation.world, "--only", "keys", "--only", "files.modes")
    assert code == 0
    assert [check["id"] for check in checks] == ["keys.present", "keys.match", "files.modes"]
    human = installation.world.reprise("doctor", "--only", "repository")
    assert human.returncode == 0, human.stderr
    assert "repository.local" in human.stdout and "keys.present" not in human.stdout
    unknown = installation.world.reprise("doctor", "--only", "nonsense")
    assert unknown.returncode == 2
    assert "nonsense" in unknown.stderr and "wal.archive-command" in unknown.stderr


def _sql(info: ConnectionInfo, *statements: str) -> None:
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def test_a_wrong_archive_command_fails_that_check_only(installation: Installation) -> None:
    info = installation.info
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        row = connection.execute("SHOW archive_command").fetchone()
        assert row is not None
        good = str(row[0])
    _sql(info, "ALTER SYSTEM SET archive_command = '/bin/false'", "SELECT pg_reload_conf()")
    try:
        code, checks, stderr = _doctor(installation.world, "--timeout", "20")
        assert code == 1
        assert _failing(checks) == {"wal.archive-command"}
        found = _by_id(checks)["wal.archive-command"]
        assert "/bin/false" in found["detail"]
        assert "wal push %p" in found["fix"]
        assert "wal.archive-command" in stderr
        assert _by_id(checks)["wal.server-user"]["status"] == "skip"
    finally:
        quoted = good.replace("'", "''")
        _sql(info, f"ALTER SYSTEM SET archive_command = '{quoted}'", "SELECT pg_reload_conf()")
    switch_and_wait(info.dsn())


@pytest.mark.skipif(server_os_user() is None, reason="needs root to act as the server's user")
def test_a_signing_key_the_server_user_cannot_read_fails_with_its_path(
    installation: Installation,
) -> None:
    key = installation.world.plan_dir / "keys" / "signing.key"
    status = key.stat()
    os.chown(key, 0, 0)
    key.chmod(0o600)
    try:
        code, checks, _ = _doctor(installation.world, "--timeout", "20")
        assert code == 1
        # the archiver really fails too: the same key is missing to it
        assert _failing(checks) == {"wal.server-user", "wal.archive-command"}
        detail = _by_id(checks)["wal.server-user"]["detail"]
        assert str(key) in detail and "postgres" in detail
    finally:
        os.chown(key, 0, status.st_gid)
        key.chmod(0o640)
    switch_and_wait(installation.info.dsn())


def _immutable(path: Path, on: bool) -> bool:
    """chattr ±i (root ignores modes; the immutable flag stops it); False when the file
    system does not support it."""
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    flag = "+i" if on else "-i"
    done = subprocess.run([chattr, flag, str(path)], capture_output=True, check=False)
    return done.returncode == 0


def test_an_unwritable_repository_fails_its_check(installation: Installation) -> None:
    repository = installation.world.repository
    mode = repository.stat().st_mode & 0o7777
    repository.chmod(0o500)
    if os.geteuid() == 0 and not _immutable(repository, True):
        repository.chmod(mode)
        pytest.skip("root ignores modes and chattr +i is not supported here")
    try:
        code, checks, _ = _doctor(installation.world, "--timeout", "20")
        assert code == 1
        expected = {"repository.local"}
        if server_os_user() is not None:
            # 0500 also takes the server's user's way into wal/: the archiver fails too
            expected |= {"wal.server-user", "wal.archive-command"}
        assert _failing(checks) == expected
        detail = _by_id(checks)["repository.local"]["detail"]
        assert str(repository) in detail
    finally:
        if os.geteuid() == 0:
            _immutable(repository, False)
        repository.chmod(mode)
    switch_and_wait(installation.info.dsn())


def test_a_group_writable_key_file_fails_files_modes_with_the_fix(
    installation: Installation,
) -> None:
    recipients = installation.world.plan_dir / "keys" / "recipients.txt"
    mode = recipients.stat().st_mode & 0o7777
    recipients.chmod(mode | 0o020)
    try:
        code, checks, _ = _doctor(installation.world)
        assert code == 1
        assert _failing(checks) == {"files.modes"}
        found = _by_id(checks)["files.modes"]
        assert str(recipients) in found["detail"]
        assert f"chmod go-w {recipients}" in found["fix"]
        human = installation.world.reprise("doctor")
        assert human.returncode == 1
        assert "files.modes" in human.stdout and "chmod go-w" in human.stdout
    finally:
        recipients.chmod(mode)
    code, checks, _ = _doctor(installation.world, "--only", "files.modes")
    assert code == 0, checks


def test_service_running_follows_the_heartbeats(
    installation: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import delete

    from reprise.plan.loader import load_plan
    from reprise.scheduler.instances import beat, register
    from reprise.store import open_state
    from reprise.store.tables import service_instances

    world = installation.world
    monkeypatch.setenv("REPRISE_STATE_DIR", world.env["REPRISE_STATE_DIR"])
    now = datetime.now(UTC)
    with open_state(load_plan(world.plan)) as store:
        instance = register(
            store,
            host="db1",
            pid=4242,
            version="test",
            now=now - timedelta(minutes=10),
            role="leader",
        )
    try:
        code, checks, _ = _doctor(world, "--only", "service.running")
        assert code == 1 and _failing(checks) == {"service.running"}
        assert "db1" in checks[0]["detail"] and "systemctl" in checks[0]["fix"]
        with open_state(load_plan(world.plan)) as store:
            beat(store, instance, datetime.now(UTC), "leader", {})
        code, checks, _ = _doctor(world, "--only", "service.running")
        assert code == 0 and checks[0]["status"] == "ok"
        assert "4242" in checks[0]["detail"]
    finally:
        with open_state(load_plan(world.plan)) as store, store.engine.begin() as connection:
            connection.execute(delete(service_instances))


def test_an_s3_repository_is_probed_through_its_backend(world: World, s3_server: S3Server) -> None:
    s3_server.client().create_bucket(Bucket="reprise-doctor")
    world.env.update(S3_ENV)
    world.write_plan(
        ECHO_SOURCE.replace("repository: local", "repository: offsite"),
        repositories=(
            "  local: {kind: local, path: " + str(world.repository) + "}\n"
            f"  offsite: {{kind: s3, bucket: reprise-doctor, prefix: doctor-test, "
            f"endpoint_url: '{s3_server.url}', region: us-east-1}}"
        ),
    )
    assert world.reprise("repo", "init", "offsite").returncode == 0
    code, checks, _ = _doctor(world, "--only", "repository")
    assert code == 1  # the local one was never initialised
    found = _by_id(checks)
    assert found["repository.offsite"]["status"] == "ok", checks
    assert found["repository.local"]["status"] == "fail"
    assert "repo init local" in found["repository.local"]["fix"]
    listed = s3_server.client().list_objects_v2(Bucket="reprise-doctor", Prefix="doctor-test/")
    assert [item["Key"] for item in listed["Contents"]] == [
        "doctor-test/reprise-repository.json"
    ]  # the probe was deleted
    s3_server.stop()
    try:
        code, checks, _ = _doctor(world, "--only", "repository.offsite")
    finally:
        s3_server.start()
    assert code == 1 and checks[0]["status"] == "fail"
    assert "127.0.0.1" in checks[0]["detail"] or "offsite" in checks[0]["detail"]


@pytest.mark.parametrize(
    ("command", "plan", "source"),
    [
        (
            "REPRISE_CACHE_DIR=/c PYTHONPATH='/a b' /usr/bin/python3 -m reprise "
            "--plan /etc/reprise/reprise.yaml wal push %p",
            "/etc/reprise/reprise.yaml",
            None,
        ),
        (
            "/usr/local/bin/reprise --plan=/etc/reprise wal push %p --source db",
            "/etc/reprise",
            "db",
        ),
        ("REPRISE_PLAN=/srv/plan.yaml reprise wal push %p", "/srv/plan.yaml", None),
        ("/bin/false", None, None),
        ("pgbackrest --stanza=main archive-push %p", None, None),
        ("reprise --plan /p wal push /tmp/fixed", None, None),
    ],
)
def test_archive_commands_are_read_as_postgresql_runs_them(
    command: str, plan: str | None, source: str | None
) -> None:
    from reprise.doctor.archive_command import parse

    parsed = parse(command)
    if plan is None:
        assert parsed is None
        return
    assert parsed is not None
    assert (parsed.plan, parsed.source) == (plan, source)
    assert not parsed.prefix.endswith("wal push")
