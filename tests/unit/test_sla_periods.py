"""Periods of the SLA figures at their edges: months in the plan's zone across the year and
summer-time changes, spans given as dates or date-times, the current month, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from reprise.errors import InputError
from reprise.sla.periods import month_of, months_before, parse_period, previous_month

PARIS = "Europe/Paris"
NOW = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
DAY = 86_400


def _parse(
    period: str | None = None, start: str | None = None, end: str | None = None
) -> tuple[datetime, datetime, str]:
    chosen = parse_period(period, start=start, end=end, zone=PARIS, now=NOW)
    return chosen.start, chosen.end, chosen.label


def test_october_has_its_extra_hour_and_months_are_half_open() -> None:
    start, end, label = _parse("2026-10")
    assert (start, end) == (
        datetime(2026, 9, 30, 22, tzinfo=UTC),
        datetime(2026, 10, 31, 23, tzinfo=UTC),
    )
    assert (end - start).total_seconds() == 31 * DAY + 3600 and label == "2026-10"
    assert month_of(end, PARIS).label == "2026-11"
    assert month_of(end - timedelta(microseconds=1), PARIS).label == "2026-10"


def test_the_month_is_the_one_of_the_plan_zone_not_utc() -> None:
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Paris
    assert month_of(late, PARIS).label == "2026-12"
    assert month_of(late, "UTC").label == "2026-11"
    december = parse_period(None, start=None, end=None, zone=PARIS, now=late)
    assert december.label == "2026-12" and december.start == datetime(2026, 11, 30, 23, tzinfo=UTC)


def test_the_default_is_the_whole_current_month() -> None:
    start, end, label = _parse()
    assert label == "2026-11"
    assert start == datetime(2026, 10, 31, 23, tzinfo=UTC) and end > NOW


def test_months_cross_the_year_oldest_first() -> None:
    february = parse_period("2026-02", start=None, end=None, zone=PARIS, now=NOW)
    assert [p.label for p in months_before(february, 3, PARIS)] == ["2025-12", "2026-01", "2026-02"]
    assert [p.label for p in months_before(february, 1, PARIS)] == ["2026-02"]
    trend = months_before(february, 12, PARIS)
    assert all(a.end == b.start for a, b in pairwise(trend))
    january = datetime(2026, 1, 15, tzinfo=UTC)
    assert previous_month(january, PARIS).label == "2025-12"


def test_dates_include_the_last_day_and_datetimes_are_taken_as_given() -> None:
    start, end, label = _parse(start="2026-11-25", end="2026-11-25")
    assert (end - start).total_seconds() == DAY and label == "2026-11-25 .. 2026-11-25"
    assert end == datetime(2026, 11, 25, 23, tzinfo=UTC)
    start, end, _ = _parse(start="2026-11-03T08:00+01:00", end="2026-11-03T12:00")
    assert start == datetime(2026, 11, 3, 7, tzinfo=UTC)  # with its offset
    assert end == datetime(2026, 11, 3, 11, tzinfo=UTC)  # naive: the plan's zone


@pytest.mark.parametrize(
    ("start", "end", "fragment"),
    [
        ("2026-11-03T08:00+01:00", "2026-11-03T07:00Z", "is not after"),
        ("2026-11-03T08:00", "2026-11-03T08:00", "is not after"),
        ("2026-11-31", "2026-12-01", "is not a date"),
        ("2026-11-27", "2026-11-28", "has not begun"),
    ],
)
def test_spans_that_are_empty_malformed_or_future_are_refused(
    start: str, end: str, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment) as raised:
        _parse(start=start, end=end)
    assert raised.value.hint
