"""Alerts, deliveries and silences in the state store.

The monitor keeps its open alerts in memory and writes every change here; other processes
(`reprise alert ack`, `reprise silence add`, the web) change them here and the monitor
reads those changes on its next tick."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from reprise.errors import InputError
from reprise.store.database import Store
from reprise.store.tables import alerts, deliveries, silences


@dataclass
class Alert:
    """A problem of a service from detection to recovery."""

    id: int
    service: str
    kind: str
    """``down``, ``degraded`` or ``flapping``."""
    priority: str
    opened_at: datetime
    message: str
    roles: list[str]
    root: str | None = None
    notified_at: datetime | None = None
    level: int = 0
    next_at: datetime | None = None
    digest_due: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    resolved_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of `alert list --json`."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
        }


_FIELDS = (
    "service",
    "kind",
    "priority",
    "opened_at",
    "message",
    "roles",
    "root",
    "notified_at",
    "level",
    "next_at",
    "digest_due",
    "acked_at",
    "acked_by",
    "resolved_at",
)


def _alert(row: Any) -> Alert:
    return Alert(id=row.id, **{name: getattr(row, name) for name in _FIELDS})


def open_alert(
    store: Store,
    *,
    service: str,
    kind: str,
    priority: str,
    opened_at: datetime,
    message: str,
    roles: list[str],
) -> Alert:
    """Insert a new alert and return it."""
    values = {
        "service": service,
        "kind": kind,
        "priority": priority,
        "opened_at": opened_at,
        "message": message,
        "roles": roles,
        "level": 0,
    }
    with store.engine.begin() as connection:
        key = connection.execute(insert(alerts).values(values)).inserted_primary_key
    assert key is not None
    return Alert(
        id=int(key[0]),
        service=service,
        kind=kind,
        priority=priority,
        opened_at=opened_at,
        message=message,
        roles=roles,
    )


def save_alert(store: Store, alert: Alert) -> None:
    """Write an alert's current fields."""
    values = {name: getattr(alert, name) for name in _FIELDS}
    with store.engine.begin() as connection:
        connection.execute(update(alerts).where(alerts.c.id == alert.id).values(values))


def claim_alert(store: Store, alert: Alert, **expected: Any) -> bool:
    """Write an alert's fields only if it is still open and its stored ``expected`` fields
    (level, notified_at…) are as this process last saw them: the compare-and-swap that lets
    one sender win when two services sharing the state (a takeover) both mean to announce,
    escalate or resolve it. False: another did it first; reread it (:func:`get_alert`)."""
    values = {name: getattr(alert, name) for name in _FIELDS}
    condition = and_(
        alerts.c.id == alert.id,
        alerts.c.resolved_at.is_(None),
        *(alerts.c[name].is_not_distinct_from(value) for name, value in expected.items()),
    )
    with store.engine.begin() as connection:
        return bool(connection.execute(update(alerts).where(condition).values(values)).rowcount)


def reread(store: Store, alert: Alert) -> bool:
    """Take the stored fields of an alert another service changed first; whether it is
    resolved now."""
    stored = get_alert(store, alert.id)
    if stored is not None:
        alert.__dict__.update(stored.__dict__)
    return alert.resolved_at is not None


def get_alert(store: Store, alert_id: int) -> Alert | None:
    """One alert as stored."""
    with store.engine.connect() as connection:
        row = connection.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    return None if row is None else _alert(row)


def list_alerts(store: Store, *, open_only: bool = True, limit: int = 200) -> list[Alert]:
    """Alerts, newest first (only unresolved ones unless ``open_only`` is false)."""
    query = select(alerts).order_by(alerts.c.opened_at.desc(), alerts.c.id.desc()).limit(limit)
    if open_only:
        query = query.where(alerts.c.resolved_at.is_(None))
    with store.engine.connect() as connection:
        return [_alert(row) for row in connection.execute(query)]


def first_notified_since(store: Store, services: list[str], since: datetime) -> datetime | None:
    """When the first alert of one of these services was sent at or after ``since``
    (resolved since or not; None: none was): how the engine knows when an incident had
    its alert."""
    if not services:
        return None
    query = select(func.min(alerts.c.notified_at)).where(
        and_(alerts.c.service.in_(services), alerts.c.notified_at >= since)
    )
    with store.engine.connect() as connection:
        first = connection.execute(query).scalar()
    return first if isinstance(first, datetime) else None


