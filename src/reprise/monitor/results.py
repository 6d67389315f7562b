"""Check results in the state store: raw rows written in batches, rolled up into hourly and
daily counts, raw rows dropped after the retention, and uptime computed from both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, delete, func, insert, select

from reprise.probes.result import ProbeResult
from reprise.store.database import Store
from reprise.store.tables import check_results, check_rollups


class ResultBuffer:
    """Results waiting to be written: one transaction per flush, not one per result."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, service: str, check: str, result: ProbeResult, at: datetime) -> None:
        """Queue a result."""
        epoch = at.timestamp()
        self.rows.append(
            {
                "service": service,
                "check_name": check,
                "at": epoch,
                "hour": int(epoch // 3600),
                "state": result.state,
                "latency": result.latency,
                "message": result.message[:1000],
            }
        )

    def take(self) -> list[dict[str, object]]:
        """Everything queued so far, leaving the buffer empty."""
        rows, self.rows = self.rows, []
        return rows


def write_results(store: Store, rows: list[dict[str, object]]) -> None:
    """Insert raw results in one transaction."""
    if rows:
        with store.engine.begin() as connection:
            connection.execute(insert(check_results), rows)


@dataclass(frozen=True)
class RollUp:
    """What one roll-up pass did."""

    hours: int
    days: int
    deleted: int


def _last_bucket(connection: Connection, period: str) -> int:
    query = select(func.max(check_rollups.c.bucket)).where(check_rollups.c.period == period)
    value = connection.execute(query).scalar()
    return int(value) if value is not None else -1


def roll_up(store: Store, now: datetime, raw_retention: timedelta) -> RollUp:
    """Count finished hours (and days) not rolled up yet, then drop raw rows older than the
    retention. Safe to run at any time, any number of times."""
    current_hour = int(now.timestamp() // 3600)
    current_day = current_hour // 24
    raw = check_results.c
    with store.engine.begin() as connection:
        after = _last_bucket(connection, "hour")
        hourly = connection.execute(
            select(
                raw.service,
                raw.check_name,
                raw.hour,
                func.count(),
                func.sum(case((raw.state == "up", 1), else_=0)),
                func.sum(case((raw.state == "degraded", 1), else_=0)),
                func.sum(case((raw.state == "down", 1), else_=0)),
                func.sum(func.coalesce(raw.latency, 0.0)),
                func.max(raw.latency),
            )
            .where(and_(raw.hour > after, raw.hour < current_hour))
            .group_by(raw.service, raw.check_name, raw.hour)
        ).all()
        if hourly:
            connection.execute(
                insert(check_rollups),
                [
                    {
                        "service": row[0],
                        "check_name": row[1],
                        "period": "hour",
                        "bucket": row[2],
                        "total": row[3],
                        "up": row[4],
                        "degraded": row[5],
                        "down": row[6],
                        "latency_sum": row[7],
                        "latency_max": row[8],
                    }
                    for row in hourly
                ],
            )
        last_day = _last_bucket(connection, "day")
        hours = check_rollups.c
        day = hours.bucket // 24
        daily = connection.execute(
            select(
                hours.service,
                hours.check_name,
                func.min(hours.bucket),
                func.sum(hours.total),
                func.sum(hours.up),
                func.sum(hours.degraded),
                func.sum(hours.down),
                func.sum(hours.latency_sum),
                func.max(hours.latency_max),
            )
            .where(
                and_(
                    hours.period == "hour",
                    hours.bucket >= (last_day + 1) * 24,
                    hours.bucket < current_day * 24,
                )
            )
            .group_by(hours.service, hours.check_name, day)
        ).all()
        if daily:
            connection.execute(
                insert(check_rollups),
                [
                    {
                        "service": row[0],
                        "check_name": row[1],
                        "period": "day",
                        "bucket": int(row[2]) // 24,
                        "total": row[3],
                        "up": row[4],
                        "degraded": row[5],
                        "down": row[6],
                        "latency_sum": row[7],
                        "latency_max": row[8],
                    }
                    for row in daily
                ],
            )
        cutoff = (now - raw_retention).timestamp()
        # Raw rows of hours not rolled up yet are kept whatever their age.
        rolled = max(after, max((row[2] for row in hourly), default=after))
        deleted = connection.execute(
            delete(check_results).where(and_(raw.at < cutoff, raw.hour <= rolled))
        ).rowcount
    return RollUp(len(hourly), len(daily), deleted or 0)


def uptime(store: Store, service: str, since: datetime, until: datetime) -> float | None:
    """Percentage of check runs that were up or degraded between ``since`` and ``until``
    (hourly roll-ups where raw rows are gone); None without data."""
    first, last = int(since.timestamp() // 3600), int(until.timestamp() // 3600)
    raw, rolled = check_results.c, check_rollups.c
    with store.engine.connect() as connection:
        after = _last_bucket(connection, "hour")
        old = connection.execute(
            select(func.sum(rolled.total), func.sum(rolled.down)).where(
                and_(
                    rolled.service == service,
                    rolled.period == "hour",
                    rolled.bucket >= first,
                    rolled.bucket <= min(last, after),
                )
            )
        ).one()
        new = connection.execute(
            select(func.count(), func.sum(case((raw.state == "down", 1), else_=0))).where(
                and_(
                    raw.service == service,
                    raw.hour > after,
                    raw.at >= since.timestamp(),
                    raw.at <= until.timestamp(),
                )
            )
        ).one()
    total = (old[0] or 0) + (new[0] or 0)
    down = (old[1] or 0) + (new[1] or 0)
    return None if total == 0 else 100.0 * (total - down) / total
