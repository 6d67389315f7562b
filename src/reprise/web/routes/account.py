"""Signing in and out, and the page language."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from reprise.accounts.passwords import account as stored_account
from reprise.accounts.passwords import (
    check_password,
    set_language,
    sign_out_everywhere,
)
from reprise.accounts.people import person
from reprise.store.events import append_event
from reprise.web.auth import Throttle, check_csrf, identify, session_of, site_of
from reprise.web.render import Formats, language_of, page
from reprise.words import words

router = APIRouter(include_in_schema=False)
THROTTLE = Throttle(limit=10, window=60.0)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    if identify(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "login.html.j2", None, next=safe_next(next), problem=None, login=None)


@router.post("/login")
def login(
    request: Request,
    login: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password; on success a fresh session (new CSRF token) signs in."""
    site, session = site_of(request), session_of(request)
    language = language_of(request)
    t = words(language, "web")
    target = safe_next(next)

    def refuse(problem: str, status: int) -> Response:
        return page(
            request, "login.html.j2", None, status, next=target, problem=problem, login=login
        )

    if not hmac.compare_digest(session.csrf.encode(), csrf.encode()):
        return refuse(t["sign_in_failed"], 403)
    client = request.client.host if request.client else "unknown"
    if not THROTTLE.allow(client):
        return refuse(t["throttled"], 429)
    now = site.clock()
    member = person(site.plan, login)
    verdict = check_password(site.store, login, password, now)
    if member is None or not verdict.ok:
        append_event(
            site.store,
            "web.sign_in_failed",
            login[:100],
            {"from": client, "known": member is not None},
        )
        if verdict.locked_until is not None:
            zone = site.plan.organisation.timezone
            when = Formats(language, zone, now).time(verdict.locked_until)
            return refuse(t["locked_until"].format(time=when), 429)
        return refuse(t["sign_in_failed"], 401)
    account = stored_account(site.store, login)
    assert account is not None  # the password was just checked
    session.sign_out()  # a new CSRF token: no session fixation
    session.login = login
    session.signed_in_at = session.seen_at = now.timestamp()
    session.password_at = account.updated_at.timestamp()
    session.language = account.language or session.language
    session.changed = True
    append_event(site.store, "web.sign_in", login, {"from": client})
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    """Sign out (with the CSRF token, so that no other site can sign someone out)."""
    who = identify(request)
    if who is not None:
        check_csrf(request, who, csrf)
        site = site_of(request)
        if who.via == "session":  # copies of this cookie end too
            sign_out_everywhere(site.store, who.name, site.clock())
        append_event(site.store, "web.sign_out", who.name, {})
    session_of(request).sign_out()
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def language(
    request: Request,
    language: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Switch the pages' language for this session."""
    who = identify(request)
    if who is not None:
        check_csrf(request, who, csrf)
    session = session_of(request)
    if language in ("fr", "en"):
        session.language = language
        session.changed = True
        if who is not None and who.via == "session":
            set_language(site_of(request).store, who.name, language)
    return RedirectResponse(safe_next(next), status_code=303)
