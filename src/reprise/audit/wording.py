"""Audit words: catalog parts worded in a language, with measured facts spelled the way the
language writes them (durations, sizes, numbers, percentages, times: ``reprise.words.format``).

A fact is a plain value (a name, a path, shown as it is) or a one-key mapping saying what it
measures: ``{"duration": 12.5}`` (seconds), ``{"size": 1048576}`` (bytes), ``{"number": 3.14,
"digits": 1}``, ``{"percent": 99.5}``, ``{"when": "2026-11-26T12:00:00+00:00"}``, ``{"list":
[…]}`` (joined with commas), ``{"part": [key, facts]}`` (a nested text). Stored as JSON, an
audit can be worded again in either language."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reprise.audit.items import Part
from reprise.words import say
from reprise.words.format import duration, number, percent, size, when


def seconds(value: float | timedelta) -> dict[str, float]:
    """A duration fact."""
    total = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return {"duration": round(total, 3)}


def moment(value: datetime) -> dict[str, str]:
    """A time fact (shown in the plan's time zone)."""
    return {"when": value.isoformat()}


def listing(values: list[Any]) -> dict[str, list[Any]]:
    """A list fact, joined with commas when worded."""
    return {"list": list(values)}


def fact(value: Any, language: str, timezone: str) -> str:
    """One fact in words."""
    if not isinstance(value, dict) or len(value) not in (1, 2):
        return str(value)
    if "duration" in value:
        amount = float(value["duration"])
        return duration(amount, language, decimals=1 if amount < 10 else 0)
    if "size" in value:
        return size(int(value["size"]), language)
    if "number" in value:
        return number(value["number"], language, value.get("digits"))
    if "percent" in value:
        return percent(float(value["percent"]), language, value.get("digits"))
    if "when" in value:
        return when(datetime.fromisoformat(value["when"]), language, timezone, zone=True)
    if "list" in value:
        return ", ".join(fact(item, language, timezone) for item in value["list"])
    if "part" in value:
        key, facts = value["part"]
        return word((key, facts), language, timezone)
    return str(value)


def word(text: Part | None, language: str, timezone: str) -> str:
    """A part in ``language`` (empty for None)."""
    if text is None:
        return ""
    key, facts = text
    return say(language, key, **{name: fact(v, language, timezone) for name, v in facts.items()})
