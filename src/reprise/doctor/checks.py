"""What every check returns, and what every check is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob
    from reprise.plan.loader import LoadedPlan
    from reprise.plan.model import Plan
    from reprise.store import Store

Status = Literal["ok", "warn", "fail", "skip"]
"""ok; warn (works, but not as it should); fail; skip (does not apply here, with why)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Text:
    """A text of the word catalog (``doctor.<key>``) and its placeholders' values."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


def text(key: str, **params: Any) -> Text:
    """``Text(key, params)``, shorter."""
    return Text(key, params)


@dataclass(frozen=True)
class Check:
    """One verdict: a stable ``id`` (documented in docs/doctor.md), what was checked
    (``title``), what was found (``detail``) and, unless ok, how to fix it."""

    id: str
    status: Status
    title: Text
    detail: Text
    fix: Text | None = None


@dataclass
class Context:
    """What the checks look at: the plan, its state (None when not opened) and how long a
    check may wait for the archiver."""

    loaded: LoadedPlan
    store: Store | None = None
    timeout: float = 60.0
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What was already asked this run: kind → key → answer (see :meth:`once`)."""

    @property
    def plan(self) -> Plan:
        """The validated plan."""
        return self.loaded.plan

    def once(self, kind: str, key: str, ask: Callable[[], T]) -> T:
        """``ask()`` the first time ``kind``/``key`` is wanted, its answer after that: a
        server several checks look at is asked once per run."""
        answers = self.memo.setdefault(kind, {})
        if key not in answers:
            answers[key] = ask()
        return cast("T", answers[key])

    def sources(self, *kinds: str) -> list[BackupJob]:
        """The plan's backup sources of these kinds (every source when none is given)."""
        from reprise.errors import InputError
        from reprise.plan.jobs import backup_jobs

        try:
            jobs = backup_jobs(self.plan)
        except InputError:
            return []  # no service has backups
        return [job for job in jobs if not kinds or job.source.kind in kinds]

    def archiving(self) -> list[BackupJob]:
        """The postgres_physical sources whose WAL is archived by ``wal push``."""
        return [
            job
            for job in self.sources("postgres_physical")
            if getattr(job.source, "wal_archive", False)
        ]


def worst(statuses: list[Status]) -> Status:
    """The verdict of a check made of several: fail, else warn, else ok (skip when all
    were skipped or there were none)."""
    for status in ("fail", "warn", "ok"):
        if status in statuses:
            return status
    return "skip"


def problem(error: BaseException) -> tuple[str, str]:
    """The message and fix of an error, for a detail and a fix."""
    from reprise.errors import RepriseError

    if isinstance(error, RepriseError):
        message, hint = error.render()
        return message, hint or ""
    return f"{type(error).__name__}: {error}", ""
