"""The Prometheus page (``/metrics``): what the plan promises and what the state measured,
in the text exposition format."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from reprise import __version__
from reprise.metrics import read_state, render, results_window
from reprise.metrics.readings import SpoolReading

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = ["metrics_page"]


WAL_READ_EVERY = timedelta(seconds=60)
"""How often a scrape lists the WAL archive (it is in the repository, not the state): a
scrape every 15 s would otherwise list an S3 bucket four times a minute."""
_wal_cache: dict[str, tuple[datetime, datetime | None]] = {}


def metrics_page(plan: Plan, store: Store, now: datetime) -> tuple[bytes, str]:
    """The body of a scrape and its content type (``CONTENT_TYPE_LATEST``)."""
    ids = [service.id for service in plan.services]
    readings = read_state(store, ids, results_window(plan), now)
    readings = replace(
        readings, wal_newest=_wal_newest(plan, store, now), wal_spools=_wal_spools(plan)
    )
    return render(plan, readings, now, __version__)


def _wal_newest(plan: Plan, store: Store, now: datetime) -> dict[str, datetime]:
    """When the newest WAL segment of each archiving service was written, read at most
    once a minute per service (an archive that cannot be read leaves the metric out)."""
    from reprise.restore.pitr import current_window

    found: dict[str, datetime] = {}
    for service in plan.services:
        if not any(entry.takes_wal for entry in service.backups):
            continue
        cached = _wal_cache.get(service.id)
        if cached is None or now - cached[0] >= WAL_READ_EVERY or now < cached[0]:
            window = current_window(plan, store, service)
            cached = (now, window[1] if window is not None else None)
            _wal_cache[service.id] = cached
        if cached[1] is not None:
            found[service.id] = cached[1]
    return found


def _wal_spools(plan: Plan) -> dict[str, SpoolReading]:
    """What waits in the asynchronous WAL spools of this host (a local folder: read at
    every scrape)."""
    from reprise.plan.jobs import backup_jobs
    from reprise.usecases.wal import spool_status

    found = {}
    for job in backup_jobs(plan):
        status = spool_status(plan, job)
        if status is not None and Path(status.spool).is_dir():
            found[job.name] = SpoolReading(
                job.service.id, status.segments, status.size, status.last_error is not None
            )
    return found
