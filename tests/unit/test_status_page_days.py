"""The status page's day bars: state changes clipped to the days of the plan's time zone,
days without data, summer time, the banner and what a day says on hover."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from reprise.statuspage.days import day_bars, last_days
from reprise.statuspage.model import DayBar, PublicService, PublicStatus
from reprise.statuspage.render import day_title
from reprise.words import words

PARIS = ZoneInfo("Europe/Paris")
NNBSP = "\u202f"


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def test_a_change_mid_day_splits_that_day_and_the_state_carries_over() -> None:
    now = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    days = last_days(now, 3, PARIS)
    assert [day for day, _s, _e in days] == [
        date(2026, 11, 18),
        date(2026, 11, 19),
        date(2026, 11, 20),
    ]
    changes = [(_at(2026, 11, 19, 11), "down"), (_at(2026, 11, 19, 17), "up")]
    before, during, today = day_bars(days, "up", changes, now.timestamp())
    assert (before.state, before.up, before.down) == ("up", 86400, 0)
    assert (during.state, during.down, during.up) == ("down", 6 * 3600, 18 * 3600)
    assert during.down_share == pytest.approx(0.25)
    # Today counts up to now only: 00:00 to 12:00 Paris time.
    assert (today.state, today.up, today.down_share) == ("up", 12 * 3600, 0)


def test_a_day_with_no_data_is_no_data_and_a_first_state_mid_day_counts_from_then() -> None:
    now = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # midnight in Paris: the 21st begins
    days = last_days(now, 4, PARIS)
    assert days[-1][0] == date(2026, 11, 21)
    changes = [(_at(2026, 11, 19, 23), "up")]  # 00:00 on the 20th, Paris time
    bars = day_bars(days, None, changes, now.timestamp())
    assert [bar.state for bar in bars] == ["no_data", "no_data", "up", "no_data"]
    assert bars[0].down_share is None and bars[0].observed == 0
    assert bars[2].up == 86400
    # Unknown (the monitor just started) counts as no data, not as up.
    later = day_bars(days, "unknown", [(_at(2026, 11, 20, 11), "down")], now.timestamp())
    assert later[2].observed == 12 * 3600 and later[2].down_share == 1
    assert [bar.state for bar in later[:2]] == ["no_data", "no_data"]


def test_days_follow_the_plan_time_zone_across_midnight_and_summer_time() -> None:
    # 23:30 UTC on the 28th of March is 00:30 on the 29th in Paris, a day of 23 hours.
    now = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    days = last_days(now, 3, PARIS)
    lengths = {day: end - start for day, start, end in days}
    assert lengths[date(2026, 3, 29)] == 23 * 3600
    assert lengths[date(2026, 3, 28)] == 24 * 3600
    changes = [(_at(2026, 3, 28, 23, 30), "down"), (_at(2026, 3, 29, 0, 30), "up")]
    saturday, sunday, _monday = day_bars(days, "up", changes, now.timestamp())
    assert saturday.down == 0 and saturday.state == "up"
    assert sunday.down == 3600 and sunday.observed == 23 * 3600
    # The same moments in UTC days would have split the hour across two days.
    utc_days = last_days(now, 3, UTC)
    utc_saturday = day_bars(utc_days, "up", changes, now.timestamp())[0]
    assert utc_saturday.down == 1800


def test_maintenance_is_neither_up_nor_down_and_degraded_counts_as_the_plan_says() -> None:
    now = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    days = last_days(now, 2, PARIS)[:1]  # the 20th, whole
    changes = [(_at(2026, 11, 20, 5), "maintenance"), (_at(2026, 11, 20, 11), "degraded")]
    (bar,) = day_bars(days, "up", changes, now.timestamp())
    assert (bar.up, bar.maintenance, bar.degraded) == (6 * 3600, 6 * 3600, 12 * 3600)
    assert bar.state == "degraded" and bar.down_share == 0
    (strict,) = day_bars(days, "up", changes, now.timestamp(), degraded_counts_as_down=True)
    assert strict.down_share == pytest.approx(12 / 18)


def _page(*states: str) -> PublicStatus:
    services = [PublicService(f"s{i}", None, state, []) for i, state in enumerate(states)]
    now = datetime(2026, 11, 20, tzinfo=UTC)
    return PublicStatus("t", "fr", "Europe/Paris", now, 90, services, [])


def test_the_banner_says_how_bad_it_is() -> None:
    assert _page("up", "up").overall == "operational"
    assert _page("up", "down").overall == "partial"
    assert _page("degraded", "up").overall == "partial"
    assert _page("down", "down").overall == "major"
    assert _page("maintenance", "up").overall == "maintenance"
    assert _page("unknown", "up").overall == "unknown"


def test_a_day_says_its_date_and_share_down_in_the_page_language() -> None:
    fr, en = words("fr", "status_page"), words("en", "status_page")
    bar = DayBar(date(2026, 11, 20), up=86399.0, down=1.0)
    assert day_title(bar, fr, "fr") == f"20/11/2026{NNBSP}: indisponible 0,01{NNBSP}% du temps"
    assert day_title(bar, en, "en") == "2026-11-20: unavailable 0.01 % of the time"
    assert day_title(DayBar(date(2026, 11, 20), up=10.0), en, "en") == "2026-11-20: no downtime"
    assert day_title(DayBar(date(2026, 11, 20)), fr, "fr") == f"20/11/2026{NNBSP}: pas de données"
    maintenance = DayBar(date(2026, 11, 20), maintenance=5.0)
    assert day_title(maintenance, en, "en") == "2026-11-20: maintenance"
