"""Leadership between `reprise serve` processes sharing one state.

On PostgreSQL, a lease row taken and renewed in one atomic statement (insert, or update
only where we hold it or it has expired), timed by the database server's clock so that
hosts with skewed clocks agree. The leader renews it several times per ``takeover_after``
and steps down on its own when it could not renew for most of it (it lost the database),
before any standby can take over.

On SQLite the state lives on one host: an exclusive lock on a file beside the database
makes a second service on that state a clear error instead of a second leader."""

from __future__ import annotations

import fcntl
import os
from datetime import timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import text

from reprise.errors import InputError
from reprise.store.database import Store

LEADER = "leader"

_TAKE_OR_RENEW = text(
    """
    INSERT INTO leases (name, holder, acquired_at, expires_at)
    VALUES (:name, :holder, now(), now() + make_interval(secs => :ttl))
    ON CONFLICT (name) DO UPDATE
        SET holder = excluded.holder,
            acquired_at = CASE WHEN leases.holder = excluded.holder
                               THEN leases.acquired_at ELSE now() END,
            expires_at = excluded.expires_at
        WHERE leases.holder = excluded.holder OR leases.expires_at < now()
    RETURNING holder
    """
)
_RELEASE = text("DELETE FROM leases WHERE name = :name AND holder = :holder")
_HOLDER = text("SELECT holder FROM leases WHERE name = :name AND expires_at >= now()")


def take_or_renew(store: Store, holder: str, ttl: timedelta, name: str = LEADER) -> bool:
    """Take the lease, or renew it if ours; False while another holds a live one.
    Database errors are raised (the caller treats them as "could not renew")."""
    with store.engine.begin() as connection:
        row = connection.execute(
            _TAKE_OR_RENEW, {"name": name, "holder": holder, "ttl": ttl.total_seconds()}
        ).first()
    return row is not None and row.holder == holder


def release(store: Store, holder: str, name: str = LEADER) -> None:
    """Give the lease up (a clean stop: a standby takes over at once)."""
    with store.engine.begin() as connection:
        connection.execute(_RELEASE, {"name": name, "holder": holder})


def current_holder(store: Store, name: str = LEADER) -> str | None:
    """Who holds a live lease, if anyone."""
    with store.engine.connect() as connection:
        row = connection.execute(_HOLDER, {"name": name}).first()
    return None if row is None else str(row.holder)


class SingleHostLock:
    """An exclusive lock on ``serve.lock`` beside a SQLite state: one service per state."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "serve.lock"
        self.file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock; InputError naming the holder when another service has it."""
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise InputError(
                f"a service already runs on this state ({holder}, lock {self.path})",
                hint="stop it first; several services need a PostgreSQL state (state.url) "
                "to share, one leading and the others standing by",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self.file = handle

    def release(self) -> None:
        """Let go of the lock."""
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None
