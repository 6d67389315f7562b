"""The JSON API (/api/v1): everything the pages show and every action they offer, for
scripts (an API token with a role's permission: ``Authorization: Bearer rpr_…``) and for
the pages' own scripts (the session cookie plus the ``X-CSRF-Token`` header on changes).
The OpenAPI document is at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from reprise.web.auth import Who, check_csrf, require, site_of
from reprise.web.render import RedactedJSON, language_of

router = APIRouter(prefix="/api/v1", tags=["api"], default_response_class=RedactedJSON)


def _reader(request: Request) -> Who:
    return require(request, "viewer", page=False)


def _actor(request: Request, permission: str) -> Who:
    who = require(request, permission, page=False)
    check_csrf(request, who, None)
    return who


@router.get("/me")
def me(request: Request) -> dict[str, Any]:
    """Who the token or session is, and its permission."""
    who = _reader(request)
    return {"name": who.name, "display": who.display, "permission": who.permission, "via": who.via}


@router.get("/services")
def services(request: Request) -> dict[str, Any]:
    """Every service: state, uptime 24 h / 30 d / 90 d and per day, RPO, RTO, next jobs."""
    from reprise.usecases.dashboard import overview

    _reader(request)
    site = site_of(request)
    return overview(site.plan, site.store, site.clock()).to_dict()


@router.get("/services/{service_id}")
def service(request: Request, service_id: str) -> dict[str, Any]:
    """One service with its checks, backups, drills and PITR window."""
    from reprise.usecases.dashboard import service_detail

    _reader(request)
    site = site_of(request)
    return service_detail(site.plan, site.store, service_id, site.clock()).to_dict()


# -- incidents ------------------------------------------------------------------------------


@router.get("/incidents")
def incidents(request: Request, all: bool = False) -> list[dict[str, Any]]:
    """Open incidents (``all=true``: closed ones too), newest first."""
    from reprise.usecases.incidents import IncidentListRequest, list_incidents

    _reader(request)
    found = list_incidents(site_of(request).store, IncidentListRequest(all=all))
    return [incident.summary() for incident in found]


@router.get("/incidents/{incident_id}")
def incident(request: Request, incident_id: int) -> dict[str, Any]:
    """One incident: elements, what to do now, tasks and timeline, worded in the
    session's language (the plan's for tokens)."""
    from reprise.usecases.incident_page import incident_page

    _reader(request)
    site = site_of(request)
    return incident_page(
        site.plan, site.store, incident_id, language_of(request), site.clock()
    ).to_dict()


class OpenIncident(BaseModel):
    """A new incident."""

    title: str = Field(max_length=300)
    services: list[str] = Field(default_factory=list)
    cause: str | None = Field(None, max_length=2000)
    exercise: bool = False


@router.post("/incidents", status_code=201)
def open_incident(request: Request, body: OpenIncident) -> dict[str, Any]:
    """Open an incident by hand (responder)."""
    from reprise.usecases.incidents import OpenRequest
    from reprise.usecases.incidents import open_incident as open_one

    who = _actor(request, "responder")
    site = site_of(request)
    found = open_one(
        site.plan,
        site.store,
        OpenRequest(body.title, who.name, tuple(body.services), body.cause, exercise=body.exercise),
    )
    return found.summary()


class MoveTask(BaseModel):
    """A task's new status (skipped needs a note saying why)."""

    status: Literal["todo", "doing", "done", "skipped"]
    note: str | None = Field(None, max_length=2000)


@router.post("/incidents/{incident_id}/tasks/{task_id}")
def move_task(request: Request, incident_id: int, task_id: int, body: MoveTask) -> dict[str, Any]:
    """Move a task (responder)."""
    from reprise.usecases.incidents import TaskRequest
    from reprise.usecases.incidents import move_task as move

    who = _actor(request, "responder")
    site = site_of(request)
    move(
        site.store, TaskRequest(incident_id, task_id, body.status, who.name, body.note), site.clock
    )
    return {"incident": incident_id, "task": task_id, "status": body.status}


class Note(BaseModel):
    """A note for the timeline; public: also on the status page."""

    text: str = Field(max_length=10000)
    public: bool = False


@router.post("/incidents/{incident_id}/notes", status_code=201)
def add_note(request: Request, incident_id: int, body: Note) -> dict[str, Any]:
    """Add a note (responder)."""
    from reprise.usecases.incidents import NoteRequest
    from reprise.usecases.incidents import add_note as add

    who = _actor(request, "responder")
    site = site_of(request)
    add(site.store, NoteRequest(incident_id, body.text, who.name, public=body.public), site.clock)
    return {"incident": incident_id, "public": body.public}


class SetState(BaseModel):
    """An element's state, given by a person."""

    service: str
    state: Literal["down", "degraded", "up"]


