"""Alerts (acknowledge, also from a mail's link), silences, backups, drills, runs asked for
now, the SLA and audit pages, and access management."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from reprise.web.auth import check_csrf, identify, require, session_of, site_of
from reprise.web.markdown import to_html
from reprise.web.render import page
from reprise.web.routes.account import safe_next

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form()]


def _done(request: Request, target: str, flash: str = "saved") -> Response:
    session = session_of(request)
    session.flash, session.changed = flash, True
    return RedirectResponse(safe_next(target), status_code=303)


# -- alerts ---------------------------------------------------------------------------------


@router.get("/alerts")
def alerts_page(request: Request) -> Response:
    """Open alerts, silences in force, the plan's maintenance windows."""
    from reprise.usecases.alerts import (
        AlertListRequest,
        SilenceListRequest,
        list_alerts,
        list_silences,
    )

    who = require(request, "viewer", page=True)
    site = site_of(request)
    found = list_alerts(site.store, AlertListRequest())
    return page(
        request,
        "alerts.html.j2",
        who,
        alerts=found.alerts,
        silences=list_silences(site.store, SilenceListRequest()),
        maintenance=site.plan.alerting.maintenance,
        services=site.plan.services,
        names={s.id: s.name for s in site.plan.services},
    )


@router.post("/alerts/{alert_id}/ack")
def ack(request: Request, alert_id: int, csrf: Csrf = "") -> Response:
    """Acknowledge one alert (escalation stops)."""
    from reprise.usecases.alerts import AckRequest, acknowledge

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    acknowledge(site_of(request).store, AckRequest(str(alert_id), who.name))
    return _done(request, "/alerts", "ack_done_plain")


@router.get("/ack/{token}")
def ack_link(request: Request, token: str) -> Response:
    """The page a mail's link opens: the alert and one button (a GET changes nothing)."""
    from reprise.alerts.links import read_ack_token
    from reprise.alerts.records import get_alert

    who = require(request, "responder", page=True)
    site = site_of(request)
    alert_id = read_ack_token(site.plan, site.store, token)
    alert = get_alert(site.store, alert_id) if alert_id is not None else None
    return page(
        request,
        "ack.html.j2",
        who,
        200 if alert is not None else 400,
        alert=alert,
        token=token,
        names={s.id: s.name for s in site.plan.services},
    )


@router.post("/ack/{token}")
def ack_from_link(request: Request, token: str, csrf: Csrf = "") -> Response:
    """Acknowledge the alert the link is for."""
    from reprise.alerts.links import read_ack_token
    from reprise.alerts.records import get_alert
    from reprise.usecases.alerts import AckRequest, acknowledge

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    alert_id = read_ack_token(site.plan, site.store, token)
    if alert_id is None:
        raise HTTPException(400, "invalid or expired acknowledgement link")
    alert = get_alert(site.store, alert_id)
    if alert is None or alert.acked_at is not None or alert.resolved_at is not None:
        return _done(request, "/alerts", "ack_already")
    acknowledge(site.store, AckRequest(str(alert_id), who.name))
    return _done(request, "/alerts", "ack_done_plain")


@router.post("/silences")
def silence(
    request: Request,
    service: Annotated[str, Form()],
    duration: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=500)],
    csrf: Csrf = "",
) -> Response:
    """Silence a service's alerts for a while."""
    from reprise.usecases.alerts import SilenceRequest, add_silence

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    add_silence(site.plan, site.store, SilenceRequest(service, duration, reason, who.name))
    return _done(request, "/alerts")


@router.post("/silences/{silence_id}/end")
def end_silence(request: Request, silence_id: int, csrf: Csrf = "") -> Response:
    """End a silence now."""
    from reprise.store.events import append_event
    from reprise.usecases.alerts import SilenceRemoveRequest, remove_silence

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    store = site_of(request).store
    remove_silence(store, SilenceRemoveRequest(silence_id))
    append_event(store, "silence.ended", f"silence:{silence_id}", {"by": who.name})
    return _done(request, "/alerts")


# -- backups, drills, runs ------------------------------------------------------------------


def _jobs_context(request: Request, kinds: tuple[str, ...]) -> dict[str, Any]:
    from reprise.orchestrators.scheduler import plan_jobs
    from reprise.scheduler.records import list_runs
    from reprise.usecases.requests import waiting

    site = site_of(request)
    jobs = [job for job in plan_jobs(site.plan) if job.kind in kinds]
    ids = {job.id for job in jobs}
    runs = [run for run in list_runs(site.store, limit=200) if run.job in ids][:30]
    return {
        "jobs": jobs,
        "runs": runs,
        "requests": [r for r in waiting(site.store) if r.job in ids],
    }


@router.get("/backups")
def backups_page(request: Request) -> Response:
    """The catalog, backup runs, and (admins) back up now."""
    from reprise.repository.catalog import list_backups

    who = require(request, "viewer", page=True)
    site = site_of(request)
    entries = list_backups(site.store)[-200:][::-1]
    return page(
        request,
        "backups.html.j2",
        who,
        entries=entries,
        **_jobs_context(request, ("backup", "verify", "prune")),
    )


@router.get("/drills")
def drills_page(request: Request) -> Response:
    """Drill history, drill runs, and (admins) drill now."""
    from reprise.drill.records import list_drills

    who = require(request, "viewer", page=True)
    site = site_of(request)
    return page(
        request,
        "drills.html.j2",
        who,
        drills=list_drills(site.store, limit=100),
        **_jobs_context(request, ("drill",)),
    )


