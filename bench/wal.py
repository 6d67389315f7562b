"""WAL archiving speed: `reprise wal push` against `cp`, one segment and under write load.

    .venv/bin/python bench/wal.py [--runs 7] [--scale 30] [--modes cp,sync,async]

1. One 16 MiB segment, start-up included, as PostgreSQL runs archive_command: real WAL
   segments (written by `pgbench -i`), each pushed by a new process, interleaved run by
   run: (a) `reprise wal push` through the lean door (settings cached), (b) the same
   through the full CLI (REPRISE_NO_LEAN=1), (c) `cp` of the segment (the stock
   archive_command, no fsync, no compression, no encryption). Medians and ratios.
2. Sustained: a durable scratch server loads `pgbench -i -s SCALE` (WAL at the speed the
   machine writes it) with archive_command set to each mode in turn: cp, reprise
   synchronous, reprise asynchronous (wal_async, parallel 2). Sampled every 0.5 s: the
   segments written and not yet archived. Prints the WAL rate while loading, the largest
   backlog, the time to catch up once the load stops, and the archiving throughput.

Runs as root with PostgreSQL as its own user, as the tests do (tests/support/pitr.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from tests.support.backups import World  # noqa: E402
from tests.support.pitr import (  # noqa: E402
    give_to_server_user,
    physical_source,
    server_side_reprise,
    switch_and_wait,
)
from tests.support.pitr import shared_world as _shared_world  # noqa: E402

from installed import as_installed  # noqa: E402
from reprise.pg.binaries import find_tool  # noqa: E402
from reprise.pg.scratch import ScratchPostgres, server_os_user  # noqa: E402

SEGMENT = 16 * 1024 * 1024


def shared_world(prefix: str) -> World:
    """tests.support.pitr's world, without the plan scaffold's messages."""
    with contextlib.redirect_stdout(io.StringIO()):
        return _shared_world(prefix)


def _chown(path: Path) -> None:
    user = server_os_user()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def _server(archive_command: str) -> ScratchPostgres:
    return ScratchPostgres(
        durable=True,
        settings={
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": "'" + archive_command.replace("'", "''") + "'",
            "max_wal_size": "'4GB'",
            "checkpoint_timeout": "'30min'",
        },
    )


def _segment_number(name: str) -> int:
    return int(name[8:16], 16) * 0x100 + int(name[16:24], 16)


def _status(dsn: str) -> tuple[int, int]:
    """(current segment, last archived segment) as numbers."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute(
            "SELECT pg_walfile_name(pg_current_wal_lsn()), "
            "(SELECT last_archived_wal FROM pg_stat_archiver)"
        ).fetchone()
    assert row is not None
    current = _segment_number(str(row[0]))
    archived = _segment_number(str(row[1])) if row[1] else 0
    return current, archived


def real_segments(workdir: Path, count: int) -> list[Path]:
    """``count`` WAL segments written by `pgbench -i`, copied by a `cp` archive_command."""
    archive = workdir / "real-wal"
    archive.mkdir(parents=True, exist_ok=True)
    _chown(archive)
    server = _server(f"cp %p {shlex.quote(str(archive))}/%f")
    info = server.start()
    try:
        env = {**os.environ, **info.env()}
        scale = count * 2 + 4
        subprocess.run(
            [str(find_tool("pgbench")), "-i", "-q", "-s", str(scale), "postgres"],
            env=env,
            check=True,
            capture_output=True,
        )
        with psycopg.connect(info.dsn(), autocommit=True) as connection:
            connection.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(archive.glob("0*"))) < count:
            time.sleep(0.2)
    finally:
        server.stop()
    found = sorted(path for path in archive.iterdir() if len(path.name) == 24)
    return [path for path in found if path.stat().st_size == SEGMENT][-count:]


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{argv[:6]}… failed: {result.stderr[-1500:]}")
    return elapsed


