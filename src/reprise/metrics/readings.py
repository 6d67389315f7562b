"""What a Prometheus scrape reports, read from the state store in a bounded number of
queries: one per table, grouped in the database, never one per service (a plan may list
hundreds of services and is scraped every few seconds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, select

from reprise.scheduler.instances import latest_instances
from reprise.store.database import Store
from reprise.store.latest import current_states, latest_drills, newest_rows, restore_points
from reprise.store.tables import alerts, backups, check_results, incidents, jobs

PASSED = "passed"
"""The result of a drill that restored and passed every assertion."""
FAILED_RUNS = ("failed", "timeout", "lost")
"""Job run statuses that count as a failure (``cancelled`` is someone's decision)."""
FINISHED_RUNS = ("ok", "cancelled", *FAILED_RUNS)
"""Runs still ``running`` are not counted: a counter must never go down."""


@dataclass(frozen=True)
class CheckReading:
    """The newest raw result of one check."""

    state: str
    latency: float | None
    at: float
    """When, in epoch seconds."""


@dataclass(frozen=True)
class BackupReading:
    """The newest cataloged backup of one source (damaged ones left out)."""

    service: str
    finished_at: datetime
    stored_size: int
    duration: float


@dataclass(frozen=True)
class DrillReading:
    """The latest drill of one service."""

    finished_at: datetime
    rto_seconds: float | None
    passed: bool


@dataclass
class JobReading:
    """Runs of one scheduled job by status, and its last success and failure."""

    runs: dict[str, int] = field(default_factory=dict)
    last_success: datetime | None = None
    last_failure: datetime | None = None


@dataclass(frozen=True)
class Readings:
    """Everything one scrape needs, keyed by service, (service, check), source or job."""

    states: dict[str, str]
    checks: dict[tuple[str, str], CheckReading]
    backups: dict[str, BackupReading]
    restore_points: dict[str, datetime]
    drills: dict[str, DrillReading]
    alerts_open: dict[str, int]
    incidents_open: int
    jobs: dict[str, JobReading]
    heartbeat: datetime | None
    wal_newest: dict[str, datetime] = field(default_factory=dict)
    """Services archiving WAL → when their newest archived segment was written."""
    wal_spools: dict[str, SpoolReading] = field(default_factory=dict)
    """Sources archiving asynchronously, whose spool is on this host → what waits there."""


@dataclass(frozen=True)
class SpoolReading:
    """What waits in one asynchronous WAL spool."""

    service: str
    files: int
    size: int
    failing: bool
    """The pusher's last attempt failed."""


def read_state(store: Store, services: Sequence[str], window: timedelta, now: datetime) -> Readings:
    """Read the state of ``services``. Check results older than ``window`` are
    stale and left out: the raw results table is the largest one, read by its hour index."""
    ids = list(services)
    instances = latest_instances(store, limit=1)
    with store.engine.connect() as connection:
        return Readings(
            states={s: state for s, (state, _since) in current_states(connection, ids).items()},
            checks=_checks(connection, ids, now - window),
            backups=_backups(connection, ids),
            restore_points=restore_points(connection, ids),
            drills=_drills(connection, ids),
            alerts_open=_alerts_open(connection),
            incidents_open=_incidents_open(connection),
            jobs=_jobs(connection),
            heartbeat=instances[0].beat_at if instances else None,
        )


def _checks(
    connection: Connection, ids: list[str], since: datetime
) -> dict[tuple[str, str], CheckReading]:
    """The newest result of each check since ``since``. Picked here rather than by the
    database: sorting or grouping would lead it to the (service, check, time) index and
    through each check's whole raw history (weeks of results a minute); the hour index
    reads only the last results."""
    r = check_results.c
    low = since.timestamp()
    wanted = set(ids)
    newest: dict[tuple[str, str], tuple[float, int, CheckReading]] = {}
    for row in connection.execute(
        select(r.id, r.service, r.check_name, r.at, r.state, r.latency).where(
            and_(r.hour >= int(low // 3600), r.at >= low)
        )
    ):
        key = (row.service, row.check_name)
        found = newest.get(key)
        if row.service in wanted and (found is None or (row.at, row.id) > found[:2]):
            newest[key] = (row.at, row.id, CheckReading(row.state, row.latency, row.at))
    return {key: reading for key, (_at, _id, reading) in newest.items()}


def _backups(connection: Connection, ids: list[str]) -> dict[str, BackupReading]:
    b = backups.c
    rows = newest_rows(
        connection,
        [b.source, b.service, b.started_at, b.finished_at, b.stored_size],
        [b.source],
        [b.finished_at.desc(), b.backup_id.desc()],
        and_(b.service.in_(ids), b.problem.is_(None)),
    )
    return {
        row.source: BackupReading(
            service=row.service,
            finished_at=row.finished_at,
            stored_size=int(row.stored_size),
            duration=(row.finished_at - row.started_at).total_seconds(),
        )
        for row in rows
    }


def _drills(connection: Connection, ids: list[str]) -> dict[str, DrillReading]:
    return {
        service: DrillReading(row.finished_at, row.rto_seconds, row.result == PASSED)
        for service, row in latest_drills(connection, ids).items()
    }


def _alerts_open(connection: Connection) -> dict[str, int]:
    a = alerts.c
    rows = connection.execute(
        select(a.priority, func.count().label("number"))
        .where(a.resolved_at.is_(None))
        .group_by(a.priority)
    )
    return {row.priority: int(row.number) for row in rows}


def _incidents_open(connection: Connection) -> int:
    i = incidents.c
    count = connection.execute(
        select(func.count()).where(and_(i.status != "closed", i.exercise.is_(False)))
    ).scalar_one()
    return int(count)


def _jobs(connection: Connection) -> dict[str, JobReading]:
    j = jobs.c
    found: dict[str, JobReading] = {}
    for row in connection.execute(
        select(j.job, j.status, func.count().label("number"), func.max(j.finished_at).label("at"))
        .where(j.status.in_(FINISHED_RUNS))
        .group_by(j.job, j.status)
    ):
        reading = found.setdefault(row.job, JobReading())
        reading.runs[row.status] = int(row.number)
        at: datetime | None = row.at
        if at is None:
            continue
        if row.status == "ok":
            reading.last_success = at
        elif row.status in FAILED_RUNS:
            reading.last_failure = max(at, reading.last_failure or at)
    return found
