"""Item ``verification``: the existing verification, on the plan's share of the stored
bytes (``audit.verification_budget``), finds nothing damaged and finishes within
``audit.verification_time``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from reprise.audit.items import Finding, part
from reprise.audit.wording import listing, seconds


@dataclass(frozen=True)
class Verified:
    """What the verification found: backups checked, those damaged (``source/id``),
    problem folders and unreachable repositories, bytes read, time taken."""

    backups: int
    damaged: list[str]
    problems: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    stored_bytes: int = 0
    seconds: float = 0.0
    details: list[str] = field(default_factory=list)


def judge_verification(found: Verified, budget: float, limit: timedelta) -> Finding:
    """Damage first (❌ naming the backups), then the time against ``limit``."""
    raw = {
        "backups": found.backups,
        "damaged": found.damaged,
        "problems": found.problems,
        "unreachable": found.unreachable,
        "stored_bytes": found.stored_bytes,
        "seconds": round(found.seconds, 3),
        "budget_percent": budget,
        "objective_seconds": limit.total_seconds(),
        "details": found.details,
    }
    bad = found.damaged + found.problems
    if bad:
        return Finding(
            "failed",
            part(
                "audit.measured.verification_damaged",
                damaged=len(bad),
                count=found.backups,
                names=listing(bad),
            ),
            raw,
            part("audit.fix.verification_damaged"),
        )
    if found.unreachable:
        return Finding(
            "failed",
            part("audit.measured.verification_unreachable", names=listing(found.unreachable)),
            raw,
            part("audit.fix.verification_unreachable"),
        )
    measured = part(
        "audit.measured.verification",
        count=found.backups,
        size={"size": found.stored_bytes},
        took=seconds(found.seconds),
    )
    if found.seconds <= limit.total_seconds():
        return Finding("ok", measured, raw)
    return Finding("failed", measured, raw, part("audit.fix.verification_slow"))
