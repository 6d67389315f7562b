"""Asynchronous WAL archiving (wal_async): the spool's guarantees with the real program.

- A segment is reported archived (exit 0) only once it is durable in the spool or in the
  repository; a pusher killed in the middle of uploads loses nothing and the next one
  finishes the work (every segment fetched back equals the original).
- A full spool makes `wal push` fail (nothing is dropped): PostgreSQL sees the failure and
  keeps its WAL; once the repository is reachable again, archiving resumes without a gap.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reprise.pg.scratch import server_os_user
from tests.support.backups import World
from tests.support.pitr import archiving_server, give_to_server_user, shared_world

SOURCE = "app-postgres-physical"
SEGMENT = 16 * 1024 * 1024


def _async_source(dsn: str, spool: Path, max_size: str, parallel: int = 2) -> str:
    return f"""\
- kind: postgres_physical
  dsn: "{dsn}"
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 5}}
  wal_async: {{spool: {spool}, max_size: {max_size}, parallel: {parallel}}}
"""


def _segments(folder: Path, count: int, first: int = 1) -> dict[str, bytes]:
    """``count`` WAL-named files of 16 MiB (part random, part zeros, as WAL is)."""
    made = {}
    for number in range(first, first + count):
        name = f"0000000100000000000000{number:02X}"
        content = os.urandom(4 * 1024 * 1024) + bytes(SEGMENT - 4 * 1024 * 1024)
        (folder / name).write_bytes(content)
        made[name] = content
    return made


def _archived(world: World) -> dict[str, Path]:
    folder = world.repository / "wal" / SOURCE
    if not folder.is_dir():
        return {}
    return {
        path.name.split("-")[0]: path
        for path in folder.iterdir()
        if path.name.endswith(".zst.age") and Path(f"{path}.sig").exists()
    }


def _fetched(world: World, name: str, into: Path) -> bytes:
    target = into / f"fetched-{name}"
    result = world.reprise("wal", "fetch", name, str(target), "--prefetch", "0")
    assert result.returncode == 0, result.stderr
    return target.read_bytes()


def _wait(condition: object, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(every)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.fixture
def offline_world(tmp_path: Path) -> Iterator[World]:
    """A plan archiving asynchronously (no server: the files are pushed by hand)."""
    from reprise.cli.main import main

    plan_dir = tmp_path / "plan"
    assert main(["init", str(plan_dir), "--example", "minimal"]) == 0
    world = World(tmp_path, plan_dir, tmp_path / "repository")
    world.env["REPRISE_STATE_DIR"] = str(tmp_path / "state")
    world.env["REPRISE_CACHE_DIR"] = str(tmp_path / "cache")
    world.write_plan(_async_source("host=/nonexistent user=x", tmp_path / "spool", "40MiB"))
    assert world.reprise("repo", "init").returncode == 0
    yield world
    _stop_pushers(world)


def test_a_pusher_killed_mid_upload_loses_nothing_and_the_next_one_finishes(
    offline_world: World, tmp_path: Path
) -> None:
    world = offline_world
    world.write_plan(_async_source("host=/nonexistent user=x", tmp_path / "spool", "1GiB", 2))
    originals = _segments(tmp_path, 24)
    spool = tmp_path / "spool"
    with _lock_held(spool):  # as if a pusher ran: `wal push` starts none
        for name in originals:
            pushed = world.reprise("wal", "push", str(tmp_path / name))
            assert pushed.returncode == 0, pushed.stderr
            # exit 0 means durable: the complete file is in the spool
            assert (spool / name).read_bytes() == originals[name]
    pusher = world.spawn("wal", "pusher")
    repository = world.repository / "wal" / SOURCE
    _wait(
        lambda: (
            any(".tmp-" in path.name for path in repository.glob("*"))
            and len(_archived(world)) >= 1
        ),
        120,
        "an upload in progress after a first one committed",
        every=0.01,
    )
    pusher.send_signal(signal.SIGKILL)
    pusher.communicate(timeout=30)
    left = {path.name for path in spool.iterdir() if not path.name.startswith(".")}
    archived = _archived(world)
    assert left, "the pusher was killed after it had finished: nothing was in flight"
    # every segment is somewhere durable: still waiting, or uploaded with its signature
    assert set(originals) <= (left & set(originals)) | set(archived)

    finished = world.reprise("wal", "pusher", "--until-empty", timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith(f"{len(left & set(originals))} WAL file(s) archived")
    assert not [path for path in spool.iterdir() if path.name in originals]
    for name, content in originals.items():
        assert _fetched(world, name, tmp_path) == content


def _stop_pushers(world: World) -> None:
    subprocess.run(["pkill", "-f", "--", f"--plan {world.plan} wal pusher"], check=False)


def _pushers(world: World) -> bool:
    found = subprocess.run(
        ["pgrep", "-f", "--", f"--plan {world.plan} wal pusher"], capture_output=True, check=False
    )
    return found.returncode == 0


def test_a_full_spool_refuses_the_segment_and_archiving_resumes_once_the_repository_is_back(
    offline_world: World, tmp_path: Path
) -> None:
    world = offline_world
    originals = _segments(tmp_path, 3)
    names = list(originals)
    wal = world.repository / "wal"
    wal.mkdir(exist_ok=True)
    shutil.rmtree(wal)
    wal.write_text("not a folder: the repository cannot be written\n")

    for name in names[:2]:
        assert world.reprise("wal", "push", str(tmp_path / name)).returncode == 0
    _wait(
        lambda: (tmp_path / "spool" / "last-error").exists(),
        60,
        "the pusher recorded its failure",
    )
    full = world.reprise("wal", "push", str(tmp_path / names[2]))
    assert full.returncode != 0
    assert "spool is full" in full.stderr
    assert "pusher's last error" in full.stderr
    assert not (tmp_path / "spool" / names[2]).exists()

    status = json.loads(world.reprise("wal", "spool", "app", "--json").stdout)
    assert status["segments"] == 2
    assert status["size"] == 2 * SEGMENT
    assert status["last_error"]
    listing = world.reprise("wal", "list", "app")
    assert "2 file(s) waiting" in listing.stdout
    assert _spool_metrics(world) == {
        "reprise_wal_spool_files": 2.0,
        "reprise_wal_spool_bytes": 2.0 * SEGMENT,
        "reprise_wal_pusher_failing": 1.0,
    }

    _stop_pushers(world)
    _wait(lambda: not _pushers(world), 30, "the pusher stopped")
    wal.unlink()
    # PostgreSQL's next try still finds the spool full, and starts a pusher: it drains
    assert world.reprise("wal", "push", str(tmp_path / names[2])).returncode != 0
    _wait(lambda: not list((tmp_path / "spool").glob("0*")), 120, "the spool drained")
    assert world.reprise("wal", "push", str(tmp_path / names[2])).returncode == 0
    _wait(lambda: not list((tmp_path / "spool").glob("0*")), 120, "the spool drained")
    assert json.loads(world.reprise("wal", "spool", "app", "--json").stdout)["segments"] == 0
    for name, content in originals.items():
        assert _fetched(world, name, tmp_path) == content
    assert not (tmp_path / "spool" / "last-error").exists()


def test_a_different_file_under_a_waiting_name_is_refused_and_a_waiting_one_is_not_missing(
    offline_world: World, tmp_path: Path
) -> None:
    world = offline_world
    _stop_pushers(world)
    first = _segments(tmp_path, 1)
    name = next(iter(first))
    spool = tmp_path / "spool"
    with _lock_held(spool):
        assert world.reprise("wal", "push", str(tmp_path / name)).returncode == 0
        again = world.reprise("wal", "push", str(tmp_path / name))
        assert again.returncode == 0  # PostgreSQL's retry of the same segment
        (tmp_path / name).write_bytes(b"x" * SEGMENT)
        different = world.reprise("wal", "push", str(tmp_path / name))
        assert different.returncode != 0
        assert "a different" in different.stderr
        assert (spool / name).read_bytes() == first[name]
        # a recovery asking for it meanwhile must stop, not end as if the WAL ended there
        waiting = world.reprise("wal", "fetch", name, str(tmp_path / "asked"))
        assert waiting.returncode == 255
        assert "still waits in the asynchronous spool" in waiting.stderr
        assert not (tmp_path / "asked").exists()


@contextlib.contextmanager
def _lock_held(spool: Path) -> Iterator[None]:
    """Hold the spool's pusher lock from another process, as a running pusher would."""
    spool.mkdir(mode=0o700, exist_ok=True)
    (spool / "pusher.lock").touch()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(spool / "pusher.lock")], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline()
        yield
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


