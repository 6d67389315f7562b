"""The events journal: append what happened; read it back, newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from reprise.store.database import Store
from reprise.store.tables import events

_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True)
class Event:
    """One journal entry: ``kind`` is dotted (``plan.changed``), ``subject`` what it is
    about (a service id, a backup id, a plan path)."""

    id: int
    time: datetime
    kind: str
    subject: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form for ``--json`` output."""
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "kind": self.kind,
            "subject": self.subject,
            "payload": self.payload,
        }


def append_event(
    target: Store | Connection,
    kind: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Append one event and return its id. Pass a Connection to join its transaction."""
    if not _KIND.match(kind):
        raise ValueError(f"event kind {kind!r} must be dotted lowercase words")
    values = {
        "time": at or datetime.now(UTC),
        "kind": kind,
        "subject": subject[:200],
        "payload": payload or {},
    }
    if isinstance(target, Connection):
        return _insert(target, values)
    with target.engine.begin() as connection:
        return _insert(connection, values)


def _insert(connection: Connection, values: dict[str, Any]) -> int:
    key = connection.execute(insert(events).values(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def list_events(
    store: Store,
    *,
    kind: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Event]:
    """Events, newest first. ``kind`` matches exactly or as a prefix (``plan`` matches
    ``plan.changed``)."""
    query = select(events).order_by(events.c.time.desc(), events.c.id.desc()).limit(limit)
    if kind:
        query = query.where((events.c.kind == kind) | events.c.kind.startswith(f"{kind}."))
    if subject:
        query = query.where(events.c.subject == subject)
    if since:
        query = query.where(events.c.time >= since)
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [Event(row.id, row.time, row.kind, row.subject, row.payload) for row in rows]
