"""The SLA figures on hand-made inputs, to the second: spans, availability (maintenance,
no data, degraded, outages across the period's edges), RPO gaps, RTO and verdicts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reprise.errors import InputError
from reprise.sla.figures import (
    DrillRun,
    StateChange,
    availability,
    judge,
    rpo_figures,
    rto_figures,
)
from reprise.sla.model import Recovery
from reprise.sla.periods import months_before, parse_period, previous_month
from reprise.sla.timeline import intersect, length, normalise, subtract

DAY = 86400.0
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_spans_merge_intersect_and_subtract() -> None:
    assert normalise([(5, 7), (0, 2), (2, 3), (6, 9), (4, 4)]) == [(0, 3), (5, 9)]
    assert intersect([(0, 10)], [(2, 3), (5, 12)]) == [(2, 3), (5, 10)]
    assert subtract([(0, 10), (20, 30)], [(2, 3), (8, 22)]) == [(0, 2), (3, 8), (22, 30)]
    assert length([(0, 2.5), (3, 4)]) == 3.5


def test_down_time_is_counted_to_the_second_and_outages_are_clipped_to_the_period() -> None:
    figures = availability(
        0,
        DAY,
        initial="down",  # down since before the period: counted from its start
        changes=[
            StateChange(-50, "down"),
            StateChange(100, "up"),
            StateChange(1000, "down"),
            StateChange(1090.5, "up"),
            StateChange(DAY - 60, "down"),  # still down at the end
        ],
        coverage=[(0, DAY)],
        maintenance=[],
    )
    assert [o.seconds for o in figures.outages] == [100, 90.5, 60]
    assert figures.outages[-1].ongoing and not figures.outages[0].ongoing
    assert figures.down_seconds == 250.5
    assert figures.measured_seconds == DAY
    assert figures.uptime_percent == pytest.approx(100 * (DAY - 250.5) / DAY)
    assert figures.mttr_seconds == pytest.approx((100 + 90.5) / 2)  # ended outages only
    assert figures.mtbf_seconds == pytest.approx((DAY - 250.5) / 3)


def test_maintenance_and_no_data_are_taken_out_and_shown_apart() -> None:
    figures = availability(
        0,
        10_000,
        initial="up",
        changes=[StateChange(1000, "down"), StateChange(3000, "up")],
        coverage=[(0, 2500), (2600, 10_000)],  # 100 s without results, during the outage
        maintenance=[(2000, 2200), (9000, 9500)],
    )
    assert figures.maintenance_seconds == 700
    assert figures.no_data_seconds == 100
    assert figures.measured_seconds == 10_000 - 700 - 100
    # 1000 → 3000 down, less 200 s of maintenance and 100 s without data.
    assert figures.down_seconds == 1700
    assert len(figures.outages) == 1


def test_an_outage_inside_maintenance_is_no_outage() -> None:
    figures = availability(
        0,
        1000,
        initial="up",
        changes=[StateChange(100, "down"), StateChange(200, "up")],
        coverage=[(0, 1000)],
        maintenance=[(50, 300)],
    )
    assert figures.outages == [] and figures.down_seconds == 0
    assert figures.uptime_percent == 100 and figures.mtbf_seconds is None


def test_degraded_counts_as_the_plan_says() -> None:
    changes = [StateChange(100, "degraded"), StateChange(400, "up")]
    up = availability(0, 1000, initial="up", changes=changes, coverage=[(0, 1000)], maintenance=[])
    down = availability(
        0,
        1000,
        initial="up",
        changes=changes,
        coverage=[(0, 1000)],
        maintenance=[],
        degraded_as="down",
    )
    assert up.uptime_percent == 100 and up.degraded_seconds == 300
    assert down.uptime_percent == 70 and down.outages[0].state == "degraded"


def test_unknown_state_and_no_results_are_no_data_never_up() -> None:
    figures = availability(
        0, 1000, initial="unknown", changes=[StateChange(400, "up")], coverage=[], maintenance=[]
    )
    assert figures.no_data_seconds == 1000 and figures.uptime_percent is None
    assert judge("uptime", figures.uptime_percent, 99.9).verdict == "no_data"


@given(
    st.lists(
        st.tuples(st.floats(0, 1000), st.sampled_from(["up", "down", "degraded", "unknown"])),
        max_size=12,
    ),
    st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)), max_size=5),
    st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)), max_size=3),
)
def test_the_period_always_adds_up(
    changes: list[tuple[float, str]],
    coverage: list[tuple[float, float]],
    maintenance: list[tuple[float, float]],
) -> None:
    figures = availability(
        0,
        1000,
        initial="up",
        changes=[StateChange(at, state) for at, state in changes],
        coverage=coverage,
        maintenance=maintenance,
    )
    total = figures.measured_seconds + figures.maintenance_seconds + figures.no_data_seconds
    assert total == pytest.approx(1000)
    assert 0 <= figures.down_seconds <= figures.measured_seconds + 1e-6


def test_the_worst_restore_gap_counts_from_the_point_before_the_period() -> None:
    hourly = [h * 3600.0 for h in range(-1, 24) if h not in (10, 11)]
    figures = rpo_figures(0, DAY, points=hourly, now=DAY + 1800)
    assert figures.worst_gap is not None
    assert figures.worst_gap.seconds == 3 * 3600
    assert figures.worst_gap.start == datetime.fromtimestamp(9 * 3600, UTC)
    assert figures.restore_points == 22
    assert figures.current_seconds == 3600 + 1800  # newest at 23:00, now 00:30 the next day
    late = rpo_figures(0, DAY, points=[-7200.0])  # nothing since two hours before
    assert late.worst_gap is not None and late.worst_gap.seconds == DAY + 7200


def test_without_a_point_before_the_gap_counts_from_when_reprise_watched() -> None:
    figures = rpo_figures(0, DAY, points=[50_000.0], watched_from=20_000.0)
    assert figures.worst_gap is not None and figures.worst_gap.seconds == DAY - 50_000
    assert rpo_figures(0, DAY, points=[]).worst_gap is None


def test_continuous_wal_is_a_restore_point_at_every_instant() -> None:
    figures = rpo_figures(0, DAY, points=[0.0], continuous=[(3600.0, DAY - 7200)])
    assert figures.continuous
    assert figures.worst_gap is not None and figures.worst_gap.seconds == 7200


def test_rto_takes_drills_and_real_recoveries() -> None:
    figures = rto_figures(
        [DrillRun(2, 2100.0, True), DrillRun(1, 1200.0, True), DrillRun(3, None, False)],
        [Recovery(1, 2340.0, True)],
    )
    assert (figures.drills, figures.drills_failed) == (3, 1)
    assert (figures.last_seconds, figures.median_seconds, figures.worst_seconds) == (
        2100.0,
        1650.0,
        2100.0,
    )
    assert figures.worst_measured == 2340.0
    line = judge("rto", figures.worst_measured, 1800.0)
    assert line.verdict == "breached" and line.margin == -540.0
    assert judge("uptime", 99.95, 99.9).margin == pytest.approx(0.05)


def test_periods_are_months_of_the_plan_time_zone() -> None:
    month = parse_period("2026-11", start=None, end=None, zone="Europe/Paris", now=NOW)
    assert month.start == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert month.seconds == 30 * DAY and month.label == "2026-11"
    march = parse_period("2026-03", start=None, end=None, zone="Europe/Paris", now=NOW)
    assert march.seconds == 31 * DAY - 3600  # the clocks go forward
    span = parse_period(None, start="2026-11-03", end="2026-11-10", zone="Europe/Paris", now=NOW)
    assert span.seconds == 8 * DAY
    assert previous_month(NOW, "Europe/Paris").label == "2026-10"
    labels = [p.label for p in months_before(month, 12, "Europe/Paris")]
    assert labels[0] == "2025-12" and labels[-1] == "2026-11" and len(labels) == 12


@pytest.mark.parametrize(
    ("period", "start", "end", "fragment"),
    [
        ("2026-13", None, None, "is not a month"),
        ("novembre", None, None, "is not a month"),
        ("2026-11", "2026-11-01", None, "both given"),
        (None, "2026-11-01", None, "go together"),
        (None, "2026-11-10", "2026-11-01", "is not after"),
        (None, "hier", "2026-11-01", "is not a date"),
        ("2027-01", None, None, "has not begun"),
    ],
)
def test_bad_periods_are_refused_with_the_fix(
    period: str | None, start: str | None, end: str | None, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment) as raised:
        parse_period(period, start=start, end=end, zone="Europe/Paris", now=NOW)
    assert raised.value.hint
