"""A PostgreSQL source that archives its WAL with the real `reprise wal push`.

PostgreSQL runs as an unprivileged user when the tests run as root, and its
archive_command runs as that user too: it must be able to run our Python and read the
plan and keys, and write the repository. The world lives in a folder that user owns.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

import reprise
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres, server_os_user
from tests.support.backups import World

SOURCE = Path(reprise.__file__).resolve().parents[1]


def server_side_reprise() -> str:
    """A shell command prefix that runs `python -m reprise` as the server's user, or skip."""
    user = server_os_user()
    if user is None:
        return f"{shlex.quote(sys.executable)} -m reprise"
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin") or sys.executable
    path = f"{SOURCE}:{sysconfig.get_paths()['purelib']}"
    prefix = f"PYTHONPATH={shlex.quote(path)} {shlex.quote(python)} -m reprise"
    probe = subprocess.run(
        ["sh", "-c", f"{prefix} --version"],
        capture_output=True,
        text=True,
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        check=False,
        cwd="/",
    )
    if probe.returncode != 0:
        pytest.skip(
            f"user {user.pw_name} cannot run Reprise from {SOURCE} "
            f"({probe.stderr.strip()[-200:]}); archive_command needs it"
        )
    return prefix


def shared_world(prefix: str) -> World:
    """A World in a folder the server's user owns (plan, keys, repository)."""
    from reprise.cli.main import main

    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    plan_dir = base / "plan"
    assert main(["init", str(plan_dir), "--example", "minimal"]) == 0
    world = World(base, plan_dir, base / "repository")
    world.env["REPRISE_STATE_DIR"] = str(base / "state")
    return world


def give_to_server_user(path: Path) -> None:
    """Let the server's user run `wal push` on the shared_world at ``path`` as
    docs/restore.md says (no-op when not root): the plan and keys stay root's, readable
    by the server user's group (0750 / 0640, ``keys.readers_group``; the identity stays
    0600); the repository stays root's, with a ``wal/`` folder the server user owns."""
    import grp

    user = server_os_user()
    if user is None:
        return
    plan_dir, repository = path / "plan", path / "repository"
    plan = plan_dir / "reprise.yaml"
    group = grp.getgrgid(user.pw_gid).gr_name
    plan.write_text(plan.read_text().replace("keys:\n", f"keys:\n  readers_group: {group}\n", 1))
    for entry in [plan_dir, *plan_dir.rglob("*")]:
        if entry.name == "identity.txt":
            continue
        os.chown(entry, 0, user.pw_gid)
        entry.chmod(0o750 if entry.is_dir() else 0o640)
    os.chown(repository, 0, user.pw_gid)
    repository.chmod(0o750)
    wal = repository / "wal"
    wal.mkdir(mode=0o700, exist_ok=True)
    for directory, dirs, files in os.walk(wal):
        os.chown(directory, user.pw_uid, user.pw_gid)
        for name in dirs + files:
            os.lchown(Path(directory, name), user.pw_uid, user.pw_gid)


def archiving_server(world: World, *, archive_timeout: str = "0") -> ScratchPostgres:
    """A durable scratch server whose archive_command is `reprise wal push`; the settings
    cache of its user lives in the world (not in that user's home)."""
    cache = world.root / "cache"
    cache.mkdir(mode=0o700, exist_ok=True)
    user = server_os_user()
    if user is not None:
        os.chown(cache, user.pw_uid, user.pw_gid)
    command = (
        f"REPRISE_CACHE_DIR={shlex.quote(str(cache))} {server_side_reprise()} "
        f"--plan {shlex.quote(str(world.plan))} wal push %p"
    )
    return ScratchPostgres(
        durable=True,
        settings={
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": "'" + command.replace("'", "''") + "'",
            "archive_timeout": f"'{archive_timeout}'",
            "max_wal_senders": "4",
        },
    )


def physical_source(info: ConnectionInfo) -> str:
    """The plan's `backups` entry."""
    return f"""\
- kind: postgres_physical
  dsn: "{info.dsn()}"
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 5}}
"""


def switch_and_wait(dsn: str, timeout: float = 60) -> str:
    """Close the current segment and wait until the archiver has pushed it."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        segment = str(row[0])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = connection.execute(
                "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver"
            ).fetchone()
            assert status is not None
            if status[0] is not None and status[0] >= segment:
                return segment
            time.sleep(0.1)
    raise AssertionError(
        f"{segment} was not archived within {timeout} s (last failure: {status[1]})"
    )
