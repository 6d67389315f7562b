"""Backups under faults and hostile input: every failure gives a clear message and a
meaningful exit code, lists nothing incomplete, leaves earlier backups verifiable, and
the next backup succeeds."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import World, mounted_tmpfs

COMMAND_SOURCE = """\
- kind: command
  command: "{command}"
  timeout: {timeout}
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 5}}
"""


def _command_world(world: World, command: str, timeout: str = "1m") -> None:
    world.write_plan(COMMAND_SOURCE.format(command=command, timeout=timeout))
    assert world.reprise("repo", "init").returncode == 0


def _postgres_world(world: World, dsn: str) -> None:
    world.write_plan(f"""\
- kind: postgres
  dsn: "{dsn}"
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
""")
    assert world.reprise("repo", "init").returncode == 0


def _assert_consistent(world: World, source: str, good: list[str]) -> None:
    """Only complete backups are listed, the earlier ones verify, nothing is left over."""
    listed = [item["id"] for item in world.backups()]
    assert listed == good
    for folder in world.backup_dirs(source):
        assert folder.name in good, f"leftover {folder}"
    if good:
        verified = world.reprise("backup", "verify", "--all")
        assert verified.returncode == 0, verified.stdout + verified.stderr


def test_failing_command_is_reported_with_its_exit_code(world: World) -> None:
    _command_world(world, "echo partial; echo 'ssh: connect to host vyos: refused' >&2; exit 3")
    result = world.reprise("backup", "run", "app")
    assert result.returncode == 1
    assert "exited with code 3" in result.stderr and "refused" in result.stderr
    assert "Traceback" not in result.stderr
    _assert_consistent(world, "app-command", [])


def test_hanging_command_is_killed_at_the_timeout(world: World) -> None:
    _command_world(world, "echo start; sleep 600", timeout="1s")
    started = time.monotonic()
    result = world.reprise("backup", "run", "app")
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert "did not finish within 1 s" in result.stderr
    _assert_consistent(world, "app-command", [])
    # The whole process group died: no `sleep 600` survives.
    survivors = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, text=True)
    assert survivors.stdout.strip() == ""


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://postgres:wrong@127.0.0.1:{port}/postgres", "password authentication failed"),
        ("postgresql://postgres@127.0.0.1:1/postgres", "cannot connect to PostgreSQL"),
    ],
)
def test_unreachable_database_or_wrong_password(
    world: World, postgres: ConnectionInfo, dsn: str, expected: str
) -> None:
    good = dsn.format(port=postgres.port)
    _postgres_world(world, good)
    result = world.reprise("backup", "run", "app")
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr and "Fix:" in result.stderr
    assert "wrong" not in result.stderr, "the password leaked into the message"
    _assert_consistent(world, "app-postgres", [])


def test_pg_dump_older_than_the_server_names_the_version_needed(
    world: World, postgres: ConnectionInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server reports a future major version (there is no older pg_dump to install
    here): the backup must refuse with the version it needs."""
    from reprise.backup.run import run_backup
    from reprise.backup.sources import postgres as source_module
    from reprise.errors import ToolNotFoundError
    from reprise.plan.jobs import backup_jobs
    from reprise.plan.loader import load_plan
    from reprise.store import open_plan_store

    _postgres_world(world, postgres.dsn())
    real = source_module._server_facts
    monkeypatch.setattr(
        source_module,
        "_server_facts",
        lambda connection: {**real(connection), "version_num": 990004},
    )
    loaded = load_plan(world.plan)
    store = open_plan_store(loaded.plan, loaded.path, loaded.sha256)
    with pytest.raises(ToolNotFoundError) as caught:
        run_backup(loaded.plan, store, backup_jobs(loaded.plan)[0], work_dir=world.root)
    assert "pg_dump version 99 or newer is not installed" in caught.value.message
    assert "postgresql-client-99" in (caught.value.hint or "")
    store.close()
    _assert_consistent(world, "app-postgres", [])


