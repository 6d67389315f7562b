"""The newest row of each service in the journal and the catalogs, read in one query each:
the current state (the monitor's ``service.state`` events), the newest verified restore
point, the latest drill. The overview and the Prometheus page read the same answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from reprise.store.tables import backups, drills, events

if TYPE_CHECKING:
    from sqlalchemy import Column, ColumnElement, Connection, Row


def newest_rows(
    connection: Connection,
    columns: Sequence[Column[Any]],
    partition: Sequence[Column[Any]],
    order: Sequence[ColumnElement[Any]],
    where: ColumnElement[bool],
) -> Sequence[Row[Any]]:
    """The first row of each ``partition`` in ``order`` (one query, a window function)."""
    ranked = (
        select(
            *columns,
            func.row_number().over(partition_by=partition, order_by=order).label("rank"),
        )
        .where(where)
        .subquery()
    )
    return connection.execute(
        select(*(ranked.c[column.name] for column in columns)).where(ranked.c.rank == 1)
    ).all()


def current_states(connection: Connection, ids: Sequence[str]) -> dict[str, tuple[str, datetime]]:
    """Each service's current state and since when: its newest ``service.state`` event (as
    the SLA reads it: by time, then by id)."""
    e = events.c
    rows = newest_rows(
        connection,
        [e.subject, e.time, e.payload],
        [e.subject],
        [e.time.desc(), e.id.desc()],
        and_(e.kind == "service.state", e.subject.in_(ids)),
    )
    return {row.subject: (str((row.payload or {}).get("to", "unknown")), row.time) for row in rows}


def restore_points(connection: Connection, ids: Sequence[str]) -> dict[str, datetime]:
    """The moment of each service's newest verified backup (when it started: the data is
    as of then)."""
    b = backups.c
    rows = connection.execute(
        select(b.service, func.max(b.started_at).label("newest"))
        .where(and_(b.service.in_(ids), b.verify_status == "ok", b.problem.is_(None)))
        .group_by(b.service)
    )
    return {row.service: row.newest for row in rows}


def latest_drills(connection: Connection, ids: Sequence[str]) -> dict[str, Row[Any]]:
    """Each service's latest drill: id, finished_at, rto_seconds, result."""
    d = drills.c
    rows = newest_rows(
        connection,
        [d.service, d.id, d.finished_at, d.rto_seconds, d.result],
        [d.service],
        [d.started_at.desc(), d.id.desc()],
        d.service.in_(ids),
    )
    return {row.service: row for row in rows}
