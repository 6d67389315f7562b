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
_cache: dict[int, tuple[float, str]] = {}
_rendering = threading.Lock()
MAX_PING_BODY = 10_000
"""Bytes of a ping's body read at most (a log tail); the rest is not read."""


@router.get("/status", include_in_schema=False)
def status_page(request: Request) -> Response:
    """The public status page (404 when the plan lists no service under status_page)."""
    from reprise.statuspage.render import render_status_page
    from reprise.usecases.status_page import public_status

    site = site_of(request)
    key = id(site.plan)  # a reloaded plan is another object: its page is made anew
    cached = _cache.get(key)
    stale = cached is None or time.monotonic() - cached[0] >= STATUS_FRESH_FOR
    # One request renders at a time; the crowd meanwhile gets the page made a moment ago.
    if stale and _rendering.acquire(blocking=cached is None):
        try:
            found = public_status(site.plan, site.store, site.clock())
            if found is None:
                raise HTTPException(404, "no public status page in this plan")
            cached = (time.monotonic(), render_status_page(site.plan, found))
            _cache.clear()
            _cache[key] = cached
        finally:
            _rendering.release()
    cached = cached or _cache.get(key)
    if cached is None:  # rendering failed in another request
        raise HTTPException(503, "the status page is being prepared: try again")
    return HTMLResponse(cached[1], headers={"Cache-Control": "public, max-age=5"})


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


@router.api_route("/ping/{token}", methods=["GET", "POST", "HEAD"], tags=["heartbeat"])
async def ping(request: Request, token: str) -> Response:
    """A heartbeat check's job succeeded (healthchecks.io's protocol)."""
    return await _ping(request, token, "success")


@router.api_route("/ping/{token}/start", methods=["GET", "POST", "HEAD"], tags=["heartbeat"])
async def ping_start(request: Request, token: str) -> Response:
    """The job started (it is down if it does not finish within the grace)."""
    return await _ping(request, token, "start")


@router.api_route("/ping/{token}/fail", methods=["GET", "POST", "HEAD"], tags=["heartbeat"])
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
