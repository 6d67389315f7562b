"""The monitor with its checks shared over worker processes (``monitoring.workers``):
results come back to the monitor, which keeps the board, the alerts and the state store;
a worker that dies is started again and its checks go on; stopping the monitor, or
killing it, leaves no worker behind. Real processes, real servers on loopback, a real
SQLite state store."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from reprise.monitor.runner import Runner
from reprise.monitor.shards import ShardedRunner
from reprise.orchestrators.monitor import Monitor
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.store import open_store
from reprise.store.database import Store
from reprise.store.tables import check_results
from tests.support.peers import SwitchableHttp, free_port, tcp_listener


def write_plan(directory: Path, services: str, workers: str | int = 2) -> Path:
    path = directory / "reprise.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: Shards, timezone: UTC}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        monitoring: {{workers: {workers}}}
        roles:
          - {{id: oncall, title: On call, permission: admin,
              members: [{{name: Ops, contacts: ["json://127.0.0.1:9/oncall"]}}]}}
        services:
        """)
        + textwrap.indent(textwrap.dedent(services), "  ")
    )
    return path


def tcp(port: int, name: str, retries: int = 0) -> str:
    return (
        f'{{kind: tcp, host: 127.0.0.1, port: {port}, name: "{name}", interval: 1s, '
        f"timeout: 1s, retries: {retries}}}"
    )


def alive(pid: int) -> bool:
    """Whether a process exists (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.05)


def result_counts(store: Store, since: float = 0.0) -> dict[tuple[str, str], int]:
    table = check_results.c
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(table.service, table.check_name, func.count())
            .where(table.at >= since)
            .group_by(table.service, table.check_name)
        ).all()
    return {(row[0], row[1]): int(row[2]) for row in rows}


def test_the_sharded_monitor_checks_alerts_records_and_stops_its_workers(
    tmp_path: Path,
) -> None:
    victim = SwitchableHttp()
    victim.start()
    sent: list[tuple[str, str]] = []

    def sender(url: str, subject: str, body: str, **_: Any) -> None:
        sent.append((url, subject))

    try:
        with tcp_listener() as port:
            plan = load_plan(
                write_plan(
                    tmp_path,
                    f"""\
                    - {{id: router, name: Router, category: net, criticality: critical,
                        owner: oncall, checks: [{tcp(port, "ssh")}]}}
                    - id: web
                      name: Web
                      category: web
                      criticality: critical
                      owner: oncall
                      depends_on: [router]
                      checks: [{{kind: http, url: "http://127.0.0.1:{victim.port}/",
                                 interval: 1s, timeout: 1s, retries: 0}}]
                    - {{id: files, name: Files, category: storage, criticality: minor,
                        checks: [{tcp(port, "smb")}, {tcp(port, "nfs")}]}}
                    - {{id: closed, name: Closed, category: storage, criticality: minor,
                        checks: [{tcp(free_port(), "nothing")}]}}
                    """,
                ),
                environ={},
            ).plan
            store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
            monitor = Monitor(plan, store, sender=sender)
            pids: list[int] = []

            async def scenario() -> None:
                stop = asyncio.Event()
                task = asyncio.get_running_loop().create_task(monitor.run(stop))
                try:
                    await until(lambda: monitor.runner is not None, 5, "the runner")
                    runner = monitor.runner
                    assert isinstance(runner, ShardedRunner)
                    await until(lambda: len(runner.pids()) == 2, 30, "two workers")
                    pids.extend(runner.pids())
                    assert os.getpid() not in pids
                    await until(
                        lambda: (
                            monitor.board.state
                            == {"router": "up", "web": "up", "files": "up", "closed": "down"}
                        ),
                        30,
                        f"states from the workers ({monitor.board.state})",
                    )
                    victim.cut()
                    await until(
                        lambda: any("Web" in subject for _, subject in sent),
                        30,
                        f"the alert on Web (sent: {sent})",
                    )
                    assert monitor.board.state["web"] == "down"
                    figures = runner.lag_figures()
                    assert figures.runs > 0 and figures.p99 < 5
                    assert all(alive(pid) for pid in pids)
                finally:
                    stop.set()
                    await asyncio.wait_for(task, 30)

            asyncio.run(scenario())
            assert pids and not any(alive(pid) for pid in pids)
            counts = result_counts(store)
            assert set(counts) == {
                ("router", "ssh"),
                ("web", f"http://127.0.0.1:{victim.port}/"),
                ("files", "smb"),
                ("files", "nfs"),
                ("closed", "nothing"),
            }
            # One of the two alerts on Web's failure is enough; none for the healthy ones.
            assert not any("Router" in subject or "Files" in subject for _, subject in sent)
            store.close()
    finally:
        victim.stop()


def test_a_worker_that_dies_is_started_again_and_its_checks_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tcp_listener() as port:
        plan = load_plan(
            write_plan(
                tmp_path,
                f"""\
                - {{id: a, name: A, category: t, criticality: minor, checks: [{tcp(port, "a")}]}}
                - {{id: b, name: B, category: t, criticality: minor, checks: [{tcp(port, "b")}]}}
                """,
            ),
            environ={},
        ).plan
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        monitor = Monitor(plan, store)
        killed: dict[str, Any] = {}

        async def scenario() -> None:
            stop = asyncio.Event()
            task = asyncio.get_running_loop().create_task(monitor.run(stop))
            try:
                await until(lambda: isinstance(monitor.runner, ShardedRunner), 5, "runner")
                runner = monitor.runner
                assert isinstance(runner, ShardedRunner)
                await until(lambda: len(runner.pids()) == 2, 30, "two workers")
                await until(lambda: len(result_counts(store)) == 2, 30, "first results")
                victim = runner.pids()[0]
                killed["pid"], killed["at"] = victim, time.time()
                os.kill(victim, signal.SIGKILL)
                await until(lambda: runner.restarts == 1, 30, "the worker started again")
                await until(
                    lambda: len(runner.pids()) == 2 and victim not in runner.pids(),
                    30,
                    "a new worker",
                )
                killed["new"] = runner.pids()
                await until(
                    lambda: (
                        all(count >= 2 for count in result_counts(store, killed["at"] + 1).values())
                        and len(result_counts(store, killed["at"] + 1)) == 2
                    ),
                    30,
                    "results of both checks after the restart",
                )
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)

        asyncio.run(scenario())
        assert not alive(killed["pid"])
        assert not any(alive(pid) for pid in killed["new"])
        assert any("ended unexpectedly" in record.getMessage() for record in caplog.records)
        store.close()


MONITOR_SCRIPT = """
import asyncio, json, signal, sys
from pathlib import Path
from reprise.orchestrators.monitor import Monitor
from reprise.plan.loader import load_plan
from reprise.store import open_store

