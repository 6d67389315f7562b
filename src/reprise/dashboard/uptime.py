"""Uptime as the share of check runs that passed (up or degraded), per service and per UTC
day, over the daily and hourly roll-ups and the raw results not rolled up yet. This is
Uptime Kuma's measure, cheap enough for a page; the SLA report (`reprise sla`) measures
time exactly."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, select

from reprise.store.tables import check_results, check_rollups

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Connection

DAY, HOUR = 86400, 3600
_ROLLED_DAYS: dict[tuple[str, int, int, tuple[str, ...]], dict[str, dict[int, Counts]]] = {}
"""Daily roll-ups already read, by (database, first day, last day rolled up, services): a
page shown every few seconds reads the 45,000 rows of 500 services once a day."""


@dataclass
class Counts:
    """Check runs, and how many of them failed."""

    total: int = 0
    down: int = 0

    def add(self, total: int, down: int) -> None:
        """Count more runs."""
        self.total += total
        self.down += down

    @property
    def percent(self) -> float | None:
        """The share that passed, in percent (None without runs)."""
        return None if self.total == 0 else 100.0 * (self.total - self.down) / self.total


@dataclass
class ServiceUptime:
    """One service's runs per UTC day (epoch day → counts) and over the last 24 hours."""

    days: dict[int, Counts]
    last_day: Counts

    def over(self, first_day: int, last_day: int) -> float | None:
        """Uptime in percent over the days [first_day, last_day]."""
        total = Counts()
        for day in range(first_day, last_day + 1):
            counts = self.days.get(day)
            if counts is not None:
                total.add(counts.total, counts.down)
        return total.percent


def _last(connection: Connection, period: str) -> int:
    value = connection.execute(
        select(func.max(check_rollups.c.bucket)).where(check_rollups.c.period == period)
    ).scalar()
    return int(value) if value is not None else -1


def uptimes(
    connection: Connection, services: list[str] | None, now: datetime, days: int
) -> dict[str, ServiceUptime]:
    """Per service: runs per day over the last ``days`` days (today included) and over the
    last 24 hours. ``services`` None: every service."""
    end = now.timestamp()
    today = int(end // DAY)
    first_day = today - days + 1
    hour_now = int(end // HOUR)
    rolled, raw = check_rollups.c, check_results.c
    last_day_bucket, last_hour_bucket = _last(connection, "day"), _last(connection, "hour")
    recent: dict[str, Counts] = defaultdict(Counts)

    def only(column: ColumnElement[str]) -> list[ColumnElement[bool]]:
        return [] if services is None else [column.in_(services)]

    down = case((raw.state == "down", 1), else_=0)
    key = (str(connection.engine.url), first_day, last_day_bucket, tuple(services or ()))
    rolled_days = _ROLLED_DAYS.get(key)
    if rolled_days is None:  # finished days never change: read them once a day
        daily = select(rolled.service, rolled.bucket, func.sum(rolled.total), func.sum(rolled.down))
        rolled_days = defaultdict(dict)
        for service, day, total, failed in connection.execute(
            daily.where(
                and_(rolled.period == "day", rolled.bucket >= first_day, *only(rolled.service))
            ).group_by(rolled.service, rolled.bucket)
        ):
            rolled_days[service][int(day)] = Counts(int(total or 0), int(failed or 0))
        if len(_ROLLED_DAYS) >= 8:
            _ROLLED_DAYS.clear()
        _ROLLED_DAYS[key] = rolled_days
    # copies: the cached counts are shared and never changed
    per_day: dict[str, dict[int, Counts]] = defaultdict(dict)
    per_day.update({service: dict(found) for service, found in rolled_days.items()})

    def add(service: str, day: int, total: int, failed: int) -> None:
        known = per_day[service].get(day)
        per_day[service][day] = (
            Counts(total, failed)
            if known is None
            else Counts(known.total + total, known.down + failed)
        )

    hourly = select(rolled.service, rolled.bucket, func.sum(rolled.total), func.sum(rolled.down))
    for service, hour, total, failed in connection.execute(
        hourly.where(
            and_(
                rolled.period == "hour",
                rolled.bucket >= min((last_day_bucket + 1) * 24, (hour_now - 24)),
                *only(rolled.service),
            )
        ).group_by(rolled.service, rolled.bucket)
    ):
        hour = int(hour)
        if hour // 24 > last_day_bucket and hour // 24 >= first_day:
            add(service, hour // 24, int(total or 0), int(failed or 0))
        if hour > hour_now - 24:
            recent[service].add(int(total or 0), int(failed or 0))
    fresh = select(raw.service, raw.hour, func.count(), func.sum(down))
    for service, hour, total, failed in connection.execute(
        fresh.where(and_(raw.hour > last_hour_bucket, *only(raw.service))).group_by(
            raw.service, raw.hour
        )
    ):
        hour = int(hour)
        if hour // 24 >= first_day:
            add(service, hour // 24, int(total or 0), int(failed or 0))
        if hour > hour_now - 24:
            recent[service].add(int(total or 0), int(failed or 0))
    names = set(per_day) | set(recent)
    return {
        name: ServiceUptime(dict(per_day.get(name, {})), recent.get(name, Counts()))
        for name in names
    }
