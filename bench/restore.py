"""Restore speed: Reprise's restore, drill and PITR against the stock ways, same data, same run.

    .venv/bin/python bench/restore.py [--runs 3] [--scale 100] [--mixed-rows 7000000]
                                      [--only mixed|pgbench] [--no-pgbackrest]
                                      [--pitr-only | --logical-only] [--before SRC]

On each database (pgbench and the mixed one of bench/backup.py; at the default 7,000,000
rows the mixed database is 1.3 GB and its dump 1.1 GB), interleaved run by run:
(a) gunzip | psql of a plain pg_dump | gzip (the seed's way), (b) pg_restore -j 2 of an
unencrypted pg_dump -Fc, (c) `reprise restore --jobs 2` of the logical backup, (d) `reprise
drill` end to end (scratch server start to checked database, stop included), (e) `reprise
restore --pitr --latest --start` of a physical backup of the whole server until it accepts
queries out of recovery, (f) the same with pgBackRest (Debian's package, installed with
apt-get when missing and the bench runs as root): a full backup (zstd level 1, AES-256
encrypted, its WAL archived by pgBackRest) restored with 2 processes (--type=immediate:
to the end of the backup, as (e) with no WAL archived beyond it), then started, until out
of recovery. Archiving is turned off after pgBackRest's backup, so that the WAL written by
the other restores does not load the machine during the measurements. Prints the sizes,
medians and the ratios (c)/(b), (d)-(b), (e)/(f); also the per-segment cost of `wal push`.

``--pitr-only`` measures (e) and (f) alone (no dumps, no logical backup). ``--before SRC``
adds (e0): the same PITR restore by another copy of Reprise's ``src`` folder (say, the
last commit's: ``git archive HEAD src | tar -x -C /tmp/before``), from a base backup taken
by that copy into a repository of its own, interleaved with the others: a change measured
against what it replaces in the same run, on a shared machine.

``--logical-only`` measures (b), (c) and (d) alone (no physical backup, no PITR, no
pgBackRest); with ``--before SRC`` it adds (c0) and (d0): the same restore and drill of the
same logical backup by the other copy of ``src``, interleaved.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup import build_databases
from installed import as_installed
from reprise.cli.main import main as reprise_main
from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres


def _print_steps(reports: Path, label: str = "pitr") -> None:
    """Where the newest restore or drill report says its time went."""
    import json

    found = sorted(reports.rglob("*.json"), key=lambda path: path.stat().st_mtime)
    if not found:
        return
    steps = json.loads(found[-1].read_text()).get("steps", [])
    print(
        f"    {label} steps: "
        + "; ".join(f"{step['name']} {step['seconds']:.2f} s" for step in steps),
        flush=True,
    )


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


def _plan(
    directory: Path,
    info: ConnectionInfo,
    database: str,
    *,
    logical: bool = True,
    physical: bool = True,
    tag: str = "",
) -> Path:
    plan_dir = directory / f"plan-{database}{tag}"
    with contextlib.redirect_stdout(io.StringIO()):
        reprise_main(["init", str(plan_dir), "--example", "minimal"])
    plan = plan_dir / "reprise.yaml"
    physical_source = _PHYSICAL.format(dsn=info.dsn()) if physical else ""
    plan.write_text(f"""\
version: 1
organisation: {{name: Bench, timezone: UTC}}
objectives: {{rpo: 1h, rto: 2h, uptime: 99.9%}}
repositories:
  local: {{kind: local, path: {directory / f"repository-{database}{tag}"}}}
keys: {{recipients_file: keys/recipients.txt, signing_key: keys/signing.key,
        identity: keys/identity.txt}}
services:
  - id: bench
    name: Bench
    category: database
    criticality: critical
    backups:{_logical_source(info, database) if logical else ""}{physical_source}
