"""What the public status page shows: only public names, states, day bars, and the public
updates of open incidents. Nothing here may carry a host, a check message, a person or a
service id: these objects are what the page and its JSON API are made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

STATES = ("up", "degraded", "down", "maintenance")
"""The states a service can be shown in; anything else reads as unknown (no data)."""

OVERALLS = ("operational", "partial", "major", "maintenance", "unknown")
"""The page's banner, worst first from the end: all up … some down … all down."""


@dataclass(frozen=True)
class DayBar:
    """One day of a service's history, in the plan's time zone: the seconds spent in each
    state (``observed`` excludes maintenance and time with no data)."""

    day: date
    up: float = 0.0
    degraded: float = 0.0
    down: float = 0.0
    maintenance: float = 0.0
    degraded_counts_as_down: bool = False

    @property
    def observed(self) -> float:
        """Seconds whose state is known, maintenance aside."""
        return self.up + self.degraded + self.down

    @property
    def down_seconds(self) -> float:
        """Seconds down (degraded too, when the plan counts it as down)."""
        return self.down + (self.degraded if self.degraded_counts_as_down else 0.0)

    @property
    def down_share(self) -> float | None:
        """The share of the observed time spent down (0 to 1), None without data."""
        return self.down_seconds / self.observed if self.observed > 0 else None

    @property
    def state(self) -> str:
        """The day's worst state: down, degraded, up, maintenance or no_data."""
        for name in ("down", "degraded", "up", "maintenance"):
            if getattr(self, name) > 0:
                return name
        return "no_data"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        share = self.down_share
        return {
            "date": self.day.isoformat(),
            "state": self.state,
            "down_share": None if share is None else round(share, 6),
        }


@dataclass(frozen=True)
class PublicService:
    """A listed service as the public sees it."""

    name: str
    group: str | None
    state: str
    days: list[DayBar]

    @property
    def uptime_percent(self) -> float | None:
        """Uptime over the days shown, in percent; None when nothing was observed."""
        observed = sum(bar.observed for bar in self.days)
        if observed <= 0:
            return None
        return 100.0 * (observed - sum(bar.down_seconds for bar in self.days)) / observed

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        uptime = self.uptime_percent
        return {
            "name": self.name,
            "group": self.group,
            "state": self.state,
            "uptime_percent": None if uptime is None else round(uptime, 4),
            "days": [bar.to_dict() for bar in self.days],
        }


@dataclass(frozen=True)
class PublicUpdate:
    """An update people wrote for the public (``incident note --public``)."""

    at: datetime
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"at": self.at.isoformat(), "text": self.text}


@dataclass(frozen=True)
class PublicIncident:
    """An open incident touching listed services: a neutral title built from their public
    names (never the incident's own title, which is internal), and its public updates,
    newest first."""

    title: str
    opened_at: datetime
    services: list[str]
    updates: list[PublicUpdate] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "title": self.title,
            "opened_at": self.opened_at.isoformat(),
            "services": self.services,
            "updates": [update.to_dict() for update in self.updates],
        }


@dataclass(frozen=True)
class PublicStatus:
    """The whole public page, in ``language``, times to be shown in ``timezone``."""

    title: str
    language: str
    timezone: str
    generated_at: datetime
    history_days: int
    services: list[PublicService]
    incidents: list[PublicIncident]

    @property
    def overall(self) -> str:
        """The banner: major (every service down), partial (some down or degraded),
        maintenance, unknown (some state unknown, the rest up) or operational."""
        states = [service.state for service in self.services]
        if states and all(state == "down" for state in states):
            return "major"
        if any(state in ("down", "degraded") for state in states):
            return "partial"
        if "maintenance" in states:
            return "maintenance"
        if any(state not in STATES for state in states):
            return "unknown"
        return "operational"

    @property
    def groups(self) -> list[tuple[str | None, list[PublicService]]]:
        """The services under their group headings, in the plan's order (a group where its
        first service is)."""
        found: dict[str | None, list[PublicService]] = {}
        for service in self.services:
            found.setdefault(service.group, []).append(service)
        return list(found.items())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the JSON API's /api/v1/status)."""
        return {
            "title": self.title,
            "language": self.language,
            "timezone": self.timezone,
            "generated_at": self.generated_at.isoformat(),
            "overall": self.overall,
            "history_days": self.history_days,
            "services": [service.to_dict() for service in self.services],
            "incidents": [incident.to_dict() for incident in self.incidents],
        }