@router.post("/jobs")
def request_job(
    request: Request,
    job: Annotated[str, Form(max_length=150)],
    csrf: Csrf = "",
    next: Annotated[str, Form()] = "/backups",
) -> Response:
    """Ask the service to run a job now (admins)."""
    from reprise.usecases.requests import RunRequest, request_run

    who = require(request, "admin", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    requested = request_run(site.plan, site.store, RunRequest(job, who.name), site.clock)
    return _done(request, next, "queued" if requested.service_running else "no_service_running")


# -- SLA and audits -------------------------------------------------------------------------


@router.get("/sla")
def sla_page(request: Request, period: str | None = None) -> Response:
    """The SLA figures of a month (default: this one), as the report tells them."""
    from reprise.usecases.sla import SlaRequest, sla_figures, sla_report

    who = require(request, "viewer", page=True)
    site = site_of(request)
    figures = sla_figures(site.plan, site.store, SlaRequest(period=period or None))
    from reprise.web.render import language_of

    report = sla_report(site.plan, figures, "md", language_of(request))
    return page(
        request,
        "sla.html.j2",
        who,
        figures=figures,
        report=to_html(report),
        period=period or "",
    )


@router.get("/sla/report.{fmt}")
def sla_download(request: Request, fmt: str, period: str | None = None) -> Response:
    """The SLA report as a file (md or html)."""
    from reprise.usecases.sla import SlaRequest, sla_figures, sla_report
    from reprise.web.render import language_of

    require(request, "viewer", page=True)
    if fmt not in ("md", "html"):
        raise HTTPException(404, "md or html")
    site = site_of(request)
    figures = sla_figures(site.plan, site.store, SlaRequest(period=period or None))
    text = sla_report(site.plan, figures, fmt, language_of(request))
    return _attachment(text, f"sla-{figures.period.label}.{fmt}", fmt)


def _attachment(text: str, name: str, fmt: str) -> Response:
    media = "text/markdown; charset=utf-8" if fmt == "md" else "text/html; charset=utf-8"
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return PlainTextResponse(
        text,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
            ),
        },
    )


@router.get("/audits")
def audits_page(request: Request) -> Response:
    """Stored audits, newest first."""
    from reprise.usecases.audit import list_stored

    who = require(request, "viewer", page=True)
    return page(request, "audits.html.j2", who, audits=list_stored(site_of(request).store))


@router.get("/audits/{audit_id}")
def audit_page(request: Request, audit_id: int) -> Response:
    """One audit's report."""
    from reprise.usecases.audit import ShowRequest, show_stored
    from reprise.web.render import language_of

    who = require(request, "viewer", page=True)
    site = site_of(request)
    found, text = show_stored(
        site.plan, site.store, ShowRequest(audit_id, "md", language_of(request))
    )
    return page(request, "audit.html.j2", who, audit=found, report=to_html(text))


@router.get("/audits/{audit_id}/report.{fmt}")
def audit_download(request: Request, audit_id: int, fmt: str) -> Response:
    """One audit's report as a file."""
    from reprise.usecases.audit import ShowRequest, show_stored
    from reprise.web.render import language_of

    require(request, "viewer", page=True)
    if fmt not in ("md", "html"):
        raise HTTPException(404, "md or html")
    site = site_of(request)
    _found, text = show_stored(
        site.plan, site.store, ShowRequest(audit_id, fmt, language_of(request))
    )
    return _attachment(text, f"audit-{audit_id}.{fmt}", fmt)


# -- access ---------------------------------------------------------------------------------


@router.get("/admin")
def admin_page(request: Request) -> Response:
    """Members who sign in, and API tokens (admins)."""
    from reprise.usecases.accounts import list_users, tokens

    who = require(request, "admin", page=True)
    site = site_of(request)
    session = session_of(request)
    fresh = getattr(request.state, "fresh_token", None)
    return page(
        request,
        "admin.html.j2",
        who,
        users=list_users(site.plan, site.store),
        tokens=tokens(site.store),
        fresh_token=fresh,
        csrf_token=session.csrf,
    )


@router.post("/admin/users/{login}/password")
def admin_password(
    request: Request,
    login: str,
    password: Annotated[str, Form(max_length=1000)],
    csrf: Csrf = "",
) -> Response:
    """Set a member's password (admins)."""
    from reprise.usecases.accounts import PasswordRequest, set_password

    who = require(request, "admin", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    set_password(site.plan, site.store, PasswordRequest(login, password, who.name), site.clock)
    return _done(request, "/admin")


@router.post("/admin/users/{login}/remove")
def admin_remove(request: Request, login: str, csrf: Csrf = "") -> Response:
    """Remove a member's password (admins)."""
    from reprise.usecases.accounts import RemoveRequest, remove_user_password

    who = require(request, "admin", page=True)
    check_csrf(request, who, csrf)
    remove_user_password(site_of(request).store, RemoveRequest(login, who.name))
    return _done(request, "/admin")


@router.post("/admin/tokens")
def admin_token(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    permission: Annotated[str, Form()],
    expires: Annotated[str, Form(max_length=20)] = "",
    csrf: Csrf = "",
) -> Response:
    """Create an API token; the page shows it once."""
    from reprise.usecases.accounts import TokenRequest, new_token

    who = require(request, "admin", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    token, _record = new_token(
        site.store,
        TokenRequest(name, permission, who.name, expires.strip() or None),
        site.clock,
    )
    request.state.fresh_token = token
    return admin_page(request)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke(request: Request, token_id: int, csrf: Csrf = "") -> Response:
    """Revoke an API token."""
    from reprise.usecases.accounts import RevokeRequest, revoke

    who = require(request, "admin", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    revoke(site.store, RevokeRequest(token_id, who.name), site.clock)
    return _done(request, "/admin")


__all__ = ["identify", "router"]
