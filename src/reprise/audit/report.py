"""The compliance report of an audit: ✅/❌ per item with the value measured, the objective
and what to do about each ❌, in Markdown, HTML (the report templates) or JSON, in French or
English."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from reprise.audit.items import STATUSES, Audit, Item
from reprise.audit.wording import word
from reprise.errors import InputError
from reprise.reports.incident import environment
from reprise.words import words
from reprise.words.format import duration, when

FORMATS = ("md", "html", "json")
_BREAKS = re.compile(r"[^\S\u00a0\u202f]+")
MARKS = {"ok": "✅", "failed": "❌", "skipped": "⏭", "not_applicable": "➖"}


def cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes and raw HTML made inert; code spans
    (`…`) that Reprise's words hold are kept."""
    one_line = _BREAKS.sub(" ", text).strip(" ")
    return one_line.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def item_view(item: Item, language: str, timezone: str) -> dict[str, Any]:
    """One item in words (and its raw figures)."""
    return {
        "id": item.id,
        "service": item.service,
        "status": item.status,
        "mark": MARKS[item.status],
        "title": word(item.title, language, timezone),
        "objective": word(item.objective, language, timezone),
        "measured": word(item.measured, language, timezone),
        "fix": word(item.fix, language, timezone) if item.status == "failed" else "",
        "seconds": round(item.seconds, 3),
        "duration": duration(item.seconds, language, decimals=1),
        "raw": item.raw,
    }


def to_dict(audit: Audit, language: str, timezone: str) -> dict[str, Any]:
    """The JSON form: the audit, its items in words and raw figures."""
    return {
        "id": audit.id,
        "result": audit.result,
        "started_at": audit.started_at.isoformat(),
        "finished_at": audit.finished_at.isoformat(),
        "seconds": round(audit.seconds, 3),
        "quick": audit.quick,
        "services": audit.services,
        "language": language,
        "by": audit.by,
        "counts": {status: audit.count(status) for status in STATUSES},
        "items": [item_view(item, language, timezone) for item in audit.items],
    }


def render(audit: Audit, fmt: str, language: str, timezone: str, organisation: str) -> str:
    """The report in ``fmt`` (md, html or json)."""
    if fmt not in FORMATS:
        raise InputError(f"no report format {fmt!r}", hint="use md, html or json")
    if fmt == "json":
        import json

        return json.dumps(to_dict(audit, language, timezone), ensure_ascii=False, indent=2) + "\n"
    t = words(language, "audit")

    def moment(value: datetime) -> str:
        return when(value, language, timezone, seconds=True, zone=True)

    context = {
        "t": t,
        "language": language,
        "organisation": organisation,
        "audit": audit,
        "result": t[f"result_{audit.result}"],
        "started": moment(audit.started_at),
        "took": duration(audit.seconds, language, decimals=1),
        "services": ", ".join(audit.services),
        "counts": {status: audit.count(status) for status in STATUSES},
        "items": [item_view(item, language, timezone) for item in audit.items],
        "failed": [item_view(item, language, timezone) for item in audit.failed],
        "marks": MARKS,
    }
    templates = environment(language)
    templates.filters["cell"] = cell
    return templates.get_template(f"audit.{fmt}.j2").render(context)
