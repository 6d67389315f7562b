"""Monitor capacity: N TCP and HTTP checks against local servers at a 10 s interval.

    .venv/bin/python bench/monitor.py [--checks 1000] [--duration 120]
                                      [--scale 2000,5000,10000] [--scale-duration 40]

The monitor runs in this process (the real Runner, Board, AlertEngine and Apprise
delivery, a SQLite state store); the servers it checks run in a child process, and an
aiosmtpd server in another. Prints CPU (% of one core), peak RSS, the p50/p99 scheduling
lag (when a check started minus when it was due), and, for the main run, the time from
stopping one HTTP server (its own process, killed halfway through the run) to the SMTP
server receiving the alert. Targets: p99 lag < 1 s, CPU ≤ 100 %, RSS < 300 MB,
notification within interval × (retries + 1) + 2 s. Then, with --scale, shorter runs at
larger counts: the largest count that still holds the lag and CPU targets.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import select
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devsupport.peers import free_port
from reprise.orchestrators.monitor import Monitor
from reprise.plan.loader import load_plan
from reprise.store import open_store

SERVERS = r"""
import asyncio, sys
async def http(reader, writer):
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    writer.close()
async def tcp(reader, writer):
    writer.close()
async def main():
    ports = [int(p) for p in sys.argv[1:]]
    await asyncio.start_server(http, "127.0.0.1", ports[0], backlog=4096)
    if len(ports) > 1:
        await asyncio.start_server(tcp, "127.0.0.1", ports[1], backlog=4096)
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

SMTP = r"""
import sys, time, asyncio
from aiosmtpd.controller import Controller
class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(f"{time.time()} {len(envelope.content)}", flush=True)
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
time.sleep(10**6)
"""


