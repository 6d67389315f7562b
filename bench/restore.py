"""Restore speed: Reprise's restore, drill and PITR against the stock ways, same data, same run.

    .venv/bin/python bench/restore.py [--runs 3] [--scale 100] [--mixed-rows 6000000]

On each database (pgbench and the mixed one of bench/backup.py), interleaved run by run:
(a) gunzip | psql of a plain pg_dump | gzip (the seed's way), (b) pg_restore -j 2 of an
unencrypted pg_dump -Fc, (c) `reprise restore --jobs 2` of the logical backup, (d) `reprise
drill` end to end (scratch server start to checked database, stop included), (e) `reprise
restore --pitr --latest --start` of a physical backup until the server accepts queries,
(f) pgbackrest restore + start when Debian's pgbackrest is installed. Prints medians and
the ratios (c)/(b), (d)-(b), (e)/(f); also the per-segment cost of `wal push`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup import build_databases
from reprise.cli.main import main as reprise_main
from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres


def _timed(argv: list[str], env: dict[str, str], *, pipeline: bool = False) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        argv if not pipeline else ["bash", "-o", "pipefail", "-c", argv[0]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{argv[0][:80]}… failed: {result.stderr[-1500:]}")
    return time.perf_counter() - start


def _plan(directory: Path, info: ConnectionInfo, database: str) -> Path:
    plan_dir = directory / f"plan-{database}"
    with contextlib.redirect_stdout(io.StringIO()):
        reprise_main(["init", str(plan_dir), "--example", "minimal"])
    plan = plan_dir / "reprise.yaml"
    plan.write_text(f"""\
version: 1
organisation: {{name: Bench, timezone: UTC}}
objectives: {{rpo: 1h, rto: 2h, uptime: 99.9%}}
repositories:
  local: {{kind: local, path: {directory / f"repository-{database}"}}}
keys: {{recipients_file: keys/recipients.txt, signing_key: keys/signing.key,
        identity: keys/identity.txt}}
services:
  - id: bench
    name: Bench
    category: database
    criticality: critical
    backups:
      - kind: postgres
        dsn: "{info.dsn()}"
        databases: [{database}]
        globals: false
        compression_level: 1
        repository: local
        schedule: "@hourly"
        retention: {{keep_last: 1}}
      - kind: postgres_physical
        dsn: "{info.dsn()}"
        compression_level: 1
        repository: local
        schedule: "@daily"
        retention: {{keep_last: 1}}
