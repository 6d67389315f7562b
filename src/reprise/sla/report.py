"""The SLA report (the seed's METRICS.md): the figures of :mod:`reprise.sla.gather` put
into words in the plan's language and laid out in Markdown or HTML (with the trend drawn
as an inline SVG chart). Durations are spelled to the second: an SLA is argued over."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reprise.errors import InputError
from reprise.reports.incident import environment, markdown_text
from reprise.sla.model import Objective, PlanSla, Verdict
from reprise.words import say, words
from reprise.words.format import number, percent, stamp, when

FORMATS = ("md", "html")
MARKS: dict[Verdict, str] = {"ok": "✅", "breached": "❌", "no_data": "➖"}


def exact(seconds: float | None, language: str) -> str:
    """A duration to the second, every unit shown: ``1 h 35 min 30 s``, ``9 j 22 h 08 min
    30 s`` (``None``: a dash)."""
    if seconds is None:
        return "—"
    total = round(max(0.0, seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts: list[str] = []
    if days:
        parts.append(f"{days} {say(language, 'duration.day')}")
    if hours or (days and (minutes or secs)):
        parts.append(f"{hours} h" if not parts else f"{hours:02d} h")
    if minutes or (parts and secs):
        parts.append(f"{minutes} min" if not parts else f"{minutes:02d} min")
    if secs or not parts:
        parts.append(f"{secs} s" if not parts else f"{secs:02d} s")
    return " ".join(parts)


class _Words:
    """Spelling of the report's values in one language and time zone. Every time is in
    the plan's zone, which the report's header names, and labelled all the same
    (``26/11/2026 12:34:56 CET``): a month can hold a change of clock, and a line copied
    out of the report keeps its zone."""

    def __init__(self, language: str, zone: str) -> None:
        self.language, self.zone = language, zone

    def say(self, key: str, **facts: object) -> str:
        return say(self.language, f"sla.{key}", **facts)

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return stamp(value, self.language, self.zone, seconds=True)

    def uptime(self, value: float | None) -> str:
        return "—" if value is None else percent(value, self.language, 3)

    def duration(self, value: float | None) -> str:
        return exact(value, self.language)

    def objective(self, line: Objective) -> str:
        if line.name == "uptime":
            return percent(line.objective, self.language)
        return exact(line.objective, self.language)

    def measured(self, line: Objective) -> str:
        if line.name == "uptime":
            return self.uptime(line.measured)
        return self.duration(line.measured)

    def margin(self, line: Objective) -> str:
        if line.margin is None:
            return "—"
        size = abs(line.margin)
        if line.name == "uptime":
            # French keeps "point" singular below two; English only for exactly one.
            few = size < 2 if self.language == "fr" else round(size, 3) == 1
            key = "margin_point" if few else "margin_points"
            value = self.say(key, value=number(round(size, 3), self.language, 3))
        else:
            value = exact(size, self.language)
        return self.say("margin_within" if line.margin >= 0 else "margin_over", value=value)

    def verdict(self, verdict: Verdict) -> str:
        return self.say(f"verdict_{verdict}")

    def period(self, sla: PlanSla) -> str:
        label = sla.period.label
        if len(label) == 7 and label[4] == "-":
            return self.say(
                "period_month", month=self.say(f"month_{int(label[5:])}"), year=label[:4]
            )
        last = sla.period.end - timedelta(seconds=1)
        return self.say(
            "period_span",
            start=when(sla.period.start, self.language, self.zone)[:10],
            end=when(last, self.language, self.zone)[:10],
        )


def _objective_rows(lines: list[Objective], spell: _Words) -> list[dict[str, str]]:
    return [
        {
            "name": spell.say(line.name),
            "objective": spell.objective(line),
            "measured": spell.measured(line),
            "margin": spell.margin(line),
            "mark": MARKS[line.verdict],
            "verdict": spell.verdict(line.verdict),
        }
        for line in lines
    ]


def report_view(sla: PlanSla, language: str, zone: str) -> dict[str, Any]:
    """Everything the templates show, as text in ``language`` (times in ``zone``)."""
    spell = _Words(language, zone)
    names = {service.service: service.name for service in sla.services}
    services, recovery, outages = [], [], []
    for line in sla.services:
        figures = line.availability
        by_name = {o.name: o for o in line.objectives}
        services.append(
            {
                "name": line.name,
                "id": line.service,
                "priority": line.priority,
                "uptime": spell.uptime(figures.uptime_percent),
                "objective": spell.objective(by_name["uptime"]),
                "downtime": spell.duration(figures.down_seconds),
                "outages": len(figures.outages),
                "mttr": spell.duration(figures.mttr_seconds),
                "mtbf": spell.duration(figures.mtbf_seconds),
                "no_data": spell.duration(figures.no_data_seconds),
                "maintenance": spell.duration(figures.maintenance_seconds),
                "degraded": spell.duration(figures.degraded_seconds),
                "mark": MARKS[line.verdict],
            }
        )
        rpo, rto = line.rpo, line.rto
        gap = rpo.worst_gap
        if "rpo" not in by_name:
            worst_gap = spell.say("no_backups")
        elif gap is None:
            worst_gap = "—"
        else:
            worst_gap = spell.say(
                "gap_span",
                value=spell.duration(gap.seconds),
                start=spell.moment(gap.start),
                end=spell.moment(gap.end),
            )
        if rpo.continuous:
            worst_gap += f" ({spell.say('continuous')})"
        drills = " / ".join(
            spell.duration(value)
            for value in (rto.last_seconds, rto.median_seconds, rto.worst_seconds)
        )
        if rto.drills == 0:
            drills = spell.say("no_drill")
        elif rto.drills_failed:
            drills += f" ({spell.say('drills_failed', count=rto.drills_failed)})"
        recoveries = ", ".join(
            spell.say(
                "recovery_line" if r.resolved else "recovery_open",
                id=r.incident_id,
                duration=spell.duration(r.seconds),
            )
            for r in rto.recoveries
        )
        recovery.append(
            {
                "name": line.name,
                "points": rpo.restore_points if "rpo" in by_name else "—",
                "worst_gap": worst_gap,
                "rpo_objective": spell.objective(by_name["rpo"]) if "rpo" in by_name else "—",
                "rpo_now": spell.duration(rpo.current_seconds),
                "drills": drills,
                "recoveries": recoveries or spell.say("none"),
                "rto_objective": spell.objective(by_name["rto"]),
                "mark": MARKS[line.verdict],
            }
        )
        for outage in figures.outages:
            key = "outage_ongoing" if outage.ongoing else "outage_line"
            text = spell.say(
                key,
                service=names[line.service],
                start=spell.moment(outage.start),
                end=spell.moment(outage.end),
                duration=spell.duration(outage.seconds),
            )
            state = spell.say(f"state_{outage.state}")
            outages.append((outage.start, f"{text} — {state}"))
    incidents = [
        {
            "id": incident.id,
            "title": incident.title,
            "opened": spell.moment(incident.opened_at),
            "closed": spell.moment(incident.closed_at)
            if incident.closed_at
            else spell.say("still_open"),
            "severity": incident.severity,
            "services": ", ".join(names.get(s, s) for s in incident.services),
        }
        for incident in sla.incidents
    ]
    trend = [
        {
            "month": spell.say(
                "period_month",
                month=spell.say(f"month_{int(month.label[5:7])}"),
                year=month.label[:4],
            ),
            "uptime": spell.uptime(month.uptime_percent),
            "rpo": spell.duration(month.worst_rpo_seconds),
            "rto": spell.duration(month.worst_rto_seconds),
            "mark": MARKS[month.verdict],
        }
        for month in sla.trend
    ]
    until = None
    if sla.generated_at < sla.period.end:
        until = spell.say("measured_until", until=spell.moment(sla.generated_at))
    return {
        "t": words(language, "sla"),
        "language": language,
        "zone": zone,
        "period": spell.period(sla),
        "until": until,
        "generated": stamp(sla.generated_at, language, zone),
        "verdict": spell.verdict(sla.verdict),
        "verdict_mark": MARKS[sla.verdict],
        "objectives": _objective_rows(sla.objectives, spell),
        "services": services,
        "recovery": recovery,
        "outages": [text for _start, text in sorted(outages, key=lambda o: o[0])],
        "incidents": incidents,
        "trend": trend,
        "trend_title": spell.say("trend", count=len(trend)),
        "how": spell.say("how_text", degraded=spell.say(f"degraded_{sla.degraded_counts_as}")),
    }


def render_sla(
    sla: PlanSla, *, fmt: str, language: str, zone: str, organisation: str, chart: bool = True
) -> str:
    """The report in ``fmt`` (md or html); the html one draws the trend unless ``chart``
    is false."""
    if fmt not in FORMATS:
        raise InputError(f"no report format {fmt!r}", hint="use md or html")
    if language not in ("fr", "en"):
        raise InputError(f"no language {language!r}", hint="use fr or en")
    view = report_view(sla, language, zone)
    view["organisation"] = organisation
    view["svg"] = ""
    if fmt == "html" and chart and sla.trend:
        from reprise.sla.chart import trend_svg

        view["svg"] = trend_svg(sla, language)
    templates = environment(language)
    templates.filters["md"] = markdown_text
    return templates.get_template(f"sla.{fmt}.j2").render(view)
