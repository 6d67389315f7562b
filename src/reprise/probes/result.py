"""What a probe returns: a state, a message for people, the latency, and details."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from reprise.words import say

ProbeState = Literal["up", "degraded", "down"]
SEVERITY = {"up": 0, "unknown": 1, "degraded": 2, "down": 3}
"""Order of states from best to worst, to aggregate checks."""


@dataclass(frozen=True)
class ProbeResult:
    """One run of one check."""

    state: ProbeState
    message: str
    latency: float | None = None
    """Seconds the probe took (None when it could not measure, e.g. a disk check)."""
    details: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    """When the probe's I/O began (UTC), after it got the CPU: a result can only speak
    for what happened after this moment (None when not measured)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by `status --json` and `check --json`."""
        return {
            "state": self.state,
            "message": self.message,
            "latency_ms": None if self.latency is None else round(self.latency * 1000, 1),
            "details": self.details,
        }


def up(message: str, latency: float | None = None, **details: Any) -> ProbeResult:
    """A passing result."""
    return ProbeResult("up", message, latency, details)


def degraded(message: str, latency: float | None = None, **details: Any) -> ProbeResult:
    """A result that works but crosses a warning threshold."""
    return ProbeResult("degraded", message, latency, details)


def down(message: str, latency: float | None = None, **details: Any) -> ProbeResult:
    """A failing result."""
    return ProbeResult("down", message, latency, details)


def slow(language: str, result: ProbeResult, threshold: timedelta | None) -> ProbeResult:
    """``result`` turned degraded when it passed but took longer than ``threshold``."""
    if threshold is None or result.state != "up" or result.latency is None:
        return result
    limit = threshold.total_seconds()
    if result.latency > limit:
        return degraded(
            say(
                language,
                "probe.slow",
                message=result.message,
                latency=f"{result.latency * 1000:.0f}",
                limit=f"{limit * 1000:.0f}",
            ),
            result.latency,
            **result.details,
        )
    return result
