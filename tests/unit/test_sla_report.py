"""The SLA report's wording and chart on hand-built figures (margins, grammar, the chart's
text and French decimal comma, the same bytes twice), and the synthetic month's HTML report
without its chart against reviewed files (``REPRISE_UPDATE_EXPECTED=1`` rewrites them)."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reprise.cli.main import main
from reprise.errors import InputError
from reprise.sla.model import (
    Availability,
    MonthTrend,
    Objective,
    Period,
    PlanSla,
    RpoFigures,
    RtoFigures,
    ServiceSla,
    Verdict,
)
from reprise.sla.report import render_sla

EXPECTED = Path(__file__).parent.parent / "data" / "sla"
START, END = datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 30, 23, tzinfo=UTC)


def _figures(*, uptime: float, drills: int = 0) -> PlanSla:
    """One service at ``uptime`` % against 99.5 % (RTO 4 h), no backups, ``drills`` drills
    of 20 min."""
    period = Period(START, END, "2026-11")
    measured = period.seconds
    down = measured * (100 - uptime) / 100
    availability = Availability(measured, 0, 0, measured, down, 0, uptime)
    rto = RtoFigures(drills, 0, *(3 * ((1200.0,) if drills else (None,))))
    verdict: Verdict = "ok" if uptime >= 99.5 else "breached"
    uptime_line = Objective("uptime", 99.5, uptime, verdict, uptime - 99.5)
    rto_line = (
        Objective("rto", 14400, 1200, "ok", 13200)
        if drills
        else Objective("rto", 14400, None, "no_data", None)
    )
    lines = [uptime_line, rto_line]
    service = ServiceSla(
        "web", "Site web", "P2", availability, RpoFigures(0, None, None), rto, lines
    )
    trend = [MonthTrend(f"2026-{m:02d}", 99.95 - m / 100, None, None, "ok") for m in (9, 10)]
    trend.append(MonthTrend("2026-11", uptime, None, None, uptime_line.verdict))
    return PlanSla(period, END, "up", [service], lines, [], trend)


def _render(figures: PlanSla, fmt: str = "md", language: str = "fr", chart: bool = True) -> str:
    return render_sla(
        figures, fmt=fmt, language=language, zone="Europe/Paris", organisation="AKIG", chart=chart
    )


@pytest.mark.parametrize(
    ("uptime", "language", "margin"),
    [
        (99.449, "fr", "dépassé de 0,051 point"),
        (97.0, "fr", "dépassé de 2,500 points"),
        (99.9, "fr", "0,400 point de marge"),
        (99.449, "en", "over by 0.051 points"),
        (100.0, "en", "0.500 points to spare"),
    ],
)
def test_the_uptime_margin_reads_like_the_rpo_and_rto_ones(
    uptime: float, language: str, margin: str
) -> None:
    markdown = _render(_figures(uptime=uptime), language=language)
    assert f"| {margin} |" in markdown
    assert "point(s)" not in markdown and "| -" not in markdown


def test_french_words_agree_with_what_they_count() -> None:
    markdown = _render(_figures(uptime=99.9))
    assert "| Exercices de restauration (dernier / médian / pire) |" in markdown
    assert "| aucun |" in markdown  # no drill: masculine, unlike "aucune" reprise
    assert "| Objectif RPO |" in markdown and "| Objectif RTO |" in markdown
    drilled = _render(_figures(uptime=99.9, drills=2))
    assert "| 20 min / 20 min / 20 min |" in drilled


def test_the_chart_is_text_in_the_plans_language_and_the_same_bytes_twice() -> None:
    figures = _figures(uptime=99.449)
    french = _render(figures, "html")
    assert french == _render(figures, "html")
    svg = french[french.index("<svg") : french.index("</svg>")]
    assert "Disponibilité du plan par mois" in svg and "objectif 99,5\u202f%" in svg
    assert re.search(r"99,\d\d\u202f%", svg)  # axis ticks with the decimal comma
    assert "11/2026" in svg
    english = _render(figures, "html", "en")
    assert "Plan uptime per month" in english and "objective 99.5 %" in english
    assert re.findall(r'(?:src|href)="(?!#)', french) == []


def test_a_bad_format_or_language_names_the_fix() -> None:
    with pytest.raises(InputError, match="pdf"):
        _render(_figures(uptime=99.9), "pdf")
    with pytest.raises(InputError, match="de"):
        _render(_figures(uptime=99.9), "md", "de")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_months_html_matches_the_reviewed_files(language: str, tmp_path: Path) -> None:
    from devsupport import sla_month
    from reprise.plan.loader import load_plan
    from reprise.sla.gather import compute_sla
    from reprise.sla.periods import parse_period
    from reprise.usecases.state import open_state

    folder = tmp_path / "plan"
    assert main(["init", str(folder), "--example", "minimal"]) == 0
    loaded = load_plan(sla_month.write_plan(folder, language=language))
    with open_state(loaded) as store:
        sla_month.write_month(store)
        period = parse_period(
            "2026-11", start=None, end=None, zone="Europe/Paris", now=sla_month.NOW
        )
        figures = compute_sla(loaded.plan, store, period, sla_month.NOW)
    html = _render(figures, "html", language, chart=False)
    expected = EXPECTED / f"report-{language}.html"
    if os.environ.get("REPRISE_UPDATE_EXPECTED"):
        expected.write_text(html, encoding="utf-8")
    assert html == expected.read_text(encoding="utf-8")


def test_a_month_in_progress_says_so_once() -> None:
    figures = _figures(uptime=99.9)
    running = replace(figures, generated_at=datetime(2026, 11, 26, 23, tzinfo=UTC))
    markdown = _render(running)
    # every time labelled with the plan's zone, which the header names as well
    until = "novembre 2026 (mois en cours, mesuré jusqu'au 27/11/2026 00:00:00 CET)"
    assert f"| Période | {until} |" in markdown
    assert "| Heures exprimées dans le fuseau | Europe/Paris |" in markdown
    assert "(mois en cours))" not in markdown
