"""Acknowledge from the message itself (PagerDuty's habit): alert mails carry a signed,
expiring link to the web when ``web.base_url`` is set. The link only opens a page with one
button (a GET changes nothing, so mail scanners that follow links acknowledge nothing),
and it works only for someone signed in with the responder permission."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, URLSafeTimedSerializer

from reprise.accounts.keys import signing_secret

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store.database import Store

SALT = "reprise.ack"


def _serializer(store: Store) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_secret(store, "ack", datetime.now(UTC)), salt=SALT)


def ack_url(plan: Plan, store: Store, alert_id: int) -> str | None:
    """The link that acknowledges ``alert_id`` (None when the plan has no web address)."""
    base = plan.web.base_url
    if base is None:
        return None
    token = _serializer(store).dumps({"a": alert_id})
    return f"{base.rstrip('/')}/ack/{token}"


def read_ack_token(plan: Plan, store: Store, token: str) -> int | None:
    """The alert a link is for, when its signature holds and it has not expired."""
    try:
        data = _serializer(store).loads(token, max_age=int(plan.web.ack_link_valid.total_seconds()))
    except BadSignature:
        return None
    alert = data.get("a") if isinstance(data, dict) else None
    return alert if isinstance(alert, int) else None