def one_segment(workdir: Path, runs: int) -> None:
    """Part 1: one segment per process, lean door / full CLI / cp, interleaved."""
    segments = real_segments(workdir, runs * 2 + 2)
    if len(segments) < runs * 2 + 2:
        raise SystemExit(f"only {len(segments)} real segments were written")
    world = shared_world("reprise-bench-wal-")
    world.write_plan(NO_SERVER_SOURCE)
    assert world.reprise("repo", "init").returncode == 0
    env = {**os.environ, **world.env, "REPRISE_CACHE_DIR": str(world.root / "cache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed Reprise has its bytecode
    reprise = [sys.executable, "-m", "reprise", "--plan", str(world.plan), "wal", "push"]
    copies = workdir / "cp-target"
    copies.mkdir(exist_ok=True)
    _time([*reprise, str(segments[0])], env)  # the first run fills the cache
    lean, full, copy = [], [], []
    for index in range(runs):
        lean.append(_time([*reprise, str(segments[1 + index * 2])], env))
        copy.append(_time(["cp", str(segments[1 + index * 2]), str(copies)], env))
        if index < 3:
            full.append(
                _time([*reprise, str(segments[2 + index * 2])], {**env, "REPRISE_NO_LEAN": "1"})
            )
    sizes = [path.stat().st_size for path in (world.repository / "wal").rglob("*.zst.age")]
    ratio = statistics.median(a / b for a, b in zip(lean, copy, strict=True))
    print(f"\n## One real 16 MiB segment, start-up included ({runs} runs, medians)")
    print("| archive_command | median | runs (s) |")
    print("|---|---|---|")
    print(f"| reprise wal push (lean door) | {statistics.median(lean):.3f} s | {_list(lean)} |")
    print(f"| reprise wal push (full CLI) | {statistics.median(full):.3f} s | {_list(full)} |")
    print(f"| cp (baseline) | {statistics.median(copy):.3f} s | {_list(copy)} |")
    print(
        f"lean / cp, pair by pair: {ratio:.1f}x; stored size: median "
        f"{statistics.median(sizes) / 1024 / 1024:.1f} MiB of 16 MiB"
    )
    shutil.rmtree(world.root, ignore_errors=True)


NO_SERVER_SOURCE = """\
- kind: postgres_physical
  dsn: "host=/nonexistent user=bench"
  repository: local
  schedule: "@daily"
  retention: {keep_last: 5}
"""
"""A source never backed up here: only its WAL is pushed."""


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.3f}" for value in values)


def sustained(workdir: Path, mode: str, scale: int) -> dict[str, Any]:
    """Part 2: load pgbench with archive_command in ``mode``; sample the backlog."""
    world = shared_world(f"reprise-bench-wal-{mode}-")
    cache = world.root / "cache"
    cache.mkdir(mode=0o700)
    _chown(cache)
    if mode == "cp":
        target = world.root / "cp-archive"
        target.mkdir()
        _chown(target)
        command = f"cp %p {shlex.quote(str(target))}/%f"
    else:
        command = (
            f"REPRISE_CACHE_DIR={shlex.quote(str(cache))} {server_side_reprise()} "
            f"--plan {shlex.quote(str(world.plan))} wal push %p"
        )
    server = _server(command)
    info = server.start()
    try:
        source = physical_source(info)
        if mode == "async":
            spool = world.root / "spool"
            spool.mkdir(mode=0o700)
            _chown(spool)
            source += f"  wal_async: {{spool: {spool}, parallel: 2}}\n"
        world.write_plan(source)
        assert world.reprise("repo", "init").returncode == 0
        give_to_server_user(world.root)
        switch_and_wait(info.dsn())  # the first run reads the plan (and fills the cache)
        start_segment, _ = _status(info.dsn())
        load = subprocess.Popen(
            [str(find_tool("pgbench")), "-i", "-q", "-s", str(scale), "postgres"],
            env={**os.environ, **info.env()},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        began = time.monotonic()
        backlog: list[int] = []
        while load.poll() is None:
            current, archived = _status(info.dsn())
            backlog.append(max(0, current - max(archived, start_segment)))
            time.sleep(0.5)
        loaded_in = time.monotonic() - began
        with psycopg.connect(info.dsn(), autocommit=True) as connection:
            connection.execute("SELECT pg_switch_wal()")
        final, _ = _status(info.dsn())
        while True:
            current, archived = _status(info.dsn())
            backlog.append(max(0, final - archived))
            if archived >= final - 1:
                break
            if time.monotonic() - began > 900:
                raise SystemExit(f"{mode}: archiving did not catch up in 900 s")
            time.sleep(0.5)
        done_in = time.monotonic() - began
        segments = final - start_segment
        return {
            "segments": segments,
            "load_s": loaded_in,
            "wal_mb_s": segments * 16 / loaded_in,
            "max_backlog": max(backlog),
            "catch_up_s": done_in - loaded_in,
            "archive_mb_s": segments * 16 / done_in,
            "series": backlog[::4],
        }
    finally:
        server.stop()
        subprocess.run(["pkill", "-f", "--", f"--plan {world.plan} wal pusher"], check=False)
        shutil.rmtree(world.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=int, default=30, help="pgbench -i scale of part 2")
    parser.add_argument("--modes", default="cp,sync,async")
    parser.add_argument("--skip-one", action="store_true", help="only part 2")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/reprise-bench-wal"))
    options = parser.parse_args()
    as_installed()
    server_side_reprise()  # fails early when PostgreSQL's user cannot run Reprise
    options.workdir.mkdir(parents=True, exist_ok=True)
    options.workdir.chmod(0o755)
    try:
        if not options.skip_one:
            one_segment(options.workdir, options.runs)
        print(f"\n## Sustained: pgbench -i -s {options.scale} with archiving")
        print(
            "| archive_command | WAL written | load | WAL rate | largest backlog | "
            "catch-up after load | archived |"
        )
        print("|---|---|---|---|---|---|---|")
        series = {}
        for mode in options.modes.split(","):
            figures = sustained(options.workdir, mode, options.scale)
            series[mode] = figures["series"]
            print(
                f"| {mode} | {figures['segments']:.0f} segments | {figures['load_s']:.1f} s | "
                f"{figures['wal_mb_s']:.0f} MB/s | {figures['max_backlog']:.0f} segments | "
                f"{figures['catch_up_s']:.1f} s | {figures['archive_mb_s']:.0f} MB/s |",
                flush=True,
            )
        print("\nSegments written and not yet archived, every 2 s (load, then catch-up):")
        for mode, values in series.items():
            print(f"- {mode}: {' '.join(str(value) for value in values)}")
    finally:
        shutil.rmtree(options.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