def test_missing_pg_dump(
    world: World, postgres: ConnectionInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No PostgreSQL client programs on the host at all."""
    from reprise.pg import binaries

    _postgres_world(world, postgres.dsn())
    empty = world.root / "no-binaries"
    empty.mkdir()
    monkeypatch.setattr(binaries, "find_installations", lambda: ())
    from reprise.cli.main import main

    code = main(["--plan", str(world.plan), "backup", "run", "app"])
    assert code == 1
    _assert_consistent(world, "app-postgres", [])


def test_full_disk_during_a_backup(world: World) -> None:
    with mounted_tmpfs(world.repository, "size=3m,mode=0755"):
        _command_world(world, "head -c 100000 /dev/urandom")
        good = world.backup_once()
        _command_world(world, "head -c 8000000 /dev/urandom")  # incompressible, > 3 MB
        result = world.reprise("backup", "run", "app")
        assert result.returncode == 1
        assert "no space left on the device" in result.stderr
        assert "reprise backup prune" in result.stderr
        _assert_consistent(world, "app-command", [good])
        assert not list(world.repository.rglob("*.tmp-*")), "temporary file left"
        _command_world(world, "echo small")
        second = world.backup_once()
        _assert_consistent(world, "app-command", [good, second])


def test_unwritable_repository(world: World) -> None:
    _command_world(world, "echo data")
    good = world.backup_once()
    saved = world.root / "saved"
    shutil.copytree(world.repository, saved, symlinks=True)
    with mounted_tmpfs(world.repository, "size=3m"):
        shutil.copytree(saved, world.repository, dirs_exist_ok=True, symlinks=True)
        subprocess.run(["mount", "-o", "remount,ro", str(world.repository)], check=True)
        result = world.reprise("backup", "run", "app")
        assert result.returncode == 1
        assert "not writable" in result.stderr and "read-only" in result.stderr
        assert "Traceback" not in result.stderr
        _assert_consistent(world, "app-command", [good])


def test_unwritable_repository_path_is_a_file(world: World) -> None:
    world.repository.write_text("not a folder")
    world.write_plan(COMMAND_SOURCE.format(command="echo x", timeout="1m"))
    result = world.reprise("repo", "init")
    assert result.returncode == 1
    assert str(world.repository) in result.stderr and "Traceback" not in result.stderr


def test_a_live_lock_refuses_and_a_dead_one_is_taken_over(world: World) -> None:
    _command_world(world, "echo data")
    lock = world.repository / "locks" / "app-command.json"
    lock.parent.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        lock.write_text(
            json.dumps(
                {
                    "host": os.uname().nodename,
                    "pid": sleeper.pid,
                    "time": "2026-11-21T10:00:00+00:00",
                }
            )
        )
        refused = world.reprise("backup", "run", "app")
        assert refused.returncode == 1
        assert "another backup of app-command is running" in refused.stderr
        assert f"pid {sleeper.pid}" in refused.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    taken = world.reprise("backup", "run", "app")
    assert taken.returncode == 0, taken.stderr
    assert "took over a stale lock" in taken.stderr and "is gone" in taken.stderr
    assert not lock.exists(), "the lock must be released"


def test_sigkill_at_random_points_never_lists_an_incomplete_backup(world: World) -> None:
    """20 backups killed at random moments; afterwards only complete backups are listed,
    they all verify, and the next backup succeeds (taking over the dead lock)."""
    _command_world(world, "head -c 30000000 /dev/urandom")
    first = world.backup_once()
    rng = random.Random(20261121)  # noqa: S311 - repeatable kill times, not secrets
    for _trial in range(20):
        process = world.spawn("backup", "run", "app")
        time.sleep(rng.uniform(0.05, 1.2))
        process.send_signal(signal.SIGKILL)
        process.communicate()
    listed = [item["id"] for item in world.backups()]
    assert listed[0] == first
    verified = world.reprise("backup", "verify", "--all", "--json")
    report = json.loads(verified.stdout)
    assert verified.returncode == 0, verified.stdout
    assert [backup["id"] for backup in report["backups"]] == listed
    complete = {
        folder.name
        for folder in world.backup_dirs("app-command")
        if (folder / "manifest.json.sig").exists()
    }
    assert set(listed) <= complete
    result = world.reprise("backup", "run", "app", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["id"] in [item["id"] for item in world.backups()]


def test_memory_stays_bounded_on_a_large_incompressible_stream(world: World) -> None:
    """400 MB of random bytes (zstd's worst case) through the real program: the peak RSS
    of Reprise and its children (zstd, age, the producer), added up, stays far below the
    data size and under the 256 MB budget.

    Each process's own high-water mark (VmHWM) is read while it runs: the rusage of the
    whole run would also count the test process's memory, which the child had before it
    became Reprise (exec records the old image's high-water mark)."""
    _command_world(world, "head -c 400000000 /dev/urandom")
    process = world.spawn("backup", "run", "app")
    peaks = _peaks_while_running(process)
    _out, err = process.communicate()
    assert process.returncode == 0, err
    assert len(peaks) >= 3, peaks  # Reprise, and at least zstd and age, were seen
    total_mb = sum(peaks.values()) / 1024
    assert total_mb < 256, f"peak RSS {total_mb:.0f} MB over {sorted(peaks.values())} kB"
    [listed] = world.backups()
    assert listed["plain_size"] == 400_000_000


def test_a_server_that_dies_mid_dump_is_named_not_a_pg_dump_to_install(world: World) -> None:
    """pg_dump waits on a lock another session holds; the server then crashes (SIGQUIT to
    the postmaster: immediate shutdown). The failure says the server went away."""
    import psycopg

    from reprise.pg.scratch import ScratchPostgres

    scratch = ScratchPostgres()  # its own server: this test brings it down
    info = scratch.start()
    try:
        with psycopg.connect(info.dsn(), autocommit=True) as connection:
            connection.execute("CREATE DATABASE shop")
        with psycopg.connect(info.dsn("shop"), autocommit=True) as connection:
            connection.execute("CREATE TABLE orders (id int)")
        _postgres_world(world, info.dsn())
        locker = psycopg.connect(info.dsn("shop"))
        locker.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        backup = world.spawn("backup", "run", "--all")
        deadline = time.monotonic() + 120
        with psycopg.connect(info.dsn(), autocommit=True) as watcher:
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                    "'pg_dump' AND wait_event_type = 'Lock'"
                ).fetchone()
                if waiting and waiting[0]:
                    break
                assert backup.poll() is None, backup.communicate()
                time.sleep(0.2)
            else:
                pytest.fail("pg_dump never waited on the lock")
        pid = int((scratch.datadir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
        _out, err = backup.communicate(timeout=120)
        locker.close()
    finally:
        scratch.stop()
    assert backup.returncode == 1, err
    assert "the server went away during the dump" in err
    assert "install pg_dump" not in err and "Traceback" not in err
    _assert_consistent(world, "app-postgres", [])


def _peaks_while_running(process: subprocess.Popen[bytes]) -> dict[int, int]:
    """pid → the largest VmHWM (kB) seen of ``process`` and each of its descendants, read
    every 20 ms until it ends (a high-water mark only grows, so late reads lose little)."""
    peaks: dict[int, int] = {}
    while process.poll() is None:
        family = {process.pid}
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat_text = Path(entry.path, "stat").read_text()
                    parents[int(entry.name)] = int(
                        stat_text[stat_text.rindex(")") + 2 :].split()[1]
                    )
        grew = True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if parent in family and pid not in family:
                    family.add(pid)
                    grew = True
        for pid in family:
            with contextlib.suppress(OSError, ValueError, KeyError):  # KeyError: a zombie
                status = dict(
                    line.split(":", 1)
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                )
                # Between fork and exec a child still shows its parent's memory: count
                # Reprise once it runs as itself, its children once they are not Python.
                if pid == process.pid:
                    if b"backup" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                elif status["Name"].strip().startswith("python"):
                    continue
                peak = int(status["VmHWM"].split()[0])
                peaks[pid] = max(peaks.get(pid, 0), peak)
        time.sleep(0.02)
    return peaks
