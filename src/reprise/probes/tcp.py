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
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_tcp(check: TcpCheck, run: ProbeRun) -> ProbeResult:
    """Connect to host:port; read the banner when ``expect_banner`` is set."""
    target = address(check.host, check.port)
    language = run.language
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(check.host, check.port)
    except OSError as error:
        return down(describe(language, error, target), time.perf_counter() - started)
    try:
        latency = time.perf_counter() - started
        if check.expect_banner is None:
            accepts = up(say(language, "probe.accepts", target=target), latency)
            return slow(language, accepts, check.degraded_latency)
        line = (await reader.readline()).decode("utf-8", "replace").strip()
        if not re.search(check.expect_banner, line):
            return down(
                say(
                    language,
                    "probe.banner_mismatch",
                    target=target,
                    banner=repr(line[:80]),
                    pattern=repr(check.expect_banner),
                ),
                latency,
                banner=line[:200],
            )
        result = up(f"{target}: {line[:80]}", latency, banner=line[:200])
        return slow(language, result, check.degraded_latency)
    finally:
        await close_quietly(writer)