@router.post("/incidents/{incident_id}/state")
def set_state(request: Request, incident_id: int, body: SetState) -> dict[str, Any]:
    """Override an element's state (responder)."""
    from reprise.usecases.incidents import StateRequest, override_state

    who = _actor(request, "responder")
    site = site_of(request)
    changed = override_state(
        site.store, StateRequest(incident_id, body.service, body.state, who.name), site.clock
    )
    return {"incident": incident_id, "service": body.service, "changed": changed}


class Close(BaseModel):
    """Closing an incident."""

    note: str | None = Field(None, max_length=10000)
    force: bool = False


@router.post("/incidents/{incident_id}/close")
def close(request: Request, incident_id: int, body: Close) -> dict[str, Any]:
    """Close an incident; the final report is written and sent (responder)."""
    from reprise.usecases.incidents import CloseRequest, close_incident

    who = _actor(request, "responder")
    site = site_of(request)
    close_incident(
        site.plan,
        site.store,
        CloseRequest(incident_id, who.name, body.note, body.force),
        site.clock,
    )
    return {"incident": incident_id, "status": "closed"}


# -- alerts ---------------------------------------------------------------------------------


@router.get("/alerts")
def alerts(request: Request, all: bool = False) -> list[dict[str, Any]]:
    """Open alerts (``all=true``: resolved ones too)."""
    from reprise.usecases.alerts import AlertListRequest, list_alerts

    _reader(request)
    found = list_alerts(site_of(request).store, AlertListRequest(all=all))
    return [alert.to_dict() for alert in found.alerts]


@router.post("/alerts/{alert_id}/ack")
def ack(request: Request, alert_id: int) -> dict[str, Any]:
    """Acknowledge an alert: escalation stops (responder)."""
    from reprise.usecases.alerts import AckRequest, acknowledge

    who = _actor(request, "responder")
    done = acknowledge(site_of(request).store, AckRequest(str(alert_id), who.name))
    return {"acknowledged": [alert.id for alert in done]}


@router.get("/silences")
def silences(request: Request) -> list[dict[str, Any]]:
    """Silences in force."""
    from reprise.usecases.alerts import SilenceListRequest, list_silences

    _reader(request)
    return [s.to_dict() for s in list_silences(site_of(request).store, SilenceListRequest())]


class NewSilence(BaseModel):
    """Silence a service's alerts for a while."""

    service: str
    duration: str = Field(examples=["2h"])
    reason: str = Field(max_length=500)


@router.post("/silences", status_code=201)
def silence(request: Request, body: NewSilence) -> dict[str, Any]:
    """Add a silence (responder)."""
    from reprise.usecases.alerts import SilenceRequest, add_silence

    who = _actor(request, "responder")
    site = site_of(request)
    done = add_silence(
        site.plan, site.store, SilenceRequest(body.service, body.duration, body.reason, who.name)
    )
    return done.silence.to_dict()


@router.delete("/silences/{silence_id}")
def end_silence(request: Request, silence_id: int) -> dict[str, Any]:
    """End a silence now (responder)."""
    from reprise.store.events import append_event
    from reprise.usecases.alerts import SilenceRemoveRequest, remove_silence

    who = _actor(request, "responder")
    store = site_of(request).store
    remove_silence(store, SilenceRemoveRequest(silence_id))
    append_event(store, "silence.ended", f"silence:{silence_id}", {"by": who.name})
    return {"ended": silence_id}


# -- backups, drills, verifications, jobs ---------------------------------------------------


@router.get("/backups")
def backups(request: Request, service: str | None = None) -> list[dict[str, Any]]:
    """The backup catalog, newest first."""
    from reprise.repository.catalog import list_backups

    _reader(request)
    found = list_backups(site_of(request).store, service=service)
    return [entry.to_dict() for entry in reversed(found)]


class StartRun(BaseModel):
    """What to run now: a job id, or a service (its backups or its drill), or a repository
    (its verification)."""

    job: str | None = None
    service: str | None = None
    repository: str | None = None


def _start(request: Request, kind: str, body: StartRun) -> dict[str, Any]:
    from reprise.errors import InputError
    from reprise.orchestrators.scheduler import plan_jobs
    from reprise.usecases.requests import RunRequest, request_run

    who = _actor(request, "admin")
    site = site_of(request)
    if body.job is not None:
        wanted = [body.job]
    else:
        wanted = [
            job.id
            for job in plan_jobs(site.plan)
            if job.kind == kind
            and (body.service is None or job.service == body.service)
            and (body.repository is None or job.repository == body.repository)
        ]
    if not wanted:
        raise InputError(
            f"no {kind} job matches", hint="GET /api/v1/jobs lists the plan's jobs and their ids"
        )
    done = [
        request_run(site.plan, site.store, RunRequest(job, who.name), site.clock) for job in wanted
    ]
    return {
        "requested": [d.request.to_dict() for d in done],
        "service_running": all(d.service_running for d in done),
    }


