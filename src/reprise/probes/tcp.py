"""``tcp``: a connection opens (and the server's first line matches, when asked)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

from reprise.plan.checks import TcpCheck
from reprise.plan.common import address
from reprise.probes.net import close_quietly, describe
from reprise.probes.result import ProbeResult, down, slow, up

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_tcp(check: TcpCheck, _run: ProbeRun) -> ProbeResult:
    """Connect to host:port; read the banner when ``expect_banner`` is set."""
    target = address(check.host, check.port)
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(check.host, check.port)
    except OSError as error:
        return down(describe(error, target), time.perf_counter() - started)
    try:
        latency = time.perf_counter() - started
        if check.expect_banner is None:
            return slow(up(f"{target} accepts connections", latency), check.degraded_latency)
        line = (await reader.readline()).decode("utf-8", "replace").strip()
        if not re.search(check.expect_banner, line):
            return down(
                f"{target}: banner {line[:80]!r} does not match {check.expect_banner!r}",
                latency,
                banner=line[:200],
            )
        result = up(f"{target}: {line[:80]}", latency, banner=line[:200])
        return slow(result, check.degraded_latency)
    finally:
        await close_quietly(writer)
