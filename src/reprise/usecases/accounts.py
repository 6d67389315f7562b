"""Who may use the web and the API: members' passwords (`reprise user`) and API tokens
(`reprise token`). Every change is journaled with the person who made it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticCustomError

from reprise.accounts.passwords import Account, accounts, remove_password
from reprise.accounts.passwords import set_password as store_password
from reprise.accounts.people import RANKS, Person, people
from reprise.accounts.tokens import ApiToken, create_token, list_tokens, revoke_token
from reprise.errors import InputError, option
from reprise.plan.units import parse_duration
from reprise.store.events import append_event

if TYPE_CHECKING:
    from collections.abc import Callable

    from reprise.plan.model import Plan
    from reprise.store.database import Store

    Clock = Callable[[], datetime]

MIN_PASSWORD = 12
"""Shortest password accepted (NIST SP 800-63B asks at least 8; we are a root tool)."""


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def _member(plan: Plan, login: str) -> Person:
    found = people(plan)
    if login not in found:
        logins = ", ".join(sorted(found)) or "none yet"
        raise InputError(
            f"no member with login {login!r} in the plan (logins: {logins})",
            hint="give the member a `login:` under roles: → members: in the plan, then "
            "set the password",
        )
    return found[login]


@dataclass(frozen=True)
class PasswordRequest:
    """Set ``login``'s password; ``by`` is who does it."""

    login: str
    password: str
    by: str


def set_password(
    plan: Plan, store: Store, request: PasswordRequest, clock: Clock = utc_now
) -> Person:
    """Set a member's web password (argon2id). InputError for a login the plan does not
    have or a password shorter than 12 characters."""
    member = _member(plan, request.login)
    if len(request.password) < MIN_PASSWORD:
        raise InputError(
            f"the password for {request.login!r} is too short ({len(request.password)} characters)",
            hint=f"use at least {MIN_PASSWORD} characters; a passphrase of four words is good",
        )
    if request.password.strip() != request.password or "\n" in request.password:
        raise InputError(
            "the password starts or ends with a space or holds a line break",
            hint="type it again without surrounding spaces",
        )
    store_password(store, request.login, request.password, by=request.by, at=clock())
    append_event(store, "user.password_set", request.login, {"by": request.by})
    return member


@dataclass(frozen=True)
class UserLine:
    """A member who may sign in, and whether a password is set."""

    person: Person
    account: Account | None

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for --json and the API."""
        account = self.account
        return {
            "login": self.person.login,
            "name": self.person.name,
            "permission": self.person.permission,
            "roles": list(self.person.roles),
            "password_set": account is not None,
            "last_login_at": (
                account.last_login_at.isoformat() if account and account.last_login_at else None
            ),
            "locked_until": (
                account.locked_until.isoformat() if account and account.locked_until else None
            ),
        }


def list_users(plan: Plan, store: Store) -> list[UserLine]:
    """The plan's members with a login, strongest permission first."""
    stored = accounts(store)
    lines = [UserLine(person, stored.get(login)) for login, person in people(plan).items()]
    return sorted(lines, key=lambda line: (-RANKS[line.person.permission], line.person.login))


@dataclass(frozen=True)
class RemoveRequest:
    """Forget ``login``'s password, so it can no longer sign in."""

    login: str
    by: str


def remove_user_password(store: Store, request: RemoveRequest) -> None:
    """Remove a password (InputError when the login has none)."""
    if not remove_password(store, request.login):
        raise InputError(
            f"{request.login!r} has no password", hint="`reprise user list` shows who has one"
        )
    append_event(store, "user.password_removed", request.login, {"by": request.by})


@dataclass(frozen=True)
class TokenRequest:
    """A new API token called ``name`` with a role's ``permission``; ``expires`` a
    duration as typed (90d), or None for no expiry."""

    name: str
    permission: str
    by: str
    expires: str | None = None


def new_token(store: Store, request: TokenRequest, clock: Clock = utc_now) -> tuple[str, ApiToken]:
    """Create a token: (the token, shown once; its record)."""
    if request.permission not in RANKS:
        raise InputError(
            f"no permission {request.permission!r}", hint="use viewer, responder or admin"
        )
    name = request.name.strip()
    if not name or len(name) > 100:
        raise InputError(
            "a token needs a name of 1 to 100 characters",
            hint="name it after what uses it: prometheus, grafana, ci",
        )
    now = clock()
    expires_at = None
    if request.expires is not None:
        try:
            expires_at = now + parse_duration(request.expires)
        except PydanticCustomError as error:
            raise InputError(
                f"{option('expires')} {request.expires!r}: {error.message()}",
                hint="write a duration such as 90d or 52w",
            ) from None
    token, record = create_token(
        store, name, request.permission, by=request.by, at=now, expires_at=expires_at
    )
    append_event(
        store,
        "token.created",
        f"token:{record.id}",
        {"name": name, "permission": request.permission, "by": request.by},
    )
    return token, record


def tokens(store: Store) -> list[ApiToken]:
    """Every API token (never the secret)."""
    return list_tokens(store)


@dataclass(frozen=True)
class RevokeRequest:
    """Revoke token ``token_id``."""

    token_id: int
    by: str


def revoke(store: Store, request: RevokeRequest, clock: Clock = utc_now) -> None:
    """Revoke a token (InputError when there is no such active token)."""
    if not revoke_token(store, request.token_id, clock()):
        raise InputError(
            f"no active token {request.token_id}", hint="`reprise token list` shows them"
        )
    append_event(store, "token.revoked", f"token:{request.token_id}", {"by": request.by})
