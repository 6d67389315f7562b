"""How the monitor and its worker processes talk over a pipe: length-prefixed pickles.

Both ends are this program (the parent starts the worker with its own interpreter), so
pickle carries nothing foreign. A frame is a 4-byte big-endian length then the pickle of
one tuple whose first item says what it is:

- parent → worker: ``("setup", Setup)`` once, then ``("stop",)``;
- worker → parent: ``("results", [Row, …])``, ``("lags", [seconds, …], skipped,
  inconclusive, loop_lag)`` and ``("log", logger name, level, message)``.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reprise.plan.model import Plan
from reprise.probes.result import ProbeResult

_LENGTH = struct.Struct(">I")

Row = tuple[int, str, str, float | None, dict[str, Any], float | None, float]
"""A result in transit: (job index, state, message, latency, details, started_at epoch,
observed-at epoch)."""


@dataclass(frozen=True)
class Setup:
    """What a worker runs: the plan restricted to the shard's services, whose jobs
    (:func:`reprise.monitor.runner.plan_jobs`, in order) are those of the whole plan at
    ``jobs`` (the indices results are sent back with); how many at once; where the state
    store is for the probes that read it (None when none of its checks does); and the
    level of the log records worth sending back."""

    plan: Plan
    jobs: list[int]
    concurrency: int
    store_url: str | None
    log_level: int


def encode(message: tuple[Any, ...]) -> bytes:
    """One frame."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> tuple[Any, ...] | None:
    """The next frame, or None at the end of the stream."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        (length,) = _LENGTH.unpack(head)
        message: tuple[Any, ...] = pickle.loads(await reader.readexactly(length))  # noqa: S301 - our own child
    except asyncio.IncompleteReadError:
        return None
    return message


def to_row(index: int, result: ProbeResult, at: datetime) -> Row:
    """A result as a compact tuple."""
    started = result.started_at.timestamp() if result.started_at is not None else None
    return (
        index,
        result.state,
        result.message,
        result.latency,
        result.details,
        started,
        at.timestamp(),
    )


def from_row(row: Row) -> tuple[int, ProbeResult, datetime]:
    """(job index, result, when it was observed) back from a row."""
    index, state, message, latency, details, started, at = row
    started_at = datetime.fromtimestamp(started, UTC) if started is not None else None
    result = ProbeResult(state, message, latency, details, started_at)  # type: ignore[arg-type]
    return index, result, datetime.fromtimestamp(at, UTC)
