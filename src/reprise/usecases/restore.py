"""Restore a service: a backup put back as it was, or recovered to a point in time.

What every door calls to restore; the choice between a plain restore, a point-in-time
recovery and a partial one is made by ``reprise.restore.dispatch`` from the order alone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.restore import dispatch
from reprise.restore.dispatch import RestoreOrder, RestoreResult
from reprise.restore.pitr import parse_target_time

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.restore.pitr import PitrPlan
    from reprise.restore.run import RestorePlan
    from reprise.restore.staging import PartProgress
    from reprise.store import Store

__all__ = ["RestoreOrder", "RestoreResult", "preview", "restore", "target_time"]


def target_time(plan: Plan, text: str) -> datetime:
    """A recovery target typed by a person ('2026-05-04 14:03:00+02'); without an offset it
    is a time in the plan's time zone (InputError when it is not a date and time)."""
    return parse_target_time(text, plan.organisation.timezone)


def preview(plan: Plan, store: Store, order: RestoreOrder) -> RestorePlan | PitrPlan:
    """The backup a restore would use and its steps, for a dry run (nothing is written);
    ``to_dict()`` gives its machine-readable form."""
    return dispatch.preview(plan, store, order)


def restore(
    plan: Plan,
    store: Store,
    order: RestoreOrder,
    *,
    progress: PartProgress | None = None,
    plan_path: Path | None = None,
) -> RestoreResult:
    """Carry ``order`` out, verified before anything is written, and write its report;
    ``plan_path`` is the plan file a recovered instance's restore_command names."""
    return dispatch.restore(plan, store, order, progress=progress, plan_path=plan_path)
