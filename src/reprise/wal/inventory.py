"""What the WAL archive of a source holds, per timeline, with its gaps."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reprise.repository import open_repository
from reprise.repository.catalog import list_backups
from reprise.wal.archive import WalArchive
from reprise.wal.names import DEFAULT_SEGMENT_SIZE, is_segment, parse_segment, segment_name

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob
    from reprise.plan.model import Plan
    from reprise.store import Store


@dataclass
class TimelineRange:
    """The archived segments of one timeline."""

    timeline: int
    first: str | None = None
    last: str | None = None
    segments: int = 0
    stored_size: int = 0
    newest: datetime | None = None
    gaps: list[tuple[str, str]] = field(default_factory=list)
    history: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "timeline": self.timeline,
            "first": self.first,
            "last": self.last,
            "segments": self.segments,
            "stored_size": self.stored_size,
            "newest": self.newest.isoformat() if self.newest else None,
            "gaps": [{"first_missing": first, "last_missing": last} for first, last in self.gaps],
            "history_file": self.history,
        }


def segment_size_of(store: Store, source: str) -> int:
    """The server's WAL segment size, from the newest base backup (16 MiB by default)."""
    backups = list_backups(store, source=source)
    if backups:
        return int(backups[-1].manifest.server.get("wal_segment_size") or DEFAULT_SEGMENT_SIZE)
    return DEFAULT_SEGMENT_SIZE


def inventory(plan: Plan, store: Store, job: BackupJob) -> list[TimelineRange]:
    """Per-timeline ranges of the archive, oldest timeline first."""
    archive = WalArchive(open_repository(plan, job.source.repository), job.name)
    size = segment_size_of(store, job.name)
    ranges: dict[int, TimelineRange] = {}
    numbers: dict[int, list[int]] = {}
    for item in archive.files():
        timeline = int(item.name[:8], 16)
        entry = ranges.setdefault(timeline, TimelineRange(timeline))
        if item.name.endswith(".history"):
            entry.history = True
            continue
        if not is_segment(item.name):
            continue
        entry.segments += 1
        entry.stored_size += item.stored_size
        entry.first = entry.first or item.name
        entry.last = item.name
        entry.newest = max(filter(None, (entry.newest, item.modified)))
        numbers.setdefault(timeline, []).append(parse_segment(item.name, size)[1])
    for timeline, segnos in numbers.items():
        for before, after in itertools.pairwise(segnos):
            if after > before + 1:
                ranges[timeline].gaps.append(
                    (
                        segment_name(timeline, before + 1, size),
                        segment_name(timeline, after - 1, size),
                    )
                )
    return [ranges[timeline] for timeline in sorted(ranges)]
