"""Progress bars for long operations: Rich on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

ByteProgress = Callable[[int], None]


def wanted(json_mode: bool) -> bool:
    """Bars only for people: a terminal on stderr, and not in --json mode."""
    return not json_mode and sys.stderr.isatty()


@contextmanager
def byte_bars(enabled: bool) -> Iterator[Callable[[str, str | int],
                                                   AbstractContextManager[ByteProgress]]]:
    """A factory of per-item byte bars (bytes, throughput, elapsed) sharing one display.

    The factory takes a label and either a total size (int) or a second label (str) when
    the size is not known in advance (a database dump).
    """
    if not enabled:
        yield lambda _label, _extra: nullcontext(lambda _count: None)
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as RichProgress

    from reprise.cli.output import stderr

    bars: Progress = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                  DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(),
                                  console=stderr(), transient=False)

    @contextmanager
    def bar(label: str, extra: str | int) -> Iterator[ByteProgress]:
        total = extra if isinstance(extra, int) else None
        description = label if isinstance(extra, int) else f"{label} {extra}"
        task = bars.add_task(description, total=total)

        def advance(count: int) -> None:
            bars.advance(task, count)

        yield advance
        bars.update(task, total=bars.tasks[task].completed)

    with bars:
        yield bar
