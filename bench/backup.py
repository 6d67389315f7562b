"""Backup speed, memory and size against the stock pipes, on two databases, in one run.

pgbench data compresses about 35x and flatters every compressor, so the benchmark also
builds a "mixed" database whose rows look like business data (ids, md5 strings, e-mail
addresses, timestamps, amounts, short French text; about 3x). On each it measures time,
peak RSS and output size of:

  (a) pg_dump | gzip                           the seed's backup.sh
  (b) pg_dump -Fc -Z0 > /dev/null              the ceiling of any logical backup
  (c) pg_dump -Fc -Z0 | zstd -1 -T2 > file     the best stock-tool pipe
  (d) reprise backup run                       zstd level 1 (as (c)), row counts (default)
  (e) reprise backup run, table checksums      what the per-table checksums cost

and prints medians with ratios against (a) and (c) measured in the same run, the ratio
(d)/(c) run by run (each run measures both, one after the other: the pair sees the same
machine), and the load average before and after (the machine may be shared: quote the
medians with it).

Every measured command starts from a quiet disk: ``sync`` and a pause before it, outside
its time (``--settle``). Without it, a command can pay for the one before it: the stock
pipes leave their file to the kernel's write-back (no fsync), the previous Reprise run's
repository is deleted, and on ext4 (data=ordered; mounted with ``discard`` here) that work
can land in the next command's time, Reprise's fsync included. In a loop of (d) and (c)
in turn on the mixed set: (d)/(c) 1.33x without, 1.15x with (8 pairs each, interleaved);
inside this benchmark the difference is within the spread between runs (bench/RESULTS.md).

Targets (mixed): (d) >= 3x faster than (a), size <= 1.1 x (c); both: (d) <= 1.15 x (c)
time; peak RSS of (d) < 256 MB.

    .venv/bin/python bench/backup.py [--runs 3] [--scale 100] [--mixed-rows 7000000]
                                     [--only mixed|pgbench] [--workdir DIR] [--settle 1]

Needs PostgreSQL server binaries (scratch instance), pgbench, gzip and zstd.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from installed import as_installed  # noqa: E402
from reprise.cli.main import main as reprise_main  # noqa: E402
from reprise.pg.binaries import find_tool  # noqa: E402
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres  # noqa: E402

MIXED_SQL = """
CREATE TABLE orders (
    id bigint PRIMARY KEY, reference text, customer_email text, created_at timestamptz,
    amount numeric(12,2), status text, note text);
INSERT INTO orders
SELECT i, md5(i::text), 'client' || (i * 7919 % 1000003) || '@' ||
       (ARRAY['exemple.fr','societe.com','mairie.fr','gmail.com'])[1 + i % 4],
       timestamptz '2024-01-01' + (i * 17 % 63072000) * interval '1 second',
       round((random() * 5000)::numeric, 2),
       (ARRAY['payée','en attente','annulée','remboursée'])[1 + (random() * 3)::int],
       (ARRAY['Livraison prévue demain matin','Client à rappeler avant vendredi',
              'Facture envoyée par courriel','Remise de 10 % accordée',
              'Colis remis au transporteur'])[1 + (random() * 4)::int]
       || ' ' || substr(md5(random()::text), 1, (random() * 24)::int)
