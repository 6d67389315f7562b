"""``reprise doctor``: run the installation checks (:mod:`reprise.doctor`) on a loaded plan,
or report why the plan itself was refused, and put the verdicts in the plan's language."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reprise.doctor import registry
from reprise.doctor.checks import Check, Context, Text, text
from reprise.doctor.modes import from_plan_issues, is_mode_issue
from reprise.errors import InputError, option
from reprise.words import say

if TYPE_CHECKING:
    from reprise.errors import PlanError
    from reprise.plan.loader import LoadedPlan
    from reprise.store import Store

__all__ = [
    "Check",
    "DoctorReport",
    "DoctorRequest",
    "doctor_needs_store",
    "refused_plan",
    "run_doctor",
]

FIELDS = ("id", "status", "title", "detail", "fix")
"""The keys of each check in ``--json`` (stable)."""


@dataclass(frozen=True)
class DoctorRequest:
    """Which checks (ids or family prefixes; none: every default one) and how long the
    archiving check waits for a switched segment."""

    only: tuple[str, ...] = ()
    timeout: float = 60.0


@dataclass(frozen=True)
class DoctorReport:
    """The verdicts, in running order, and the language to say them in."""

    checks: list[Check]
    language: str = "en"

    @property
    def failing(self) -> list[str]:
        """The ids of the checks that failed."""
        return [check.id for check in self.checks if check.status == "fail"]

    def say(self, words: Text | None) -> str | None:
        """A text of the report in its language."""
        if words is None:
            return None
        return say(self.language, f"doctor.{words.key}", **words.params)

    def rendered(self) -> list[dict[str, Any]]:
        """Each check as ``{id, status, title, detail, fix}`` (fix None when ok)."""
        return [
            {
                "id": check.id,
                "status": check.status,
                "title": self.say(check.title),
                "detail": self.say(check.detail),
                "fix": self.say(check.fix),
            }
            for check in self.checks
        ]

    def heading(self, key: str, **params: Any) -> str:
        """A line of the report's frame (``doctor.<key>``)."""
        return say(self.language, f"doctor.{key}", **params)


def _context(loaded: LoadedPlan, store: Store | None, request: DoctorRequest) -> Context:
    if not math.isfinite(request.timeout) or request.timeout <= 0:
        raise InputError(
            f"the timeout must be positive (got {request.timeout:g})",
            hint=f"give {option('timeout')} a number of seconds, e.g. 60",
        )
    return Context(loaded, store, request.timeout)


def _wanted(context: Context, request: DoctorRequest) -> set[str]:
    unknown = registry.unknown(context, request.only)
    if unknown:
        raise InputError(
            f"no check named {', '.join(repr(name) for name in unknown)}",
            hint=f"give {option('only')} one of: {', '.join(registry.known_ids(context))}",
        )
    return registry.chosen(context, request.only)


def doctor_needs_store(loaded: LoadedPlan, request: DoctorRequest) -> bool:
    """Whether the chosen checks read the state (the door opens it only then: run as the
    server's user, ``wal.push-access`` must not create a state of its own)."""
    context = _context(loaded, None, request)
    return registry.needs_store(context, _wanted(context, request))


def run_doctor(loaded: LoadedPlan, store: Store | None, request: DoctorRequest) -> DoctorReport:
    """Run the chosen checks; raises InputError for an unknown id in ``request.only``."""
    context = _context(loaded, store, request)
    wanted = _wanted(context, request)
    checks: list[Check] = []
    if registry.PLAN_ID in wanted:
        checks.append(
            Check(
                registry.PLAN_ID,
                "ok",
                text("title.plan.valid"),
                text("detail.plan.ok", path=str(loaded.path)),
            )
        )
    checks += registry.run(context, wanted)
    return DoctorReport(checks, loaded.plan.organisation.language)


def refused_plan(error: PlanError, request: DoctorRequest) -> DoctorReport:
    """The report when the loader refused the plan: its file-mode refusals under
    ``files.modes``, its other problems under ``plan.valid``; every other check skipped
    (no Reprise command runs on a refused plan)."""
    modes = [issue for issue in error.issues if is_mode_issue(issue)]
    others = [issue for issue in error.issues if not is_mode_issue(issue)]
    title = text("title.plan.valid")
    if others:
        plan = Check(
            registry.PLAN_ID,
            "fail",
            title,
            text("detail.lines", lines="; ".join(issue.render() for issue in others)),
            text("fix.plan"),
        )
    else:
        plan = Check(registry.PLAN_ID, "skip", title, text("detail.plan.modes_only"))
    files = (
        from_plan_issues(modes)
        if modes
        else Check("files.modes", "skip", text("title.files.modes"), text("detail.plan_refused"))
    )
    rest = [
        Check(check_id, "skip", text(f"title.{check_id}"), text("detail.plan_refused"))
        for check_id in registry.STATIC_IDS
        if check_id not in (registry.PLAN_ID, "files.modes")
    ]
    checks = [plan, files, *rest]
    if request.only:
        checks = [
            check
            for check in checks
            if any(check.id == name or check.id.startswith(f"{name}.") for name in request.only)
        ] or [plan, files]
    return DoctorReport(checks)
