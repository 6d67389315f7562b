"""Retention rules (restic semantics), by example and by property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reprise.backup.retention import apply_retention
from reprise.plan.sources import Retention

PARIS = ZoneInfo("Europe/Paris")


def _hourly(count: int, start: datetime | None = None) -> list[tuple[str, datetime]]:
    start = start or datetime(2026, 11, 1, tzinfo=UTC)
    return [(f"b{i:04d}", start + timedelta(hours=i)) for i in range(count)]


def test_keep_last_keeps_the_newest() -> None:
    kept = apply_retention(_hourly(10), Retention(keep_last=3), PARIS)
    assert sorted(kept) == ["b0007", "b0008", "b0009"]


def test_keep_daily_keeps_the_newest_of_each_local_day() -> None:
    backups = _hourly(72)  # three days, hourly
    kept = apply_retention(backups, Retention(keep_daily=2), PARIS)
    assert len(kept) == 2
    newest = max(time for _id, time in backups)
    days = {dict(backups)[backup_id].astimezone(PARIS).date() for backup_id in kept}
    assert newest.astimezone(PARIS).date() in days
    # The day boundary is Paris midnight, not UTC midnight: 22:59 UTC is 23:59 in Paris.
    for backup_id in kept:
        local = dict(backups)[backup_id].astimezone(PARIS)
        assert local.hour == 23 or dict(backups)[backup_id] == newest


def test_keep_within_counts_back_from_the_newest_backup_not_from_now() -> None:
    old = _hourly(10, datetime(2020, 1, 1, tzinfo=UTC))
    kept = apply_retention(old, Retention(keep_within=timedelta(hours=3)), PARIS)
    assert sorted(kept) == ["b0006", "b0007", "b0008", "b0009"]


def test_rules_combine_and_reasons_are_given() -> None:
    kept = apply_retention(_hourly(48), Retention(keep_last=1, keep_daily=3), PARIS)
    assert kept["b0047"] == ["last 1", "daily 1/3"]
    assert all(reasons for reasons in kept.values())


def test_weekly_and_monthly_buckets() -> None:
    daily = [
        (f"d{i:03d}", datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=i)) for i in range(120)
    ]
    weekly = apply_retention(daily, Retention(keep_weekly=4), PARIS)
    assert len(weekly) == 4
    monthly = apply_retention(daily, Retention(keep_monthly=12), PARIS)
    assert len(monthly) == 4  # January to April 2026 have backups
    assert "d119" in monthly


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(
        st.integers(min_value=0, max_value=60 * 24 * 400), min_size=0, max_size=60, unique=True
    ),
    last=st.none() | st.integers(1, 10),
    hourly=st.none() | st.integers(1, 10),
    daily=st.none() | st.integers(1, 10),
    weekly=st.none() | st.integers(1, 6),
    monthly=st.none() | st.integers(1, 12),
)
def test_retention_properties(
    offsets: list[int],
    last: int | None,
    hourly: int | None,
    daily: int | None,
    weekly: int | None,
    monthly: int | None,
) -> None:
    if not any((last, hourly, daily, weekly, monthly)):
        last = 1
    rules = Retention(
        keep_last=last,
        keep_hourly=hourly,
        keep_daily=daily,
        keep_weekly=weekly,
        keep_monthly=monthly,
    )
    start = datetime(2025, 3, 1, tzinfo=UTC)
    backups = [(f"b{offset:07d}", start + timedelta(minutes=offset)) for offset in offsets]
    kept = apply_retention(backups, rules, PARIS)
    ids = {backup_id for backup_id, _time in backups}
    assert set(kept) <= ids
    if backups:
        newest = max(backups, key=lambda item: item[1])[0]
        assert newest in kept, "every rule keeps the newest backup"
    counts = [count for count in (last, hourly, daily, weekly, monthly) if count]
    assert len(kept) <= sum(counts)
    if last:
        newest_first = sorted(backups, key=lambda item: item[1], reverse=True)
        assert {backup_id for backup_id, _t in newest_first[:last]} <= set(kept)
