"""Alerts and silences: list and acknowledge alerts, test the contacts, hold a service's
alerts back for a while. Acknowledgements and new silences are written to the journal here,
so one made from any door (the CLI, a web page) reaches it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

from reprise.alerts import records
from reprise.alerts.delivery import Dispatcher, Sender, apprise_send
from reprise.alerts.messages import Notification, Writer
from reprise.alerts.records import Alert, DeliveryRecord, Silence
from reprise.errors import InputError, option
from reprise.plan.contacts import recipient
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
    "ContactTest",
    "ContactTry",
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
class ContactTry:
    """A contact about to be tested: its role, the member it belongs to, the channel (the
    URL's scheme: ``mailto``, ``json``, ``slack``…) and who it reaches (no secret)."""

    role: str
    member: str
    channel: str
    contact: str


@dataclass(frozen=True)
class ContactTest:
    """A contact tested: the delivery's outcome and how long it took."""

    tried: ContactTry
    record: DeliveryRecord
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the test message went out."""
        return self.record.ok

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the delivery's, with the member, the channel and the seconds."""
        return {
            **self.record.to_dict(),
            "member": self.tried.member,
            "channel": self.tried.channel,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class AlertTestRequest:
    """The role whose contacts to test (None: every role); ``timeout``: the longest wait
    for each contact, in seconds (one try each: a test shows what fails, retries would
    hide it and lengthen the run); ``on_start`` / ``on_result`` are told of each contact
    as it goes."""

    role: str | None = None
    timeout: float = 10.0
    on_start: Callable[[ContactTry], None] | None = None
    on_result: Callable[[ContactTest], None] | None = None
    sender: Sender = apprise_send


_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
_EXAMPLE_TLDS = ("example", "invalid")


def placeholder(url: str) -> str | None:
    """Why a contact is a placeholder that cannot be reached (a server under a domain
    reserved for examples, RFC 2606: ``smtp.example.org``), else None."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    reserved = any(host == d or host.endswith("." + d) for d in _EXAMPLE_DOMAINS) or (
        host.rsplit(".", 1)[-1] in _EXAMPLE_TLDS
    )
    if not reserved:
        return None
    return (
        f"{host} is a placeholder (a domain reserved for examples): put the real server "
        "in the plan (or its .env)"
    )


def _contacts(plan: Plan, roles: list[str]) -> list[tuple[ContactTry, str]]:
    """Each contact of these roles once per role, with its URL."""
    found: list[tuple[ContactTry, str]] = []
    for role in plan.roles:
        if role.id not in roles:
            continue
        seen: set[str] = set()
        for member in role.members:
            for url in member.contacts:
                if url in seen:
                    continue
                seen.add(url)
                channel = url.split("://", 1)[0].lower() if "://" in url else "?"
                found.append((ContactTry(role.id, member.name, channel, recipient(url)), url))
    return found


def send_test_messages(plan: Plan, store: Store, request: AlertTestRequest) -> list[ContactTest]:
    """Send a test message to every contact of the role (or of all roles), one after the
    other, each tried once and given at most ``request.timeout`` seconds; a placeholder
    contact fails at once. Every outcome is stored as a delivery and returned. InputError
    for an unknown role, or when there is nobody to test."""
    roles = [r.id for r in plan.roles]
    if request.role is not None and request.role not in roles:
        raise InputError(f"unknown role {request.role!r}", hint=f"use one of: {', '.join(roles)}")
    if request.timeout <= 0:
        raise InputError(f"{option('timeout')} must be positive", hint="e.g. 10s")
    contacts = _contacts(plan, [request.role] if request.role else roles)
    if not contacts:
        raise InputError(
            "no contacts to test" + (f" in role {request.role!r}" if request.role else ""),
            hint="add contacts (Apprise URLs) to the members of roles: in the plan",
        )
    writer = Writer(plan)
    dispatcher = Dispatcher(plan, store, request.sender, attempts=1, timeout=request.timeout)

    async def test_one(tried: ContactTry, url: str) -> ContactTest:
        started = time.monotonic()
        subject, body = writer.test(tried.role)
        notification = Notification("test", (tried.role,), subject, body)
        reason = placeholder(url)
        if reason is None:
            record = await dispatcher.deliver(tried.role, url, notification)
        else:
            record = DeliveryRecord(
                None, "test", tried.role, tried.contact, subject, _now(), 0, False, reason
            )
            await asyncio.to_thread(records.record_delivery, store, record)
        return ContactTest(tried, record, time.monotonic() - started)

    async def test_all() -> list[ContactTest]:
        outcomes: list[ContactTest] = []
        for tried, url in contacts:
            if request.on_start is not None:
                request.on_start(tried)
            outcome = await test_one(tried, url)
            if request.on_result is not None:
                request.on_result(outcome)
            outcomes.append(outcome)
        return outcomes

    try:
        return asyncio.run(test_all())
    finally:
        dispatcher.close()


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
