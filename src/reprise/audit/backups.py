"""Items ``SERVICE.backup_age`` (the newest verified backup is within the RPO) and
``SERVICE.throughput`` (a fresh backup is not much slower than the previous ones)."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reprise.audit.items import Finding, part
from reprise.audit.wording import moment, seconds
from reprise.repository.catalog import list_backups

if TYPE_CHECKING:
    from reprise.backup.run import BackupResult
    from reprise.store import Store

MB = 1_000_000


def judge_backup_age(store: Store, service: str, rpo: timedelta, now: datetime) -> Finding:
    """The age of the service's newest verified backup (``verify_status == "ok"``, as the
    ``backup_age`` probe counts it) against ``rpo``."""
    entries = list_backups(store, service=service)
    verified = [entry for entry in entries if entry.verify_status == "ok"]
    if not verified:
        unverified = len(entries)
        return Finding(
            "failed",
            part("audit.measured.no_verified_backup", count=unverified),
            {"age_seconds": None, "backups": unverified},
            part("audit.fix.backup_unverified" if unverified else "audit.fix.backup_none"),
        )
    newest = verified[-1].manifest
    age = now - newest.finished_at
    raw = {
        "age_seconds": round(age.total_seconds()),
        "backup_id": newest.id,
        "finished_at": newest.finished_at.isoformat(),
        "objective_seconds": rpo.total_seconds(),
    }
    measured = part(
        "audit.measured.backup_age",
        age=seconds(age),
        backup=newest.id,
        at=moment(newest.finished_at),
    )
    if age <= rpo:
        return Finding("ok", measured, raw)
    return Finding("failed", measured, raw, part("audit.fix.backup_age"))


def throughput_of(result: BackupResult) -> float:
    """MB/s of plain data of a backup."""
    return result.throughput / MB


def previous_median(store: Store, source: str, exclude: str) -> tuple[float | None, int]:
    """The median MB/s of the source's backups other than ``exclude``, and how many."""
    speeds = [
        entry.manifest.plain_size / max(entry.manifest.duration, 1e-6) / MB
        for entry in list_backups(store, source=source)
        if entry.backup_id != exclude
    ]
    return (statistics.median(speeds) if speeds else None), len(speeds)


def judge_throughput(store: Store, results: list[BackupResult], floor: float) -> Finding:
    """Each fresh backup's MB/s against ``floor`` % of the median of the previous ones of
    its source; the slowest ratio decides."""
    lines = []
    worst: tuple[float, str] | None = None
    for result in results:
        speed = throughput_of(result)
        median, count = previous_median(store, result.manifest.source, result.manifest.id)
        ratio = speed / median * 100 if median else None
        lines.append(
            {
                "source": result.manifest.source,
                "backup_id": result.manifest.id,
                "mb_per_second": round(speed, 3),
                "previous_median_mb_per_second": None if median is None else round(median, 3),
                "previous_runs": count,
                "percent_of_median": None if ratio is None else round(ratio, 1),
            }
        )
        if ratio is not None and (worst is None or ratio < worst[0]):
            worst = (ratio, result.manifest.source)
    raw = {"backups": lines, "floor_percent": floor}
    if worst is None:
        first = lines[0] if lines else {"mb_per_second": 0.0}
        return Finding(
            "skipped",
            part(
                "audit.measured.throughput_first",
                speed={"number": first["mb_per_second"], "digits": 2},
            ),
            raw,
        )
    line = next(item for item in lines if item["source"] == worst[1])
    measured = part(
        "audit.measured.throughput",
        speed={"number": line["mb_per_second"], "digits": 2},
        median={"number": line["previous_median_mb_per_second"], "digits": 2},
        share={"percent": worst[0], "digits": 0},
        runs=line["previous_runs"],
    )
    if worst[0] >= floor:
        return Finding("ok", measured, raw)
    return Finding("failed", measured, raw, part("audit.fix.throughput"))
