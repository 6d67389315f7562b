"""What the web's overview and service pages show (and the API's /services)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from reprise.dashboard.cards import Card, cards
from reprise.errors import InputError
from reprise.incidents.records import Incident, list_incidents
from reprise.store.tables import alerts, check_results

if TYPE_CHECKING:
    from reprise.drill.records import DrillRecord
    from reprise.plan.model import Plan
    from reprise.repository.catalog import CatalogEntry
    from reprise.store.database import Store


@dataclass(frozen=True)
class Overview:
    """Every service's card, the open incidents and how many alerts are open."""

    cards: list[Card]
    incidents: list[Incident]
    alert_count: int

    @property
    def counts(self) -> dict[str, int]:
        """Services per state."""
        found = Counter(card.state for card in self.cards)
        return {state: found.get(state, 0) for state in ("up", "degraded", "down", "unknown")}

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for the API."""
        return {
            "counts": self.counts,
            "services": [card.to_dict() for card in self.cards],
            "open_incidents": [incident.id for incident in self.incidents],
            "open_alerts": self.alert_count,
        }


def overview(plan: Plan, store: Store, now: datetime) -> Overview:
    """The overview: cards of every service, open incidents (exercises included, marked)."""
    with store.engine.connect() as connection:
        count = len(
            connection.execute(select(alerts.c.id).where(alerts.c.resolved_at.is_(None))).all()
        )
    return Overview(cards(plan, store, now), list_incidents(store, open_only=True), count)


@dataclass(frozen=True)
class CheckPoint:
    """One check result: when (epoch seconds), its state and latency."""

    at: float
    state: str
    latency: float | None


@dataclass(frozen=True)
class CheckHistory:
    """One check's results over the last 24 hours, oldest first."""

    name: str
    points: list[CheckPoint]

    @property
    def last(self) -> CheckPoint | None:
        """The latest result."""
        return self.points[-1] if self.points else None


@dataclass(frozen=True)
class ServiceDetail:
    """A service page: its card, check history, backups, drills and PITR window."""

    card: Card
    checks: list[CheckHistory]
    backups: list[CatalogEntry]
    drills: list[DrillRecord]
    pitr: tuple[datetime, datetime | None] | None
    messages: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Stable fields for the API (check messages included: readers are signed in)."""
        return {
            **self.card.to_dict(),
            "checks": [
                {
                    "name": check.name,
                    "last_state": check.last.state if check.last else None,
                    "last_latency_seconds": check.last.latency if check.last else None,
                    "results_24h": len(check.points),
                }
                for check in self.checks
            ],
            "backups": [entry.to_dict() for entry in self.backups],
            "drills": [record.to_dict() for record in self.drills],
            "pitr_window": None
            if self.pitr is None
            else {
                "start": self.pitr[0].isoformat(),
                "end": self.pitr[1].isoformat() if self.pitr[1] else None,
            },
        }


MAX_POINTS = 288
"""Points per check on a service page (every 5 minutes over 24 hours at most)."""


def _history(store: Store, service: str, names: list[str], now: datetime) -> list[CheckHistory]:
    r = check_results.c
    since = (now - timedelta(hours=24)).timestamp()
    by_check: dict[str, list[CheckPoint]] = {name: [] for name in names}
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(r.check_name, r.at, r.state, r.latency)
            .where(and_(r.service == service, r.at >= since))
            .order_by(r.at)
        )
        for row in rows:
            by_check.setdefault(row.check_name, []).append(
                CheckPoint(row.at, row.state, row.latency)
            )
    found = []
    for name, points in by_check.items():
        step = max(1, len(points) // MAX_POINTS)
        kept = points[::step]
        if points and kept[-1] is not points[-1]:
            kept.append(points[-1])
        found.append(CheckHistory(name, kept))
    return found


def service_detail(plan: Plan, store: Store, service_id: str, now: datetime) -> ServiceDetail:
    """One service's page. InputError for a service the plan does not have."""
    from reprise.drill.records import list_drills
    from reprise.probes.run import describe_check
    from reprise.repository.catalog import list_backups
    from reprise.restore.pitr import current_window

    try:
        service = plan.service(service_id)
    except KeyError:
        raise InputError(
            f"unknown service {service_id!r}",
            hint="pick one on the overview",
        ) from None
    (card,) = cards(plan, store, now, [service.id])
    names = [describe_check(check) for check in service.checks]
    entries = list_backups(store, service=service.id)[-50:][::-1]
    drills = list_drills(store, service=service.id, limit=20)
    return ServiceDetail(
        card,
        _history(store, service.id, names, now),
        entries,
        drills,
        current_window(plan, store, service),
    )
