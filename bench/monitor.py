"""Monitor capacity: N TCP and HTTP checks against local servers at a 10 s interval.

    .venv/bin/python bench/monitor.py [--checks 1000] [--duration 120]
                                      [--scale 2000,5000,10000] [--scale-duration 40]
                                      [--workers auto]

The monitor runs in this process (the real Runner, Board, AlertEngine and Apprise
delivery, a SQLite state store), with its worker processes when the plan's
``monitoring.workers`` (--workers) gives more than one; the servers it checks run in a
child process, and an aiosmtpd server in another. Prints CPU (% of one core, the monitor
and its workers summed, measured after the first interval: start-up excluded), peak RSS
(monitor + workers), the p50/p99 scheduling lag (when a check started minus when it was
due), and the time from stopping one HTTP server (its own process, killed halfway through
the run) to the SMTP server receiving the alert. Targets: p99 lag < 1 s, CPU ≤ 100 %
(≤ 10 % at 1,000 checks), RSS < 300 MB, notification within interval × (retries + 1) +
2 s. Then, with --scale, runs at larger counts (the victim killed in each too): the
largest count that still holds the lag and CPU targets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
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


WARM_UP = 10.0
"""Seconds after the start not counted in the CPU figure (imports, the start-up pass)."""
MAIL_WAIT = 40.0
"""Seconds after the kill the run goes on waiting for the alert e-mail."""
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (from /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident set (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _plan(
    directory: Path,
    checks: int,
    ports: tuple[int, int, int, int],
    workers: str,
) -> Path:
    http_port, tcp_port, victim_port, smtp_port = ports
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
        monitoring: {{concurrency: 500, workers: {workers}}}
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


def measure(
    checks: int, duration: float, *, kill_victim: bool, workers: str = "auto"
) -> dict[str, float]:
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
                workers,
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
    workers: str,
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
    plan = load_plan(_plan(directory, checks, ports, workers), environ={}).plan
    store = open_store(f"sqlite:///{directory / 'state.db'}")
    monitor = Monitor(plan, store)
    figures: dict[str, float] = {}

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(monitor.run(stop))
        started = time.monotonic()
        await asyncio.sleep(WARM_UP)
        pids = [os.getpid(), *_worker_pids()]
        figures["workers"] = len(pids) - 1
        start_cpu, start_wall = _cpu_seconds(pids), time.monotonic()
        start_own = _cpu_seconds(pids[:1])
        mail: list[str] = []
        if kill_victim:
            await asyncio.sleep(max(0.0, started + duration / 2 - time.monotonic()))
            figures["killed_at"] = time.time()
            victim.kill()
            received = smtp.stdout
            assert received is not None
            # A daemon thread, not the loop's executor: asyncio.run would wait for it.
            threading.Thread(target=lambda: mail.append(received.readline()), daemon=True).start()
        await asyncio.sleep(max(0.0, started + duration - time.monotonic()))
        pids = [os.getpid(), *_worker_pids()]
        wall = time.monotonic() - start_wall
        figures["cpu_percent"] = 100 * (_cpu_seconds(pids) - start_cpu) / wall
        figures["cpu_monitor_percent"] = 100 * (_cpu_seconds(pids[:1]) - start_own) / wall
        figures["rss_mb"] = sum(_peak_rss_mb(pid) for pid in pids)
        figures["rss_workers_mb"] = sum(_peak_rss_mb(pid) for pid in pids[1:])
        if kill_victim:
            while not mail and time.time() < figures["killed_at"] + MAIL_WAIT:
                await asyncio.sleep(0.1)
            line = mail[0].split() if mail else []
            figures["notify_seconds"] = float(line[0]) - figures["killed_at"] if line else -1
        stop.set()
        await task

    def _worker_pids() -> list[int]:
        runner = monitor.runner
        return list(getattr(runner, "pids", list)()) if runner is not None else []

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
    figures["rss_mb"] = max(
        figures["rss_mb"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    smtp.kill()
    store.close()
    return figures


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _report(count: int, duration: float, runs: list[dict[str, float]]) -> bool:
    """Print the medians of ``runs``; whether they hold the targets."""
    target = 10 * 2 + 2
    lag_p99, cpu, notify = (
        _median(runs, key) for key in ("lag_p99", "cpu_percent", "notify_seconds")
    )
    holds = lag_p99 < 1 and _median(runs, "skipped") == 0 and 0 <= notify <= target
    workers = _median(runs, "workers")
    each = ", ".join(f"{run['cpu_percent']:.1f}" for run in runs)
    print(
        f"{count} checks (half TCP, half HTTP) every 10 s for {duration:.0f} s, "
        f"{'the monitor alone' if workers == 0 else f'{workers:.0f} worker processes'}, "
        f"median of {len(runs)} run(s), {_median(runs, 'runs'):.0f} runs each:"
    )
    print(
        f"  CPU {cpu:.1f}% of one core (monitor + workers, after the first {WARM_UP:.0f} s; "
        f"each run: {each}; the monitor's own process: "
        f"{_median(runs, 'cpu_monitor_percent'):.1f}%), peak RSS "
        f"{_median(runs, 'rss_mb'):.0f} MB (monitor + workers, of which workers "
        f"{_median(runs, 'rss_workers_mb'):.0f} MB; target < 300 MB)"
    )
    print(
        f"  scheduling lag p50 {_median(runs, 'lag_p50') * 1000:.1f} ms, p99 "
        f"{lag_p99 * 1000:.1f} ms (target < 1 s), skipped runs {_median(runs, 'skipped'):.0f}"
    )
    print(
        f"  server stopped → alert e-mail received: {notify:.1f} s "
        f"(target ≤ interval × (retries + 1) + 2 s = {target} s)"
    )
    print(f"  {'holds' if holds else 'does NOT hold'} the targets")
    return holds


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--scale", default="", help="comma-separated larger counts")
    parser.add_argument("--scale-duration", type=float, default=40)
    parser.add_argument("--workers", default="auto", help="monitoring.workers: auto or a number")
    parser.add_argument("--repeat", type=int, default=1, help="runs per count (medians)")
    args = parser.parse_args()
    best = 0
    counts = [(args.checks, args.duration)] + [
        (int(value), args.scale_duration) for value in args.scale.split(",") if value
    ]
    for count, duration in counts:
        runs = [
            measure(count, duration, kill_victim=True, workers=args.workers)
            for _ in range(args.repeat)
        ]
        if _report(count, duration, runs):
            best = max(best, count)
    print(f"Largest count holding the targets: {best}")


if __name__ == "__main__":
    main()