@router.post("/backups", status_code=202)
def start_backup(request: Request, body: StartRun) -> dict[str, Any]:
    """Back up now (admin): queued to the service's scheduler."""
    return _start(request, "backup", body)


@router.get("/drills")
def drills(request: Request, service: str | None = None) -> list[dict[str, Any]]:
    """Restore drills, newest first."""
    from reprise.drill.records import list_drills

    _reader(request)
    return [d.to_dict() for d in list_drills(site_of(request).store, service=service)]


@router.post("/drills", status_code=202)
def start_drill(request: Request, body: StartRun) -> dict[str, Any]:
    """Drill now (admin)."""
    return _start(request, "drill", body)


@router.post("/verifications", status_code=202)
def start_verification(request: Request, body: StartRun) -> dict[str, Any]:
    """Verify a repository now (admin)."""
    return _start(request, "verify", body)


@router.get("/jobs")
def jobs(request: Request) -> dict[str, Any]:
    """The plan's jobs with their latest run and next time, and the runs asked for."""
    from reprise.usecases.jobs import schedule_overview
    from reprise.usecases.requests import waiting

    _reader(request)
    site = site_of(request)
    return {
        "jobs": [line.to_dict() for line in schedule_overview(site.plan, site.store, site.clock())],
        "requested": [r.to_dict() for r in waiting(site.store)],
    }


# -- SLA, audits, status --------------------------------------------------------------------


@router.get("/sla")
def sla(request: Request, period: str | None = None) -> dict[str, Any]:
    """The SLA figures of a month (``period=2026-11``; default: this month)."""
    from reprise.usecases.sla import SlaRequest, sla_figures

    _reader(request)
    site = site_of(request)
    return sla_figures(site.plan, site.store, SlaRequest(period=period)).to_dict()


@router.get("/audits")
def audits(request: Request) -> list[dict[str, Any]]:
    """Stored audits, newest first."""
    from reprise.audit.report import to_dict
    from reprise.usecases.audit import list_stored

    _reader(request)
    site = site_of(request)
    zone = site.plan.organisation.timezone
    return [to_dict(a, language_of(request), zone) for a in list_stored(site.store)]


@router.get("/audits/{audit_id}")
def audit(request: Request, audit_id: int) -> dict[str, Any]:
    """One stored audit with every item."""
    from reprise.audit.report import to_dict
    from reprise.usecases.audit import ShowRequest, show_stored

    _reader(request)
    site = site_of(request)
    found, _text = show_stored(site.plan, site.store, ShowRequest(audit_id, "md"))
    return to_dict(found, language_of(request), site.plan.organisation.timezone)


@router.get("/status")
def status(request: Request) -> dict[str, Any]:
    """The public status page's content (no sign-in, like the page)."""
    from fastapi import HTTPException

    from reprise.usecases.status_page import public_status

    site = site_of(request)
    found = public_status(site.plan, site.store, site.clock())
    if found is None:
        raise HTTPException(404, "no public status page in this plan")
    return found.to_dict()


# -- access ---------------------------------------------------------------------------------


@router.get("/users")
def users(request: Request) -> list[dict[str, Any]]:
    """Members who may sign in (admin)."""
    from reprise.usecases.accounts import list_users

    require(request, "admin", page=False)
    site = site_of(request)
    return [line.to_dict() for line in list_users(site.plan, site.store)]


@router.get("/tokens")
def tokens(request: Request) -> list[dict[str, Any]]:
    """API tokens, never their secret (admin)."""
    from reprise.usecases.accounts import tokens as all_tokens

    require(request, "admin", page=False)
    return [token.to_dict() for token in all_tokens(site_of(request).store)]


class NewToken(BaseModel):
    """A new API token."""

    name: str = Field(max_length=100)
    permission: Literal["viewer", "responder", "admin"]
    expires: str | None = Field(None, examples=["90d"])


@router.post("/tokens", status_code=201)
def create_token(request: Request, body: NewToken) -> dict[str, Any]:
    """Create a token; the answer holds it, once (admin)."""
    from reprise.usecases.accounts import TokenRequest, new_token

    who = _actor(request, "admin")
    site = site_of(request)
    token, record = new_token(
        site.store, TokenRequest(body.name, body.permission, who.name, body.expires), site.clock
    )
    return {**record.to_dict(), "token": token}


@router.delete("/tokens/{token_id}")
def revoke_token(request: Request, token_id: int) -> dict[str, Any]:
    """Revoke a token (admin)."""
    from reprise.usecases.accounts import RevokeRequest, revoke

    who = _actor(request, "admin")
    site = site_of(request)
    revoke(site.store, RevokeRequest(token_id, who.name), site.clock)
    return {"revoked": token_id}
