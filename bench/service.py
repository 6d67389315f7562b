"""Scheduler overhead: `reprise serve` (monitor + 50 scheduled jobs) against the monitor alone.

    .venv/bin/python bench/service.py [--checks 1000] [--jobs 50] [--duration 60] [--rounds 2]

One plan of N checks (half TCP, half HTTP, every 10 s) against local servers (those of
bench/monitor.py, in a child process), run two ways for the same duration, alternating
A B A B: (A) `reprise monitor --quiet`, (B) `reprise serve` on the same plan plus one
`command` backup (`echo x`, every minute, `scheduler: {jitter: 50s, max_parallel: 2}`) on
each of the first J services, verification and pruning off. Each run has its own state
folder (and B its own fresh local repository). Measured on the service's own process, not
its job children: CPU (utime + stime from /proc, read just before SIGTERM, as % of one
core over the run, start-up included) and peak RSS (VmHWM). For B, from `jobs list`: the
runs that ended ok and their lateness (started_at minus due_at). Prints per-round figures,
the medians and the B/A ratios of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # devsupport
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/monitor.py

from devsupport.peers import free_port
from monitor import SERVERS, _plan, _start

BACKUP = (
    '{kind: command, command: "echo x", repository: local, schedule: "* * * * *", '
    "retention: {keep_last: 2}}"
)
"""The backup added to each of the first J services: one job every minute."""

SCHEDULED = """\
repositories:
  local: {kind: local, path: "${REPRISE_REPOSITORY}"}
keys:
  recipients_file: keys/recipients.txt
  identity: keys/identity.txt
  signing_key: keys/signing.key
