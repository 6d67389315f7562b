"""`reprise sla` and the monthly SLA report: the plan's uptime, outages, RPO achieved and
RTO measured over a period, against its objectives, as figures or a report; and the
monthly report sent to ``communication.audiences``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reprise.alerts.delivery import Sender, apprise_send, send_to_roles
from reprise.alerts.messages import Notification
from reprise.alerts.records import DeliveryRecord
from reprise.errors import InputError
from reprise.plan.model import Plan
from reprise.security import make_private_dirs, write_private_file
from reprise.sla.gather import compute_sla
from reprise.sla.model import PlanSla
from reprise.sla.periods import parse_period, previous_month
from reprise.sla.report import render_sla
from reprise.store import state_dir
from reprise.store.database import Store
from reprise.words import say


@dataclass(frozen=True)
class SlaRequest:
    """Which period (a month ``2026-11``, or ``start``/``end`` dates; default this month)
    and which services (None: all)."""

    period: str | None = None
    start: str | None = None
    end: str | None = None
    services: list[str] | None = None
    now: datetime | None = None


def sla_figures(plan: Plan, store: Store, request: SlaRequest) -> PlanSla:
    """The figures of the requested period."""
    now = request.now or datetime.now(UTC)
    period = parse_period(
        request.period,
        start=request.start,
        end=request.end,
        zone=plan.organisation.timezone,
        now=now,
    )
    return compute_sla(plan, store, period, now, request.services)


def sla_report(plan: Plan, figures: PlanSla, fmt: str, language: str | None = None) -> str:
    """The report of these figures in ``fmt`` (md or html), in ``language`` (default the
    plan's)."""
    return render_sla(
        figures,
        fmt=fmt,
        language=language or plan.organisation.language,
        zone=plan.organisation.timezone,
        organisation=plan.organisation.name,
    )


@dataclass(frozen=True)
class MonthlyReport:
    """What the monthly report job did."""

    period: str
    verdict: str
    deliveries: list[DeliveryRecord]
    paths: list[Path]

    def to_dict(self) -> dict[str, object]:
        """JSON form (the job's figures)."""
        return {
            "period": self.period,
            "verdict": self.verdict,
            "sent": sum(1 for d in self.deliveries if d.ok),
            "failed": sum(1 for d in self.deliveries if not d.ok),
            "reports": [str(path) for path in self.paths],
        }


def send_monthly_report(
    plan: Plan, store: Store, now: datetime | None = None, sender: Sender = apprise_send
) -> MonthlyReport:
    """Last month's report, written under ``<state dir>/reports/sla/`` and sent to the
    plan's audiences: the Markdown report in the mail, the HTML one (with its chart)
    attached. InputError when the plan names no audience."""
    audiences = tuple(plan.communication.audiences)
    if not audiences:
        raise InputError(
            "the plan has no communication.audiences to send the SLA report to",
            hint="add communication.audiences (role ids), or set sla.report: false",
        )
    now = now or datetime.now(UTC)
    language = plan.organisation.language
    period = previous_month(now, plan.organisation.timezone)
    figures = compute_sla(plan, store, period, now)
    body = sla_report(plan, figures, "md")
    html = sla_report(plan, figures, "html")
    title = body.splitlines()[0].lstrip("# ").strip()
    verdict = say(language, f"sla.verdict_{figures.verdict}")
    month = title.split(" — ")[-1]
    subject = f"[{plan.organisation.name}] " + say(
        language, "sla.monthly_subject", period=month, verdict=verdict
    )
    folder = state_dir(plan) / "reports" / "sla"
    make_private_dirs(folder)
    paths = []
    for fmt, text in (("md", body), ("html", html)):
        path = folder / f"sla-{period.label}-{language}.{fmt}"
        write_private_file(path, text.encode("utf-8"))
        paths.append(path)
    intro = say(language, "sla.monthly_intro", organisation=plan.organisation.name, period=month)
    notification = Notification("sla", audiences, subject, f"{intro}\n\n{body}")
    records = asyncio.run(send_to_roles(plan, store, notification, sender, attachments=paths[1:]))
    return MonthlyReport(period.label, figures.verdict, records, paths)
