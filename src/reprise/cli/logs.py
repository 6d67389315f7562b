"""Where the core's log records go when the CLI runs: stderr, as human lines or as one JSON
object per line (journald, Loki), never with a secret in them.

The core only logs (``logging.getLogger(__name__)``); the ``reprise`` command configures the
root logger once per run (:func:`configure`) and takes its handler away after (:func:`reset`),
so that tests running many commands in one process start clean each time."""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reprise.plan.loader import LoadedPlan


class LogLevel(StrEnum):
    """The ``--log-level`` choices."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    """The ``--log-format`` choices."""

    text = "text"
    json = "json"


MASK = "***"

# --- redaction ---------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PRIVATE", re.I)
_MIN_SECRET = 4
"""Shortest ``.env`` value masked when its name says it is a secret: shorter ones would mask
ordinary words."""
_MIN_VALUE = 12
"""Shortest value of any other ``.env`` variable masked (URLs with tokens, keys)."""

_known: dict[str, str] = {}
"""Exact secrets of the loaded plan and what replaces each in a log line."""


def remember_plan(loaded: LoadedPlan) -> None:
    """Mask from now on the values the plan's ``.env`` sets and the plan's contact URLs."""
    from reprise.plan.contacts import redact as redact_contact

    for name, value in loaded.env_file_values.items():
        shortest = _MIN_SECRET if _SECRET_NAME.search(name) else _MIN_VALUE
        if len(value) >= shortest:
            _known[value] = MASK
    for role in loaded.plan.roles:
        for member in role.members:
            for url in member.contacts:
                _known[url] = redact_contact(url)


def redact(text: str) -> str:
    """``text`` without any secret Reprise knows of: the plan's ``.env`` values and contact
    URLs, passwords in URLs, ``NAME=secret`` assignments, age secret keys, Apprise tokens."""
    from reprise.plan.redaction import redact_text  # the plan's models: only when logging

    return redact_text(text, _known)


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    return redact(str(value))


_STANDARD = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "message", "asctime", "taskName"}
)


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """The ``extra={…}`` a log call passed (``job``, ``service``, ``backup_id``…)."""
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


class RedactingFilter(logging.Filter):
    """Masks secrets in the final message, the extra fields and the exception text of a
    record (the handler gives it its own copy of the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad log call must not break the command
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in extra_fields(record).items():
            setattr(record, key, _redact_value(value))
        return True


# --- formats -----------------------------------------------------------------------------


class TextFormatter(logging.Formatter):
    """``2026-11-26 18:04:11 CET WARNING reprise.monitor.runner: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601 with its offset), level, logger, message, the
    call's extra fields, and the exception text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone()
        line: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


# --- the handler -------------------------------------------------------------------------


class StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test may swap it)."""

    def handle(self, record: logging.LogRecord) -> bool:
        # Redact a copy: other handlers (a test's capture) keep the record as it was made.
        return bool(super().handle(copy.copy(record)))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - a log line must never break the command
            self.handleError(record)


_LEVELS = {
    LogLevel.debug: logging.DEBUG,
    LogLevel.info: logging.INFO,
    LogLevel.warning: logging.WARNING,
    LogLevel.error: logging.ERROR,
}
_previous_root_level: int | None = None


def configure(level: LogLevel, form: LogFormat) -> None:
    """Send log records of ``level`` and above to stderr in ``form`` (replacing what an
    earlier call set up). Other libraries log at ``info`` at most: their debug output is
    voluminous and may carry request details."""
    global _previous_root_level
    root = logging.getLogger()
    reset()
    _previous_root_level = root.level
    wanted = _LEVELS[level]
    handler = StderrHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if form is LogFormat.json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(max(wanted, logging.INFO))
    logging.getLogger("reprise").setLevel(wanted)


def reset() -> None:
    """Take away the handler :func:`configure` added, the levels it set and the secrets
    remembered."""
    global _previous_root_level
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    if _previous_root_level is not None:
        root.setLevel(_previous_root_level)
        logging.getLogger("reprise").setLevel(logging.NOTSET)
        _previous_root_level = None
    _known.clear()


__all__ = [
    "JsonFormatter",
    "LogFormat",
    "LogLevel",
    "RedactingFilter",
    "TextFormatter",
    "configure",
    "redact",
    "remember_plan",
    "reset",
]
