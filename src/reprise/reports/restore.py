"""Restore and drill reports for people, in Markdown, in French or English.

``reprise.restore.report`` records what a restore did and turns it into a
:class:`RestoreView`; this module lays it out with the
``restore.md.j2`` template and the catalog's words, durations, sizes and times spelled by
``reprise.words.format`` in the report's language; times in the plan's zone, labelled
(``26/11/2026 08:00:00 CET``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from reprise.reports.incident import environment
from reprise.words import words
from reprise.words.format import duration, size, stamp


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


def moment_text(moment: datetime, language: str, zone: str | tzinfo) -> str:
    """A time of the report in ``zone``, labelled, to the second: ``2026-11-26 08:00:00
    CET`` (``26/11/2026 08:00:00 CET`` in French), the spelling of every door."""
    return stamp(moment, language, zone, seconds=True)


def result_text(result: object, labels: Mapping[str, str]) -> str:
    """A result code (``ok``, ``failed``, ``passed``…) in the report's language; an
    unknown one as it is."""
    return labels.get(f"result_{result}", str(result))


def render_restore(view: RestoreView, language: str = "en", zone: str | tzinfo = "UTC") -> str:
    """The report of one restore, in Markdown, its times in ``zone`` (the plan's; UTC,
    still labelled, for a caller that has no plan)."""
    labels = words(language, "restore")
    templates = environment(language)
    templates.filters["cell"] = cell
    templates.filters["moment"] = lambda moment: moment_text(moment, language, zone)
    templates.filters["size"] = lambda value: "" if value is None else size(value, language)
    templates.filters["result"] = lambda result: result_text(result, labels)
    templates.filters["seconds"] = lambda seconds, decimals=1: duration(
        seconds, language, decimals=decimals
    )
    template = templates.get_template("restore.md.j2")
    return template.render(t=labels, view=view)
