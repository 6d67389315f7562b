"""Restore a service: a backup put back as it was, or recovered to a point in time.

What every door calls to restore: ``restore(plan, store, order)`` carries an order out,
verified before anything is written, and writes its report; ``preview`` gives the backup
a restore would use and its steps (a dry run). The choice between a plain restore, a
point-in-time recovery and a partial one is made by ``reprise.restore.dispatch`` from the
order alone, for runbooks as for doors.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from reprise.restore.dispatch import RestoreOrder, RestoreResult, preview, restore
from reprise.restore.pitr import parse_target_time

if TYPE_CHECKING:
    from reprise.plan.model import Plan

__all__ = ["RestoreOrder", "RestoreResult", "preview", "restore", "target_time"]


def target_time(plan: Plan, text: str) -> datetime:
    """A recovery target typed by a person ('2026-05-04 14:03:00+02'); without an offset it
    is a time in the plan's time zone (InputError when it is not a date and time)."""
    return parse_target_time(text, plan.organisation.timezone)
