"""Restore and drill reports for people, in Markdown, in French or English.

``reprise.restore.report`` records what a restore did and turns it into a
:class:`RestoreView`; this module lays it out with the
``restore.md.j2`` template and the catalog's words, durations, sizes and times spelled by
``reprise.words.format`` in the report's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reprise.reports.incident import environment
from reprise.words import words
from reprise.words.format import duration, size, when


@dataclass(frozen=True)
class StepLine:
    """One step of a restore: what, how long, how big, how it went."""

    name: str
    seconds: float
    size: int | None
    """Bytes, or None when not measured."""
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
    age: timedelta
    """How old the backup was when the restore started."""
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


def utc(moment: datetime, language: str = "en") -> str:
    """``2026-05-04 12:00:00 UTC`` (``04/05/2026 12:00:00 UTC`` in French): the report's
    times are in UTC."""
    return f"{when(moment, language, UTC, seconds=True)} UTC"


def result_text(result: object, labels: Mapping[str, str]) -> str:
    """A result code (``ok``, ``failed``, ``passed``…) in the report's language; an
    unknown one as it is."""
    return labels.get(f"result_{result}", str(result))


def render_restore(view: RestoreView, language: str = "en") -> str:
    """The report of one restore, in Markdown."""
    labels = words(language, "restore")
    templates = environment(language)
    templates.filters["cell"] = cell
    templates.filters["utc"] = lambda moment: utc(moment, language)
    templates.filters["size"] = lambda value: "" if value is None else size(value, language)
    templates.filters["result"] = lambda result: result_text(result, labels)
    templates.filters["seconds"] = lambda seconds, decimals=1: duration(
        seconds, language, decimals=decimals
    )
    template = templates.get_template("restore.md.j2")
    return template.render(t=labels, view=view)