_HOLD_LOCK = """
import fcntl, sys, time
handle = open(sys.argv[1], "r+")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(600)
"""


@pytest.mark.postgres
def test_postgresql_sees_the_full_spool_and_archiving_resumes_without_a_gap() -> None:
    world = shared_world("reprise-walasync-")
    spool = world.root / "spool"
    spool.mkdir(mode=0o700)
    user = server_os_user()
    if user is not None:
        os.chown(spool, user.pw_uid, user.pw_gid)
    server = archiving_server(world)
    info = server.start()
    try:
        world.write_plan(_async_source(info.dsn(), spool, "48MiB"))
        assert world.reprise("repo", "init").returncode == 0
        give_to_server_user(world.root)
        switched = [_switch(info.dsn()) for _ in range(2)]
        _wait(lambda: _last_archived(info.dsn()) >= switched[-1], 120, "archived")
        _wait(lambda: set(switched) <= set(_archived(world)), 120, "uploaded by the pusher")

        # the repository becomes unwritable: the spool fills, then PostgreSQL sees failures
        wal = world.repository / "wal"
        wal.rename(world.repository / "wal.away")
        wal.write_text("unreachable\n")
        more = [_switch(info.dsn()) for _ in range(6)]
        _wait(lambda: _failed_count(info.dsn()) > 0, 180, "PostgreSQL saw a failed archive")
        assert _last_archived(info.dsn()) < more[-1]
        ready = list((server.datadir / "pg_wal" / "archive_status").glob("*.ready"))
        assert ready, "PostgreSQL keeps the segments it could not archive"
        waiting = [path.name for path in spool.iterdir() if path.name in more]
        assert 0 < len(waiting) <= 3  # 48 MiB of 16 MiB segments

        wal.unlink()
        (world.repository / "wal.away").rename(wal)
        _wait(lambda: _last_archived(info.dsn()) >= more[-1], 300, "archiving resumed")
        _wait(lambda: set(more) <= set(_archived(world)), 300, "the spool drained")
        listing = json.loads(world.reprise("wal", "list", "app", "--json").stdout)
        timeline = listing[0]
        assert timeline["first"] <= switched[0] and timeline["last"] >= more[-1]
        assert timeline["gaps"] == []
    finally:
        server.stop()
        _stop_pushers(world)
        shutil.rmtree(world.root, ignore_errors=True)