scheduler: {jitter: 50s, max_parallel: 2}
verification: {enabled: false}
pruning: {enabled: false}
"""
"""Top-level keys of the plan with jobs; the repository's folder comes from the environment
(a fresh one per run)."""

SERVICE_LINE = re.compile(r"^  - \{id: s(\d+), ")


@dataclass
class Sample:
    """One run of one process."""

    cpu_percent: float
    rss_mib: float
    returncode: int
    stderr_tail: list[str]
    errors: list[str]
    runs: list[dict[str, object]] = field(default_factory=list)


def _reprise(plan: Path, env: dict[str, str], *args: str) -> str:
    """Run the real program on ``plan`` and return its stdout; raise if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "reprise", "--plan", str(plan), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"reprise {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def _reprise_init(plan_dir: Path) -> None:
    """Keys (and a plan, replaced afterwards) by `reprise init --example minimal`."""
    result = subprocess.run(
        [sys.executable, "-m", "reprise", "init", str(plan_dir), "--example", "minimal"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"reprise init failed:\n{result.stderr[-2000:]}")


def _with_jobs(monitor_plan: Path, plan_dir: Path, jobs: int) -> Path:
    """The monitor's plan plus one scheduled backup on each of the first ``jobs`` services,
    written beside the keys made by `reprise init`."""
    lines = []
    for line in monitor_plan.read_text().splitlines():
        match = SERVICE_LINE.match(line)
        if match and int(match.group(1)) < jobs:
            assert line.endswith("}")
            line = f"{line[:-1]}, drill: {{enabled: false}}, backups: [{BACKUP}]}}"
        lines.append(line)
    path = plan_dir / "reprise.yaml"
    path.write_text("\n".join(lines) + "\n" + SCHEDULED)
    return path


def _stat(pid: int) -> tuple[float, float]:
    """CPU seconds (utime + stime) and peak RSS in MiB of ``pid`` itself, children apart."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, field 3 on
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return cpu, int(hwm.split()[1]) / 1024


def _measure(argv: list[str], env: dict[str, str], duration: float, log: Path) -> Sample:
    """Run ``argv`` for ``duration`` seconds, read its figures, stop it with SIGTERM."""
    with log.open("w") as output:
        started = time.monotonic()
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output, env=env
        )
    try:
        while time.monotonic() - started < duration and process.poll() is None:
            time.sleep(min(1.0, duration - (time.monotonic() - started)))
        if process.poll() is not None:
            raise RuntimeError(f"{argv[3:]} exited early ({process.returncode}):\n{_tail(log)}")
        cpu, rss = _stat(process.pid)
        wall = time.monotonic() - started
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = log.read_text(errors="replace").splitlines()
    errors = [line for line in lines if "ERROR" in line or "Traceback" in line]
    return Sample(100 * cpu / wall, rss, returncode, lines[-10:], errors)


def _tail(log: Path, count: int = 10) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-count:])


@dataclass
class Setup:
    """The two plans and where runs keep their state."""

    monitor_plan: Path
    service_plan: Path
    root: Path


def _run_a(setup: Setup, round_no: int, duration: float) -> Sample:
    state = setup.root / f"a{round_no}" / "state"
    state.mkdir(parents=True)
    env = {**os.environ, "REPRISE_STATE_DIR": str(state)}
    argv = [sys.executable, "-m", "reprise", "--plan", str(setup.monitor_plan)]
    return _measure([*argv, "monitor", "--quiet"], env, duration, state.parent / "log")


def _run_b(setup: Setup, round_no: int, duration: float) -> Sample:
    folder = setup.root / f"b{round_no}"
    (folder / "state").mkdir(parents=True)
    env = {
        **os.environ,
        "REPRISE_STATE_DIR": str(folder / "state"),
        "REPRISE_REPOSITORY": str(folder / "repository"),
    }
    _reprise(setup.service_plan, env, "repo", "init")
    argv = [sys.executable, "-m", "reprise", "--plan", str(setup.service_plan), "serve"]
    sample = _measure(argv, env, duration, folder / "log")
    listed = _reprise(setup.service_plan, env, "jobs", "list", "--json", "--limit", "1000")
    sample.runs = json.loads(listed)
    return sample


def _lateness(run: dict[str, object]) -> float:
    started = datetime.fromisoformat(str(run["started_at"]))
    return (started - datetime.fromisoformat(str(run["due_at"]))).total_seconds()


def _report(args: argparse.Namespace, pairs: list[tuple[Sample, Sample]]) -> None:
    print(
        f"{args.checks} checks (half TCP, half HTTP, every 10 s); B adds {args.jobs} backups "
        f"every minute (jitter 50 s, max_parallel 2); {args.duration:.0f} s per run, "
        f"{args.rounds} rounds A B:"
    )
    print(f"{'round':>6} {'A CPU %':>8} {'A RSS MiB':>10} {'B CPU %':>8} {'B RSS MiB':>10}")
    for number, (a, b) in enumerate(pairs, 1):
        print(
            f"{number:>6} {a.cpu_percent:>8.1f} {a.rss_mib:>10.1f} "
            f"{b.cpu_percent:>8.1f} {b.rss_mib:>10.1f}"
        )
    medians = [
        statistics.median(getattr(sample, name) for sample in column)
        for name in ("cpu_percent", "rss_mib")
        for column in ([a for a, _ in pairs], [b for _, b in pairs])
    ]
    a_cpu, b_cpu, a_rss, b_rss = medians
    print(f"{'median':>6} {a_cpu:>8.1f} {a_rss:>10.1f} {b_cpu:>8.1f} {b_rss:>10.1f}")
    print(f"B/A of the medians: CPU {b_cpu / a_cpu:.2f}×, peak RSS {b_rss / a_rss:.2f}×")
    late: list[float] = []
    for number, (_, b) in enumerate(pairs, 1):
        ok = [run for run in b.runs if run["status"] == "ok"]
        late += [_lateness(run) for run in ok]
        others: dict[str, int] = {}
        for run in b.runs:
            if run["status"] != "ok":
                others[str(run["status"])] = others.get(str(run["status"]), 0) + 1
        print(
            f"B round {number}: {len(ok)} job runs ok of {len(b.runs)} recorded"
            + (f" (others: {others})" if others else "")
        )
    if late:
        print(
            f"B job runs ok in all: {len(late)}; lateness (started_at − due_at) median "
            f"{statistics.median(late):.2f} s, max {max(late):.2f} s"
        )
    for label, sample in [(f"A{n}", a) for n, (a, _) in enumerate(pairs, 1)] + [
        (f"B{n}", b) for n, (_, b) in enumerate(pairs, 1)
    ]:
        if sample.returncode != 0 or sample.errors:
            print(f"{label}: exit code {sample.returncode}, {len(sample.errors)} error lines")
            for line in (sample.errors or sample.stderr_tail)[-5:]:
                print(f"    {line[:300]}")


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reprise-bench-service-") as tmp:
        root = Path(tmp)
        http_port, tcp_port, victim_port, smtp_port = (free_port() for _ in range(4))
        # nothing fails, so nothing is mailed: no SMTP server behind smtp_port
        servers = [_start(SERVERS, http_port, tcp_port), _start(SERVERS, victim_port)]
        try:
            (root / "a").mkdir()
            monitor_plan = _plan(
                root / "a", args.checks, http_port, tcp_port, victim_port, smtp_port
            )
            plan_dir = root / "b"
            _reprise_init(plan_dir)
            setup = Setup(monitor_plan, _with_jobs(monitor_plan, plan_dir, args.jobs), root)
            env = {**os.environ, "REPRISE_REPOSITORY": str(root / "unused")}
            scheduled = json.loads(_reprise(setup.service_plan, env, "schedule", "--json"))
            assert len(scheduled) == args.jobs, scheduled
            pairs = [
                (_run_a(setup, n, args.duration), _run_b(setup, n, args.duration))
                for n in range(1, args.rounds + 1)
            ]
        finally:
            for server in servers:
                server.kill()
                server.wait()
    _report(args, pairs)


if __name__ == "__main__":
    main()
