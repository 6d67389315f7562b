"""Progress bars for long operations: Rich on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

ByteProgress = Callable[[int], None]


def no_progress(*_labels: object) -> AbstractContextManager[ByteProgress]:
    """A progress factory that shows nothing (for programs, tests and --json)."""
    return nullcontext(lambda _count: None)


def wanted(json_mode: bool) -> bool:
    """Bars only for people: a terminal on stderr, and not in --json mode."""
    return not json_mode and sys.stderr.isatty()


@contextmanager
def byte_bars(
    enabled: bool,
) -> Iterator[Callable[[str, str | int], AbstractContextManager[ByteProgress]]]:
    """A factory of per-item byte bars (bytes, throughput, elapsed) sharing one display.

    The factory takes a label and either a total size (int) or a second label (str) when
    the size is not known in advance (a database dump).
    """
    if not enabled:
        yield no_progress
        return
    from rich import filesize
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    from reprise.cli.output import stderr

    class Throughput(ProgressColumn):
        """Current speed while running, average speed once done (Rich shows '?')."""

        def render(self, task: Task) -> Text:
            speed = task.speed if not task.finished else None
            if speed is None and task.elapsed:
                speed = task.completed / task.elapsed
            text = f"{filesize.decimal(int(speed))}/s" if speed else "?"
            return Text(text, style="progress.data.speed")

    bars: Progress = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        Throughput(),
        TimeElapsedColumn(),
        console=stderr(),
        transient=False,
    )

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
