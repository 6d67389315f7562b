"""Restic-style retention: which backups to keep, and why.

Rules combine: a backup kept by any rule stays. ``keep_within`` counts back from the
newest backup, not from now, so that a source whose backups stopped does not lose its
last copies to the calendar. Hourly, daily, weekly, monthly and yearly buckets are in the
plan's time zone; each keeps the newest backup of each of the last N buckets that have one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from reprise.plan.sources import Retention

_BUCKETS: dict[str, Callable[[datetime], tuple[int, ...]]] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: tuple(t.isocalendar()[:2]),
    "monthly": lambda t: (t.year, t.month),
    "yearly": lambda t: (t.year,),
}


def apply_retention(
    backups: Sequence[tuple[str, datetime]], retention: Retention, zone: tzinfo
) -> dict[str, list[str]]:
    """Map each backup id to keep to the rules that keep it; the others may go."""
    ordered = sorted(backups, key=lambda item: item[1], reverse=True)
    kept: dict[str, list[str]] = {}
    if not ordered:
        return kept
    if retention.keep_last:
        for backup_id, _time in ordered[: retention.keep_last]:
            kept.setdefault(backup_id, []).append(f"last {retention.keep_last}")
    if retention.keep_within is not None:
        newest = ordered[0][1]
        for backup_id, time in ordered:
            if newest - time <= retention.keep_within:
                kept.setdefault(backup_id, []).append("within")
    for name, bucket_of in _BUCKETS.items():
        count = getattr(retention, f"keep_{name}")
        if not count:
            continue
        seen: list[tuple[int, ...]] = []
        for backup_id, time in ordered:
            bucket = bucket_of(time.astimezone(zone))
            if bucket in seen:
                continue
            if len(seen) == count:
                break
            seen.append(bucket)
            kept.setdefault(backup_id, []).append(f"{name} {len(seen)}/{count}")
    return kept