plan = load_plan(Path(sys.argv[1]), environ={}).plan
monitor = Monitor(plan, open_store(sys.argv[2]))

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.get_running_loop().create_task(monitor.run(stop))
    while monitor.runner is None or len(monitor.runner.pids()) < 2:
        await asyncio.sleep(0.05)
    print(json.dumps(monitor.runner.pids()), flush=True)
    await task

asyncio.run(main())
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_no_worker_outlives_the_monitor(tmp_path: Path, how: str) -> None:
    """Stopped (SIGTERM), the monitor stops its workers; killed (SIGKILL), it cannot, and
    the workers leave by themselves when their stdin ends."""
    with tcp_listener() as port:
        path = write_plan(
            tmp_path,
            f"""\
            - {{id: a, name: A, category: t, criticality: minor, checks: [{tcp(port, "a")}]}}
            - {{id: b, name: B, category: t, criticality: minor, checks: [{tcp(port, "b")}]}}
            """,
        )
        monitor = subprocess.Popen(
            [sys.executable, "-c", MONITOR_SCRIPT, str(path), f"sqlite:///{tmp_path / 's.db'}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert monitor.stdout is not None
            pids = json.loads(monitor.stdout.readline())
            assert len(pids) == 2 and all(alive(pid) for pid in pids)
            time.sleep(1)
            monitor.send_signal(getattr(signal, how))
            code = monitor.wait(30)
            assert code == (0 if how == "SIGTERM" else -signal.SIGKILL)
            deadline = time.monotonic() + 20
            while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(alive(pid) for pid in pids)
        finally:
            if monitor.poll() is None:
                monitor.kill()
                monitor.wait()
            assert monitor.stdout is not None
            monitor.stdout.close()


def test_small_plans_run_in_the_monitors_own_process(tmp_path: Path) -> None:
    with tcp_listener() as port:
        plan: Plan = load_plan(
            write_plan(
                tmp_path,
                f"""\
                - {{id: a, name: A, category: t, criticality: minor, checks: [{tcp(port, "a")}]}}
                """,
                workers="auto",
            ),
            environ={},
        ).plan
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        monitor = Monitor(plan, store)

        async def scenario() -> None:
            stop = asyncio.Event()
            task = asyncio.get_running_loop().create_task(monitor.run(stop))
            await until(lambda: monitor.board.state["a"] == "up", 30, "a up")
            stop.set()
            await task

        asyncio.run(scenario())
        assert type(monitor.runner) is Runner
        store.close()
