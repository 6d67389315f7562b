"""The overview and the service pages (viewers and up)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reprise.orchestrators.scheduler import plan_jobs
from reprise.usecases.dashboard import overview, service_detail
from reprise.web.auth import require, site_of
from reprise.web.charts import latency_chart, rto_chart
from reprise.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/")
def overview_page(request: Request) -> Response:
    """Every service at a glance."""
    who = require(request, "viewer", page=True)
    site = site_of(request)
    found = overview(site.plan, site.store, site.clock())
    return page(
        request,
        "overview.html.j2",
        who,
        cards=found.cards,
        counts=found.counts,
        incidents=found.incidents,
        alert_count=found.alert_count,
    )


@router.get("/services/{service_id}")
def service_page(request: Request, service_id: str) -> Response:
    """One service: checks over 24 hours, backups, drills, PITR window."""
    who = require(request, "viewer", page=True)
    site = site_of(request)
    detail = service_detail(site.plan, site.store, service_id, site.clock())
    now = site.clock()
    charts = {check.name: latency_chart(check.points, now) for check in detail.checks}
    return page(
        request,
        "service.html.j2",
        who,
        detail=detail,
        card=detail.card,
        charts=charts,
        rto_svg=rto_chart(detail.drills, detail.card.rto.total_seconds()),
        may_act=who.may("admin"),
        service_jobs=[
            job
            for job in plan_jobs(site.plan)
            if job.service == service_id and job.kind in ("backup", "drill")
        ],
    )