FROM generate_series(1::bigint, ROWS) AS i;
"""


@dataclass
class Measure:
    """Samples of one method on one database."""

    label: str
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    size: int = 0


def settle(seconds: float) -> None:
    """Flush what earlier commands left to write, and let the write-back end, so that the
    next command is timed on its own work only (0: not at all, to see what it changes)."""
    if seconds > 0:
        os.sync()
        time.sleep(seconds)


def run_measured(argv: list[str], env: dict[str, str], pause: float) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, largest process of the tree) of one command, started
    on a settled disk."""
    settle(pause)
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    _out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{argv[:3]}… failed: {err.decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def build_databases(info: ConnectionInfo, only: str | None, scale: int, rows: int) -> list[str]:
    """Create the benchmark databases (skipping those not asked for)."""
    import psycopg

    names = []
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        if only in (None, "pgbench"):
            connection.execute("CREATE DATABASE bench_pgbench")
            names.append("bench_pgbench")
        if only in (None, "mixed"):
            connection.execute("CREATE DATABASE bench_mixed")
            names.append("bench_mixed")
    env = {**os.environ, **info.env()}
    if "bench_pgbench" in names:
        print(f"building pgbench scale {scale}…", flush=True)
        subprocess.run(
            [str(find_tool("pgbench")), "-i", "-q", "-s", str(scale), "bench_pgbench"],
            env=env,
            check=True,
            capture_output=True,
        )
    if "bench_mixed" in names:
        print(f"building the mixed database ({rows} rows)…", flush=True)
        with psycopg.connect(info.dsn("bench_mixed"), autocommit=True) as connection:
            connection.execute(MIXED_SQL.replace("ROWS", str(int(rows))))  # type: ignore[arg-type]
            connection.execute("VACUUM ANALYZE")
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        for name in names:
            size = connection.execute(
                "SELECT pg_size_pretty(pg_database_size(%s))", (name,)
            ).fetchone()
            print(f"  {name}: {size[0] if size else '?'}")
    return names


def write_plan(directory: Path, info: ConnectionInfo, database: str, stats: str) -> Path:
    """A plan backing up ``database`` at zstd level 1 into a local repository. Each plan has
    keys of its own, so its repository has a name of its own in the shared state (the state
    remembers the recipients accepted per repository name)."""
    plan_dir = directory / f"plan-{database}-{stats}"
    if plan_dir.exists():
        return plan_dir / "reprise.yaml"
    with contextlib.redirect_stdout(io.StringIO()):
        reprise_main(["init", str(plan_dir), "--example", "minimal"])
    plan = plan_dir / "reprise.yaml"
    plan.write_text(f"""\
version: 1
organisation: {{name: Bench, timezone: UTC}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
repositories:
  local-{stats}: {{kind: local, path: {directory / f"repository-{stats}"}}}
keys: {{recipients_file: keys/recipients.txt, signing_key: keys/signing.key}}
services:
  - id: bench
    name: Bench
    category: database
    criticality: critical
    drill: {{enabled: false}}
    backups:
      - kind: postgres
        name: {database.replace("_", "-")}-{stats}
        dsn: "{info.dsn()}"
        databases: [{database}]
        globals: false
        table_stats: {stats}
        compression_level: 1
        repository: local-{stats}
        schedule: "@hourly"
        retention: {{keep_last: 1}}
""")
    env = {**os.environ, "REPRISE_STATE_DIR": str(directory / "state")}
    subprocess.run(
        [sys.executable, "-m", "reprise", "--plan", str(plan), "repo", "init"],
        env=env,
        check=True,
        capture_output=True,
    )
    return plan


def bench_database(
    info: ConnectionInfo, database: str, directory: Path, runs: int, pause: float
) -> list[Measure]:
    """All methods on one database, interleaved run by run (noise hits them alike)."""
    pg_dump = find_tool("pg_dump")
    env = {**os.environ, **info.env(), "REPRISE_STATE_DIR": str(directory / "state")}
    dsn = info.dsn(database)
    out = directory / "out"
    methods: dict[str, tuple[list[str], Path | None]] = {
        "(a) pg_dump | gzip": (
            ["sh", "-c", f"'{pg_dump}' -d '{dsn}' | gzip > '{out}.sql.gz'"],
            Path(f"{out}.sql.gz"),
        ),
        "(b) pg_dump -Fc -Z0 > /dev/null": (
            ["sh", "-c", f"'{pg_dump}' -Fc -Z0 -d '{dsn}' > /dev/null"],
            None,
        ),
        "(c) pg_dump -Fc -Z0 | zstd -1 -T2": (
            ["sh", "-c", f"'{pg_dump}' -Fc -Z0 -d '{dsn}' | zstd -q -1 -T2 > '{out}.zst'"],
            Path(f"{out}.zst"),
        ),
    }
    repositories = {}
    for label, stats in (
        ("(d) reprise backup run", "counts"),
        ("(e) reprise, table_stats: checksums", "checksums"),
    ):
        plan = write_plan(directory, info, database, stats)
        methods[label] = (
            [sys.executable, "-m", "reprise", "--plan", str(plan), "backup", "run", "bench"],
            None,
        )
        repositories[label] = directory / f"repository-{stats}" / "backups"
    measures = {label: Measure(label) for label in methods}
    for run in range(runs):
        for label, (argv, output) in methods.items():
            seconds, rss = run_measured(argv, env, pause)
            measures[label].seconds.append(seconds)
            measures[label].rss_mb.append(rss)
            if output is not None:
                measures[label].size = output.stat().st_size
                output.unlink()
            else:
                folder = repositories.get(label)
                if folder is not None:
                    measures[label].size = sum(
                        path.stat().st_size for path in folder.rglob("*.zst.age")
                    )
                    shutil.rmtree(folder, ignore_errors=True)
        print(f"  run {run + 1}/{runs} done", flush=True)
    return list(measures.values())


def report(database: str, measures: list[Measure]) -> None:
    """Medians and ratios against (a) and (c)."""
    median = {m.label: statistics.median(m.seconds) for m in measures}
    gzip_time = median["(a) pg_dump | gzip"]
    zstd = next(m for m in measures if m.label.startswith("(c)"))
    print(f"\n{database}")
    print(
        f"{'method':38} {'median s':>9} {'vs (a)':>8} {'vs (c)':>8} {'peak RSS':>9} "
        f"{'size':>10} {'size/(c)':>9}"
    )
    for m in measures:
        time_c = median[m.label] / median[zstd.label]
        faster_a = gzip_time / median[m.label]
        size = f"{m.size / 1e6:.1f} MB" if m.size else "-"
        size_ratio = f"{m.size / zstd.size:.2f}" if m.size and zstd.size else "-"
        print(
            f"{m.label:38} {median[m.label]:9.2f} {faster_a:7.2f}x {time_c:7.2f}x "
            f"{max(m.rss_mb):6.0f} MB {size:>10} {size_ratio:>9}"
        )
    reprise = next(m for m in measures if m.label.startswith("(d)"))
    pairs = [d / c for d, c in zip(reprise.seconds, zstd.seconds, strict=True)]
    print(
        f"(d)/(c) run by run: median {statistics.median(pairs):.3f}x "
        f"(min {min(pairs):.3f}, max {max(pairs):.3f}, {len(pairs)} runs)"
    )


def main() -> None:
    """Build, measure, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--mixed-rows", type=int, default=7_000_000)
    parser.add_argument("--only", choices=["mixed", "pgbench"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="Seconds of pause after a sync before each command (0: neither).",
    )
    parser.add_argument("--json", type=Path, default=None, help="Also write raw samples.")
    args = parser.parse_args()
    as_installed()
    for tool in ("gzip", "zstd"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (apt-get install {tool})")
    base = Path(tempfile.mkdtemp(prefix="reprise-bench-", dir=args.workdir))
    base.chmod(0o711)
    try:
        settings = {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_wal_size": "4GB",
            "shared_buffers": "256MB",
        }
        with ScratchPostgres(settings=settings, base_dir=base) as info:
            databases = build_databases(info, args.only, args.scale, args.mixed_rows)
            results = {}
            load_before = os.getloadavg()
            for database in databases:
                print(f"measuring {database} ({args.runs} runs)…", flush=True)
                results[database] = bench_database(
                    info, database, base / database, args.runs, args.settle
                )
            load_after = os.getloadavg()
            for database, measures in results.items():
                report(database, measures)
            print(
                "\nload average (1, 5, 15 min): before "
                + " ".join(f"{value:.2f}" for value in load_before)
                + ", after "
                + " ".join(f"{value:.2f}" for value in load_after)
            )
            if args.json:
                args.json.write_text(
                    json.dumps(
                        {db: [m.__dict__ for m in ms] for db, ms in results.items()}, indent=2
                    )
                )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
