"""The state database: opening it for a use case, what it is and what it holds, and its
journal of events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reprise.store import open_state
from reprise.store.events import Event
from reprise.store.events import list_events as query_events
from reprise.store.summary import describe

if TYPE_CHECKING:
    from reprise.store import Store

__all__ = [
    "Event",
    "EventsRequest",
    "StateInfo",
    "list_events",
    "open_state",
    "state_info",
]


@dataclass(frozen=True)
class StateInfo:
    """Where the state database is, its engine and schema revision, how much it holds and
    the plan version in force."""

    url: str
    dialect: str
    revision: str | None
    head_revision: str
    plan_versions: int
    events: int
    plan_sha256: str | None
    plan_loaded_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "url": self.url,
            "dialect": self.dialect,
            "revision": self.revision,
            "head_revision": self.head_revision,
            "plan_versions": self.plan_versions,
            "events": self.events,
            "plan_sha256": self.plan_sha256,
            "plan_loaded_at": self.plan_loaded_at,
        }


def state_info(store: Store) -> StateInfo:
    """Describe the open state database."""
    return StateInfo(**describe(store))


@dataclass(frozen=True)
class EventsRequest:
    """Which events: of ``kind`` (or kinds under it), about ``subject``, no older than
    ``since``; at most ``limit``."""

    kind: str | None = None
    subject: str | None = None
    since: timedelta | None = None
    limit: int = 50


def list_events(store: Store, request: EventsRequest) -> list[Event]:
    """The journal's events, newest first."""
    since = datetime.now(UTC) - request.since if request.since is not None else None
    return query_events(
        store, kind=request.kind, subject=request.subject, since=since, limit=request.limit
    )
