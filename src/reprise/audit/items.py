"""An audit item and an audit: what was measured, against which objective, and the verdict.

People's words are kept as catalog parts (a key and its facts, see :mod:`.wording`), so a
stored audit can be shown again in either language; ``raw`` holds the figures for programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["ok", "failed", "skipped", "not_applicable"]
Result = Literal["compliant", "not_compliant", "error"]
Part = tuple[str, dict[str, Any]]
"""A catalog key and the facts that fill its ``{placeholders}``."""

STATUSES: tuple[Status, ...] = ("ok", "failed", "skipped", "not_applicable")


def part(key: str, **facts: Any) -> Part:
    """One text of the catalog with its facts (see :func:`.wording.fact` for measures)."""
    return (key, facts)


@dataclass(frozen=True)
class Finding:
    """What judging one item gives: the verdict, the value measured (in words and raw) and,
    for a failure, what to do about it."""

    status: Status
    measured: Part | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    fix: Part | None = None


@dataclass(frozen=True)
class Item:
    """One audited promise: a stable id (``akig-db.backup_age``), its title and objective in
    words, the finding and how long measuring it took."""

    id: str
    service: str | None
    title: Part
    objective: Part | None
    status: Status
    measured: Part | None
    raw: dict[str, Any]
    fix: Part | None
    seconds: float

    def to_record(self) -> dict[str, Any]:
        """The stored form (JSON): parts kept as parts, to be worded in any language."""
        return {
            "id": self.id,
            "service": self.service,
            "title": list(self.title),
            "objective": list(self.objective) if self.objective else None,
            "status": self.status,
            "measured": list(self.measured) if self.measured else None,
            "raw": self.raw,
            "fix": list(self.fix) if self.fix else None,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Item:
        """Back from :meth:`to_record`."""

        def as_part(value: Any) -> Part | None:
            return (str(value[0]), dict(value[1])) if value else None

        title = as_part(data["title"])
        assert title is not None
        return cls(
            data["id"],
            data.get("service"),
            title,
            as_part(data.get("objective")),
            data["status"],
            as_part(data.get("measured")),
            dict(data.get("raw") or {}),
            as_part(data.get("fix")),
            float(data.get("seconds") or 0.0),
        )


@dataclass
class Audit:
    """A finished (or stored) audit."""

    started_at: datetime
    finished_at: datetime
    services: list[str]
    quick: bool
    language: str
    by: str
    items: list[Item] = field(default_factory=list)
    result: Result = "compliant"
    id: int | None = None
    error: str | None = None

    @property
    def failed(self) -> list[Item]:
        """The items that failed (❌)."""
        return [item for item in self.items if item.status == "failed"]

    def count(self, status: Status) -> int:
        """How many items have this status."""
        return sum(1 for item in self.items if item.status == status)

    @property
    def seconds(self) -> float:
        """How long the audit took."""
        return (self.finished_at - self.started_at).total_seconds()


def verdict(items: list[Item]) -> Result:
    """Compliant when no item failed."""
    return "not_compliant" if any(item.status == "failed" for item in items) else "compliant"
