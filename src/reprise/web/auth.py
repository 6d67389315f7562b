"""Who is asking: a signed-in member (session cookie) or a script (API token), with the
permission the plan gives them; and the dependencies that refuse everyone else."""

from __future__ import annotations

import hmac
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from reprise.accounts.passwords import account as stored_account
from reprise.accounts.people import allows, person
from reprise.accounts.tokens import resolve_token

if TYPE_CHECKING:
    from reprise.web.sessions import Session
    from reprise.web.site import Site


@dataclass(frozen=True)
class Who:
    """Someone allowed in: ``name`` is what the journal records (a login, or
    ``token:<name>``); ``csrf`` is the session's token (None for API tokens)."""

    name: str
    display: str
    permission: str
    via: str
    csrf: str | None = None

    def may(self, permission: str) -> bool:
        """Whether they hold ``permission``."""
        return allows(self.permission, permission)


class SignInNeeded(Exception):
    """A page needs someone signed in: the app redirects to the sign-in page."""


def site_of(request: Request) -> Site:
    """The site the app serves."""
    site: Site = request.app.state.site
    return site


def session_of(request: Request) -> Session:
    """The request's session (the middleware reads and writes the cookie)."""
    session: Session = request.state.session
    return session


def identify(request: Request) -> Who | None:
    """The member or token behind the request, if any (cached on the request)."""
    if hasattr(request.state, "who"):
        cached: Who | None = request.state.who
        return cached
    site = site_of(request)
    found: Who | None = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = resolve_token(site.store, header[7:].strip(), site.clock())
        if token is not None:
            found = Who(f"token:{token.name}", token.name, token.permission, "token")
    else:
        session = session_of(request)
        if session.login is not None:
            member = person(site.plan, session.login)
            account = stored_account(site.store, session.login)
            current = account.updated_at.timestamp() if account else None
            ended = account.signed_out_at.timestamp() if account and account.signed_out_at else None
            if (
                member is None
                or account is None
                or current != session.password_at
                or (ended is not None and (session.signed_in_at or 0) <= ended)
            ):
                session.sign_out()  # removed, new password, or signed out elsewhere
            else:
                found = Who(member.login, member.name, member.permission, "session", session.csrf)
    request.state.who = found
    return found


def require(request: Request, permission: str, *, page: bool) -> Who:
    """The person or token, when they hold ``permission``: otherwise a page sends to
    sign-in (or 403), the API answers 401 or 403."""
    who = identify(request)
    if who is None:
        if page:
            raise SignInNeeded
        raise HTTPException(
            401, "sign in or send an API token", headers={"WWW-Authenticate": "Bearer"}
        )
    if not who.may(permission):
        raise HTTPException(403, f"this needs the {permission} permission")
    return who


def check_csrf(request: Request, who: Who, submitted: str | None) -> None:
    """Refuse (403) a change made with a session cookie without the session's CSRF token
    (API tokens are not sent by browsers on their own, so they need none)."""
    if who.via != "session":
        return
    expected = who.csrf or ""
    given = submitted or request.headers.get("x-csrf-token") or ""
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


class Throttle:
    """At most ``limit`` attempts per ``window`` seconds per key (a client address):
    sign-in guessing from one place is slowed before any login is locked out."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self.seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Count an attempt; False when over the limit."""
        now = time.monotonic()
        times = self.seen.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        if len(self.seen) > 10000:  # bounded memory under a spray of addresses
            self.seen = {k: v for k, v in self.seen.items() if v and now - v[-1] <= self.window}
        return True
