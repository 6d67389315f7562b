"""A ping from a job elsewhere (``/ping/<token>``, ``/start``, ``/fail``): find the
heartbeat check whose token it carries, record it and journal it.

The token is the only credential of a ping: it is compared in constant time with every
heartbeat token of the plan (no early exit), and never stored or journaled."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reprise.errors import InputError
from reprise.heartbeat.records import PING_KINDS, record_ping
from reprise.plan.checks import HeartbeatCheck
from reprise.probes.run import service_checks
from reprise.store.events import append_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from reprise.plan.model import Plan
    from reprise.store.database import Store

    Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class PingRequest:
    """One ping: the token of the address, what it says (success, start or fail), who
    sent it and the body it carried (a log tail; kept as text, never interpreted)."""

    token: str
    kind: str = "success"
    remote: str | None = None
    body: str | bytes | None = None


@dataclass(frozen=True)
class PingOutcome:
    """Which check a ping was for, and when it was recorded."""

    service: str
    check: str
    kind: str
    at: datetime


def heartbeat_checks(plan: Plan) -> Iterator[tuple[str, str, HeartbeatCheck]]:
    """(service id, check display name, check) of every heartbeat check of the plan."""
    for service in plan.services:
        for name, check in service_checks(service):
            if isinstance(check, HeartbeatCheck):
                yield service.id, name, check


def receive_ping(
    plan: Plan, store: Store, request: PingRequest, clock: Clock = utc_now
) -> PingOutcome | None:
    """Record a ping for the heartbeat check holding ``request.token``: the check, or None
    when no check has that token (the web then answers 404). InputError for a kind that
    is not success, start or fail."""
    if request.kind not in PING_KINDS:
        raise InputError(
            f"unknown ping kind {request.kind!r}",
            hint="ping /ping/TOKEN (success), /ping/TOKEN/start or /ping/TOKEN/fail",
        )
    given = request.token.encode("utf-8", errors="replace")
    found: tuple[str, str] | None = None
    for service_id, name, check in heartbeat_checks(plan):
        # Every token is compared, matched or not: the time taken says nothing of which.
        if hmac.compare_digest(check.token.encode(), given) and found is None:
            found = (service_id, name)
    if found is None:
        return None
    service_id, name = found
    at = clock()
    record_ping(store, service_id, name, request.kind, at, request.remote, request.body)
    append_event(store, "heartbeat.ping", service_id, {"check": name, "kind": request.kind}, at=at)
    return PingOutcome(service_id, name, request.kind, at)
