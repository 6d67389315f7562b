"""Alerts and silences: list and acknowledge alerts, test the contacts, hold a service's
alerts back for a while. Acknowledgements and new silences are written to the journal here,
so one made from any door (the CLI, a web page) reaches it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic_core import PydanticCustomError

from reprise.alerts import records
from reprise.alerts.delivery import send_to_roles
from reprise.alerts.messages import Notification, Writer
from reprise.alerts.records import Alert, DeliveryRecord, Silence
from reprise.errors import InputError, option
from reprise.plan.units import parse_duration
from reprise.store.events import append_event
from reprise.usecases.status import require_services

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = [
    "AckRequest",
    "Alert",
    "AlertList",
    "AlertListRequest",
    "AlertTestRequest",
    "DeliveryRecord",
    "Silence",
    "SilenceListRequest",
    "SilenceRemoveRequest",
    "SilenceRequest",
    "SilenceResult",
    "acknowledge",
    "add_silence",
    "list_alerts",
    "list_silences",
    "remove_silence",
    "send_test_messages",
]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AlertListRequest:
    """Open alerts only, or ``all`` (resolved ones too)."""

    all: bool = False


@dataclass(frozen=True)
class AlertList:
    """The alerts asked for, and the recent deliveries that failed."""

    alerts: list[Alert] = field(default_factory=list)
    failed_deliveries: list[DeliveryRecord] = field(default_factory=list)


def list_alerts(store: Store, request: AlertListRequest) -> AlertList:
    """Alerts (open, or all) and the last 20 failed deliveries."""
    return AlertList(
        records.list_alerts(store, open_only=not request.all),
        records.list_deliveries(store, failed_only=True, limit=20),
    )


@dataclass(frozen=True)
class AckRequest:
    """An alert id, or a service id (all its open alerts), and who acknowledges."""

    target: str
    by: str


def acknowledge(store: Store, request: AckRequest) -> list[Alert]:
    """Acknowledge: escalation stops (recovery is still notified); each alert acknowledged
    is written to the journal (``alert.acked``). InputError when nothing open matches."""
    alerts = records.acknowledge(store, request.target, request.by)
    for alert in alerts:
        append_event(store, "alert.acked", alert.service, {"alert": alert.id, "by": request.by})
    return alerts


@dataclass(frozen=True)
class AlertTestRequest:
    """The role whose contacts to test; None means every role."""

    role: str | None = None


def send_test_messages(plan: Plan, store: Store, request: AlertTestRequest) -> list[DeliveryRecord]:
    """Send a test message to every contact of the role (or of all roles) and return each
    delivery's outcome. InputError for an unknown role, or when there is nobody to test."""
    roles = [r.id for r in plan.roles]
    if request.role is not None and request.role not in roles:
        raise InputError(f"unknown role {request.role!r}", hint=f"use one of: {', '.join(roles)}")
    chosen = [request.role] if request.role else roles
    writer = Writer(plan)

    async def send_all() -> list[DeliveryRecord]:
        outcomes: list[DeliveryRecord] = []
        for one in chosen:
            subject, body = writer.test(one)
            outcomes += await send_to_roles(
                plan, store, Notification("test", (one,), subject, body)
            )
        return outcomes

    delivered = asyncio.run(send_all())
    if not delivered:
        raise InputError(
            "no contacts to test" + (f" in role {request.role!r}" if request.role else ""),
            hint="add contacts (Apprise URLs) to the members of roles: in the plan",
        )
    return delivered


@dataclass(frozen=True)
class SilenceRequest:
    """Silence ``service`` for ``for_`` (a duration as typed: 30m, 2h, 1d) because of
    ``reason``; ``by`` is who asks. Built only from valid input: InputError otherwise,
    before the plan or the state store is touched."""

    service: str
    for_: str
    reason: str
    by: str

    def __post_init__(self) -> None:
        self.duration  # noqa: B018  # the duration must parse
        if not self.reason.strip():
            raise InputError(
                f"{option('reason')} is empty",
                hint=f"say why, e.g. {option('reason')} 'disk replacement'",
            )

    @property
    def duration(self) -> timedelta:
        """How long the silence lasts."""
        try:
            return parse_duration(self.for_)
        except PydanticCustomError as error:
            hint = (error.context or {}).get("hint") or "write a duration such as 30m, 2h or 1d"
            raise InputError(
                f"{option('for')} {self.for_!r}: {error.message()}", hint=hint
            ) from None


@dataclass(frozen=True)
class SilenceResult:
    """The silence added and how long it lasts."""

    silence: Silence
    duration: timedelta


def add_silence(plan: Plan, store: Store, request: SilenceRequest) -> SilenceResult:
    """Hold a service's alerts back from now for the duration; its checks still run. The
    silence is written to the journal (``silence.added``)."""
    require_services(plan, [request.service])
    duration = request.duration
    now = _now()
    silence = records.add_silence(
        store, request.service, now, now + duration, request.reason.strip(), request.by
    )
    append_event(store, "silence.added", request.service, silence.to_dict())
    return SilenceResult(silence, duration)


@dataclass(frozen=True)
class SilenceListRequest:
    """Silences in force only, or ``all`` (ended ones too)."""

    all: bool = False


def list_silences(store: Store, request: SilenceListRequest) -> list[Silence]:
    """Silences in force now (or all), soonest end first."""
    return records.list_silences(store, active_at=None if request.all else _now())


@dataclass(frozen=True)
class SilenceRemoveRequest:
    """The silence to end."""

    silence_id: int


def remove_silence(store: Store, request: SilenceRemoveRequest) -> None:
    """End a silence now (InputError when no silence with that id is in force)."""
    records.end_silence(store, request.silence_id)
