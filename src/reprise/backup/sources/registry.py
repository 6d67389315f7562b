"""Which backup maker runs each source kind: a new kind is its model in
``plan/sources.py``, a module here with ``open_run(config, source_name, work_dir)``
returning a ``SourceRun``, one line below, and its restorer in ``restore/registry.py``
(``tests/unit/test_registries.py`` fails when a kind of the plan has none). Then
regenerate ``docs/plan-reference.md`` (``python -m reprise.plan.reference``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reprise.backup.sources.base import SourceRun
    from reprise.plan.jobs import BackupJob

SourceMaker = Callable[[Any, str, Path], "SourceRun"]
"""(source of the plan, its name in the repository, a private work folder) → its run."""

MAKERS: dict[str, str] = {
    "postgres": "reprise.backup.sources.postgres:open_run",
    "postgres_physical": "reprise.backup.sources.physical:open_run",
    "files": "reprise.backup.sources.files:open_run",
    "command": "reprise.backup.sources.command:open_run",
}
"""Source kind → ``module:function``, imported on first use (a backup loads only the
sources it runs, and their libraries with them)."""


def maker_for(kind: str) -> SourceMaker:
    """The backup maker of ``kind`` (KeyError for a kind nobody registered)."""
    module, _, name = MAKERS[kind].partition(":")
    maker: SourceMaker = getattr(importlib.import_module(module), name)
    return maker


def open_source(job: BackupJob, work_dir: Path) -> SourceRun:
    """Start the backup of ``job``'s source: its parts are produced as they are read."""
    return maker_for(job.source.kind)(job.source, job.name, work_dir)
