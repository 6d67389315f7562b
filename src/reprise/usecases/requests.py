"""Runs asked for now (the web's "back up now", the API's POST /backups): queued for the
leading `reprise serve`, which starts them as manual runs of the plan's jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reprise.scheduler.requests import JobRequest, add_request, waiting_requests
from reprise.store.events import append_event
from reprise.usecases.jobs import find_job
from reprise.usecases.serve import service_state

if TYPE_CHECKING:
    from collections.abc import Callable

    from reprise.plan.model import Plan
    from reprise.store.database import Store


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunRequest:
    """Run ``job`` (``backup:<source>``, ``drill:<service>``, ``verify:<repository>``…)
    as soon as the service can; ``by`` is who asks."""

    job: str
    by: str


@dataclass(frozen=True)
class Requested:
    """The request recorded, and whether a service runs to take it."""

    request: JobRequest
    service_running: bool


def request_run(
    plan: Plan, store: Store, request: RunRequest, clock: Callable[[], datetime] = utc_now
) -> Requested:
    """Queue a run (InputError naming the plan's jobs for an unknown one)."""
    job = find_job(plan, request.job)
    now = clock()
    recorded = add_request(store, job.id, request.by, now)
    append_event(store, "job.requested", job.id, {"by": request.by, "request": recorded.id})
    return Requested(recorded, service_state(store, now).running is not None)


def waiting(store: Store) -> list[JobRequest]:
    """Requests not taken yet."""
    return waiting_requests(store)