def _start(code: str, *args: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def _plan(
    directory: Path, checks: int, http_port: int, tcp_port: int, victim_port: int, smtp_port: int
) -> Path:
    per_service = 10
    services = []
    for index in range(checks // per_service):
        lines = [
            f'{{kind: tcp, host: 127.0.0.1, port: {tcp_port}, name: "tcp {i}", '
            "interval: 10s, timeout: 5s, retries: 1}"
            for i in range(per_service // 2)
        ]
        lines += [
            f'{{kind: http, url: "http://127.0.0.1:{http_port}/s{index}/{i}", '
            f'name: "http {i}", interval: 10s, timeout: 5s, retries: 1}}'
            for i in range(per_service - per_service // 2)
        ]
        services.append(
            f"  - {{id: s{index}, name: Service {index}, category: bench, "
            f"criticality: minor, checks: [{', '.join(lines)}]}}"
        )
    services.append(f"""  - {{id: victim, name: Victim, category: bench, criticality: critical,
      owner: oncall, checks: [{{kind: http, url: "http://127.0.0.1:{victim_port}/",
      interval: 10s, timeout: 5s, retries: 1}}]}}""")
    path = directory / "reprise.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: Bench, timezone: UTC}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        monitoring: {{concurrency: 500}}
        roles:
          - {{id: oncall, title: On call, permission: admin, members: [{{name: Ops,
              contacts: ["mailto://127.0.0.1:{smtp_port}?from=bench@akig.test&to=ops@akig.test"]}}]}}
          - {{id: nobody, title: Minor problems, members: []}}
        alerting: {{routes: [{{priorities: [P3], roles: [nobody]}}]}}
        services:
        """)
        + "\n".join(services)
        + "\n"
    )
    return path


def measure(checks: int, duration: float, *, kill_victim: bool) -> dict[str, float]:
    """One run; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="reprise-bench-monitor-") as tmp:
        directory = Path(tmp)
        http_port, tcp_port, victim_port, smtp_port = (free_port() for _ in range(4))
        children: list[subprocess.Popen[str]] = []
        try:
            return _measure(
                directory,
                checks,
                duration,
                kill_victim,
                children,
                (http_port, tcp_port, victim_port, smtp_port),
            )
        finally:
            for child in children:
                child.kill()


def _measure(
    directory: Path,
    checks: int,
    duration: float,
    kill_victim: bool,
    children: list[subprocess.Popen[str]],
    ports: tuple[int, int, int, int],
) -> dict[str, float]:
    http_port, tcp_port, victim_port, smtp_port = ports
    servers = _start(SERVERS, http_port, tcp_port)
    children.append(servers)
    victim = _start(SERVERS, victim_port)
    children.append(victim)
    smtp = _start(SMTP, smtp_port)
    children.append(smtp)
    plan = load_plan(
        _plan(directory, checks, http_port, tcp_port, victim_port, smtp_port), environ={}
    ).plan
    store = open_store(f"sqlite:///{directory / 'state.db'}")
    monitor = Monitor(plan, store)
    figures: dict[str, float] = {}

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(monitor.run(stop))
        start_usage = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        if kill_victim:
            await asyncio.sleep(duration / 2)
            figures["killed_at"] = time.time()
            victim.kill()
            await asyncio.sleep(duration / 2)
        else:
            await asyncio.sleep(duration)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic() - started
        figures["cpu_percent"] = (
            100
            * ((usage.ru_utime - start_usage.ru_utime) + (usage.ru_stime - start_usage.ru_stime))
            / wall
        )
        stop.set()
        await task

    try:
        asyncio.run(run())
    finally:
        for process in (servers, victim):
            process.kill()
    runner = monitor.runner
    assert runner is not None
    lags = sorted(runner.lags)
    figures["runs"] = len(lags)
    figures["lag_p50"] = lags[len(lags) // 2]
    figures["lag_p99"] = lags[int(len(lags) * 0.99)]
    figures["skipped"] = runner.skipped
    figures["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if kill_victim:
        assert smtp.stdout is not None
        ready, _, _ = select.select([smtp.stdout], [], [], 1)
        line = smtp.stdout.readline().split() if ready else []
        figures["notify_seconds"] = float(line[0]) - figures["killed_at"] if line else -1
    smtp.kill()
    store.close()
    return figures


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--scale", default="", help="comma-separated larger counts")
    parser.add_argument("--scale-duration", type=float, default=40)
    args = parser.parse_args()
    main_run = measure(args.checks, args.duration, kill_victim=True)
    target = 10 * 2 + 2
    print(
        f"{args.checks} checks (half TCP, half HTTP) every 10 s for {args.duration:.0f} s, "
        f"{main_run['runs']:.0f} runs:"
    )
    print(
        f"  CPU {main_run['cpu_percent']:.0f}% of one core (target ≤ 100%), peak RSS "
        f"{main_run['rss_mb']:.0f} MB (target < 300 MB)"
    )
    print(
        f"  scheduling lag p50 {main_run['lag_p50'] * 1000:.1f} ms, p99 "
        f"{main_run['lag_p99'] * 1000:.1f} ms (target < 1 s), skipped runs "
        f"{main_run['skipped']:.0f}"
    )
    print(
        f"  server stopped → alert e-mail received: {main_run['notify_seconds']:.1f} s "
        f"(target ≤ interval × (retries + 1) + 2 s = {target} s)"
    )
    best = args.checks if main_run["lag_p99"] < 1 and main_run["cpu_percent"] <= 100 else 0
    for count in [int(value) for value in args.scale.split(",") if value]:
        figures = measure(count, args.scale_duration, kill_victim=False)
        holds = figures["lag_p99"] < 1 and figures["cpu_percent"] <= 100
        print(
            f"{count} checks for {args.scale_duration:.0f} s: CPU {figures['cpu_percent']:.0f}%,"
            f" lag p50 {figures['lag_p50'] * 1000:.1f} ms p99 "
            f"{figures['lag_p99'] * 1000:.1f} ms, skipped {figures['skipped']:.0f}, RSS "
            f"{figures['rss_mb']:.0f} MB: {'holds' if holds else 'does NOT hold'} the targets"
        )
        if holds:
            best = max(best, count)
    print(f"Largest count holding lag and CPU targets: {best}")


if __name__ == "__main__":
    main()
