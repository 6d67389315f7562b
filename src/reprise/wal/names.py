"""WAL file names: segments (timeline, log, segment), history files, LSNs.

A segment name is 24 hex digits: the timeline, then the segment number split in two
(``log`` and ``seg``), where a ``log`` holds 4 GiB / segment size segments.
"""

from __future__ import annotations

import re

DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
SEGMENT = re.compile(r"^[0-9A-F]{24}$")
HISTORY = re.compile(r"^[0-9A-F]{8}\.history$")
WAL_FILE = re.compile(r"^[0-9A-F]{8}(\.history|[0-9A-F]{16}(\.partial|\.[0-9A-F]{8}\.backup)?)$")


def is_segment(name: str) -> bool:
    """A full WAL segment (not a history, backup-label or partial file)."""
    return bool(SEGMENT.match(name))


def segments_per_log(segment_size: int) -> int:
    """How many segments one 'log' number covers."""
    return 0x100000000 // segment_size


def parse_segment(name: str, segment_size: int) -> tuple[int, int]:
    """(timeline, segment number) of a segment name."""
    return (
        int(name[:8], 16),
        int(name[8:16], 16) * segments_per_log(segment_size) + int(name[16:24], 16),
    )


def segment_name(timeline: int, segno: int, segment_size: int) -> str:
    """The file name of segment ``segno`` on ``timeline``."""
    per_log = segments_per_log(segment_size)
    return f"{timeline:08X}{segno // per_log:08X}{segno % per_log:08X}"


def parse_lsn(text: str) -> int:
    """``'0/3000060'`` → 50331744."""
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(value: int) -> str:
    """50331744 → ``'0/3000060'``."""
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def history_name(timeline: int) -> str:
    """``00000002.history``."""
    return f"{timeline:08X}.history"


def parse_history(text: str) -> list[tuple[int, int]]:
    """(parent timeline, switch LSN) entries of a timeline history file, oldest first."""
    entries = []
    for line in text.splitlines():
        fields = line.strip().split()
        if len(fields) >= 2 and fields[0].isdigit():
            entries.append((int(fields[0]), parse_lsn(fields[1])))
    return entries
