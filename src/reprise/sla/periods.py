"""Periods of the SLA figures: calendar months in the plan's time zone (``2026-11``), or
any span given by dates (``--from 2026-11-03 --to 2026-11-10``, the last day included)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from reprise.errors import InputError, option
from reprise.sla.model import Period

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month_start(year: int, month: int, zone: ZoneInfo) -> datetime:
    return datetime(year, month, 1, tzinfo=zone)


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _month(year: int, month: int, zone: ZoneInfo) -> Period:
    following = _month_start(*_next(year, month), zone)
    return Period(
        _month_start(year, month, zone).astimezone(UTC),
        following.astimezone(UTC),
        f"{year:04d}-{month:02d}",
    )


def month_of(moment: datetime, zone: str) -> Period:
    """The calendar month (in ``zone``) holding ``moment``."""
    local = moment.astimezone(ZoneInfo(zone))
    return _month(local.year, local.month, ZoneInfo(zone))


def previous_month(now: datetime, zone: str) -> Period:
    """The last complete month before ``now`` (what the monthly report covers)."""
    return month_of(month_of(now, zone).start - timedelta(seconds=1), zone)


def months_before(period: Period, count: int, zone: str) -> list[Period]:
    """The ``count`` calendar months ending with the one ``period`` starts in, oldest
    first (the trend)."""
    months = [month_of(period.start, zone)]
    while len(months) < count:
        months.insert(0, month_of(months[0].start - timedelta(seconds=1), zone))
    return months


def _moment(text: str, zone: ZoneInfo, what: str, *, end: bool) -> datetime:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            moment = datetime(day.year, day.month, day.day, tzinfo=zone)
        else:
            moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise InputError(
            f"{what} {text!r} is not a date",
            hint="write a date (2026-11-03) or a date and time (2026-11-03T08:00+01:00)",
        ) from None
    if not 1971 <= moment.year <= 9998:  # the trend looks a year back; UTC must not overflow
        raise InputError(
            f"{what} {text!r} is out of range", hint="pick a date between 1971 and 9998"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def parse_period(
    period: str | None, *, start: str | None, end: str | None, zone: str, now: datetime
) -> Period:
    """The period a user asked for: a month (``2026-11``), ``start``/``end`` dates (the end
    day included), or by default the current month; refused when it is malformed, empty or
    starts after ``now``."""
    tz = ZoneInfo(zone)
    if period is not None and (start is not None or end is not None):
        raise InputError(
            f"{option('period')} and {option('from')}/{option('to')} both given",
            hint="give a month, or a start and an end",
        )
    if period is not None:
        match = _MONTH.match(period.strip())
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise InputError(
                f"period {period!r} is not a month", hint="write the month as YYYY-MM: 2026-11"
            )
        if not 1971 <= int(match.group(1)) <= 9998:  # the trend looks a year back
            raise InputError(
                f"period {period!r} is out of range",
                hint="pick a month between 1971-01 and 9998-12",
            )
        chosen = _month(int(match.group(1)), int(match.group(2)), tz)
    elif start is not None or end is not None:
        if start is None or end is None:
            raise InputError(
                f"{option('from')} and {option('to')} go together", hint="give both dates"
            )
        first = _moment(start, tz, option("from"), end=False).astimezone(UTC)
        last = _moment(end, tz, option("to"), end=True).astimezone(UTC)
        if last <= first:
            raise InputError(
                f"{option('to')} {end} is not after {option('from')} {start}",
                hint="give an end after the start",
            )
        chosen = Period(first, last, f"{start} .. {end}")
    else:
        chosen = month_of(now, zone)
    if chosen.start >= now:
        raise InputError(
            f"period {chosen.label} has not begun", hint="choose a period that has started"
        )
    return chosen
