"""The public status page (/status, no sign-in): the services the plan lists under
``status_page`` with their public name, current state and day-by-day history, and the
public updates of open incidents; nothing internal (hosts, check messages, people, service
ids, incident titles)."""

from __future__ import annotations

from reprise.statuspage.gather import PUBLIC_KIND, gather_status
from reprise.statuspage.model import (
    DayBar,
    PublicIncident,
    PublicService,
    PublicStatus,
    PublicUpdate,
)

__all__ = [
    "PUBLIC_KIND",
    "DayBar",
    "PublicIncident",
    "PublicService",
    "PublicStatus",
    "PublicUpdate",
    "gather_status",
]
