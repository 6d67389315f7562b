"""Read what the public status page shows from the state, in four queries whatever the
number of services: each listed service's state before the history starts, its state
changes since (the monitor's ``service.state`` journal entries), the open incidents
touching listed services, and their public updates. Only public names leave this module."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, select

from reprise.plan.model import Plan
from reprise.statuspage.days import Change, day_bars, last_days
from reprise.statuspage.model import (
    STATES,
    PublicIncident,
    PublicService,
    PublicStatus,
    PublicUpdate,
)
from reprise.store.database import Store
from reprise.store.tables import events, incident_services, incident_timeline, incidents
from reprise.words import say

STATE_EVENT = "service.state"
"""The journal entry the monitor writes when a service changes state ({"to": state})."""

PUBLIC_KIND = "public"
"""The timeline kind of an update written for the public (``incident note --public``)."""


def gather_status(plan: Plan, store: Store, now: datetime, language: str) -> PublicStatus:
    """The page of ``plan.status_page`` at ``now``, its words in ``language``."""
    page = plan.status_page
    zone = ZoneInfo(plan.organisation.timezone)
    days = last_days(now, page.history_days, zone)
    start = datetime.fromtimestamp(days[0][1], zone)
    ids = [entry.service for entry in page.services]
    names = {entry.service: entry.name for entry in page.services}
    with store.engine.connect() as connection:
        initial = _states_before(connection, ids, start)
        changes = _changes(connection, ids, start, now)
        opened = _open_incidents(connection, ids)
        updates = _public_updates(connection, list(opened))
    degraded_as_down = plan.sla.degraded == "down"
    services = []
    for entry in page.services:
        known = changes.get(entry.service, [])
        current = known[-1][1] if known else initial.get(entry.service)
        services.append(
            PublicService(
                name=entry.name,
                group=entry.group,
                state=current if current in STATES else "unknown",
                days=day_bars(
                    days,
                    initial.get(entry.service),
                    known,
                    now.timestamp(),
                    degraded_counts_as_down=degraded_as_down,
                ),
            )
        )
    order = {service_id: index for index, service_id in enumerate(ids)}
    listed = []
    for incident_id, (opened_at, members) in opened.items():
        public = [names[s] for s in sorted(set(members), key=order.__getitem__)]
        listed.append(
            PublicIncident(
                title=say(language, "status_page.incident_title", services=", ".join(public)),
                opened_at=opened_at,
                services=public,
                updates=updates.get(incident_id, []),
            )
        )
    return PublicStatus(
        title=page.title or plan.organisation.name,
        language=language,
        timezone=plan.organisation.timezone,
        generated_at=now,
        history_days=page.history_days,
        services=services,
        incidents=listed,
    )


def _state_of(payload: Any) -> str | None:
    state = payload.get("to") if isinstance(payload, dict) else None
    return str(state) if state is not None else None


def _states_before(connection: Connection, ids: list[str], start: datetime) -> dict[str, str]:
    """Each service's latest state before ``start`` (absent: never known)."""
    e = events.c
    ranked = (
        select(
            e.subject,
            e.payload,
            func.row_number()
            .over(partition_by=e.subject, order_by=(e.time.desc(), e.id.desc()))
            .label("rank"),
        )
        .where(and_(e.kind == STATE_EVENT, e.subject.in_(ids), e.time < start))
        .subquery()
    )
    found: dict[str, str] = {}
    for row in connection.execute(
        select(ranked.c.subject, ranked.c.payload).where(ranked.c.rank == 1)
    ):
        state = _state_of(row.payload)
        if state is not None:
            found[row.subject] = state
    return found


def _changes(
    connection: Connection, ids: list[str], start: datetime, now: datetime
) -> dict[str, list[Change]]:
    """Each service's state changes in [start, now], in time order."""
    e = events.c
    found: dict[str, list[Change]] = defaultdict(list)
    for row in connection.execute(
        select(e.subject, e.time, e.payload)
        .where(and_(e.kind == STATE_EVENT, e.subject.in_(ids), e.time >= start, e.time <= now))
        .order_by(e.time, e.id)
    ):
        state = _state_of(row.payload)
        if state is not None:
            found[row.subject].append((row.time.timestamp(), state))
    return found


def _open_incidents(
    connection: Connection, ids: list[str]
) -> dict[int, tuple[datetime, list[str]]]:
    """Open real incidents (not exercises) touching listed services: id → (opening time,
    the listed services among theirs), oldest first."""
    i, s = incidents.c, incident_services.c
    found: dict[int, tuple[datetime, list[str]]] = {}
    for row in connection.execute(
        select(i.id, i.opened_at, s.service)
        .join(incident_services, s.incident_id == i.id)
        .where(and_(i.status == "open", i.exercise.is_(False), s.service.in_(ids)))
        .order_by(i.opened_at, i.id, s.position)
    ):
        found.setdefault(int(row.id), (row.opened_at, []))[1].append(row.service)
    return found


def _public_updates(
    connection: Connection, incident_ids: list[int]
) -> dict[int, list[PublicUpdate]]:
    """The public updates of these incidents, newest first."""
    if not incident_ids:
        return {}
    t = incident_timeline.c
    found: dict[int, list[PublicUpdate]] = defaultdict(list)
    for row in connection.execute(
        select(t.incident_id, t.at, t.text)
        .where(and_(t.incident_id.in_(incident_ids), t.kind == PUBLIC_KIND))
        .order_by(t.at.desc(), t.id.desc())
    ):
        found[int(row.incident_id)].append(PublicUpdate(row.at, row.text))
    return found
