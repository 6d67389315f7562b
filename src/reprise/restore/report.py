"""Restore and drill reports: every step with its duration and result, in Markdown and JSON.

The JSON is for programs (and the drill table); the Markdown, rendered by
``reprise.reports.restore`` from the view built here, is for the people who will read it
after the incident, in the plan's language.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reprise.errors import RepriseError
from reprise.reports.restore import CheckLine, RestoreView, StepLine, render_restore
from reprise.security import make_private_dirs, write_private_file
from reprise.words import LANGUAGES


@dataclass
class Step:
    """One step of a restore: what, how long, how it went."""

    name: str
    started_at: datetime
    seconds: float = 0.0
    result: str = "running"
    detail: str | None = None
    bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "result": self.result,
            "detail": self.detail,
            "bytes": self.bytes,
        }


@dataclass
class Report:
    """What a restore or a drill did, filled in as it goes."""

    kind: str
    service: str
    source: str
    repository: str
    backup_id: str
    backup_time: datetime
    target: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    steps: list[Step] = field(default_factory=list)
    result: str = "running"
    error: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    finished_at: datetime | None = None
    _clock: float = field(default_factory=time.monotonic)

    @property
    def backup_age(self) -> timedelta:
        """How old the backup was when the restore started."""
        return self.started_at - self.backup_time

    @property
    def seconds(self) -> float:
        """Elapsed seconds so far, or in all once finished."""
        return (
            round(time.monotonic() - self._clock, 3)
            if self.finished_at is None
            else round((self.finished_at - self.started_at).total_seconds(), 3)
        )

    @contextmanager
    def step(self, name: str, *, size: int | None = None) -> Iterator[Step]:
        """Time one step; an exception marks it failed (and goes on up)."""
        current = Step(name, datetime.now(UTC), bytes=size)
        self.steps.append(current)
        clock = time.monotonic()
        try:
            yield current
        except BaseException as error:
            current.result = "failed"
            current.detail = (
                error.message
                if isinstance(error, RepriseError)
                else (str(error) or type(error).__name__)
            )
            raise
        finally:
            current.seconds = time.monotonic() - clock
        if current.result == "running":
            current.result = "ok"

    def finish(self, result: str, error: str | None = None) -> None:
        """Close the report with its overall result (ok, failed, passed…)."""
        self.finished_at = datetime.now(UTC)
        self.result = result
        self.error = error

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "service": self.service,
            "source": self.source,
            "repository": self.repository,
            "backup_id": self.backup_id,
            "backup_time": self.backup_time.isoformat(),
            "backup_age_seconds": round(self.backup_age.total_seconds()),
            "target": self.target,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": self.seconds,
            "result": self.result,
            "error": self.error,
            "steps": [step.to_dict() for step in self.steps],
            "figures": self.figures,
            "checks": self.checks,
        }


def view_of(report: Report) -> RestoreView:
    """The report's figures for people (durations, sizes and times are spelled by the
    report in its language)."""
    return RestoreView(
        kind=report.kind,
        service=report.service,
        source=report.source,
        repository=report.repository,
        backup_id=report.backup_id,
        backup_time=report.backup_time,
        age=timedelta(seconds=round(report.backup_age.total_seconds())),
        target=report.target,
        started_at=report.started_at,
        seconds=report.seconds,
        result=report.result,
        error=report.error,
        steps=[
            StepLine(step.name, step.seconds, step.bytes, step.result, step.detail)
            for step in report.steps
        ],
        checks=[
            CheckLine(check["name"], check["result"], check.get("detail"))
            for check in report.checks
        ],
        figures=list(report.figures.items()),
    )


def render_markdown(report: Report, language: str = "en", zone: str = "UTC") -> str:
    """The report for people, in ``language`` (English if Reprise does not speak it), its
    times in ``zone`` (the plan's), labelled."""
    return render_restore(view_of(report), language if language in LANGUAGES else "en", zone)


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def write_report(report: Report, directory: Path, language: str = "en", zone: str = "UTC") -> Path:
    """Write ``<kind>-<time>-<service>.md`` and ``.json`` (0600, in a 0700 folder); return
    the Markdown path."""
    make_private_dirs(directory)
    stamp = report.started_at.strftime("%Y%m%dT%H%M%S")
    base = directory / f"{report.kind}-{stamp}-{_UNSAFE.sub('_', report.service)}"
    markdown = base.with_suffix(".md")
    write_private_file(
        base.with_suffix(".json"),
        (json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n").encode(),
    )
    write_private_file(markdown, render_markdown(report, language, zone).encode())
    return markdown
