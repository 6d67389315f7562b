"""Time rules of alerting: the next business day's digest, maintenance windows."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from reprise.plan.model import MaintenanceWindow, Plan

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_digest(plan: Plan, digest_at: time | None, after: datetime) -> datetime:
    """When the digest of a problem seen at ``after`` goes out: ``digest_at`` (default the
    start of business hours) on the next business day (holidays skipped)."""
    hours = plan.organisation.business_hours
    zone = ZoneInfo(plan.organisation.timezone)
    day = after.astimezone(zone).date() + timedelta(days=1)
    for _ in range(400):
        if _DAYS[day.weekday()] in hours.days and day not in hours.holidays:
            break
        day += timedelta(days=1)
    at = digest_at if digest_at is not None else hours.start
    return datetime.combine(day, at, tzinfo=zone)


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def window_active(window: MaintenanceWindow, now: datetime, zone: ZoneInfo) -> bool:
    """Whether the window covers ``now``."""
    if window.start is not None and window.end is not None:
        return _aware(window.start, zone) <= now < _aware(window.end, zone)
    assert window.schedule is not None and window.duration is not None
    from croniter import croniter

    local = now.astimezone(zone)
    opened = croniter(window.schedule, local + timedelta(seconds=1)).get_prev(datetime)
    return bool(opened <= local < opened + window.duration)


def window_spans(
    window: MaintenanceWindow, low: datetime, high: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The times the window is open between ``low`` and ``high`` (for the SLA figures,
    which leave maintenance out of the measured time)."""
    if window.start is not None and window.end is not None:
        start, end = max(_aware(window.start, zone), low), min(_aware(window.end, zone), high)
        return [(start, end)] if start < end else []
    assert window.schedule is not None and window.duration is not None
    from croniter import croniter

    spans: list[tuple[datetime, datetime]] = []
    opens = croniter(window.schedule, (low - window.duration).astimezone(zone))
    while True:
        opened: datetime = opens.get_next(datetime)
        if opened >= high:
            return spans
        start, end = max(opened, low), min(opened + window.duration, high)
        if start < end:
            spans.append((start, end))


def maintenance(plan: Plan, service_id: str, now: datetime) -> MaintenanceWindow | None:
    """The plan's maintenance window covering this service now, if any."""
    zone = ZoneInfo(plan.organisation.timezone)
    for window in plan.alerting.maintenance:
        if (not window.services or service_id in window.services) and window_active(
            window, now, zone
        ):
            return window
    return None
