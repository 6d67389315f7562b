"""A service's history as day bars: its state changes clipped to each day of the plan's
time zone (a day of summer-time change lasts 23 or 25 hours), time before the first
known state being no data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from reprise.statuspage.model import STATES, DayBar

Change = tuple[float, str]
"""A state change: (POSIX time, the state it went to)."""

Day = tuple[date, float, float]
"""A day and its bounds in POSIX time: [start, end)."""


def last_days(now: datetime, count: int, zone: tzinfo) -> list[Day]:
    """The ``count`` days ending with today (in ``zone``), oldest first."""
    today = now.astimezone(zone).date()
    days: list[Day] = []
    for offset in range(count - 1, -1, -1):
        day = today - timedelta(days=offset)
        start = datetime.combine(day, time(), zone).timestamp()
        end = datetime.combine(day + timedelta(days=1), time(), zone).timestamp()
        days.append((day, start, end))
    return days


def day_bars(
    days: Sequence[Day],
    initial: str | None,
    changes: Sequence[Change],
    now: float,
    *,
    degraded_counts_as_down: bool = False,
) -> list[DayBar]:
    """One bar per day: ``initial`` is the state at the first day's start (None: unknown),
    ``changes`` those after it in time order; nothing counts after ``now``. A state
    other than up, degraded, down or maintenance counts as no data."""
    if not days:
        return []
    segments = _segments(days[0][1], initial, changes, now)
    bars: list[DayBar] = []
    first = 0
    for day, start, end in days:
        seconds = dict.fromkeys(STATES, 0.0)
        index = first
        while index < len(segments) and segments[index][0] < end:
            low, high, state = segments[index]
            overlap = min(high, end) - max(low, start)
            if overlap > 0 and state in seconds:
                seconds[state] += overlap
            if high <= end:
                first = index + 1
            index += 1
        bars.append(
            DayBar(
                day,
                up=seconds["up"],
                degraded=seconds["degraded"],
                down=seconds["down"],
                maintenance=seconds["maintenance"],
                degraded_counts_as_down=degraded_counts_as_down,
            )
        )
    return bars


def _segments(
    start: float, initial: str | None, changes: Sequence[Change], now: float
) -> list[tuple[float, float, str | None]]:
    """The time from ``start`` to ``now`` cut at each change, with its state."""
    segments: list[tuple[float, float, str | None]] = []
    cursor, state = start, initial
    for at, new in changes:
        if at >= now:
            break
        if at > cursor:
            segments.append((cursor, at, state))
            cursor = at
        state = new
    if now > cursor:
        segments.append((cursor, now, state))
    return segments
