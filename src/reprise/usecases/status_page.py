"""The public status page (/status and the JSON API's /api/v1/status): what it shows, or
nothing when the plan lists no service under ``status_page`` (the web answers 404)."""

from __future__ import annotations

from datetime import datetime

from reprise.errors import InputError
from reprise.plan.model import Plan
from reprise.statuspage import PublicStatus, gather_status
from reprise.store.database import Store
from reprise.words import LANGUAGES

__all__ = ["PublicStatus", "public_status"]


def public_status(
    plan: Plan, store: Store, now: datetime, language: str | None = None
) -> PublicStatus | None:
    """The page at ``now`` in ``language`` (default: the plan's); None when the plan has
    no public page."""
    if not plan.status_page.services:
        return None
    language = language or plan.organisation.language
    if language not in LANGUAGES:
        raise InputError(f"no language {language!r}", hint="use " + " or ".join(LANGUAGES))
    return gather_status(plan, store, now, language)
