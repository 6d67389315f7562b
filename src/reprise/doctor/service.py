"""``service.running``: when ``reprise serve`` is configured here (its systemd unit is
installed) or has run against this state (its heartbeats), one of its processes was heard
from recently; skipped when it never ran and no unit is installed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reprise.doctor.checks import Check, Context, text

ID = "service.running"
UNIT = Path("/etc/systemd/system/reprise.service")


def check(context: Context) -> list[Check]:
    """Alive (a heartbeat newer than the staleness limit) or not."""
    from reprise.orchestrators.service import STALE_AFTER
    from reprise.scheduler.instances import latest_instances

    title = text("title.service.running")
    if context.store is None:
        return [Check(ID, "skip", title, text("detail.no_state"))]
    now = datetime.now(UTC)
    instances = latest_instances(context.store)
    alive = next((one for one in instances if one.alive(now, STALE_AFTER)), None)
    if alive is not None:
        age = int((now - alive.beat_at).total_seconds())
        return [
            Check(
                ID,
                "ok",
                title,
                text("detail.service.ok", host=alive.host, pid=alive.pid, seconds=age),
            )
        ]
    if instances:
        last = instances[0]
        return [
            Check(
                ID,
                "fail",
                title,
                text(
                    "detail.service.stale",
                    host=last.host,
                    at=last.beat_at.isoformat(timespec="seconds"),
                ),
                text("fix.service"),
            )
        ]
    if UNIT.exists():
        return [
            Check(
                ID, "fail", title, text("detail.service.never", unit=str(UNIT)), text("fix.service")
            )
        ]
    return [Check(ID, "skip", title, text("detail.service.none"))]