""")
    return plan


def _drop(info: ConnectionInfo, name: str) -> None:
    import psycopg

    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _stop(datadir: Path) -> None:
    from reprise.pg.binaries import find_server
    from reprise.pg.scratch import server_os_user

    user = server_os_user()
    kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    subprocess.run(
        [str(find_server().tool("pg_ctl")), "-D", str(datadir), "-m", "immediate", "-w", "stop"],
        capture_output=True,
        check=False,
        cwd="/",
        **kwargs,
    )


def bench_database(
    info: ConnectionInfo, database: str, directory: Path, runs: int
) -> dict[str, list[float]]:
    """Every method on one database, interleaved."""
    env = {**os.environ, **info.env(), "REPRISE_STATE_DIR": str(directory / "state")}
    plain = directory / f"{database}.sql.gz"
    custom = directory / f"{database}.pgdump"
    pg_dump = find_tool("pg_dump")
    subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{pg_dump} -d {database} | gzip > {plain}"],
        env=env,
        check=True,
    )
    subprocess.run(
        [str(pg_dump), "-Fc", "-Z0", "-d", database, "-f", str(custom)], env=env, check=True
    )
    plan = _plan(directory, info, database)
    reprise = [sys.executable, "-m", "reprise", "--plan", str(plan)]
    subprocess.run([*reprise, "repo", "init"], env=env, check=True, capture_output=True)
    subprocess.run([*reprise, "backup", "run", "bench"], env=env, check=True, capture_output=True)
    samples: dict[str, list[float]] = {key: [] for key in "abcde"}
    psql, pg_restore = find_tool("psql"), find_tool("pg_restore")

    def createdb(name: str) -> None:
        subprocess.run(
            [str(psql), "-X", "-q", "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'],
            env=env,
            check=True,
        )

    for run in range(runs):
        for key in "abcde":
            target = f"restored_{key}"
            _drop(info, target)
            if key == "a":
                createdb(target)
                seconds = _timed(
                    [f"gunzip -c {plain} | {psql} -q -X -d {target} >/dev/null"], env, pipeline=True
                )
            elif key == "b":
                createdb(target)
                seconds = _timed([str(pg_restore), "-j", "2", "-d", target, str(custom)], env)
            elif key == "c":
                seconds = _timed(
                    [
                        *reprise,
                        "restore",
                        "bench",
                        "--target",
                        info.dsn(),
                        "--as",
                        target,
                        "--jobs",
                        "2",
                    ],
                    env,
                )
            elif key == "d":
                seconds = _timed([*reprise, "drill", "bench"], env)
            else:
                datadir = directory / f"pitr-{run}"
                seconds = _timed(
                    [
                        *reprise,
                        "restore",
                        "bench",
                        "--pitr",
                        "--latest",
                        "--to-dir",
                        str(datadir),
                        "--start",
                    ],
                    env,
                )
                _stop(datadir)
                shutil.rmtree(datadir, ignore_errors=True)
            _drop(info, target)
            samples[key].append(seconds)
        print(
            f"  run {run + 1}: "
            + ", ".join(f"({key}) {samples[key][-1]:.2f} s" for key in samples),
            flush=True,
        )
    return samples


def wal_push_cost(directory: Path, plan: Path, count: int = 10) -> float:
    """Median seconds of one `reprise wal push` of a 16 MiB segment (startup included)."""
    env = {**os.environ, "REPRISE_STATE_DIR": str(directory / "state")}
    times = []
    for index in range(count):
        segment = directory / f"0000000900000000000000{index:02X}"
        segment.write_bytes(os.urandom(1024 * 1024) * 16)
        times.append(
            _timed(
                [sys.executable, "-m", "reprise", "--plan", str(plan), "wal", "push", str(segment)],
                env,
            )
        )
        segment.unlink()
    return statistics.median(times)


def main() -> None:
    """Build the databases, measure, print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--mixed-rows", type=int, default=6_000_000)
    parser.add_argument("--only", choices=["mixed", "pgbench"])
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="reprise-bench-restore-"))
    directory.chmod(0o755)
    try:
        with ScratchPostgres(
            durable=True, settings={"wal_level": "replica", "max_wal_size": "'4GB'"}
        ) as info:
            for database in build_databases(info, args.only, args.scale, args.mixed_rows):
                print(f"{database}:", flush=True)
                samples = bench_database(info, database, directory, args.runs)
                median = {key: statistics.median(values) for key, values in samples.items()}
                labels = {
                    "a": "gunzip | psql",
                    "b": "pg_restore -j 2 (-Fc, plain)",
                    "c": "reprise restore --jobs 2",
                    "d": "reprise drill",
                    "e": "reprise restore --pitr --latest --start",
                }
                for key, label in labels.items():
                    print(f"  ({key}) {label:42} median {median[key]:7.2f} s")
                print(
                    f"  (c)/(b) = {median['c'] / median['b']:.2f} (target 1.10); "
                    f"(d)-(b) = {median['d'] - median['b']:.2f} s (target 2 s); "
                    f"(a)/(e) = {median['a'] / median['e']:.2f}"
                )
                if shutil.which("pgbackrest") is None:
                    print("  (f) pgbackrest: not installed (apt-get install pgbackrest)")
            plan = next(directory.glob("plan-*/reprise.yaml"))
            print(
                f"wal push of a 16 MiB segment (startup included), median of 10: "
                f"{wal_push_cost(directory, plan):.3f} s"
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
