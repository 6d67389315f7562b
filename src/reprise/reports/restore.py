"""Restore and drill reports for people, in Markdown, in French or English.

``reprise.restore.report`` records what a restore did and turns it into a
:class:`RestoreView` (sizes and ages already formatted); this module lays it out with the
``restore.md.j2`` template and the catalog's words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reprise.reports.incident import environment
from reprise.words import words


@dataclass(frozen=True)
class StepLine:
    """One step of a restore: what, how long, how big, how it went."""

    name: str
    seconds: float
    size: str
    result: str
    detail: str | None


@dataclass(frozen=True)
class CheckLine:
    """One check of a drill."""

    name: object
    result: object
    detail: object


@dataclass(frozen=True)
class RestoreView:
    """Every figure of a restore, drill or point-in-time recovery report."""

    kind: str
    """``restore``, ``drill`` or ``pitr``."""
    service: str
    source: str
    repository: str
    backup_id: str
    backup_time: datetime
    age: str
    target: str
    started_at: datetime
    seconds: float
    result: str
    error: str | None
    steps: list[StepLine]
    checks: list[CheckLine]
    figures: list[tuple[object, object]]


def cell(text: object) -> str:
    """Table-safe Markdown: no pipes or line breaks from data."""
    if text is None:
        return "—"  # not known (e.g. no transaction time in the replayed WAL), never "None"
    return str(text).replace("|", "\\|").replace("\n", " ")


def utc(moment: datetime) -> str:
    """``2026-05-04 12:00:00 UTC`` (the report's times are in UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def render_restore(view: RestoreView, language: str = "en") -> str:
    """The report of one restore, in Markdown."""
    templates = environment(language)
    templates.filters["cell"] = cell
    templates.filters["utc"] = utc
    template = templates.get_template("restore.md.j2")
    return template.render(t=words(language, "restore"), view=view)
