"""The restore report as people read it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from reprise.reports.restore import render_restore
from reprise.restore.report import Report, render_markdown, view_of


def test_a_figure_nobody_could_measure_shows_as_a_dash_never_as_none() -> None:
    report = Report(
        "pitr",
        "akig-db",
        "akig-db-physical",
        "local",
        "20260504T120000Z-ab12",
        datetime(2026, 5, 4, 12, tzinfo=UTC),
        "/srv/pg-1403",
    )
    report.figures.update({"reached_time": None, "reached_lsn": "0/3000148", "target": "latest"})
    report.finish("ok")
    for language, colon in (("en", ":"), ("fr", "\u202f:")):
        text = render_markdown(report, language)
        assert f"- reached_time{colon} —" in text
        assert "None" not in text
        assert f"- reached_lsn{colon} 0/3000148" in text


def test_the_reports_times_are_in_the_plans_zone_and_labelled() -> None:
    report = Report(
        "restore",
        "akig-db",
        "akig-db-dump",
        "local",
        "20260115T070000Z-ab12",
        datetime(2026, 1, 15, 7, tzinfo=UTC),  # winter: CET
        "akig",
        started_at=datetime(2026, 7, 1, 10, tzinfo=UTC),  # summer: CEST
    )
    report.finish("ok")
    french = render_restore(view_of(report), "fr", "Europe/Paris")
    assert "(local, 15/01/2026 08:00:00 CET\u202f;" in french
    assert "- Début\u202f: 01/07/2026 12:00:00 CEST" in french
    english = render_restore(view_of(report), "en", ZoneInfo("Europe/Paris"))
    assert "(local, 2026-01-15 08:00:00 CET;" in english and "12:00:00 CEST" in english
    assert " UTC" not in french + english
    # without a plan (the default), UTC, labelled all the same
    assert "(local, 2026-01-15 07:00:00 UTC;" in render_restore(view_of(report))
