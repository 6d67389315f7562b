"""Small SVG charts drawn on the server (no script, no inline style: classes and
presentation attributes only, which the page's CSP allows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from reprise.dashboard.cards import DayBar
    from reprise.drill.records import DrillRecord
    from reprise.usecases.dashboard import CheckPoint

WIDTH, HEIGHT, BAND = 600, 80, 8
DAY = 86400.0


def latency_chart(points: Sequence[CheckPoint], now: datetime, label: str = "") -> Markup:
    """Latency over the last 24 hours as a line, with a band below coloured by state."""
    end = now.timestamp()
    start = end - DAY
    top = max((p.latency for p in points if p.latency is not None), default=0.0) or 1.0
    plot = HEIGHT - BAND - 4

    def x(at: float) -> float:
        return round((at - start) / DAY * WIDTH, 1)

    line = " ".join(
        f"{x(p.at)},{round(plot - p.latency / top * (plot - 2), 1)}"
        for p in points
        if p.latency is not None
    )
    band = "".join(
        f'<rect class="st-{escape(p.state)}" x="{x(p.at)}" y="{HEIGHT - BAND}" '
        f'width="{max(2.0, round(WIDTH / max(len(points), 1), 1))}" height="{BAND}"/>'
        for p in points
    )
    return Markup(  # noqa: S704  # numbers and escaped text only
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">'
        f'<text class="axis" x="2" y="10">{top * 1000:.0f} ms</text>'
        f'<polyline class="latency" fill="none" points="{line}"/>{band}</svg>'
    )


def rto_chart(drills: Sequence[DrillRecord], objective: float, label: str = "") -> Markup:
    """The measured RTO of the latest drills (oldest first) against the objective."""
    measured = [d for d in reversed(drills) if d.rto_seconds is not None]
    if not measured:
        return Markup("")
    top = max(max(d.rto_seconds or 0.0 for d in measured), objective) * 1.1
    slot = WIDTH / len(measured)
    bars = []
    for i, d in enumerate(measured):
        seconds = d.rto_seconds or 0.0
        tall = round(seconds / top * HEIGHT, 1)
        good = "ok" if d.result == "passed" and seconds <= objective else "bad"
        bars.append(
            f'<rect class="{good}" x="{round(i * slot + 2, 1)}" y="{round(HEIGHT - tall, 1)}" '
            f'width="{round(max(slot - 4, 1), 1)}" height="{tall}">'
            f"<title>{escape(d.started_at.isoformat())}: {seconds:.0f} s</title></rect>"
        )
    y = round(HEIGHT - objective / top * HEIGHT, 1)
    return Markup(  # noqa: S704  # numbers and escaped text only
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">{"".join(bars)}'
        f'<line class="objective" x1="0" x2="{WIDTH}" y1="{y}" y2="{y}"/></svg>'
    )


def day_bars(
    bars: Sequence[DayBar],
    label: str,
    title: str,
    none: str,
    language: str,
    *,
    every_title: bool = True,
) -> Markup:
    """The 90-day bar: one span a day, its colour by the share of passing runs, its title
    the date and that share (``every_title`` False: only on days that were not all up, as
    the overview does, whose 500 services would otherwise weigh megabytes of titles).
    Built here, not in the template: 45,000 spans through Jinja calls would be the page's
    main cost."""
    from reprise.words.format import percent

    shares: dict[float | None, str] = {None: none}
    cells = []
    for bar in bars:
        level = bar.level
        if level == "up" and not every_title:
            cells.append('<span class="bar day-up"></span>')
            continue
        value = bar.percent
        if value not in shares:
            shares[value] = percent(value, language, 2)  # type: ignore[arg-type]
        text = title.format(day=bar.day.isoformat(), value=shares[value])
        cells.append(f'<span class="bar day-{level}" title="{escape(text)}"></span>')
    return Markup(  # noqa: S704  # escaped text and fixed markup only
        f'<span class="bars" role="img" aria-label="{escape(label)}">{"".join(cells)}</span>'
    )
