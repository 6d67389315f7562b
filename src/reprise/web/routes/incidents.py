"""Incidents, the live PCRA: list, open by hand, the incident page (elements, what to do
now and who, tasks, notes, states, the timeline updating itself), reports, closing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from reprise.web.auth import check_csrf, require, site_of
from reprise.web.render import language_of, page
from reprise.web.routes.operations import _attachment, _done

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form()]


@router.get("/incidents")
def incidents_page(request: Request) -> Response:
    """Open incidents, then the closed ones."""
    from reprise.usecases.incidents import IncidentListRequest, list_incidents

    who = require(request, "viewer", page=True)
    site = site_of(request)
    found = list_incidents(site.store, IncidentListRequest(all=True))
    return page(
        request,
        "incidents.html.j2",
        who,
        open=[i for i in found if i.status == "open"],
        closed=[i for i in found if i.status != "open"],
        services=site.plan.services,
        names={s.id: s.name for s in site.plan.services},
    )


@router.post("/incidents")
def open_incident(
    request: Request,
    title: Annotated[str, Form(max_length=300)],
    services: Annotated[list[str] | None, Form()] = None,
    cause: Annotated[str, Form(max_length=2000)] = "",
    csrf: Csrf = "",
) -> Response:
    """Open an incident by hand (responders)."""
    from reprise.usecases.incidents import OpenRequest
    from reprise.usecases.incidents import open_incident as open_one

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    incident = open_one(
        site.plan,
        site.store,
        OpenRequest(title, who.name, tuple(services or ()), cause.strip() or None),
    )
    return _done(request, f"/incidents/{incident.id}")


def _context(request: Request, incident_id: int) -> dict[str, Any]:
    from reprise.usecases.incident_page import incident_page

    site = site_of(request)
    found = incident_page(site.plan, site.store, incident_id, language_of(request), site.clock())
    return {"view": found, "incident": found.incident, "commander": found.commander}


@router.get("/incidents/{incident_id}")
def incident_view(request: Request, incident_id: int) -> Response:
    """The live PCRA of one incident."""
    who = require(request, "viewer", page=True)
    return page(request, "incident.html.j2", who, **_context(request, incident_id))


@router.get("/incidents/{incident_id}/live")
def incident_live(request: Request, incident_id: int) -> Response:
    """The parts that change (elements, now, tasks, timeline): polled by the page."""
    who = require(request, "viewer", page=True)
    return page(request, "incident_live.html.j2", who, **_context(request, incident_id))


@router.post("/incidents/{incident_id}/tasks/{task_id}")
def move_task(
    request: Request,
    incident_id: int,
    task_id: int,
    status: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Csrf = "",
) -> Response:
    """Start, finish or skip a task (skip needs a reason)."""
    from reprise.usecases.incidents import TaskRequest
    from reprise.usecases.incidents import move_task as move

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    move(
        site.store,
        TaskRequest(incident_id, task_id, status, who.name, note.strip() or None),
        site.clock,
    )
    return _done(request, f"/incidents/{incident_id}#tasks")


@router.post("/incidents/{incident_id}/notes")
def add_note(
    request: Request,
    incident_id: int,
    text: Annotated[str, Form(max_length=10000)],
    public: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
) -> Response:
    """Add a note to the timeline (public: also on the status page)."""
    from reprise.usecases.incidents import NoteRequest
    from reprise.usecases.incidents import add_note as add

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    add(site.store, NoteRequest(incident_id, text, who.name, public=public), site.clock)
    return _done(request, f"/incidents/{incident_id}#timeline")


@router.post("/incidents/{incident_id}/state")
def set_state(
    request: Request,
    incident_id: int,
    service: Annotated[str, Form()],
    state: Annotated[str, Form()],
    csrf: Csrf = "",
) -> Response:
    """Override an element's state by hand."""
    from reprise.usecases.incidents import StateRequest, override_state

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    override_state(site.store, StateRequest(incident_id, service, state, who.name), site.clock)
    return _done(request, f"/incidents/{incident_id}")


@router.post("/incidents/{incident_id}/close")
def close(
    request: Request,
    incident_id: int,
    note: Annotated[str, Form(max_length=10000)] = "",
    force: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
) -> Response:
    """Close the incident (the final report is written and sent)."""
    from reprise.usecases.incidents import CloseRequest, close_incident

    who = require(request, "responder", page=True)
    check_csrf(request, who, csrf)
    site = site_of(request)
    close_incident(
        site.plan,
        site.store,
        CloseRequest(incident_id, who.name, note.strip() or None, force),
        site.clock,
    )
    return _done(request, f"/incidents/{incident_id}", "closed_plain")


@router.get("/incidents/{incident_id}/report.{fmt}")
def report(request: Request, incident_id: int, fmt: str, kind: str | None = None) -> Response:
    """The progress (open) or final (closed) report, md or html."""
    from reprise.usecases.incidents import ReportRequest, incident_report

    require(request, "viewer", page=True)
    site = site_of(request)
    text = incident_report(
        site.plan,
        site.store,
        ReportRequest(incident_id, fmt, language_of(request), kind),
        site.clock,
    )
    return _attachment(text, f"incident-{incident_id}.{fmt}", fmt)
