"""One backup of a source at a time: a lock object in the repository.

The lock holds host, pid and time. A lock left by a dead process on this host is taken
over with a warning; a lock of another host is honoured until it is older than
``STALE_AFTER`` (that host may be running a long backup), then taken over too.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from reprise.errors import OperationError
from reprise.repository.backend import Backend, NotFoundError, get_bytes
from reprise.repository.layout import lock_key

STALE_AFTER = timedelta(hours=24)


class LockHeldError(OperationError):
    """Another backup of the same source is running."""

    retryable = True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(holder: dict[str, object]) -> str:
    return f"host {holder.get('host')}, pid {holder.get('pid')}, since {holder.get('time')}"


def _stale_reason(holder: dict[str, object], now: datetime) -> str | None:
    host = socket.gethostname()
    try:
        since = datetime.fromisoformat(str(holder.get("time")))
    except ValueError:
        return "its lock file is unreadable"
    if holder.get("host") == host:
        pid = holder.get("pid")
        if not isinstance(pid, int) or not _alive(pid):
            return f"process {pid} on this host is gone"
        return None
    if now - since > STALE_AFTER:
        return f"it is older than {STALE_AFTER.total_seconds() / 3600:g} h"
    return None


@contextmanager
def source_lock(backend: Backend, source: str, warnings: list[str]) -> Iterator[None]:
    """Hold the lock of ``source`` for the duration; stale takeovers add to ``warnings``."""
    key = lock_key(source)
    now = datetime.now(UTC)
    mine = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "time": now.replace(microsecond=0).isoformat(),
    }
    data = json.dumps(mine).encode()
    for _attempt in range(3):
        if backend.put_exclusive(key, data):
            break
        try:
            holder = json.loads(get_bytes(backend, key, limit=64 * 1024))
            if not isinstance(holder, dict):
                holder = {}
        except NotFoundError:
            continue  # released meanwhile: try again
        except ValueError:
            holder = {}
        reason = _stale_reason(holder, now)
        if reason is None:
            raise LockHeldError(
                f"another backup of {source} is running ({_describe(holder)})",
                hint="wait for it to finish; if that process is really gone, "
                f"delete {key} in the repository",
            )
        warnings.append(f"took over a stale lock of {source} ({_describe(holder)}): {reason}")
        backend.delete(key)
    else:
        raise LockHeldError(f"could not take the lock of {source}", hint="try again")
    try:
        yield
    finally:
        backend.delete(key)
