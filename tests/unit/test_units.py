"""Durations, sizes, percentages, schedules and times of day as the plan writes them."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from reprise.plan.units import (
    format_duration,
    format_size,
    parse_duration,
    parse_percent,
    parse_schedule,
    parse_size,
    parse_time_of_day,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("4h", timedelta(hours=4)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("1M".lower(), timedelta(minutes=1)),
    ],
)
def test_durations_read_as_the_seed_writes_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "bad", ["30", "thirty seconds", "30 minutes", "1h1h", "", "h", "-5m", "1.5h"]
)
def test_malformed_durations_are_refused_with_a_hint(bad: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        parse_duration(bad)
    assert "hint" in (caught.value.context or {})


def test_a_bare_number_is_refused_because_its_unit_is_ambiguous() -> None:
    with pytest.raises(PydanticCustomError) as caught:
        parse_duration(30)
    assert "30s" in caught.value.context["hint"]  # type: ignore[index]


@given(st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(days=3650)))
def test_formatting_a_duration_reads_back_to_the_same_value(value: timedelta) -> None:
    value = timedelta(milliseconds=round(value.total_seconds() * 1000)) or timedelta(milliseconds=1)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MiB", 512 * 1024**2),
        ("10GiB", 10 * 1024**3),
        ("2GB", 2 * 1000**3),
        ("1.5KiB", 1536),
        (4096, 4096),
        ("100", 100),
        ("7 TiB", 7 * 1024**4),
    ],
)
def test_sizes_accept_binary_and_decimal_units(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["10 GiBs", "ten", "-1", True, "1.2.3MB"])
def test_malformed_sizes_are_refused(bad: object) -> None:
    with pytest.raises(PydanticCustomError):
        parse_size(bad)


def test_sizes_are_shown_in_binary_units() -> None:
    assert format_size(1536) == "1.5KiB"
    assert format_size(10 * 1024**3) == "10.0GiB"
    assert format_size(12) == "12B"


@pytest.mark.parametrize(
    ("value", "expected"), [("99.9%", 99.9), (99.5, 99.5), ("100%", 100.0), ("99,95 %", 99.95)]
)
def test_percentages(value: object, expected: float) -> None:
    assert parse_percent(value) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["120%", "0%", -1, "lots", True])
def test_percentages_outside_zero_to_hundred_are_refused(bad: object) -> None:
    with pytest.raises(PydanticCustomError):
        parse_percent(bad)


@pytest.mark.parametrize(
    "good",
    [
        "@hourly",
        "@DAILY",
        "@weekly",
        "0 * * * *",
        "30 2 * * 1-5",
        "*/15   *  * * *",
        "0 0 29 2 *",  # fires in leap years only
        "* * * * * */10",  # seconds last, for tests and demos
    ],
)
def test_schedules_accept_cron_and_macros(good: str) -> None:
    assert parse_schedule(good)


@pytest.mark.parametrize(
    "bad", ["every hour", "@sometimes", "61 * * * *", "* * * *", "", 5, "* * * * * * *"]
)
def test_invalid_schedules_are_refused_with_the_expected_form(bad: object) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        parse_schedule(bad)
    assert "cron" in caught.value.context["hint"]  # type: ignore[index]


@pytest.mark.parametrize("never", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *"])
def test_schedules_that_never_fire_are_refused(never: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        parse_schedule(never)
    assert "never fires" in str(caught.value)
    assert "30 February" in caught.value.context["hint"]  # type: ignore[index]


def test_times_of_day_survive_yaml_sexagesimal_integers() -> None:
    # YAML 1.1 reads an unquoted 18:30 as the integer 1110 (base 60).
    loaded = yaml.safe_load("end: 18:30")["end"]
    assert loaded == 1110
    assert parse_time_of_day(loaded) == time(18, 30)
    assert parse_time_of_day("08:00") == time(8, 0)


@pytest.mark.parametrize("bad", ["25:00", "8h", "noon", "12:61"])
def test_invalid_times_of_day_are_refused(bad: str) -> None:
    with pytest.raises(PydanticCustomError):
        parse_time_of_day(bad)
