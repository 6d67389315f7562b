"""The web under load: server time of the overview with 500 services and 90 days of
results, and the public /status page under 100 concurrent clients, against baselines
measured in the same run (a static file, alone and under the same crowd).

    .venv/bin/python bench/web.py [--services 500] [--rounds 7] [--clients 100] [--seconds 10]

The state (SQLite) holds what 90 days of `reprise serve` leave for each service: daily
roll-ups for 88 days, hourly for the last 2, a raw result a minute for the last 24 hours
(720,000 rows for 500 services), a state change every 4 days, 24 verified backups and a
drill. The web runs as `reprise web` in its own process on loopback (uvicorn, one worker,
as in `reprise serve`); the overview is timed by an httpx client signed in as an admin,
the crowd is wrk (installed from Debian when missing). Building the data is not timed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import insert

from reprise.plan.loader import load_plan
from reprise.store import open_state
from reprise.store.database import Store
from reprise.store.tables import backups, check_results, check_rollups, drills, events
from reprise.usecases.accounts import PasswordRequest, set_password

PASSWORD = "bench password 2026"  # noqa: S105  # a throwaway state
BATCH = 20_000


def plan_text(services: int, state: Path, port: int) -> str:
    lines = [
        "version: 1",
        "organisation: {name: Bench, language: fr, timezone: Europe/Paris}",
        "objectives: {rpo: 1h, rto: 30m, uptime: 99.9%}",
        "repositories: {local: {kind: local, path: /nonexistent}}",
        "keys: {recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}",
        f"state: {{url: 'sqlite:///{state}'}}",
        f"web: {{listen: '127.0.0.1:{port}'}}",
        "roles: [{id: ops, title: Ops, permission: admin, members: [{name: Ops, login: ops}]}]",
        "status_page:",
        "  services:",
    ]
    lines += [f"    - {{service: s{n}, name: Public {n}}}" for n in range(min(services, 50))]
    lines.append("services:")
    for n in range(services):
        lines += [
            f"  - id: s{n}",
            f"    name: Service {n}",
            "    category: application",
            "    criticality: major",
            "    checks: [{kind: tcp, host: 127.0.0.1, port: 9, interval: 1m}]",
            "    backups: [{kind: command, command: 'echo x', repository: local,",
            "               schedule: '@hourly', retention: {keep_last: 24}}]",
        ]
    return "\n".join(lines) + "\n"


def _insert(store: Store, table: object, rows: list[dict[str, object]]) -> None:
    with store.engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            connection.execute(insert(table), rows[start : start + BATCH])  # type: ignore[arg-type]


def fill(store: Store, services: int, now: datetime) -> None:
    """90 days of each service, one after another (bounded memory)."""
    hour_now = int(now.timestamp() // 3600)
    day_now = hour_now // 24
    check = "tcp 127.0.0.1:9"
    for n in range(services):
        service = f"s{n}"
        base = {"service": service, "check_name": check, "degraded": 0, "latency_max": 0.02}
        days = [
            {
                **base,
                "period": "day",
                "bucket": d,
                "total": 1440,
                "up": 1430 if d % 4 == 0 else 1440,  # the 10-minute outage every 4 days
                "down": 10 if d % 4 == 0 else 0,
                "latency_sum": 14.4,
            }
            for d in range(day_now - 89, day_now - 1)
        ]
        hours = [
            {
                **base,
                "period": "hour",
                "bucket": h,
                "total": 60,
                "up": 60,
                "down": 0,
                "latency_sum": 0.6,
            }
            for h in range((day_now - 1) * 24, hour_now)
        ]
        _insert(store, check_rollups, days + hours)
        first = (hour_now - 24) * 3600.0
        _insert(
            store,
            check_results,
            [
                {
                    "service": service,
                    "check_name": check,
                    "at": first + 60 * i,
                    "hour": int((first + 60 * i) // 3600),
                    "state": "up",
                    "latency": 0.01,
                    "message": "ok",
                }
                for i in range(1440)
            ],
        )
        changes = []
        moment = now - timedelta(days=90)
        while moment < now:
            for state, at in (("down", moment), ("up", moment + timedelta(minutes=10))):
                changes.append(
                    {
                        "time": at,
                        "kind": "service.state",
                        "subject": service,
                        "payload": {"from": "x", "to": state},
                    }
                )
            moment += timedelta(days=4)
        _insert(store, events, changes)
        _insert(
            store,
            backups,
            [
                {
                    "repository": "local",
                    "backup_id": f"b{n}-{h}",
                    "source": f"{service}-command",
                    "service": service,
                    "kind": "command",
                    "started_at": now - timedelta(hours=h, minutes=2),
                    "finished_at": now - timedelta(hours=h),
                    "plain_size": 1,
                    "stored_size": 1,
                    "manifest": {},
                    "verified_at": now,
                    "verify_status": "ok",
                }
                for h in range(24)
            ],
        )
        _insert(
            store,
            drills,
            [
                {
                    "service": service,
                    "source": f"{service}-command",
                    "repository": "local",
                    "backup_id": f"b{n}-0",
                    "backup_time": now - timedelta(hours=1),
                    "started_at": now - timedelta(hours=1),
                    "finished_at": now - timedelta(minutes=50),
                    "seconds": 600.0,
                    "rto_seconds": 600.0,
                    "objective_seconds": 1800.0,
                    "result": "passed",
                    "failures": [],
                    "steps": [],
                }
            ],
        )


def timed_get(client: httpx.Client, path: str, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - began)
        assert answer.status_code == 200, (path, answer.status_code)
    return times


def wrk() -> str:
    """Debian's wrk (installed when missing and root): a load generator in C, so that the
    clients are not the bottleneck."""
    import os
    import shutil

    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )
        found = shutil.which("wrk")
    if found is None:
        raise SystemExit("bench/web.py needs wrk: apt-get install wrk")
    return found


def crowd(url: str, clients: int, seconds: int) -> tuple[float, float, float]:
    """``clients`` concurrent keep-alive connections for ``seconds``: (requests/s, p50 ms,
    p99 ms), as wrk measures them."""
    import re

    out = subprocess.run(
        [wrk(), "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        assert found is not None, out
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert rate is not None and errors is None, out
    return float(rate.group(1)), ms("50%"), ms("99%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="reprise-bench-web-") as folder:
        base = Path(folder)
        plan_path = base / "reprise.yaml"
        plan_path.write_text(plan_text(args.services, base / "state.db", port))
        plan_path.chmod(0o600)
        loaded = load_plan(plan_path)
        now = datetime.now(UTC)
        with open_state(loaded) as store:
            began = time.perf_counter()
            fill(store, args.services, now)
            print(f"data written in {time.perf_counter() - began:.0f} s", flush=True)
            set_password(loaded.plan, store, PasswordRequest("ops", PASSWORD, "bench"))
        # the web in its own process, as `reprise web` runs it (the clients here would
        # otherwise share its interpreter lock)
        server = subprocess.Popen(
            [sys.executable, "-m", "reprise", "--plan", str(plan_path), "web", "--quiet"],
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{url}/login")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the web did not start"
                    time.sleep(0.1)
            with httpx.Client(base_url=url, timeout=60) as client:
                import re

                form = client.get("/login").text
                csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
                signed = client.post(
                    "/login", data={"login": "ops", "password": PASSWORD, "csrf": csrf}
                )
                assert signed.status_code == 303
                timed_get(client, "/", 1)  # warm-up: imports, templates, SQLite cache
                overview = timed_get(client, "/", args.rounds)
                baseline = timed_get(client, "/static/app.css", args.rounds)
                api = timed_get(client, "/api/v1/services", args.rounds)
            print(f"\n{args.services} services, 90 days of results, SQLite, {args.rounds} rounds")
            for name, times in (
                ("GET / (overview)", overview),
                ("GET /api/v1/services", api),
                ("GET /static/app.css (baseline)", baseline),
            ):
                print(
                    f"  {name:32} median {statistics.median(times) * 1000:7.1f} ms  "
                    f"({', '.join(f'{t * 1000:.0f}' for t in times)})"
                )
            ratio = statistics.median(overview) / statistics.median(baseline)
            print(f"  overview / baseline: {ratio:.1f}×")
            status = crowd(f"{url}/status", args.clients, args.seconds)
            static = crowd(f"{url}/static/status.css", args.clients, args.seconds)
            print(f"\n{args.clients} concurrent clients (wrk, keep-alive), {args.seconds} s each")
            for name, (rate, p50, p99) in (
                ("GET /status", status),
                ("GET /static/status.css (baseline)", static),
            ):
                print(f"  {name:36} {rate:7.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
            print(f"  /status / baseline throughput: {status[0] / static[0]:.2f}×")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