def acknowledgements(store: Store, ids: list[int]) -> dict[int, tuple[datetime, str]]:
    """Which of these alerts were acknowledged, when and by whom."""
    if not ids:
        return {}
    query = select(alerts.c.id, alerts.c.acked_at, alerts.c.acked_by).where(
        and_(alerts.c.id.in_(ids), alerts.c.acked_at.is_not(None))
    )
    with store.engine.connect() as connection:
        return {row.id: (row.acked_at, row.acked_by or "") for row in connection.execute(query)}


def acknowledge(store: Store, target: str, by: str, at: datetime | None = None) -> list[Alert]:
    """Acknowledge an open alert by id, or every open alert of a service; escalation stops.

    Raises InputError when nothing open matches."""
    moment = at or datetime.now(UTC)
    condition = alerts.c.service == target
    if target.isdigit():
        condition = or_(condition, alerts.c.id == int(target))
    where = and_(condition, alerts.c.resolved_at.is_(None))
    with store.engine.begin() as connection:
        rows = [_alert(row) for row in connection.execute(select(alerts).where(where))]
        if not rows:
            raise InputError(
                f"no open alert matches {target!r}",
                hint="`reprise alert list` shows the open alerts and their ids",
            )
        connection.execute(
            update(alerts)
            .where(and_(where, alerts.c.acked_at.is_(None)))
            .values(acked_at=moment, acked_by=by)
        )
    for row in rows:
        if row.acked_at is None:
            row.acked_at, row.acked_by = moment, by
    return rows


@dataclass(frozen=True)
class DeliveryRecord:
    """One notification to one contact: sent, or given up on after its attempts."""

    alert_id: int | None
    kind: str
    role: str
    contact: str
    subject: str
    at: datetime
    attempts: int
    ok: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {**asdict(self), "at": self.at.isoformat()}


def record_delivery(store: Store, record: DeliveryRecord) -> None:
    """Store a delivery outcome (the contact is already redacted)."""
    with store.engine.begin() as connection:
        connection.execute(insert(deliveries).values(asdict(record)))


def list_deliveries(
    store: Store, *, failed_only: bool = False, limit: int = 100
) -> list[DeliveryRecord]:
    """Recent deliveries, newest first."""
    query = select(deliveries).order_by(deliveries.c.at.desc(), deliveries.c.id.desc())
    if failed_only:
        query = query.where(deliveries.c.ok.is_(False))
    with store.engine.connect() as connection:
        return [
            DeliveryRecord(
                row.alert_id,
                row.kind,
                row.role,
                row.contact,
                row.subject,
                row.at,
                row.attempts,
                row.ok,
                row.error,
            )
            for row in connection.execute(query.limit(limit))
        ]


@dataclass(frozen=True)
class Silence:
    """Alerts of a service held back until ``ends_at``; checks still run."""

    id: int
    service: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str

    def active(self, now: datetime) -> bool:
        """Whether it holds alerts back at ``now``."""
        return self.starts_at <= now < self.ends_at

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of `silence list --json`."""
        return {
            "id": self.id,
            "service": self.service,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "reason": self.reason,
            "created_by": self.created_by,
        }


def add_silence(
    store: Store, service: str, starts_at: datetime, ends_at: datetime, reason: str, by: str
) -> Silence:
    """Store a silence and return it."""
    values = {
        "service": service,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": reason,
        "created_by": by,
    }
    with store.engine.begin() as connection:
        key = connection.execute(insert(silences).values(values)).inserted_primary_key
    assert key is not None
    return Silence(int(key[0]), service, starts_at, ends_at, reason, by)


def list_silences(store: Store, *, active_at: datetime | None = None) -> list[Silence]:
    """Silences ending after ``active_at`` (all when None), soonest end first."""
    query = select(silences).order_by(silences.c.ends_at, silences.c.id)
    if active_at is not None:
        query = query.where(silences.c.ends_at > active_at)
    with store.engine.connect() as connection:
        return [
            Silence(row.id, row.service, row.starts_at, row.ends_at, row.reason, row.created_by)
            for row in connection.execute(query)
        ]


def end_silence(store: Store, silence_id: int, at: datetime | None = None) -> None:
    """End a silence now (InputError when there is no such silence)."""
    moment = at or datetime.now(UTC)
    with store.engine.begin() as connection:
        done = connection.execute(
            update(silences)
            .where(and_(silences.c.id == silence_id, silences.c.ends_at > moment))
            .values(ends_at=moment)
        )
    if not done.rowcount:
        raise InputError(
            f"no active silence with id {silence_id}", hint="`reprise silence list` shows them"
        )