def _switch(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS filler (v text)")
        connection.execute("INSERT INTO filler SELECT md5(i::text) FROM generate_series(1, 1000) i")
        row = connection.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        return str(row[0])


def _last_archived(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
        return str(row[0]) if row and row[0] else ""


def _failed_count(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute("SELECT failed_count FROM pg_stat_archiver").fetchone()
        return int(row[0]) if row else 0


def test_reprise_serve_empties_the_spool_it_owns(offline_world: World, tmp_path: Path) -> None:
    world = offline_world
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    originals = _segments(tmp_path, 3)
    for name in originals:  # left by `wal push` runs whose pusher is gone
        shutil.copyfile(tmp_path / name, spool / name)
    service = world.spawn("serve", "--no-web")
    try:
        _wait(lambda: set(originals) <= set(_archived(world)), 120, "serve pushed the spool")
        _wait(lambda: not list(spool.glob("0*")), 30, "the spool emptied")
    finally:
        service.send_signal(signal.SIGTERM)
        service.communicate(timeout=60)
    assert service.returncode == 0
    assert not _pushers(world)
    for name, content in originals.items():
        assert _fetched(world, name, tmp_path) == content


def _spool_metrics(world: World) -> dict[str, float]:
    """The spool's gauges on /metrics, scraped now (through the use case the web calls)."""
    from datetime import UTC, datetime
    from unittest import mock

    from prometheus_client.parser import text_string_to_metric_families

    from reprise.plan.loader import load_plan
    from reprise.store import open_state
    from reprise.usecases.metrics import metrics_page

    with mock.patch.dict(os.environ, world.env):
        loaded = load_plan(world.plan)
        with open_state(loaded) as store:
            body, _type = metrics_page(loaded.plan, store, datetime.now(UTC))
    return {
        family.name: float(family.samples[0].value)
        for family in text_string_to_metric_families(body.decode())
        if family.name.startswith(("reprise_wal_spool", "reprise_wal_pusher"))
        and family.samples[0].labels == {"service": "app", "source": SOURCE}
    }
