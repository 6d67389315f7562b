"""What every source hands to the backup runner."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol


@dataclass(frozen=True)
class PartSpec:
    """One part to store: its name in the repository (before ``.zst.age``), what it holds,
    and how to open its plain stream. Leaving the ``open`` context checks that the
    producer succeeded (exit code, timeout) and raises if not. ``estimate``: its plain
    size as far as it can be told beforehand (a database's size), for progress bars."""

    name: str
    role: str
    open: Callable[[], AbstractContextManager[BinaryIO]]
    database: str | None = None
    format: str | None = None
    estimate: int | None = None


@dataclass
class SourceFacts:
    """What a source learnt while running, for the manifest."""

    server: dict[str, Any] = field(default_factory=dict)
    databases: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class SourceRun(Protocol):
    """A source being backed up."""

    facts: SourceFacts

    def parts(self) -> Iterator[PartSpec]:
        """The parts, produced one after the other (facts may grow while they are read)."""


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_part_name(text: str) -> str:
    """A name usable as a repository object name; odd characters become '_' and a short
    hash keeps two different names apart."""
    import hashlib

    cleaned = _UNSAFE.sub("_", text)
    if cleaned != text or cleaned.startswith((".", "-")):
        cleaned = f"{cleaned.lstrip('.-') or 'x'}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return cleaned
