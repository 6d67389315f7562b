"""The pings of heartbeat checks in the state: record one, read the latest of each kind.

A ping's ``body`` (a job's log tail) is stored as text and never interpreted. Each check
keeps its newest :data:`KEEP_PINGS` pings: recording one deletes what falls beyond, so the
table stays bounded whatever a job sends, with no separate clean-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, insert, select

from reprise.store.tables import check_results, check_rollups, heartbeat_pings

if TYPE_CHECKING:
    from reprise.store.database import Store

PING_KINDS = ("success", "start", "fail")
"""What a ping says: the job succeeded (``/ping/T``), began (``/start``) or failed (``/fail``)."""
MAX_BODY = 1000
"""Characters of a ping's body kept (the end of a log is what tells why a job failed)."""
MAX_REMOTE = 100
"""Characters of the sender's address kept."""
KEEP_PINGS = 1000
"""Pings kept per check; older ones are deleted as new ones arrive."""


@dataclass(frozen=True)
class LastPings:
    """The latest ping of each kind of one check (None: never)."""

    success: datetime | None = None
    start: datetime | None = None
    fail: datetime | None = None

    def latest(self) -> tuple[str, datetime] | None:
        """The newest ping of any kind and its kind (a tie goes to success, then fail)."""
        found = [
            (at, rank, kind)
            for rank, (kind, at) in enumerate(
                (("start", self.start), ("fail", self.fail), ("success", self.success))
            )
            if at is not None
        ]
        if not found:
            return None
        at, _rank, kind = max(found)
        return kind, at


def _clip_body(body: str | bytes | None) -> str | None:
    """The last :data:`MAX_BODY` characters of ``body``, as text."""
    if body is None:
        return None
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.replace("\x00", "")
    return text[-MAX_BODY:] if text else None


def record_ping(
    store: Store,
    service: str,
    check_name: str,
    kind: str,
    at: datetime,
    remote: str | None = None,
    body: str | bytes | None = None,
) -> None:
    """Store one ping of ``check_name`` of ``service`` and forget those beyond the newest
    :data:`KEEP_PINGS` (ValueError for a kind not in :data:`PING_KINDS`)."""
    if kind not in PING_KINDS:
        raise ValueError(f"ping kind {kind!r} is not one of {', '.join(PING_KINDS)}")
    where = and_(heartbeat_pings.c.service == service, heartbeat_pings.c.check_name == check_name)
    with store.engine.begin() as connection:
        connection.execute(
            insert(heartbeat_pings).values(
                service=service,
                check_name=check_name,
                kind=kind,
                at=at,
                remote=remote[:MAX_REMOTE] if remote else None,
                body=_clip_body(body),
            )
        )
        oldest_kept = connection.execute(
            select(heartbeat_pings.c.at)
            .where(where)
            .order_by(heartbeat_pings.c.at.desc(), heartbeat_pings.c.id.desc())
            .offset(KEEP_PINGS - 1)
            .limit(1)
        ).scalar_one_or_none()
        if oldest_kept is not None:
            connection.execute(
                delete(heartbeat_pings).where(where, heartbeat_pings.c.at < oldest_kept)
            )


def last_pings(store: Store, service: str, check_name: str) -> LastPings:
    """The latest success, start and fail of ``check_name`` of ``service``."""
    query = (
        select(heartbeat_pings.c.kind, func.max(heartbeat_pings.c.at))
        .where(heartbeat_pings.c.service == service, heartbeat_pings.c.check_name == check_name)
        .group_by(heartbeat_pings.c.kind)
    )
    with store.engine.connect() as connection:
        latest = {kind: at for kind, at in connection.execute(query) if kind in PING_KINDS}
    return LastPings(**latest)


def first_seen(store: Store, service: str, check_name: str) -> datetime | None:
    """When the monitor first recorded a result of this check (None: never), the moment a
    check that was never pinged starts waiting from: the oldest raw result, or the oldest
    hourly or daily roll-up once raw results are gone."""
    mine = (check_rollups.c.service == service, check_rollups.c.check_name == check_name)
    queries = [
        select(func.min(check_results.c.at)).where(
            check_results.c.service == service, check_results.c.check_name == check_name
        ),
        select(func.min(check_rollups.c.bucket) * 3600).where(
            *mine, check_rollups.c.period == "hour"
        ),
        select(func.min(check_rollups.c.bucket) * 86400).where(
            *mine, check_rollups.c.period == "day"
        ),
    ]
    with store.engine.connect() as connection:
        found = [connection.execute(query).scalar_one_or_none() for query in queries]
    seconds = [float(value) for value in found if value is not None]
    return datetime.fromtimestamp(min(seconds), UTC) if seconds else None
