"""What needs no sign-in: the public status page and heartbeat pings; and the Prometheus
metrics (a viewer's token or session)."""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from reprise.web.auth import require, site_of

router = APIRouter()

STATUS_FRESH_FOR = 5.0
"""Seconds a rendered status page is served again (a crowd during an outage costs one
render every few seconds, whatever its size)."""
_cache: dict[int, tuple[object, float, str]] = {}
"""The page last made, by the id of its plan (the plan is kept with it: an id is reused
only once its object is gone, so a later plan never gets an earlier plan's page)."""
_rendering = threading.Lock()
MAX_PING_BODY = 10_000
"""Bytes of a ping's body read at most (a log tail); the rest is not read."""


@router.get("/status", include_in_schema=False)
def status_page(request: Request) -> Response:
    """The public status page (404 when the plan lists no service under status_page)."""
    from reprise.statuspage.render import render_status_page
    from reprise.usecases.status_page import public_status

    site = site_of(request)
    plan = site.plan
    key = id(plan)  # a reloaded plan is another object: its page is made anew
    cached = _fresh(key, plan)
    stale = cached is None or time.monotonic() - cached[1] >= STATUS_FRESH_FOR
    # One request renders at a time; the crowd meanwhile gets the page made a moment ago.
    if stale and _rendering.acquire(blocking=cached is None):
        try:
            found = public_status(plan, site.store, site.clock())
            if found is None:
                raise HTTPException(404, "no public status page in this plan")
            cached = (plan, time.monotonic(), render_status_page(plan, found))
            _cache.clear()
            _cache[key] = cached
        finally:
            _rendering.release()
    cached = cached or _fresh(key, plan)
    if cached is None:  # rendering failed in another request
        raise HTTPException(503, "the status page is being prepared: try again")
    return HTMLResponse(cached[2], headers={"Cache-Control": "public, max-age=5"})


def _fresh(key: int, plan: object) -> tuple[object, float, str] | None:
    """The cached page of this very plan, if any."""
    cached = _cache.get(key)
    return cached if cached is not None and cached[0] is plan else None


async def _ping(request: Request, token: str, kind: str) -> Response:
    import asyncio

    from reprise.usecases.heartbeat import PingRequest, receive_ping

    site = site_of(request)
    body = b""
    if request.method == "POST":
        async for chunk in request.stream():
            body += chunk
            if len(body) >= MAX_PING_BODY:
                body = body[:MAX_PING_BODY]
                break
    remote = request.client.host if request.client else None
    outcome = await asyncio.to_thread(
        receive_ping,
        site.plan,
        site.store,
        PingRequest(token, kind, remote, body or None),
        site.clock,
    )
    if outcome is None:
        return PlainTextResponse("not found\n", status_code=404)
    return PlainTextResponse("OK\n")


@router.head("/ping/{token}", include_in_schema=False)
@router.post("/ping/{token}", tags=["heartbeat"], operation_id="ping_post")
@router.get("/ping/{token}", tags=["heartbeat"], operation_id="ping_get")
async def ping(request: Request, token: str) -> Response:
    """A heartbeat check's job succeeded (healthchecks.io's protocol)."""
    return await _ping(request, token, "success")


@router.head("/ping/{token}/start", include_in_schema=False)
@router.post("/ping/{token}/start", tags=["heartbeat"], operation_id="ping_start_post")
@router.get("/ping/{token}/start", tags=["heartbeat"], operation_id="ping_start_get")
async def ping_start(request: Request, token: str) -> Response:
    """The job started (it is down if it does not finish within the grace)."""
    return await _ping(request, token, "start")


@router.head("/ping/{token}/fail", include_in_schema=False)
@router.post("/ping/{token}/fail", tags=["heartbeat"], operation_id="ping_fail_post")
@router.get("/ping/{token}/fail", tags=["heartbeat"], operation_id="ping_fail_get")
async def ping_fail(request: Request, token: str) -> Response:
    """The job failed: the check is down at once."""
    return await _ping(request, token, "fail")


@router.get("/metrics", tags=["metrics"])
def metrics(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus exposition (a viewer's API token: `Authorization: Bearer …`)."""
    from reprise.usecases.metrics import metrics_page

    del authorization  # read by require(); declared for the OpenAPI document
    require(request, "viewer", page=False)
    site = site_of(request)
    body, content_type = metrics_page(site.plan, site.store, site.clock())
    return Response(body, media_type=content_type)
