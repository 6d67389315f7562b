"""Restore and drill reports: every step with its duration and result, in Markdown and JSON.

The JSON is for programs (and the drill table); the Markdown is for the people who will
read it after the incident, in the plan's language.
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
from reprise.plan.units import format_duration, format_size
from reprise.security import make_private_dirs, write_private_file


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


_LABELS = {
    "en": {
        "restore": "Restore report",
        "drill": "Restore drill report",
        "pitr": "Point-in-time recovery report",
        "service": "Service",
        "source": "Source",
        "backup": "Backup",
        "age": "age at restore",
        "target": "Target",
        "started": "Started",
        "duration": "Duration",
        "result": "Result",
        "error": "Error",
        "steps": "Steps",
        "step": "Step",
        "size": "Size",
        "detail": "Detail",
        "figures": "Figures",
        "checks": "Checks",
        "check": "Check",
    },
    "fr": {
        "restore": "Rapport de restauration",
        "drill": "Rapport d'exercice de restauration",
        "pitr": "Rapport de restauration à un instant donné",
        "service": "Service",
        "source": "Source",
        "backup": "Sauvegarde",
        "age": "âge à la restauration",
        "target": "Cible",
        "started": "Début",
        "duration": "Durée",
        "result": "Résultat",
        "error": "Erreur",
        "steps": "Étapes",
        "step": "Étape",
        "size": "Taille",
        "detail": "Détail",
        "figures": "Mesures",
        "checks": "Contrôles",
        "check": "Contrôle",
    },
}


def _cell(text: object) -> str:
    """Table-safe Markdown: no pipes or line breaks from data."""
    if text is None:
        return "—"  # not known (e.g. no transaction time in the replayed WAL), never "None"
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, language: str = "en") -> str:
    """The report for people."""
    words = _LABELS.get(language, _LABELS["en"])
    age = format_duration(timedelta(seconds=round(report.backup_age.total_seconds())))
    lines = [
        f"# {words[report.kind]} — {_cell(report.service)}",
        "",
        f"- {words['service']}: {_cell(report.service)} ({_cell(report.source)})",
        f"- {words['backup']}: {report.backup_id} ({report.repository}, "
        f"{report.backup_time.strftime('%Y-%m-%d %H:%M:%S UTC')}; {words['age']}: {age})",
        f"- {words['target']}: {_cell(report.target)}",
        f"- {words['started']}: {report.started_at.strftime('%Y-%m-%d %H:%M:%S UTC')}",
        f"- {words['duration']}: {report.seconds:.1f} s",
        f"- {words['result']}: **{report.result}**",
    ]
    if report.error:
        lines.append(f"- {words['error']}: {_cell(report.error)}")
    lines += [
        "",
        f"## {words['steps']}",
        "",
        f"| {words['step']} | {words['duration']} | {words['size']} | {words['result']} "
        f"| {words['detail']} |",
        "|---|---:|---:|---|---|",
    ]
    for step in report.steps:
        size = format_size(step.bytes) if step.bytes is not None else ""
        lines.append(
            f"| {_cell(step.name)} | {step.seconds:.2f} s | {size} | {step.result} | "
            f"{_cell(step.detail or '')} |"
        )
    if report.checks:
        lines += [
            "",
            f"## {words['checks']}",
            "",
            f"| {words['check']} | {words['result']} | {words['detail']} |",
            "|---|---|---|",
        ]
        for check in report.checks:
            lines.append(
                f"| {_cell(check['name'])} | {check['result']} | "
                f"{_cell(check.get('detail') or '')} |"
            )
    if report.figures:
        lines += ["", f"## {words['figures']}", ""]
        lines += [f"- {_cell(key)}: {_cell(value)}" for key, value in report.figures.items()]
    return "\n".join(lines) + "\n"


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def write_report(report: Report, directory: Path, language: str = "en") -> Path:
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
    write_private_file(markdown, render_markdown(report, language).encode())
    return markdown
