"""Members' passwords: argon2id hashes in the state, and the lockout that makes guessing
slow (each wrong password in a row doubles the wait, from the fifth on)."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select, update

from reprise.store.tables import web_users

if TYPE_CHECKING:
    from reprise.store.database import Store

HASHER = PasswordHasher()
"""argon2id with the library's current recommended cost (RFC 9106 low-memory profile)."""
FREE_FAILURES = 4
"""Wrong passwords in a row allowed before each further one locks the login out."""
FIRST_LOCKOUT = timedelta(seconds=30)
LONGEST_LOCKOUT = timedelta(hours=1)


@dataclass(frozen=True)
class Account:
    """A login's stored password state (never the hash)."""

    login: str
    updated_at: datetime
    updated_by: str
    failures: int
    locked_until: datetime | None
    last_login_at: datetime | None
    language: str | None = None
    signed_out_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of a sign-in attempt: ``ok``, or refused with ``locked_until`` when the
    login is (now) locked out."""

    ok: bool
    locked_until: datetime | None = None


def set_password(store: Store, login: str, password: str, *, by: str, at: datetime) -> None:
    """Store ``password``'s argon2id hash for ``login`` (lockout cleared)."""
    digest = HASHER.hash(password)
    values = {
        "password_hash": digest,
        "updated_at": at,
        "updated_by": by[:200],
        "failures": 0,
        "locked_until": None,
    }
    with store.engine.begin() as connection:
        changed = connection.execute(
            update(web_users).where(web_users.c.login == login).values(**values)
        ).rowcount
        if not changed:
            connection.execute(insert(web_users).values(login=login, **values))


def remove_password(store: Store, login: str) -> bool:
    """Forget ``login``'s password (it can no longer sign in); False when it had none."""
    with store.engine.begin() as connection:
        return bool(
            connection.execute(delete(web_users).where(web_users.c.login == login)).rowcount
        )


_ACCOUNT_COLUMNS = (
    web_users.c.login,
    web_users.c.updated_at,
    web_users.c.updated_by,
    web_users.c.failures,
    web_users.c.locked_until,
    web_users.c.last_login_at,
    web_users.c.language,
    web_users.c.signed_out_at,
)


def accounts(store: Store) -> dict[str, Account]:
    """Every login with a password."""
    with store.engine.connect() as connection:
        rows = connection.execute(select(*_ACCOUNT_COLUMNS)).all()
    return {row.login: Account(*row) for row in rows}


def account(store: Store, login: str) -> Account | None:
    """One login's account (what each signed-in request checks), if it has a password."""
    with store.engine.connect() as connection:
        row = connection.execute(
            select(*_ACCOUNT_COLUMNS).where(web_users.c.login == login)
        ).first()
    return None if row is None else Account(*row)


def lockout(failures: int) -> timedelta | None:
    """How long ``failures`` wrong passwords in a row lock a login out."""
    if failures <= FREE_FAILURES:
        return None
    wait: timedelta = FIRST_LOCKOUT * 2 ** min(failures - FREE_FAILURES - 1, 20)
    return min(wait, LONGEST_LOCKOUT)


def check_password(store: Store, login: str, password: str, at: datetime) -> Verdict:
    """Check a sign-in attempt. A locked-out login is refused without looking at the
    password; an unknown login costs the same hashing time as a known one."""
    c = web_users.c
    with store.engine.begin() as connection:
        row = connection.execute(
            select(c.password_hash, c.failures, c.locked_until).where(c.login == login)
        ).first()
        if row is None:  # the same answers as for a real login: nothing tells them apart
            _spend_time(password)
            return _unknown_failure(login, at)
        if row.locked_until is not None and row.locked_until > at:
            return Verdict(False, row.locked_until)
        try:
            HASHER.verify(row.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            failures = row.failures + 1
            wait = lockout(failures)
            until = at + wait if wait is not None else None
            connection.execute(
                update(web_users)
                .where(c.login == login)
                .values(failures=failures, locked_until=until)
            )
            return Verdict(False, until)
        values: dict[str, object] = {"failures": 0, "locked_until": None, "last_login_at": at}
        if HASHER.check_needs_rehash(row.password_hash):
            values["password_hash"] = HASHER.hash(password)
        connection.execute(update(web_users).where(c.login == login).values(**values))
        return Verdict(True)


@functools.cache
def _dummy() -> str:
    return HASHER.hash("reprise: no such user, but take as long as if there were")


def _spend_time(password: str) -> None:
    with contextlib.suppress(VerificationError):
        HASHER.verify(_dummy(), password)


def set_language(store: Store, login: str, language: str) -> None:
    """Remember the pages' language a person chose."""
    with store.engine.begin() as connection:
        connection.execute(
            update(web_users).where(web_users.c.login == login).values(language=language)
        )


def sign_out_everywhere(store: Store, login: str, at: datetime) -> None:
    """End every session of ``login`` begun before ``at`` (copies of the cookie included)."""
    with store.engine.begin() as connection:
        connection.execute(
            update(web_users).where(web_users.c.login == login).values(signed_out_at=at)
        )


_UNKNOWN: dict[str, tuple[int, datetime | None]] = {}
"""Wrong attempts on logins that do not exist, counted like real ones (in memory, bounded)."""


def _unknown_failure(login: str, at: datetime) -> Verdict:
    failures, until = _UNKNOWN.get(login, (0, None))
    if until is not None and until > at:
        return Verdict(False, until)
    failures += 1
    wait = lockout(failures)
    until = at + wait if wait is not None else None
    if len(_UNKNOWN) >= 10000 and login not in _UNKNOWN:
        _UNKNOWN.clear()
    _UNKNOWN[login[:100]] = (failures, until)
    return Verdict(False, until)


def forget_unknown_logins() -> None:
    """Forget the attempts on unknown logins (a new process does; tests do between them)."""
    _UNKNOWN.clear()
