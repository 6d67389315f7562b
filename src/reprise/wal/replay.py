"""Which archived WAL a recovery replays, in order, from a base backup's start.

PostgreSQL follows the latest timeline (``recovery_target_timeline = latest``): for each
segment number it reads the file of the newest timeline that had begun by then, as the
timeline history files say. Computing that path here lets a restore fetch exactly those
files ahead of the server, and name a missing one before recovery starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from reprise.wal.archive import ArchivedFile
from reprise.wal.names import (
    history_name,
    is_segment,
    parse_history,
    parse_segment,
    segment_name,
)


@dataclass
class ReplayPath:
    """The archived files a recovery needs, in the order it asks for them."""

    timeline: int
    files: list[ArchivedFile] = field(default_factory=list)
    histories: list[ArchivedFile] = field(default_factory=list)
    missing: str | None = None
    """The first segment absent from the archive while later ones exist (a gap)."""

    @property
    def last_segment(self) -> ArchivedFile | None:
        """The newest segment on the path."""
        return self.files[-1] if self.files else None

    @property
    def newest_time(self) -> datetime | None:
        """When the newest segment on the path was archived (about its last record)."""
        return self.files[-1].modified if self.files else None


def timeline_chain(
    histories: dict[int, list[tuple[int, int]]], start: int
) -> tuple[int, list[tuple[int, int]]]:
    """The latest timeline descending from ``start``, and its history entries."""
    best, best_entries = start, []
    for timeline, entries in sorted(histories.items()):
        parents = {parent for parent, _switch in entries}
        if timeline > best and (start in parents or timeline == start):
            best, best_entries = timeline, entries
    return best, best_entries


def replay_path(
    files: list[ArchivedFile],
    *,
    start_timeline: int,
    start_segno: int,
    segment_size: int,
    read_history: Callable[[ArchivedFile], str],
) -> ReplayPath:
    """The ordered files to replay from ``start_segno`` on ``start_timeline``."""
    by_name = {item.name: item for item in files}
    histories: dict[int, list[tuple[int, int]]] = {}
    history_files: dict[int, ArchivedFile] = {}
    for item in files:
        if item.name.endswith(".history"):
            timeline = int(item.name[:8], 16)
            if timeline > start_timeline:
                histories[timeline] = parse_history(read_history(item))
                history_files[timeline] = item
    target, entries = timeline_chain(histories, start_timeline)
    # Timeline k begins at the segment holding the switch point out of timeline k-1.
    begins = [(start_timeline, 0)]
    chain = [parent for parent, _switch in entries] + [target]
    for index, (_parent, switch) in enumerate(entries):
        child = chain[index + 1]
        if child > start_timeline:
            begins.append((child, switch // segment_size))
    path = ReplayPath(
        target,
        histories=[
            history_files[timeline] for timeline in sorted(history_files) if timeline in chain
        ],
    )
    newest = max(
        (
            parse_segment(item.name, segment_size)[1]
            for item in files
            if is_segment(item.name) and parse_segment(item.name, segment_size)[0] in chain
        ),
        default=-1,
    )
    segno = start_segno
    while segno <= newest:
        timeline = max(tl for tl, begin in begins if begin <= segno)
        name = segment_name(timeline, segno, segment_size)
        found = by_name.get(name)
        if found is None:
            path.missing = name
            break
        path.files.append(found)
        segno += 1
    return path


def history_file(files: list[ArchivedFile], timeline: int) -> ArchivedFile | None:
    """The archived history file of ``timeline``, if any."""
    wanted = history_name(timeline)
    return next((item for item in files if item.name == wanted), None)
