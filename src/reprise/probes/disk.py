"""``disk``: free space of a path on this host, as a percentage or in bytes."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from reprise.plan.checks import DiskCheck
from reprise.plan.units import format_size
from reprise.probes.reasons import os_reason
from reprise.probes.result import ProbeResult, degraded, down, up
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_disk(check: DiskCheck, run: ProbeRun) -> ProbeResult:
    """Compare the free space of ``path``'s file system with the thresholds."""
    try:
        # In a thread: statvfs on a dead NFS mount blocks, and the runner's timeout must win.
        stats = await asyncio.to_thread(os.statvfs, check.path)
    except OSError as error:
        reason = os_reason(run.language, error)
        return down(say(run.language, "probe.failed", target=check.path, reason=reason))
    total = stats.f_blocks * stats.f_frsize
    free = stats.f_bavail * stats.f_frsize
    percent = 100.0 * free / total if total else 0.0
    message = say(
        run.language,
        "probe.disk_free",
        path=check.path,
        free=format_size(free),
        percent=f"{percent:.1f}",
    )
    details = {"free_bytes": free, "total_bytes": total, "free_percent": round(percent, 2)}
    if _below(percent, free, check.min_free_percent, check.min_free_bytes):
        return down(message, **details)
    if _below(percent, free, check.warn_free_percent, check.warn_free_bytes):
        return degraded(message, **details)
    return up(message, **details)


def _below(percent: float, free: int, min_percent: float | None, min_bytes: int | None) -> bool:
    return (min_percent is not None and percent < min_percent) or (
        min_bytes is not None and free < min_bytes
    )
