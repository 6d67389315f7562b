"""API tokens: 256 random bits shown once, kept as their SHA-256 (a slow hash protects
guessable secrets; these are not), each with the permission of a role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from reprise.store.tables import api_tokens

if TYPE_CHECKING:
    from reprise.store.database import Store

PREFIX = "rpr_"
"""Every token starts with this, so that secret scanners and people recognise one."""
USE_RECORDED_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token (not on every request)."""


@dataclass(frozen=True)
class ApiToken:
    """A token's record (never the token itself)."""

    id: int
    name: str
    permission: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def active(self, at: datetime) -> bool:
        """Neither revoked nor expired at ``at``."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for --json and the API."""
        return {
            "id": self.id,
            "name": self.name,
            "permission": self.permission,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def digest(token: str) -> str:
    """What the state keeps of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    store: Store,
    name: str,
    permission: str,
    *,
    by: str,
    at: datetime,
    expires_at: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new token (shown once) and its record."""
    token = PREFIX + secrets.token_urlsafe(32)
    with store.engine.begin() as connection:
        inserted = connection.execute(
            insert(api_tokens).values(
                name=name,
                permission=permission,
                token_hash=digest(token),
                prefix=token[:12],
                created_at=at,
                created_by=by[:200],
                expires_at=expires_at,
            )
        ).inserted_primary_key
    assert inserted is not None
    return token, get_token(store, int(inserted[0]))


def _token(row: Any) -> ApiToken:
    return ApiToken(
        row.id,
        row.name,
        row.permission,
        row.prefix,
        row.created_at,
        row.created_by,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )


_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.permission,
    api_tokens.c.prefix,
    api_tokens.c.created_at,
    api_tokens.c.created_by,
    api_tokens.c.expires_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


def get_token(store: Store, token_id: int) -> ApiToken:
    """One token's record (KeyError when absent)."""
    with store.engine.connect() as connection:
        row = connection.execute(select(*_COLUMNS).where(api_tokens.c.id == token_id)).first()
    if row is None:
        raise KeyError(token_id)
    return _token(row)


def list_tokens(store: Store) -> list[ApiToken]:
    """Every token, oldest first."""
    with store.engine.connect() as connection:
        rows = connection.execute(select(*_COLUMNS).order_by(api_tokens.c.id)).all()
    return [_token(row) for row in rows]


def revoke_token(store: Store, token_id: int, at: datetime) -> bool:
    """Revoke a token; False when there is no such active token."""
    with store.engine.begin() as connection:
        changed = connection.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        ).rowcount
    return bool(changed)


def resolve_token(store: Store, token: str, at: datetime) -> ApiToken | None:
    """The active token ``token`` is, if any (its use recorded, at most once a minute)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    with store.engine.connect() as connection:
        row = connection.execute(
            select(*_COLUMNS).where(api_tokens.c.token_hash == digest(token))
        ).first()
    if row is None:
        return None
    found = _token(row)
    if not found.active(at):
        return None
    if found.last_used_at is None or at - found.last_used_at >= USE_RECORDED_EVERY:
        with store.engine.begin() as connection:
            connection.execute(
                update(api_tokens).where(api_tokens.c.id == found.id).values(last_used_at=at)
            )
    return found
