"""The FastAPI application: security headers and sessions around every request, the
routers of each area, the static files, and errors turned into pages or JSON."""

from __future__ import annotations

import logging
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from reprise import __version__
from reprise.errors import InputError, RepriseError
from reprise.web.auth import SignInNeeded, identify
from reprise.web.render import language_of, page
from reprise.web.sessions import COOKIE, LONGEST, REFRESH_EVERY, SessionCodec
from reprise.words import words

if TYPE_CHECKING:
    from reprise.web.site import Site

logger = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
"""No inline script or style, nothing from elsewhere: injected markup cannot run."""


WEB_FIELDS = {"for": "duration"}
"""Settings the core names after a CLI option whose form and JSON field is named otherwise."""


def web_field(name: str) -> str:
    """How the web names a request setting the core refers to (the CLI says ``--name``)."""
    return f'"{WEB_FIELDS.get(name, name)}"'


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/metrics", "/ping/"))


def _shared(request: Request) -> bool:
    """Answers that shared caches may keep or that scripts fetch: never a session cookie."""
    return _is_api(request) or request.url.path.startswith(("/status", "/static/"))


def secure(response: Response, path: str) -> Response:
    """The security headers every answer carries (crash pages included)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not path.startswith(("/static/", "/status")):
        headers.setdefault("Cache-Control", "no-store")
    return response


class Guard(BaseHTTPMiddleware):
    """Reads and refreshes the session cookie, and adds the security headers."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        site: Site = request.app.state.site
        codec: SessionCodec = request.app.state.codec
        session = codec.load(request.cookies.get(COOKIE))
        now = site.clock().timestamp()
        if session.login is not None:
            idle = site.plan.web.session_idle.total_seconds()
            began = session.signed_in_at
            if began is None or now - began > LONGEST.total_seconds():
                session.sign_out()  # however active: at most 12 hours after signing in
                session.flash = "signed_out_idle"
            elif session.seen_at is None or now - session.seen_at > idle:
                session.sign_out()
                session.flash = "signed_out_idle"
            elif now - session.seen_at > REFRESH_EVERY:
                session.seen_at = now
                session.changed = True
        request.state.session = session
        try:
            response = await call_next(request)
        except Exception as error:  # noqa: BLE001  # a bug: logged, answered with the headers
            response = crash_response(request, error)
        if session.changed and not _shared(request):
            response.set_cookie(
                COOKIE,
                codec.dump(session),
                httponly=True,
                secure=site.secure_cookies,
                samesite="lax",
                path="/",
            )
        return secure(response, request.url.path)


def crash_response(request: Request, error: Exception) -> Response:
    """A bug in Reprise: logged with its traceback, told without details."""
    logger.error("bug in Reprise serving %s", request.url.path, exc_info=error)
    message = "internal error: this is a bug in Reprise, please report it with the log"
    if _is_api(request):
        return JSONResponse({"error": message}, status_code=500)
    return page(request, "error.html.j2", None, 500, message=message, hint=None)


def create_app(site: Site) -> FastAPI:
    """The web application of ``site``."""
    from reprise.web.routes import account, api, incidents, operations, pages, public

    app = FastAPI(
        title="Reprise",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.site = site
    app.state.codec = SessionCodec(site.secret("session"))
    app.add_middleware(Guard)
    static = resources.files("reprise.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in (public, account, pages, incidents, operations, api):
        app.include_router(module.router)

    @app.exception_handler(SignInNeeded)
    async def sign_in(request: Request, _error: SignInNeeded) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(RepriseError)
    async def reprise_error(request: Request, error: RepriseError) -> Response:
        message, hint = error.render(web_field)
        status = 400 if isinstance(error, InputError) else 502
        if _is_api(request):
            return JSONResponse({"error": message, "hint": hint}, status_code=status)
        return page(request, "error.html.j2", identify(request), status, message=message, hint=hint)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        headers: Any = getattr(error, "headers", None)
        if _is_api(request):
            return JSONResponse(
                {"error": error.detail}, status_code=error.status_code, headers=headers
            )
        return page(
            request,
            "error.html.j2",
            identify(request),
            error.status_code,
            message=str(error.detail),
            hint=None,
        )

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in item.get('loc', ()))}: {item.get('msg')}"
            for item in error.errors()
        ]
        if _is_api(request):
            return JSONResponse({"error": "invalid request", "problems": problems}, 422)
        return page(
            request,
            "error.html.j2",
            identify(request),
            422,
            message="; ".join(problems),
            hint=None,
        )

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, _error: OverflowError) -> Response:
        # an id past what the database holds (99999999999999999999): nothing has it
        if _is_api(request):
            return JSONResponse({"error": "not found"}, status_code=404)
        missing = words(language_of(request), "web")["not_found"]
        return page(request, "error.html.j2", identify(request), 404, message=missing, hint=None)

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> Response:
        return secure(crash_response(request, error), request.url.path)

    return app
