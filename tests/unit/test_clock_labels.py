"""Times shown to people: one spelling (``words.format.stamp``) in the plan's zone and
language, labelled with the zone; JSON in UTC; bars that tell the total and the time left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from reprise.cli import output, progress
from reprise.words.format import stamp

PARIS = "Europe/Paris"


def test_a_utc_time_is_shown_in_paris_in_french_and_in_english() -> None:
    moment = datetime(2026, 11, 26, 11, 34, 56, tzinfo=UTC)
    assert stamp(moment, "fr", PARIS) == "26/11/2026 12:34 CET"
    assert stamp(moment, "en", PARIS) == "2026-11-26 12:34 CET"
    assert stamp(moment, "en", PARIS, seconds=True) == "2026-11-26 12:34:56 CET"
    assert stamp(moment, "fr", ZoneInfo(PARIS), seconds=True) == "26/11/2026 12:34:56 CET"


def test_summer_time_is_labelled_cest_and_shifted_by_two_hours() -> None:
    assert stamp(datetime(2026, 7, 1, 10, 0, tzinfo=UTC), "fr", PARIS) == "01/07/2026 12:00 CEST"
    # the night the clocks go back: the same wall time twice, told apart by the label
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = first + timedelta(hours=1)
    assert stamp(first, "en", PARIS) == "2026-10-25 02:30 CEST"
    assert stamp(second, "en", PARIS) == "2026-10-25 02:30 CET"


def test_an_aware_time_of_another_offset_is_converted_not_relabelled() -> None:
    new_york = datetime(2026, 11, 26, 6, 34, tzinfo=timezone(timedelta(hours=-5)))
    assert stamp(new_york, "en", PARIS) == "2026-11-26 12:34 CET"
    assert stamp(new_york, "en", "UTC") == "2026-11-26 11:34 UTC"


def test_a_naive_time_is_refused_rather_than_read_as_local_time() -> None:
    with pytest.raises(ValueError, match="without a time zone"):
        stamp(datetime(2026, 11, 26, 11, 34), "en", PARIS)


def test_the_cli_clock_follows_the_plan_and_falls_back_to_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moment = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    try:
        output.use_clock(PARIS, "fr")
        assert output.shown(moment) == "15/01/2026 09:00 CET"
        assert output.shown(None) == "—"
        assert output.local_time("UTC", moment) == "15/01/2026 08:00:00 UTC"
        monkeypatch.setenv("TZ", "America/New_York")
        output.reset()  # no plan: the machine's zone, labelled, in English
        assert output.shown(moment, seconds=True) == "2026-01-15 03:00:00 EST"
    finally:
        output.reset()


def test_json_times_are_utc_with_an_explicit_offset(capsys: pytest.CaptureFixture[str]) -> None:
    paris = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo(PARIS))
    output.print_json({"at": paris, "naive": datetime(2026, 7, 1, 10, 0)})
    text = capsys.readouterr().out
    assert '"at": "2026-07-01T10:00:00+00:00"' in text
    assert '"naive": "2026-07-01T10:00:00+00:00"' in text  # the store's naive times are UTC


def test_verbosity_levels_and_the_log_level_they_imply() -> None:
    assert output.Verbosity(-1).quiet and output.Verbosity(-1).log_level == "error"
    assert output.Verbosity(0).log_level is None
    assert output.Verbosity(1).verbose and output.Verbosity(1).log_level == "info"
    assert output.Verbosity(2).log_level == "debug"


def test_an_estimated_size_shows_a_tilde_total_and_the_time_left() -> None:
    mb = 1_000_000
    assert progress.amount(12_300_000, 787 * mb, estimated=True) == "12.3 MB / ~787.0 MB"
    assert progress.amount(4_200_000, 4_200_000, estimated=False) == "4.2/4.2 MB"
    assert progress.amount(12_300_000, None, estimated=False) == "12.3 MB"
    assert progress.remaining(100 * mb, 787 * mb, speed=25 * mb) == pytest.approx(27.48)
    assert progress.remaining(100 * mb, None, speed=25 * mb) is None  # no total
    assert progress.remaining(100 * mb, 787 * mb, speed=None) is None  # no speed yet


def test_a_dump_past_its_estimate_is_never_shown_above_100_percent() -> None:
    assert progress.outgrown(800, 787, estimated=True)
    assert not progress.outgrown(787, 787, estimated=True)
    assert not progress.outgrown(800, 787, estimated=False)  # a known total is exact
    assert progress.remaining(800, 787, speed=10.0) is None


def test_the_bar_of_an_estimated_dump_renders_its_total_then_goes_on_unknown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    with (
        progress.byte_bars(True) as bars,
        bars("20261121T101500Z-a1b2c3", "db-akig.pgdump", 4_000_000) as advance,
    ):
        advance(1_000_000)
        advance(4_000_000)  # past the estimate: goes on, without a total
    err = capsys.readouterr().err
    assert "db-akig.pgdump" in err and "5.0/5.0 MB" in err
    assert "%" not in err
