"""SLA computation time on a year of results: `compute_sla` of the last month with its
12-month trend, for 100 services checked every minute, on SQLite and on PostgreSQL.

    .venv/bin/python bench/sla.py [--services 100] [--rounds 3]

The state holds what a year of `reprise serve` leaves: raw results for the plan's raw
retention (7 days: 1,008,000 rows), hourly and daily roll-ups for the rest of the year
(876,000 and 36,500 rows), 8 outages a month per service (state change events), and a
`backup.completed` event every hour (876,000 events: the journal of a year of hourly
backups, most pruned from the catalog) with 48 verified backups per service left in the
catalog. Building the data is not timed. Prints each round and the median per engine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from reprise.pg.scratch import ScratchPostgres
from reprise.plan.loader import load_plan
from reprise.sla.gather import compute_sla
from reprise.sla.periods import previous_month
from reprise.store.database import Store, open_store
from reprise.store.tables import backups, check_results, check_rollups, events

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
RETENTION = timedelta(days=7)
BATCH = 20_000


def plan_text(services: int) -> str:
    lines = [
        "version: 1",
        "organisation: {name: Bench, language: fr, timezone: Europe/Paris}",
        "objectives: {rpo: 1h, rto: 30m, uptime: 99.9%}",
        "repositories: {local: {kind: local, path: /nonexistent}}",
        "keys: {recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}",
        "services:",
    ]
    for n in range(services):
        lines += [
            f"  - id: s{n}",
            f"    name: Service {n}",
            "    category: application",
            "    criticality: major",
            "    checks: [{kind: tcp, host: 127.0.0.1, port: 9, interval: 1m}]",
            "    backups: [{kind: command, command: 'echo x', repository: local,",
            "               schedule: '@hourly', retention: {keep_last: 48}}]",
            "    drill: {enabled: false}",
        ]
    return "\n".join(lines) + "\n"


def _insert(store: Store, table: object, rows: list[dict[str, object]]) -> None:
    with store.engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            connection.execute(insert(table), rows[start : start + BATCH])  # type: ignore[arg-type]


def fill(store: Store, services: int) -> None:
    """A year of one service after another (bounded memory)."""
    start = NOW - timedelta(days=365)
    raw_from = NOW - RETENTION
    first_hour, raw_hour = int(start.timestamp() // 3600), int(raw_from.timestamp() // 3600)
    for n in range(services):
        service, check = f"s{n}", "tcp 127.0.0.1:9"
        hours = [
            {
                "service": service,
                "check_name": check,
                "period": "hour",
                "bucket": hour,
                "total": 60,
                "up": 60,
                "degraded": 0,
                "down": 0,
                "latency_sum": 0.6,
                "latency_max": 0.02,
            }
            for hour in range(first_hour, int(NOW.timestamp() // 3600))
        ]
        days = [
            {**row, "period": "day", "bucket": day, "total": 1440, "up": 1440}
            for day, row in ((h // 24, hours[0]) for h in range(first_hour, raw_hour, 24))
        ]
        _insert(store, check_rollups, hours + days)
        epoch = raw_from.timestamp()
        raw = []
        while epoch < NOW.timestamp():
            raw.append(
                {
                    "service": service,
                    "check_name": check,
                    "at": epoch,
                    "hour": int(epoch // 3600),
                    "state": "up",
                    "latency": 0.01,
                    "message": "ok",
                }
            )
            epoch += 60
        _insert(store, check_results, raw)
        changes, completed = [], []
        moment = start
        while moment < NOW:  # 8 outages a month: every 3.75 days, 10 minutes down
            for state, at in (("down", moment), ("up", moment + timedelta(minutes=10))):
                changes.append(
                    {
                        "time": at,
                        "kind": "service.state",
                        "subject": service,
                        "payload": {"from": "up" if state == "down" else "down", "to": state},
                    }
                )
            moment += timedelta(hours=90)
        moment = start
        while moment < NOW:
            backup_id = moment.strftime("%Y%m%dT%H%M%SZ") + f"-{n:06d}"
            completed.append(
                {
                    "time": moment + timedelta(minutes=2),
                    "kind": "backup.completed",
                    "subject": service,
                    "payload": {"backup_id": backup_id, "started_at": moment.isoformat()},
                }
            )
            moment += timedelta(hours=1)
        _insert(store, events, changes + completed)
        kept = [
            {
                "repository": "local",
                "backup_id": c["payload"]["backup_id"],  # type: ignore[index]
                "source": f"{service}-command",
                "service": service,
                "kind": "command",
                "started_at": c["time"] - timedelta(minutes=2),  # type: ignore[operator]
                "finished_at": c["time"],
                "plain_size": 1,
                "stored_size": 1,
                "manifest": {},
                "verified_at": c["time"],
                "verify_status": "ok",
            }
            for c in completed[-48:]
        ]
        _insert(store, backups, kept)


def measure(store: Store, plan_path: Path, rounds: int) -> list[float]:
    plan = load_plan(plan_path).plan
    period = previous_month(NOW, "Europe/Paris")
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        figures = compute_sla(plan, store, period, NOW)
        times.append(time.perf_counter() - began)
        assert len(figures.services) == len(plan.services) and len(figures.trend) == 12
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reprise-bench-sla-") as folder:
        base = Path(folder)
        plan_path = base / "reprise.yaml"
        plan_path.write_text(plan_text(args.services))
        plan_path.chmod(0o600)
        results: dict[str, list[float]] = {}
        sqlite = open_store(f"sqlite:///{base / 'state.db'}")
        began = time.perf_counter()
        fill(sqlite, args.services)
        print(f"sqlite: data written in {time.perf_counter() - began:.0f} s", flush=True)
        results["SQLite"] = measure(sqlite, plan_path, args.rounds)
        sqlite.close()
        with ScratchPostgres() as info:
            name = f"sla_{uuid.uuid4().hex[:8]}"
            import psycopg

            with psycopg.connect(info.dsn(), autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{name}"')
            postgres = open_store(info.dsn(name))
            began = time.perf_counter()
            fill(postgres, args.services)
            print(f"postgresql: data written in {time.perf_counter() - began:.0f} s", flush=True)
            results["PostgreSQL"] = measure(postgres, plan_path, args.rounds)
            postgres.close()
    print(f"\ncompute_sla, last month + 12-month trend, {args.services} services, 1-min checks")
    for engine, times in results.items():
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {engine:<10} median {statistics.median(times):.2f} s  (rounds: {shown})")


if __name__ == "__main__":
    main()
