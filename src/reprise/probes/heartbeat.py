"""``heartbeat``: a job elsewhere pinged Reprise recently enough (healthchecks.io's model).

Read from the pings in the state; the newest ping decides. ``fail``: down until the next
success. ``start``: up while the job runs, down once it ran longer than the grace.
``success``: up until period + grace have passed without another. A check never pinged
waits period + grace from the first time the monitor ran it, then is down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from reprise.heartbeat.records import LastPings, first_seen, last_pings
from reprise.plan.checks import HeartbeatCheck
from reprise.probes.result import ProbeResult, down, up
from reprise.probes.run import service_checks
from reprise.words import say
from reprise.words.format import duration, stamp

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.probes.context import ProbeRun
    from reprise.store.database import Store


async def probe_heartbeat(
    check: HeartbeatCheck, run: ProbeRun, now: datetime | None = None
) -> ProbeResult:
    """Judge the pings received for ``check`` against its period and grace."""
    plan, store = run.context.plan, run.context.store
    if store is None:
        return down(say(run.language, "probe.heartbeat_no_store"))
    name = heartbeat_name(plan, run.service_id, check)
    moment = now or datetime.now(UTC)
    pings, first = await asyncio.to_thread(_read, store, run.service_id, name)
    return judge_pings(check, pings, first or moment, moment, run.language, _zone(plan))


def heartbeat_name(plan: Plan, service_id: str, check: HeartbeatCheck) -> str:
    """The display name the monitor stores ``check``'s results and pings under."""
    named = service_checks(plan.service(service_id))
    for name, candidate in named:
        if candidate is check:
            return name
    for name, candidate in named:  # a copy of the plan's check (tokens are unique)
        if isinstance(candidate, HeartbeatCheck) and candidate.token == check.token:
            return name
    raise KeyError(f"{service_id} has no heartbeat check like {check.target()!r}")


def _zone(plan: Plan | None) -> str | None:
    return plan.organisation.timezone if plan is not None else None


def _read(store: Store, service: str, name: str) -> tuple[LastPings, datetime | None]:
    return last_pings(store, service, name), first_seen(store, service, name)


def judge_pings(
    check: HeartbeatCheck,
    pings: LastPings,
    watched_since: datetime,
    now: datetime,
    language: str,
    zone: str | None = None,
) -> ProbeResult:
    """The state the pings give at ``now``; ``watched_since`` is when a check never
    pinged started waiting. Times are in ``zone`` (the plan's; None: UTC), labelled
    (``20/11/2026 02:00 CET``): the message travels to alerts and status pages."""
    grace = check.allowed_grace
    limit = check.period + grace

    def at(moment: datetime) -> str:
        return stamp(moment, language, zone or UTC)

    def age(moment: datetime) -> str:
        return duration(max(timedelta(0), now - moment), language)

    words = {"period": duration(check.period, language), "grace": duration(grace, language)}
    latest = pings.latest()
    if latest is None:
        if now - watched_since > limit:
            return down(
                say(language, "probe.heartbeat_never", since=at(watched_since), **words),
                since_seconds=round((now - watched_since).total_seconds()),
            )
        return up(say(language, "probe.heartbeat_waiting", deadline=at(watched_since + limit)))
    kind, moment = latest
    seconds = round((now - moment).total_seconds())
    if kind == "fail":
        return down(
            say(language, "probe.heartbeat_failed", when=at(moment), age=age(moment)),
            age_seconds=seconds,
        )
    if kind == "start":
        if now - moment > grace:
            return down(
                say(language, "probe.heartbeat_overdue", when=at(moment), grace=words["grace"]),
                age_seconds=seconds,
            )
        return up(
            say(language, "probe.heartbeat_running", when=at(moment), age=age(moment)),
            age_seconds=seconds,
        )
    if now - moment > limit:
        return down(
            say(language, "probe.heartbeat_late", when=at(moment), age=age(moment), **words),
            age_seconds=seconds,
        )
    return up(
        say(
            language,
            "probe.heartbeat_fresh",
            when=at(moment),
            age=age(moment),
            period=words["period"],
        ),
        age_seconds=seconds,
    )
