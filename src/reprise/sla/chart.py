"""The trend chart of the SLA report: the plan's uptime month by month against its
objective, drawn by matplotlib as an inline SVG (text kept as text, no network, the same
bytes for the same figures)."""

from __future__ import annotations

import io

from reprise.sla.model import PlanSla
from reprise.words import say
from reprise.words.format import percent


def trend_svg(sla: PlanSla, language: str) -> str:
    """An ``<svg>`` element of the trend (months without figures left empty)."""
    import matplotlib

    matplotlib.use("svg", force=True)
    from matplotlib import pyplot
    from matplotlib.ticker import FuncFormatter

    months = sla.trend
    objective = next((o.objective for o in sla.objectives if o.name == "uptime"), None)
    values = [m.uptime_percent for m in months]
    known = [v for v in values if v is not None]
    floor = min([*known, objective or 100.0]) if known else (objective or 99.0)
    bottom = max(0.0, floor - max(0.05, (100.0 - floor) * 0.5))
    labels = [_month_label(m.label, language) for m in months]
    colours = [
        "#1b6b2f" if m.verdict == "ok" else "#b3261e" if m.verdict == "breached" else "#9aa4ad"
        for m in months
    ]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "reprise", "font.size": 9}):
        figure, axes = pyplot.subplots(figsize=(8, 3))
        try:
            heights = [(v - bottom) if v is not None else 0.0 for v in values]
            axes.bar(range(len(months)), heights, bottom=bottom, color=colours)
            if objective is not None:
                axes.axhline(objective, color="#1d232a", linestyle="--", linewidth=1)
                axes.annotate(
                    say(language, "sla.chart_objective", value=percent(objective, language)),
                    xy=(0, objective),
                    xytext=(2, 3),
                    textcoords="offset points",
                )
            axes.set_xticks(range(len(months)), labels)
            axes.set_ylim(bottom, 100.0)
            axes.yaxis.set_major_formatter(
                FuncFormatter(lambda value, _pos: percent(value, language, 2))
            )
            axes.set_title(say(language, "sla.chart_title"))
            axes.spines[["top", "right"]].set_visible(False)
            figure.tight_layout()
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        finally:
            pyplot.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _month_label(label: str, language: str) -> str:
    year, month = label[:4], label[5:7]
    return f"{month}/{year}" if language == "fr" else label
