"""The restore report as people read it."""

from __future__ import annotations

from datetime import UTC, datetime

from reprise.restore.report import Report, render_markdown


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
