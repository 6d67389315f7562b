"""Value types of the plan: durations (``15m``), sizes (``512MiB``), percentages (``99.9%``),
schedules (cron or ``@hourly``) and times of day (``08:00``).

Each is a plain Python value after validation (``timedelta``, ``int`` bytes, ``float``
percent, ``str``) so that the rest of Reprise never parses text again. Parsing errors carry
a hint through ``PydanticCustomError`` context so the plan diagnostics can show the fix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

_DURATION_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
}
_DURATION_PART = re.compile(r"(\d+)\s*(ms|w|d|h|m|s)")
_DURATION_FULL = re.compile(r"^(?:\d+\s*(?:ms|w|d|h|m|s)\s*)+$")
_DURATION_HINT = "write a number and a unit, e.g. 30s, 15m, 4h, 1d, 1h30m"


def parse_duration(value: object) -> timedelta:
    """Read ``30s``, ``15m``, ``4h``, ``1d``, ``2w``, ``1h30m`` or ``500ms`` as a timedelta.

    Bare numbers are refused on purpose: ``interval: 30`` could mean seconds or minutes,
    and a DR tool must not guess.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError(
            "duration",
            "expected a duration, got {got}",
            {"got": type(value).__name__, "hint": _DURATION_HINT},
        )
    if isinstance(value, int | float):
        raise PydanticCustomError(
            "duration",
            "a bare number is ambiguous as a duration (got {got})",
            {"got": value, "hint": f"add a unit: {value}s, {value}m or {value}h"},
        )
    text = value.strip().lower()
    if not _DURATION_FULL.match(text):
        raise PydanticCustomError(
            "duration", "not a duration (got '{got}')", {"got": value, "hint": _DURATION_HINT}
        )
    total = timedelta()
    seen: set[str] = set()
    for amount, unit in _DURATION_PART.findall(text):
        if unit in seen:
            raise PydanticCustomError(
                "duration",
                "unit '{unit}' appears twice in '{got}'",
                {"unit": unit, "got": value, "hint": _DURATION_HINT},
            )
        seen.add(unit)
        # Compare in whole milliseconds first: timedelta arithmetic overflows past ~10^9 days.
        if len(amount) > 15 or int(amount) * (_DURATION_UNITS[unit] // _MS) > _MAX_MS:
            _too_long(value)
        total += int(amount) * _DURATION_UNITS[unit]
    if total > MAX_DURATION:
        _too_long(value)
    return total


MAX_DURATION = timedelta(days=100 * 366)
"""No objective, interval or silence is longer than a century; past it a typo is likelier
(and ``datetime`` arithmetic would overflow)."""


_MS = timedelta(milliseconds=1)
_MAX_MS = MAX_DURATION // _MS


def _too_long(value: str) -> None:
    shown = value if len(value) <= 40 else value[:37] + "…"
    raise PydanticCustomError(
        "duration_too_long",
        "too long (got '{got}'); at most 100 years",
        {"got": shown, "hint": "check the number and its unit, e.g. 30d rather than 30000d"},
    )


def format_duration(value: timedelta) -> str:
    """The shortest plan spelling of a duration: ``timedelta(minutes=90)`` → ``1h30m``."""
    remaining_ms = round(value.total_seconds() * 1000)
    if remaining_ms == 0:
        return "0s"
    parts: list[str] = []
    sign = "-" if remaining_ms < 0 else ""
    remaining_ms = abs(remaining_ms)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        amount, remaining_ms = divmod(remaining_ms, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + "".join(parts)


def _positive_duration(value: object) -> timedelta:
    parsed = parse_duration(value)
    if parsed <= timedelta(0):
        raise PydanticCustomError(
            "duration_positive",
            "must be longer than zero (got {got})",
            {"got": value, "hint": "use a positive duration such as 1m"},
        )
    return parsed


Duration = Annotated[
    timedelta,
    BeforeValidator(_positive_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*(\d+\s*(ms|w|d|h|m|s)\s*)+$",
            "description": "A duration: 30s, 15m, 4h, 1d, 2w, 1h30m.",
            "examples": ["30s", "15m", "4h", "1d"],
        }
    ),
]
"""A strictly positive duration written ``30s``/``15m``/``4h``/``1d``."""


_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_SIZE_HINT = "write a number and a unit, e.g. 512MiB, 10GiB, 2GB (or a byte count)"


def parse_size(value: object) -> int:
    """Read ``512MiB``, ``10GiB``, ``2GB`` or a plain byte count as a number of bytes."""
    if isinstance(value, bool):
        raise PydanticCustomError("size", "expected a size, got a boolean", {"hint": _SIZE_HINT})
    if isinstance(value, int):
        number, unit = float(value), ""
    elif isinstance(value, str) and (match := _SIZE_RE.match(value)):
        number, unit = float(match.group(1)), match.group(2).lower()
    else:
        raise PydanticCustomError(
            "size", "not a size (got '{got}')", {"got": value, "hint": _SIZE_HINT}
        )
    if unit not in _SIZE_UNITS:
        raise PydanticCustomError(
            "size",
            "unknown size unit '{unit}' in '{got}'",
            {"unit": unit, "got": value, "hint": _SIZE_HINT},
        )
    size = int(number * _SIZE_UNITS[unit])
    if size < 0:
        raise PydanticCustomError(
            "size", "must not be negative (got '{got}')", {"got": value, "hint": _SIZE_HINT}
        )
    return size


def format_size(size: int) -> str:
    """A human spelling in binary units: ``1536`` → ``1.5KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


Size = Annotated[
    int,
    BeforeValidator(parse_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[a-zA-Z]*\s*$"},
            ],
            "description": "A size: 512MiB, 10GiB, 2GB or a number of bytes.",
            "examples": ["512MiB", "10GiB"],
        }
    ),
]
"""A size in bytes, written ``512MiB``/``10GiB``/``2GB``."""


def parse_percent(value: object) -> float:
    """Read ``99.9%`` or ``99.9`` as a percentage in (0, 100]."""
    hint = "write a percentage such as 99.9%"
    if isinstance(value, bool):
        raise PydanticCustomError("percent", "expected a percentage, got a boolean", {"hint": hint})
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip().replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise PydanticCustomError(
                "percent", "not a percentage (got '{got}')", {"got": value, "hint": hint}
            ) from None
    else:
        raise PydanticCustomError(
            "percent", "not a percentage (got '{got}')", {"got": value, "hint": hint}
        )
    if not 0 < number <= 100:
        raise PydanticCustomError(
            "percent",
            "must be above 0% and at most 100% (got {got})",
            {"got": value, "hint": hint},
        )
    return number


Percent = Annotated[
    float,
    BeforeValidator(parse_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
                {"type": "string", "pattern": r"^\s*\d+([.,]\d+)?\s*%?\s*$"},
            ],
            "description": "A percentage: 99.9% or 99.9.",
            "examples": ["99.9%"],
        }
    ),
]
"""A percentage in (0, 100], written ``99.9%``."""


_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_SCHEDULE_HINT = (
    "use a cron expression such as '0 * * * *' (minute hour day month weekday) "
    "or one of @hourly, @daily, @weekly, @monthly"
)


def parse_schedule(value: Any) -> str:
    """Accept a five-field cron expression, six fields with seconds last (croniter's form,
    for tests and demos), or a macro (``@hourly``, ``@daily``…); refuse one that never
    fires (``0 0 30 2 *``): a job that silently never runs is worse than an error."""
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError(
            "schedule", "expected a schedule, got '{got}'", {"got": value, "hint": _SCHEDULE_HINT}
        )
    text = " ".join(value.split())
    if text.startswith("@"):
        if text.lower() not in _CRON_MACROS:
            raise PydanticCustomError(
                "schedule", "unknown schedule macro '{got}'", {"got": value, "hint": _SCHEDULE_HINT}
            )
        return text.lower()
    if len(text.split(" ")) not in (5, 6):
        raise PydanticCustomError(
            "schedule",
            "a cron expression has five fields, '{got}' has {count}",
            {"got": value, "count": len(text.split(" ")), "hint": _SCHEDULE_HINT},
        )
    if _plainly_fires(text):
        return text
    from croniter import CroniterBadDateError, croniter  # only for plans with cron expressions

    if not croniter.is_valid(text):
        raise PydanticCustomError(
            "schedule", "invalid cron expression '{got}'", {"got": value, "hint": _SCHEDULE_HINT}
        )
    try:
        croniter(text, _SCHEDULE_PROBE).get_next(datetime)
    except CroniterBadDateError:
        raise PydanticCustomError(
            "schedule",
            "the schedule '{got}' never fires (no such date)",
            {
                "got": value,
                "hint": "check the day of month against the month (30 2 is 30 February)",
            },
        ) from None
    return text


_SCHEDULE_PROBE = datetime(2026, 1, 1, tzinfo=UTC)
"""Any instant: a schedule that fires fires within croniter's search from here."""

_PLAIN_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
"""Minute, hour, day of month, month, day of week: the values every cron accepts."""


def _plainly_fires(text: str) -> bool:
    """True for five fields each ``*`` or a plain number in range, on a day every month
    has (or any month): valid, and it fires. Such expressions, the defaults among them
    (``0 8 1 * *``), skip croniter, whose import alone costs each command some 15 ms (it
    runs ``file`` on the Python binary); anything else is croniter's to judge."""
    fields = text.split(" ")
    if len(fields) != 5:
        return False
    for field, (low, high) in zip(fields, _PLAIN_RANGES, strict=True):
        if field == "*":
            continue
        if not field.isascii() or not field.isdigit() or str(int(field)) != field:
            return False
        if not low <= int(field) <= high:
            return False
    day, month = fields[2], fields[3]
    return day == "*" or month == "*" or int(day) <= 28


Schedule = Annotated[
    str,
    BeforeValidator(parse_schedule),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A cron expression (5 fields, or 6 with seconds last) or "
            "@hourly/@daily/@weekly/@monthly.",
            "examples": ["@hourly", "0 2 * * *"],
        }
    ),
]
"""When a job runs: a five-field cron expression or a macro such as ``@hourly``."""


def parse_time_of_day(value: Any) -> time:
    """Read ``08:00`` (24-hour clock) as a ``datetime.time``."""
    hint = "write a time of day on the 24-hour clock, e.g. 08:00 or 18:30"
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:00 as a sexagesimal integer (480).
        value = f"{value // 60:02d}:{value % 60:02d}"
    if isinstance(value, str) and (match := re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)):
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    raise PydanticCustomError(
        "time_of_day", "not a time of day (got '{got}')", {"got": value, "hint": hint}
    )


TimeOfDay = Annotated[
    time,
    BeforeValidator(parse_time_of_day),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "examples": ["08:00"]}),
]
"""A time of day, ``HH:MM``."""
