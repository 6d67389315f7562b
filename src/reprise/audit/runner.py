"""Run audit items one after the other: each timed, each turned into an :class:`Item`
whatever happens (an item that could not be measured fails with the reason and its fix),
and progress told to a callback, so that a door can show it (the core never prints)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from reprise.audit.items import Finding, Item, Part, part
from reprise.errors import RepriseError

log = logging.getLogger("reprise.audit")

Progress = Callable[[str, Part, Item | None], None]
"""Told ``(item id, title, None)`` when an item starts and ``(id, title, item)`` when done."""


@dataclass(frozen=True)
class Step:
    """One item to measure: its id, service, title and objective, and how to judge it."""

    id: str
    service: str | None
    title: Part
    objective: Part | None
    judge: Callable[[], Finding]


def skipped(reason: str, **facts: object) -> Callable[[], Finding]:
    """A judge that measures nothing: the item is skipped (not a failure) for ``reason``."""
    return lambda: Finding("skipped", part(reason, **facts))


def run_steps(steps: list[Step], progress: Progress | None = None) -> list[Item]:
    """Measure every step in order."""
    items: list[Item] = []
    for step in steps:
        if progress is not None:
            progress(step.id, step.title, None)
        started = time.monotonic()
        try:
            finding = step.judge()
        except RepriseError as error:
            log.warning("audit item %s could not be measured: %s", step.id, error)
            message, hint = error.render()
            finding = Finding(
                "failed",
                part("audit.measured.error", error=message),
                {"error": message},
                part("audit.fix.error", hint=hint) if hint else part("audit.fix.error_none"),
            )
        item = Item(
            step.id,
            step.service,
            step.title,
            step.objective,
            finding.status,
            finding.measured,
            finding.raw,
            finding.fix,
            time.monotonic() - started,
        )
        items.append(item)
        if progress is not None:
            progress(step.id, step.title, item)
    return items
