"""One entry for every kind of restore: a backup put back as it was, a point-in-time
recovery into a data directory, or one database or table of a point in time loaded into a
live server.

Every door (the CLI, a runbook step, later the web) builds a ``RestoreOrder`` and calls
``restore``; which of the three it is follows from the order alone, so the choice is made
in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError, option
from reprise.restore.partial import run_partial
from reprise.restore.pitr import PitrPlan, PitrRequest, Reached, plan_pitr, run_pitr
from reprise.restore.run import RestorePlan, RestoreRequest, plan_restore, run_restore

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.restore.report import Report
    from reprise.restore.staging import PartProgress
    from reprise.store import Store


@dataclass(frozen=True)
class RestoreOrder:
    """What to restore and where, whatever the door.

    Without ``pitr``: the backup ``backup_id`` (else the newest) of the service's source,
    into a server (``target``, optionally ``database`` under ``as_name``), as plain files
    (``to_dir``) or, for files and command sources, into ``target_dir``.
    With ``pitr``: recovery to ``at`` (else the end of the archived WAL), either of the whole
    cluster into the data directory ``to_dir`` (started with ``start``, on ``port``), or of
    ``only`` (``DB`` or ``DB.SCHEMA.TABLE``) loaded into the live ``target`` as ``as_name``.
    """

    service: str
    source: str | None = None
    backup_id: str | None = None
    pitr: bool = False
    at: datetime | None = None
    only: str | None = None
    database: str | None = None
    as_name: str | None = None
    target: str | None = None
    to_dir: Path | None = None
    target_dir: Path | None = None
    jobs: int = 2
    clean: bool = False
    overwrite: bool = False
    preserve_special: bool = False
    follow_target_symlinks: bool = False
    start: bool = False
    port: int | None = None

    @property
    def kind(self) -> str:
        """``restore``, ``pitr`` (into a data directory) or ``partial`` (``only``)."""
        if not self.pitr:
            return "restore"
        return "pitr" if self.to_dir else "partial"

    def plain_request(self) -> RestoreRequest:
        """The request of a restore without point in time (the same settings by name)."""
        return RestoreRequest(**self._settings_of(RestoreRequest))

    def pitr_request(self) -> PitrRequest:
        """The request of a point-in-time recovery (whole or partial)."""
        return PitrRequest(**self._settings_of(PitrRequest))

    def _settings_of(self, request: type[Any]) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(request)}


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore: its report, where the report was written, and for a
    point-in-time recovery the point actually reached (None when not started)."""

    report: Report
    path: Path
    reached: Reached | None = None


def _check(order: RestoreOrder) -> None:
    if order.pitr and not order.to_dir and not (order.only and order.target):
        raise InputError(
            f"a point-in-time restore needs {option('to_dir')}, or {option('only')} "
            f"and {option('target')}",
            hint=f"recover the whole cluster into a data directory ({option('to_dir')}), "
            f"or one database or table into a live server ({option('only')} … "
            f"{option('target')})",
        )


def preview(plan: Plan, store: Store, order: RestoreOrder) -> RestorePlan | PitrPlan:
    """What ``restore`` would do (the backup chosen, the steps); nothing is read or written."""
    _check(order)
    if order.pitr:
        return plan_pitr(plan, store, order.pitr_request())
    return plan_restore(plan, store, order.plain_request())


def restore(
    plan: Plan,
    store: Store,
    order: RestoreOrder,
    *,
    progress: PartProgress | None = None,
    plan_path: Path | None = None,
) -> RestoreResult:
    """Carry ``order`` out; the report is written (also on failure, before the error is
    raised). ``plan_path`` is the plan file a recovered instance's restore_command names."""
    _check(order)
    if not order.pitr:
        report, path = run_restore(plan, store, order.plain_request(), progress=progress)
        return RestoreResult(report, path)
    if order.to_dir:
        report, path, reached = run_pitr(
            plan, store, order.pitr_request(), progress=progress, plan_path=plan_path
        )
        return RestoreResult(report, path, reached)
    assert order.only is not None and order.target is not None
    report, path = run_partial(
        plan,
        store,
        order.pitr_request(),
        only=order.only,
        target=order.target,
        as_name=order.as_name,
        progress=progress,
    )
    return RestoreResult(report, path)
