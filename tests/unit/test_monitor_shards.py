"""How many workers a plan gets, how its checks are shared among them, and the frames
that carry results back: what the sharded monitor decides before any process starts."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reprise.monitor.frames import encode, from_row, read_frame, to_row
from reprise.monitor.runner import plan_jobs
from reprise.monitor.shards import AUTO_LIMIT, shard, worker_count
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.probes.result import ProbeResult


def make_plan(directory: Path, services: list[tuple[str, int, list[str]]], workers: str) -> Plan:
    """Services as (id, number of TCP checks, dependencies)."""
    lines = []
    for service_id, checks, depends in services:
        specs = ", ".join(
            f'{{kind: tcp, host: 127.0.0.1, port: 9, name: "c{i}", interval: 10s, timeout: 5s}}'
            for i in range(checks)
        )
        lines.append(
            f"  - {{id: {service_id}, name: {service_id}, category: t, criticality: minor, "
            f"depends_on: [{', '.join(depends)}], checks: [{specs}]}}"
        )
    path = directory / "reprise.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: T, timezone: UTC}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        monitoring: {{workers: {workers}}}
        services:
        """)
        + "\n".join(lines)
        + "\n"
    )
    return load_plan(path, environ={}).plan


def test_auto_keeps_small_plans_in_one_process_and_spreads_large_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    small = make_plan(tmp_path, [("a", 10, [])], "auto")
    assert worker_count(small) == 1
    services = [(f"s{i}", 10, []) for i in range(AUTO_LIMIT // 10 + 1)]
    assert worker_count(make_plan(tmp_path, services, "auto")) == 2
    assert worker_count(make_plan(tmp_path, [("a", 1, [])], "3")) == 3
    assert worker_count(make_plan(tmp_path, [("a", 1, [])], "1")) == 1
    assert worker_count(make_plan(tmp_path, [("a", 1, [])], "0")) == 1


def test_services_linked_by_dependencies_share_a_worker_and_loads_are_balanced(
    tmp_path: Path,
) -> None:
    plan = make_plan(
        tmp_path,
        [
            ("router", 1, []),
            ("vpn", 2, ["router"]),
            ("mail", 3, ["vpn"]),
            ("files", 3, []),
            ("web", 2, []),
            ("db", 1, ["web"]),
        ],
        "2",
    )
    jobs = plan_jobs(plan)
    shards = shard(plan, jobs, 2)
    assert sorted(index for indices in shards for index in indices) == list(range(len(jobs)))
    services = [{jobs[index].service for index in indices} for indices in shards]
    assert {"router", "vpn", "mail"} in services  # one group of six checks
    assert {"files", "web", "db"} in services  # the other six
    assert shard(plan, jobs, 8) and len(shard(plan, jobs, 8)) == 3  # never an empty shard


def test_a_result_crosses_the_pipe_intact() -> None:
    started = datetime(2026, 11, 27, 3, 30, 0, 123456, tzinfo=UTC)
    at = datetime(2026, 11, 27, 3, 30, 1, tzinfo=UTC)
    result = ProbeResult("down", "refused", 0.0123, {"status": 503}, started)
    frame = encode(("results", [to_row(7, result, at)]))

    async def read() -> tuple[object, ...] | None:
        reader = asyncio.StreamReader()
        reader.feed_data(frame)
        reader.feed_eof()
        first = await read_frame(reader)
        assert await read_frame(reader) is None
        return first

    decoded = asyncio.run(read())
    assert decoded is not None and decoded[0] == "results"
    index, back, when = from_row(decoded[1][0])  # type: ignore[index]
    assert (index, back, when) == (7, result, at)
