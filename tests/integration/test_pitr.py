"""Point-in-time recovery end to end: a real server archiving with `reprise wal push`, base
backups with pg_basebackup, recoveries started on real data directories.

One source server for the module (its history is built step by step: the tests run in
file order and each builds on the previous one's archive).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from reprise.pg.binaries import find_server
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres, server_os_user
from tests.support.backups import World
from tests.support.pitr import (
    archiving_server,
    give_to_server_user,
    physical_source,
    shared_world,
    switch_and_wait,
)

pytestmark = pytest.mark.postgres


@dataclass
class History:
    """The source server and the moments the tests recover to."""

    world: World
    server: ScratchPostgres
    info: ConnectionInfo
    moments: dict[str, datetime] = field(default_factory=dict)
    started: list[Path] = field(default_factory=list)


def _rows(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        row = connection.execute("SELECT count(*) FROM t").fetchone()
        assert row is not None
        return int(row[0])


def _insert(dsn: str, count: int, label: str) -> datetime:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO t (v) SELECT %s FROM generate_series(1, %s)", (label, count)
        )
        row = connection.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]  # type: ignore[no-any-return]


def _stop_datadir(datadir: Path) -> None:
    user = server_os_user()
    kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    subprocess.run(
        [str(find_server().tool("pg_ctl")), "-D", str(datadir), "-m", "immediate", "-w", "stop"],
        capture_output=True,
        check=False,
        cwd="/",
        **kwargs,
    )


@pytest.fixture(scope="module")
def history() -> Iterator[History]:
    """Base backup, 100 rows; then batch A (T1), then batch B, all archived."""
    world = shared_world("reprise-pitr-")
    server = archiving_server(world)
    info = server.start()
    world.write_plan(physical_source(info))
    assert world.reprise("repo", "init").returncode == 0
    give_to_server_user(world.root)
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        connection.execute("CREATE DATABASE shop")
    shop = info.dsn("shop")
    with psycopg.connect(shop, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE t (id serial PRIMARY KEY, at timestamptz DEFAULT "
            "clock_timestamp(), v text)"
        )
    _insert(shop, 100, "before")
    world.backup_once()
    state = History(world, server, info)
    state.moments["after_a"] = _insert(shop, 100, "a")
    time.sleep(1.2)
    _insert(shop, 100, "b")
    switch_and_wait(info.dsn())
    try:
        yield state
    finally:
        for datadir in state.started:
            _stop_datadir(datadir)
        server.stop()
        shutil.rmtree(world.root, ignore_errors=True)


def _recover(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return world.reprise("restore", "app", "--pitr", *args, timeout=300)


def _socket_dsn(datadir: Path, database: str = "shop") -> str:
    conf = (datadir / "postgresql.auto.conf").read_text()
    port = [line for line in conf.splitlines() if line.startswith("port = ")][-1].split()[-1]
    socket = datadir.parent / f".{datadir.name}.socket"
    return f"host={socket} port={port} user=reprise dbname={database}"


def test_recover_to_a_time_then_to_the_latest_point(history: History) -> None:
    world = history.world
    target = history.moments["after_a"]
    datadir = world.root / "at-a"
    result = _recover(world, "--at", target.isoformat(sep=" "), "--to-dir", str(datadir), "--start")
    history.started.append(datadir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Recovered to" in result.stdout
    assert _rows(_socket_dsn(datadir)) == 200
    report = json.loads(
        Path(result.stdout.split("Report: ")[1].split()[0]).with_suffix(".json").read_text()
    )
    reached = datetime.fromisoformat(report["figures"]["reached_time"])
    assert reached <= target and report["figures"]["timeline"] == 2
    latest = world.root / "latest"
    result = _recover(world, "--latest", "--to-dir", str(latest), "--start")
    history.started.append(latest)
    assert result.returncode == 0, result.stderr
    assert _rows(_socket_dsn(latest)) == 300
    _stop_datadir(latest)


def test_a_timeline_switch_is_followed(history: History) -> None:
    """The copy recovered to T1 becomes the primary and archives on timeline 2; a later
    recovery from the same base backup must follow timeline 2, not the abandoned branch."""
    world = history.world
    datadir = world.root / "at-a"
    dsn = _socket_dsn(datadir, "postgres")
    with psycopg.connect(dsn, autocommit=True) as connection:
        command = history.server.settings["archive_command"].strip("'").replace("''", "'")
        connection.execute("ALTER SYSTEM SET archive_mode = on")
        connection.execute(f"ALTER SYSTEM SET archive_command = '{command}'")  # type: ignore[arg-type]
    user = server_os_user()
    kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    subprocess.run(
        [
            str(find_server().tool("pg_ctl")),
            "-D",
            str(datadir),
            "-w",
            "restart",
            "-l",
            str(datadir.parent / "at-a.log"),
        ],
        check=True,
        capture_output=True,
        cwd="/",
        **kwargs,
    )
    # It was promoted while archive_mode was off: push its history file by hand, as an
    # operator making the copy the new primary would.
    pushed = world.reprise("wal", "push", str(datadir / "pg_wal" / "00000002.history"))
    assert pushed.returncode == 0, pushed.stderr
    _insert(_socket_dsn(datadir), 50, "c on timeline 2")
    switch_and_wait(dsn)
    _stop_datadir(datadir)
    listing = json.loads(world.reprise("wal", "list", "app", "--json").stdout)
    assert [entry["timeline"] for entry in listing][:2] == [1, 2]
    assert listing[1]["history_file"] is True
    followed = world.root / "followed"
    result = _recover(world, "--latest", "--to-dir", str(followed), "--start")
    history.started.append(followed)
    assert result.returncode == 0, result.stderr
    assert _rows(_socket_dsn(followed)) == 250  # 100 + A + C: batch B was abandoned
    _stop_datadir(followed)


def test_partial_recovery_of_a_table_and_a_database_into_the_live_server(history: History) -> None:
    world = history.world
    live = history.info.dsn("shop")
    with psycopg.connect(live, autocommit=True) as connection:
        connection.execute("UPDATE t SET v = 'corrupted'")
    at = history.moments["after_a"].isoformat(sep=" ")
    result = _recover(
        world,
        "--at",
        at,
        "--only",
        "shop.public.t",
        "--target",
        history.info.dsn(),
        "--as",
        "before_incident",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with psycopg.connect(live) as connection:
        restored = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE v = 'corrupted') FROM before_incident.t"
        ).fetchone()
        assert restored == (200, 0)
        assert connection.execute("SELECT count(*) FROM public.t").fetchone() == (300,)
    result = _recover(
        world, "--at", at, "--only", "shop", "--target", history.info.dsn(), "--as", "shop_then"
    )
    assert result.returncode == 0, result.stderr
    assert _rows(history.info.dsn("shop_then")) == 200
    again = _recover(
        world,
        "--at",
        at,
        "--only",
        "shop.public.t",
        "--target",
        history.info.dsn(),
        "--as",
        "before_incident",
    )
    assert again.returncode == 2 and "already exists" in again.stderr


def test_targets_outside_the_window_and_a_missing_segment(history: History) -> None:
    world = history.world
    before = _recover(world, "--at", "2001-01-01 00:00:00+00", "--to-dir", str(world.root / "x"))
    assert before.returncode == 2 and "no base backup precedes" in before.stderr
    assert "recovery is possible from" in before.stderr
    after = _recover(world, "--at", "2099-01-01 00:00:00+00", "--to-dir", str(world.root / "x"))
    assert after.returncode == 2 and "after the newest archived WAL" in after.stderr
    bad = _recover(world, "--at", "yesterday", "--to-dir", str(world.root / "x"))
    assert bad.returncode == 2 and "not a date and time" in bad.stderr
    archive = world.repository / "wal" / "app-postgres-physical"
    segments = sorted(
        path
        for path in archive.iterdir()
        if path.name.startswith("00000001")
        and len(path.name.split("-")[0]) == 24
        and path.name.endswith(".zst.age")
    )
    victim = segments[len(segments) // 2]
    hidden = victim.with_name("hidden")
    victim.rename(hidden)
    try:
        missing = _recover(world, "--latest", "--to-dir", str(world.root / "x"))
        assert missing.returncode == 1, missing.stderr
        assert f"WAL segment {victim.name.split('-')[0]} is missing" in missing.stderr
        listing = json.loads(world.reprise("wal", "list", "app", "--json").stdout)
        assert listing[0]["gaps"][0]["first_missing"] == victim.name.split("-")[0]
    finally:
        hidden.rename(victim)
    assert not (world.root / "x").exists()


def test_wal_fetch_prefetches_and_speaks_postgresql_exit_codes(
    history: History, tmp_path: Path
) -> None:
    world = history.world
    archive = world.repository / "wal" / "app-postgres-physical"
    names = sorted(
        path.name.split("-")[0]
        for path in archive.iterdir()
        if path.name.startswith("00000001")
        and len(path.name.split("-")[0]) == 24
        and path.name.endswith(".zst.age")
    )
    spool = tmp_path / "spool"
    first = world.reprise(
        "wal", "fetch", names[0], str(tmp_path / "one"), "--spool", str(spool), "--prefetch", "2"
    )
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "one").stat().st_size == 16 * 1024 * 1024
    assert sorted(path.name for path in spool.iterdir()) == names[1:3]
    second = world.reprise("wal", "fetch", names[1], str(tmp_path / "two"), "--spool", str(spool))
    assert second.returncode == 0 and not (spool / names[1]).exists()
    absent = world.reprise("wal", "fetch", "0000000100000000000000FF", str(tmp_path / "n"))
    assert absent.returncode == 1
    history_absent = world.reprise("wal", "fetch", "00000009.history", str(tmp_path / "h"))
    assert history_absent.returncode == 1
    victim = next(archive.glob(f"{names[-1]}-*"))
    data = victim.read_bytes()
    victim.write_bytes(data[:200] + bytes([data[200] ^ 1]) + data[201:])
    try:
        damaged = world.reprise("wal", "fetch", names[-1], str(tmp_path / "d"), "--prefetch", "0")
        assert damaged.returncode == 255, damaged.stderr
        assert not (tmp_path / "d").exists()
    finally:
        victim.write_bytes(data)
    push = world.reprise("wal", "push", str(tmp_path / "one"))
    assert push.returncode == 2 and "not a WAL file name" in push.stderr


def test_push_is_idempotent_and_refuses_a_different_segment(
    history: History, tmp_path: Path
) -> None:
    world = history.world
    archive = world.repository / "wal" / "app-postgres-physical"
    name = sorted(path.name.split("-")[0] for path in archive.iterdir())[0]
    fetched = tmp_path / name
    assert world.reprise("wal", "fetch", name, str(fetched), "--prefetch", "0").returncode == 0
    before = sorted(path.name for path in archive.iterdir())
    same = world.reprise("wal", "push", str(fetched))
    assert same.returncode == 0, same.stderr
    assert sorted(path.name for path in archive.iterdir()) == before
    fetched.write_bytes(b"\0" * 100 + fetched.read_bytes()[100:])
    different = world.reprise("wal", "push", str(fetched))
    assert different.returncode == 1
    assert f"a different {name} is already archived" in different.stderr


def test_a_segment_signed_by_an_untrusted_key_stops_pitr_and_wal_fetch(
    history: History, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization

    from reprise.repository.keys import SigningKey, generate_signing_key
    from reprise.wal.archive import Statement, encode_sidecar

    world = history.world
    archive = world.repository / "wal" / "app-postgres-physical"
    segments = sorted(
        path
        for path in archive.iterdir()
        if path.name.startswith("00000001")
        and path.name.endswith(".zst.age")
        and len(path.name.split("-")[0]) == 24
    )
    victim = segments[len(segments) // 2]
    sidecar = victim.with_name(victim.name + ".sig")
    genuine = sidecar.read_bytes()
    statement = Statement.parse(json.loads(genuine)["statement"])
    assert statement is not None
    pair = generate_signing_key()
    private = serialization.load_pem_private_key(pair.private_pem, password=None)
    attacker = SigningKey(private, pair.public_pem, tmp_path / "attacker.key")  # type: ignore[arg-type]
    sidecar.write_bytes(encode_sidecar(statement, attacker))
    try:
        refused = _recover(world, "--latest", "--to-dir", str(world.root / "forged"))
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert pair.fingerprint in refused.stderr and "does not trust" in refused.stderr
        assert not (world.root / "forged").exists()
        name = victim.name.split("-")[0]
        fetched = world.reprise("wal", "fetch", name, str(tmp_path / name), "--prefetch", "0")
        assert fetched.returncode == 255 and pair.fingerprint in fetched.stderr
        assert not (tmp_path / name).exists()
    finally:
        sidecar.write_bytes(genuine)


def test_measured_rpo_after_sigkill() -> None:
    """Continuous inserts for 12 s, archive_timeout 1 s, the server killed with SIGKILL,
    recovery to the latest point: the rows lost are printed (the figure depends on how busy
    the machine is: about archive_timeout plus one push) and must cover well under the time
    written, which proves segments were archived as they filled, not at the end."""
    world = shared_world("reprise-rpo-")
    server = archiving_server(world, archive_timeout="1s")
    info = server.start()
    datadir = world.root / "recovered"
    try:
        world.write_plan(physical_source(info))
        assert world.reprise("repo", "init").returncode == 0
        give_to_server_user(world.root)
        with psycopg.connect(info.dsn(), autocommit=True) as connection:
            connection.execute("CREATE DATABASE shop")
        with psycopg.connect(info.dsn("shop"), autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE t (id serial PRIMARY KEY, at timestamptz "
                "DEFAULT clock_timestamp(), v text)"
            )
        world.backup_once()
        last_commit: list[datetime] = []
        stop = threading.Event()

        def insert_forever() -> None:
            with psycopg.connect(info.dsn("shop"), autocommit=True) as connection:
                while not stop.is_set():
                    try:
                        row = connection.execute(
                            "INSERT INTO t (v) VALUES ('x') RETURNING at"
                        ).fetchone()
                    except psycopg.Error:
                        return
                    assert row is not None
                    last_commit.append(row[0])
                    time.sleep(0.01)

        writer = threading.Thread(target=insert_forever, daemon=True)
        writer.start()
        time.sleep(12)
        pid = int((server.datadir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        stop.set()
        writer.join(timeout=10)
        killed_at = last_commit[-1]
        result = world.reprise(
            "restore", "app", "--pitr", "--latest", "--to-dir", str(datadir), "--start", timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        with psycopg.connect(_socket_dsn(datadir)) as connection:
            row = connection.execute("SELECT max(at), count(*) FROM t").fetchone()
        assert row is not None and row[0] is not None
        window = (killed_at - row[0]).total_seconds()
        lost = len(last_commit) - int(row[1])
        print(
            f"\nmeasured RPO: {window:.2f} s of inserts lost ({lost} of "
            f"{len(last_commit)} rows), archive_timeout 1 s"
        )
        assert 0 <= window < 8, f"lost {window:.2f} s of 12 s of inserts"
    finally:
        _stop_datadir(datadir)
        server.stop()
        shutil.rmtree(world.root, ignore_errors=True)
