"""Sessions in a signed cookie (itsdangerous): who signed in, their CSRF token, when they
were last seen (idle timeout) and when they signed in (at most 12 hours), their language.
Nothing secret is in the cookie; signing only stops forging."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "reprise_session"
LONGEST = timedelta(hours=12)
"""A session ends this long after sign-in, however active."""
REFRESH_EVERY = 30.0
"""Seconds between two refreshes of the cookie's last-seen time (not on every request)."""


@dataclass
class Session:
    """One browser's session: ``login`` when signed in, its CSRF token, timestamps."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    login: str | None = None
    signed_in_at: float | None = None
    seen_at: float | None = None
    password_at: float | None = None
    """When the password was set at sign-in: a new password ends older sessions."""
    language: str | None = None
    flash: str | None = None
    changed: bool = False

    def to_data(self) -> dict[str, Any]:
        """What the cookie carries."""
        return {
            "c": self.csrf,
            "l": self.login,
            "i": self.signed_in_at,
            "s": self.seen_at,
            "p": self.password_at,
            "g": self.language,
            "f": self.flash,
        }

    @classmethod
    def from_data(cls, data: Any) -> Session:
        """Read a cookie's payload; a malformed one is a new session."""
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return cls(changed=True)
        return cls(
            csrf=data["c"],
            login=data.get("l") if isinstance(data.get("l"), str) else None,
            signed_in_at=_number(data.get("i")),
            seen_at=_number(data.get("s")),
            password_at=_number(data.get("p")),
            language=data.get("g") if data.get("g") in ("fr", "en") else None,
            flash=data.get("f") if isinstance(data.get("f"), str) else None,
        )

    def sign_out(self) -> None:
        """Forget who signed in; a new CSRF token."""
        self.login = self.signed_in_at = self.seen_at = self.password_at = None
        self.csrf = secrets.token_urlsafe(24)
        self.changed = True


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class SessionCodec:
    """Signs and reads session cookies."""

    def __init__(self, secret: str) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="reprise.session")

    def dump(self, session: Session) -> str:
        """The cookie's value."""
        return self.serializer.dumps(session.to_data())

    def load(self, value: str | None) -> Session:
        """The session a cookie carries (a new one when absent, forged or too old)."""
        if not value:
            return Session(changed=True)
        try:
            data = self.serializer.loads(value, max_age=int(LONGEST.total_seconds()))
        except BadSignature:
            return Session(changed=True)
        return Session.from_data(data)
