"""`reprise audit`: measure the plan's promises now, item by item, against their
objectives (the seed's loadtest.sh done right), store the audit with its report and list
the stored ones.

Per service: its checks pass now; the newest verified backup is within the RPO; a fresh
backup is not much slower than the previous ones (not with ``quick`` or ``no_backup``); a
drill restores within the RTO and passes its integrity checks (not with ``quick``); the
WAL archive is continuous (physical sources). Plan-wide: a budgeted verification, the
scheduler, the alert channels (test contacts only, unless ``page``) and the security
checklist. Progress is told to a callback; nothing is printed here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.audit import backups, channels, checks, drills, security, wal
from reprise.audit.items import Audit, Finding, Part, part, verdict
from reprise.audit.records import get_audit, list_audits, store_audit
from reprise.audit.report import MARKS, render
from reprise.audit.runner import Progress, Step, run_steps, skipped
from reprise.audit.scheduler import judge_scheduler
from reprise.audit.verification import Verified, judge_verification
from reprise.audit.wording import seconds, word
from reprise.errors import EXIT_OK, EXIT_VERIFICATION_FAILED
from reprise.usecases.status import require_services

if TYPE_CHECKING:
    from reprise.backup.run import ProgressFactory
    from reprise.plan.model import Plan, Service
    from reprise.restore.staging import PartProgress
    from reprise.store import Store

__all__ = [
    "MARKS",
    "Audit",
    "AuditOutcome",
    "AuditRequest",
    "Progress",
    "ShowRequest",
    "audit",
    "list_stored",
    "render_report",
    "show_stored",
    "word",
]


@dataclass(frozen=True)
class AuditRequest:
    """What to audit and how: one service (None: all); ``quick`` skips the fresh backup and
    the drill, ``no_backup`` the fresh backup; ``page`` also sends the channel test to the
    roles' contacts (on-call); ``language`` of the report (None: the plan's); ``by`` who
    runs it; ``now`` the clock the ages are measured on (None: the wall clock)."""

    plan_path: Path
    service: str | None = None
    quick: bool = False
    no_backup: bool = False
    page: bool = False
    language: str | None = None
    by: str = "reprise"
    now: datetime | None = None


@dataclass(frozen=True)
class AuditOutcome:
    """A stored audit and its Markdown report."""

    audit: Audit
    report: str

    @property
    def exit_code(self) -> int:
        """0 compliant, 3 not compliant."""
        return EXIT_OK if self.audit.result == "compliant" else EXIT_VERIFICATION_FAILED


@dataclass(frozen=True)
class _Context:
    plan: Plan
    store: Store
    request: AuditRequest
    language: str
    clock: Callable[[], datetime]
    bytes_progress: ProgressFactory | None
    part_progress: PartProgress | None


def _checks(ctx: _Context, service: Service) -> Finding:
    from reprise.orchestrators.status import check_services

    statuses = check_services(ctx.plan, ctx.store, [service.id])
    lines = statuses[0].checks if statuses else []
    return checks.judge_checks([(line.name, line.result) for line in lines], ctx.language)


def _throughput(ctx: _Context, service: Service) -> Finding:
    from reprise.usecases.backups import BackupRequest, run_backups

    run = run_backups(
        ctx.plan, ctx.store, BackupRequest(service=service.id, progress=ctx.bytes_progress)
    )
    if run.failures:
        raise run.failures[0]
    results = [outcome.result for outcome in run.outcomes if outcome.result is not None]
    return backups.judge_throughput(ctx.store, results, ctx.plan.audit.throughput_floor)


def _service_steps(ctx: _Context, service: Service) -> list[Step]:
    plan, request = ctx.plan, ctx.request
    rpo, rto = plan.rpo(service), drills.drill_objective(plan, service)
    name = service.name

    def step(key: str, objective: Part | None, judge: Callable[[], Finding]) -> Step:
        return Step(
            f"{service.id}.{key}",
            service.id,
            part(f"audit.item.{key}", service=name),
            objective,
            judge,
        )

    def not_applicable(reason: str) -> Callable[[], Finding]:
        return lambda: Finding("not_applicable", part(reason))

    has_backups = bool(service.backups)
    steps = [
        step("checks", part("audit.objective.checks"), lambda: _checks(ctx, service)),
        step(
            "backup_age",
            part("audit.objective.rpo", rpo=seconds(rpo)),
            (lambda: backups.judge_backup_age(ctx.store, service.id, rpo, ctx.clock()))
            if has_backups
            else not_applicable("audit.measured.no_backups"),
        ),
    ]
    floor = {"percent": plan.audit.throughput_floor}
    if not has_backups:
        judge = not_applicable("audit.measured.no_backups")
    elif request.quick:
        judge = skipped("audit.measured.skipped_quick")
    elif request.no_backup:
        judge = skipped("audit.measured.skipped_no_backup")
    else:
        judge = lambda: _throughput(ctx, service)  # noqa: E731
    steps.append(step("throughput", part("audit.objective.throughput", floor=floor), judge))
    if not drills.drillable(service):
        judge = not_applicable("audit.measured.not_drillable")
    elif service.drill is not None and not service.drill.enabled:
        judge = not_applicable("audit.measured.drill_disabled")
    elif request.quick:
        judge = skipped("audit.measured.skipped_quick")
    else:
        judge = lambda: drills.judge_drill(plan, ctx.store, service, ctx.part_progress)  # noqa: E731
    steps.append(step("drill", part("audit.objective.drill", rto=seconds(rto)), judge))
    steps.append(
        step(
            "wal",
            part("audit.objective.wal", rpo=seconds(rpo)),
            (lambda: wal.judge_wal(plan, ctx.store, service, rpo, ctx.clock()))
            if wal.takes_wal(service)
            else not_applicable("audit.measured.no_wal"),
        )
    )
    return steps


def _verification(ctx: _Context) -> Finding:
    from reprise.usecases.verify import VerifyRequest, verify_backups

    budget = ctx.plan.audit.verification_budget
    started = time.monotonic()
    report = verify_backups(ctx.plan, ctx.store, VerifyRequest(budget=budget / 100))
    took = time.monotonic() - started
    found = Verified(
        backups=len(report.outcomes),
        damaged=[f"{o.source}/{o.backup_id}" for o in report.failed],
        problems=[f"{p.source}/{p.backup_id}" for p in report.problems],
        unreachable=list(report.unreachable),
        stored_bytes=sum(o.checked_bytes for o in report.outcomes),
        seconds=took,
        details=[problem for o in report.failed for problem in o.problems],
    )
    return judge_verification(found, budget, ctx.plan.audit.verification_time)


def _scheduler(ctx: _Context) -> Finding:
    from reprise.usecases.jobs import schedule_overview
    from reprise.usecases.serve import service_state

    now = ctx.clock()
    state = service_state(ctx.store, now)
    lines = schedule_overview(ctx.plan, ctx.store, now) if state.instances else []
    return judge_scheduler(
        ctx.plan, state.instances, state.running, [(line.job, line.last) for line in lines], now
    )


def _plan_steps(ctx: _Context, services: list[str]) -> list[Step]:
    plan, store, request = ctx.plan, ctx.store, ctx.request
    audit_settings = plan.audit

    def step(key: str, objective: Part | None, judge: Callable[[], Finding]) -> Step:
        return Step(key, None, part(f"audit.item.{key}"), objective, judge)

    return [
        step(
            "verification",
            part(
                "audit.objective.verification",
                budget={"percent": audit_settings.verification_budget},
                limit=seconds(audit_settings.verification_time),
            ),
            lambda: _verification(ctx),
        ),
        step("scheduler", part("audit.objective.scheduler"), lambda: _scheduler(ctx)),
        step(
            "alert_channels",
            part("audit.objective.channels_page" if request.page else "audit.objective.channels"),
            lambda: channels.judge_channels(plan, store, ctx.language, page=request.page),
        ),
        step(
            "security.file_modes",
            part("audit.objective.file_modes"),
            lambda: security.judge_file_modes(plan, request.plan_path),
        ),
        step(
            "security.env_git",
            part("audit.objective.env_git"),
            lambda: security.judge_env_git(request.plan_path),
        ),
        step(
            "security.identity",
            part("audit.objective.identity"),
            lambda: security.judge_identity(plan),
        ),
        step(
            "security.recipients",
            part("audit.objective.recipients"),
            lambda: security.judge_recipients(plan, store, services),
        ),
        step(
            "security.signing_key",
            part("audit.objective.signing_key"),
            lambda: security.judge_signing_key(plan, store, services),
        ),
    ]


def audit(
    plan: Plan,
    store: Store,
    request: AuditRequest,
    *,
    progress: Progress | None = None,
    bytes_progress: ProgressFactory | None = None,
    part_progress: PartProgress | None = None,
) -> AuditOutcome:
    """Measure every item, store the audit (items and Markdown report) and return it.
    Items that could not be measured fail with the reason; bad input (an unknown service,
    an unknown language) raises InputError before anything runs."""
    from reprise.words import LANGUAGES

    if request.service is not None:
        require_services(plan, [request.service])
    language = request.language or plan.organisation.language
    if language not in LANGUAGES:
        from reprise.errors import InputError

        raise InputError(f"no language {language!r}", hint="use fr or en")
    offset = (request.now - datetime.now(UTC)) if request.now else timedelta(0)
    ctx = _Context(
        plan,
        store,
        request,
        language,
        lambda: datetime.now(UTC) + offset,
        bytes_progress,
        part_progress,
    )
    chosen = [s for s in plan.services if request.service in (None, s.id)]
    started = ctx.clock()
    steps = [step for service in chosen for step in _service_steps(ctx, service)]
    steps += _plan_steps(ctx, [service.id for service in chosen])
    items = run_steps(steps, progress)
    result = Audit(
        started,
        ctx.clock(),
        [service.id for service in chosen],
        request.quick,
        language,
        request.by,
        items,
        verdict(items),
    )
    report = render_report(plan, result, "md")
    result.id = store_audit(store, result, report)
    return AuditOutcome(result, report)


def render_report(plan: Plan, found: Audit, fmt: str, language: str | None = None) -> str:
    """The report of an audit in ``fmt`` (md, html, json), in ``language`` (None: the
    audit's own), times in the plan's zone."""
    return render(
        found,
        fmt,
        language or found.language,
        plan.organisation.timezone,
        plan.organisation.name,
    )


def list_stored(store: Store) -> list[Audit]:
    """Stored audits, newest first."""
    return list_audits(store)


@dataclass(frozen=True)
class ShowRequest:
    """Which stored audit, in which format (md, html, json) and language (None: the
    audit's own)."""

    audit_id: int
    format: str = "md"
    language: str | None = None


def show_stored(plan: Plan, store: Store, request: ShowRequest) -> tuple[Audit, str]:
    """A stored audit rendered again (the stored Markdown when nothing else is asked)."""
    found, stored = get_audit(store, request.audit_id)
    language = request.language or found.language
    if request.format == "md" and language == found.language and stored:
        return found, stored
    return found, render_report(plan, found, request.format, language)