""")
    return plan


_PHYSICAL = """
      - kind: postgres_physical
        dsn: "{dsn}"
        compression_level: 1
        repository: local
        schedule: "@daily"
        retention: {{keep_last: 1}}"""


def _logical_source(info: ConnectionInfo, database: str) -> str:
    return f"""
      - kind: postgres
        dsn: "{info.dsn()}"
        databases: [{database}]
        globals: false
        compression_level: 1
        repository: local
        schedule: "@hourly"
        retention: {{keep_last: 1}}"""


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
    info: ConnectionInfo,
    database: str,
    directory: Path,
    runs: int,
    pgbackrest: PgBackRest | None = None,
    *,
    pitr_only: bool = False,
    logical_only: bool = False,
    before: Path | None = None,
) -> dict[str, list[float]]:
    """Every method on one database, interleaved."""
    env = {**os.environ, **info.env(), "REPRISE_STATE_DIR": str(directory / "state")}
    plain = directory / f"{database}.sql.gz"
    custom = directory / f"{database}.pgdump"
    pg_dump = find_tool("pg_dump")
    if not pitr_only:
        if not logical_only:
            subprocess.run(
                ["bash", "-o", "pipefail", "-c", f"{pg_dump} -d {database} | gzip > {plain}"],
                env=env,
                check=True,
            )
        subprocess.run(
            [str(pg_dump), "-Fc", "-Z0", "-d", database, "-f", str(custom)], env=env, check=True
        )
    plan = _plan(directory, info, database, logical=not pitr_only, physical=not logical_only)
    reprise = [sys.executable, "-m", "reprise", "--plan", str(plan)]
    subprocess.run([*reprise, "repo", "init"], env=env, check=True, capture_output=True)
    subprocess.run([*reprise, "backup", "run", "bench"], env=env, check=True, capture_output=True)
    old_reprise, old_env = reprise, env
    if before is not None and logical_only:
        old_env = {**env, "PYTHONPATH": str(before)}  # the same backup, restored by the copy
    elif before is not None:
        old_plan = _plan(directory, info, database, logical=False, tag="-before")
        old_reprise = [sys.executable, "-m", "reprise", "--plan", str(old_plan)]
        old_env = {
            **env,
            "PYTHONPATH": str(before),
            "REPRISE_STATE_DIR": str(directory / "state-before"),
        }
        for command in ("repo", "init"), ("backup", "run", "bench"):
            subprocess.run([*old_reprise, *command], env=old_env, check=True, capture_output=True)
    print(
        f"  sizes: database {_database_size(info, database)}"
        + (f", pg_dump -Fc -Z0 {custom.stat().st_size / 1e9:.2f} GB" if not pitr_only else ""),
        flush=True,
    )
    methods = ["e"] if pitr_only else list("bcd") if logical_only else list("abcde")
    if before is not None and logical_only:
        methods = ["b", "c0", "c", "d0", "d"]
    elif before is not None:
        methods.insert(methods.index("e"), "e0")
    if pgbackrest is not None:
        methods.append("f")
    samples: dict[str, list[float]] = {key: [] for key in methods}
    psql, pg_restore = find_tool("psql"), find_tool("pg_restore")

    def createdb(name: str) -> None:
        subprocess.run(
            [str(psql), "-X", "-q", "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'],
            env=env,
            check=True,
        )

    for run in range(runs):
        for key in methods:
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
            elif key in ("c", "c0"):
                command, command_env = (old_reprise, old_env) if key == "c0" else (reprise, env)
                seconds = _timed(
                    [
                        *command,
                        "restore",
                        "bench",
                        "--target",
                        info.dsn(),
                        "--as",
                        target,
                        "--jobs",
                        "2",
                    ],
                    command_env,
                )
                _print_steps(Path(command_env["REPRISE_STATE_DIR"]) / "reports", key)
            elif key in ("d", "d0"):
                command, command_env = (old_reprise, old_env) if key == "d0" else (reprise, env)
                seconds = _timed([*command, "drill", "bench"], command_env)
                _print_steps(Path(command_env["REPRISE_STATE_DIR"]) / "reports", key)
            elif key == "f":
                assert pgbackrest is not None
                seconds = pgbackrest.restore_and_start(directory / f"pgbackrest-{run}")
            else:
                datadir = directory / f"pitr-{key}-{run}"
                command, command_env = (old_reprise, old_env) if key == "e0" else (reprise, env)
                seconds = _timed(
                    [
                        *command,
                        "restore",
                        "bench",
                        "--pitr",
                        "--latest",
                        "--to-dir",
                        str(datadir),
                        "--start",
                    ],
                    command_env,
                )
                _stop(datadir)
                shutil.rmtree(datadir, ignore_errors=True)
                _print_steps(Path(command_env["REPRISE_STATE_DIR"]) / "reports")
            _drop(info, target)
            samples[key].append(seconds)
        print(
            f"  run {run + 1}: "
            + ", ".join(f"({key}) {samples[key][-1]:.2f} s" for key in samples),
            flush=True,
        )
    return samples


def _database_size(info: ConnectionInfo, database: str) -> str:
    import psycopg

    with psycopg.connect(info.dsn()) as connection:
        row = connection.execute(
            "SELECT pg_size_pretty(pg_database_size(%s))", (database,)
        ).fetchone()
    return str(row[0]) if row else "?"


def ensure_pgbackrest() -> bool:
    """Install Debian's pgbackrest when missing (as root); True when it is there."""
    if shutil.which("pgbackrest"):
        return True
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("  (f) pgbackrest: not installed (apt-get install pgbackrest, as root)")
        return False
    print("installing pgbackrest (apt-get install -y pgbackrest)…", flush=True)
    result = subprocess.run(
        ["apt-get", "install", "-y", "pgbackrest"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not shutil.which("pgbackrest"):
        print(f"  (f) pgbackrest: apt-get failed: {result.stderr[-500:]}")
        return False
    return True


STANZA = "bench"
#: WAL archiving through pgBackRest, set when the bench server starts; the configuration
#: file it names is written once the server (and so its data directory) exists.
PGBACKREST_SETTINGS = {
    "archive_mode": "on",
    "archive_timeout": "60",
}


class PgBackRest:
    """pgBackRest set up on the bench server: zstd level 1 and AES-256 like Reprise's
    zstd + age, 2 processes (the machine's cores), its own WAL archive."""

    def __init__(self, directory: Path, server: ScratchPostgres, info: ConnectionInfo) -> None:
        from reprise.pg.scratch import server_os_user

        self.directory = directory / "pgbackrest"
        self.directory.mkdir(mode=0o700)
        self.user = server_os_user()
        self.info = info
        self.server = server
        self.config = self.directory / "pgbackrest.conf"
        for name in ("repo", "log", "lock", "spool"):
            (self.directory / name).mkdir(mode=0o700)
        self.config.write_text(f"""\
[global]
repo1-path={self.directory / "repo"}
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass={os.urandom(16).hex()}
repo1-retention-full=1
compress-type=zst
compress-level=1
process-max=2
start-fast=y
log-path={self.directory / "log"}
lock-path={self.directory / "lock"}
spool-path={self.directory / "spool"}
log-level-console=warn
log-level-file=off

[{STANZA}]
pg1-path={server.datadir}
pg1-port={info.port}
pg1-socket-path={info.socket_dir}
pg1-user={info.user}
""")
        if self.user is not None:
            for path in (self.directory, *self.directory.rglob("*")):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["pgbackrest", f"--config={self.config}", f"--stanza={STANZA}", *args],
            env={"PATH": os.environ["PATH"], "PGPASSWORD": self.info.password or ""},
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            **self.as_user(),
        )
        if check and result.returncode != 0:
            raise SystemExit(f"pgbackrest {args[0]} failed: {result.stderr[-1500:]}")
        return result

    def archive_command(self) -> str:
        return f"pgbackrest --config={self.config} --stanza={STANZA} archive-push %p"

    def restore_command(self, datadir: Path) -> str:
        return (
            f"pgbackrest --config={self.config} --stanza={STANZA} --pg1-path={datadir} "
            'archive-get %f "%p"'
        )

    def as_user(self) -> dict[str, Any]:
        """subprocess arguments running as the server's OS user (when we are root)."""
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def backup(self) -> None:
        """Archive through pgBackRest, create the stanza, take a full backup."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.info.dsn(), autocommit=True) as connection:
            connection.execute(
                sql.SQL("ALTER SYSTEM SET archive_command = {}").format(
                    sql.Literal(self.archive_command())
                )
            )
            connection.execute("SELECT pg_reload_conf()")
        self._run("stanza-create")
        self._run("check")
        start = time.perf_counter()
        self._run("backup", "--type=full")
        print(f"  pgbackrest full backup: {time.perf_counter() - start:.1f} s", flush=True)
        # The restores measured next write gigabytes of WAL: archiving them through
        # pgBackRest would load the machine during every other measurement. Both physical
        # restores recover to the end of their base backup (Reprise's plan archives no WAL).
        with psycopg.connect(self.info.dsn(), autocommit=True) as connection:
            connection.execute("ALTER SYSTEM SET archive_command = 'true'")
            connection.execute("SELECT pg_reload_conf()")

    def restore_and_start(self, work: Path) -> float:
        """Seconds from `pgbackrest restore` (into ``work``/data) to the restored server
        out of recovery."""
        import psycopg

        from reprise.pg.scratch import free_port

        datadir, socket_dir, log = work / "data", work / "socket", work / "server.log"
        for path in (work, datadir, socket_dir):
            path.mkdir(mode=0o700)
            if self.user is not None:
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        port = free_port()
        start = time.perf_counter()
        self._run(
            "restore",
            f"--pg1-path={datadir}",
            "--archive-mode=off",
            "--type=immediate",
            "--target-action=promote",
            f"--recovery-option=restore_command={self.restore_command(datadir)}",
        )
        pg_ctl = self.server.installation.tool("pg_ctl")
        started = subprocess.run(
            [
                str(pg_ctl),
                "-D",
                str(datadir),
                "-l",
                str(log),
                "-o",
                f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1",
                "-w",
                "start",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            **self.as_user(),
        )
        if started.returncode != 0:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise SystemExit(f"the server restored by pgbackrest did not start: {tail}")
        dsn = f"host={socket_dir} port={port} user={self.info.user} password={self.info.password}"
        while True:
            with psycopg.connect(dsn, dbname="postgres") as connection:
                row = connection.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and not row[0]:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        _stop(datadir)
        shutil.rmtree(work, ignore_errors=True)
        return seconds


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
    parser.add_argument("--mixed-rows", type=int, default=7_000_000)
    parser.add_argument("--only", choices=["mixed", "pgbench"])
    parser.add_argument("--no-pgbackrest", action="store_true", help="leave out (f)")
    parser.add_argument("--pitr-only", action="store_true", help="measure (e) and (f) alone")
    parser.add_argument(
        "--logical-only", action="store_true", help="measure (b), (c) and (d) alone"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another copy of Reprise's src folder, measured as (e0), or (c0) and (d0)",
    )
    args = parser.parse_args()
    as_installed()
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    directory = Path(tempfile.mkdtemp(prefix="reprise-bench-restore-"))
    directory.chmod(0o755)
    try:
        with_pgbackrest = not args.no_pgbackrest and not args.logical_only and ensure_pgbackrest()
        settings = {"wal_level": "replica", "max_wal_size": "'4GB'"}
        if with_pgbackrest:
            settings |= PGBACKREST_SETTINGS
        server = ScratchPostgres(durable=True, settings=settings)
        with server as info:
            databases = build_databases(info, args.only, args.scale, args.mixed_rows)
            pgbackrest = PgBackRest(directory, server, info) if with_pgbackrest else None
            if pgbackrest is not None:
                pgbackrest.backup()
            for database in databases:
                print(f"{database}:", flush=True)
                samples = bench_database(
                    info,
                    database,
                    directory,
                    args.runs,
                    pgbackrest,
                    pitr_only=args.pitr_only,
                    logical_only=args.logical_only,
                    before=args.before.resolve() if args.before else None,
                )
                median = {key: statistics.median(values) for key, values in samples.items()}
                labels = {
                    "a": "gunzip | psql",
                    "b": "pg_restore -j 2 (-Fc, plain)",
                    "c0": "(c) by the --before copy",
                    "c": "reprise restore --jobs 2",
                    "d0": "(d) by the --before copy",
                    "d": "reprise drill",
                    "e0": "(e) by the --before copy",
                    "e": "reprise restore --pitr --latest --start",
                    "f": "pgbackrest restore + start (whole server)",
                }
                for key, label in labels.items():
                    if key in median:
                        runs = ", ".join(f"{value:.2f}" for value in samples[key])
                        print(f"  ({key}) {label:42} median {median[key]:7.2f} s ({runs})")
                ratios = []
                if "b" in median:
                    ratios += [
                        f"(c)/(b) = {median['c'] / median['b']:.2f} (target 1.10)",
                        f"(d)-(b) = {median['d'] - median['b']:.2f} s (target 2 s)",
                    ]
                if "a" in median:
                    ratios.append(f"(a)/(c) = {median['a'] / median['c']:.2f}")
                if "c0" in median:
                    ratios += [
                        f"(c0)/(b) = {median['c0'] / median['b']:.2f}",
                        f"(d0)-(b) = {median['d0'] - median['b']:.2f} s",
                    ]
                if "f" in median:
                    ratios.append(f"(e)/(f) = {median['e'] / median['f']:.2f} (target 1.3)")
                    if "e0" in median:
                        ratios.append(f"(e0)/(f) = {median['e0'] / median['f']:.2f}")
                print("  " + "; ".join(ratios), flush=True)
            if not args.pitr_only and not args.logical_only:
                plan = next(directory.glob("plan-*/reprise.yaml"))
                print(
                    f"wal push of a 16 MiB segment (startup included), median of 10: "
                    f"{wal_push_cost(directory, plan):.3f} s"
                )
            print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
