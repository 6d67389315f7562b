"""Progress bars for long operations: Rich on a terminal, nothing otherwise.

A part whose size is only estimated (a database dump: the database's size) shows
``12.3 MB / ~787.0 MB``, its throughput and the time left; should it outgrow the estimate,
it goes on as a bar of unknown size (never past 100 %)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.progress import Progress

ByteProgress = Callable[[int], None]


class BarFactory(Protocol):
    """Given a label and a total size (int) or a second label (str) when the size is not
    known, and optionally an estimate of that size, the context of one bar."""

    def __call__(
        self, label: str, extra: str | int, estimate: int | None = None, /
    ) -> AbstractContextManager[ByteProgress]: ...


def no_progress(*_labels: object) -> AbstractContextManager[ByteProgress]:
    """A progress factory that shows nothing (for programs, tests and --json)."""
    return nullcontext(lambda _count: None)


def wanted(json_mode: bool) -> bool:
    """Bars only for people: a terminal on stderr, not in --json mode, not under --quiet."""
    from reprise.cli.output import verbosity

    return not json_mode and not verbosity().quiet and sys.stderr.isatty()


def amount(done: int, total: int | None, estimated: bool) -> str:
    """Bytes done, against the total when known: ``4.2/4.2 MB``, ``12.3 MB / ~787.0 MB``
    for an estimate, ``12.3 MB`` alone when the size is unknown."""
    from rich import filesize

    if total is None:
        return filesize.decimal(done)
    if estimated:
        return f"{filesize.decimal(done)} / ~{filesize.decimal(total)}"
    unit, suffix = filesize.pick_unit_and_suffix(
        total, ["bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"], 1000
    )
    precision = 0 if unit == 1 else 1
    return f"{done / unit:,.{precision}f}/{total / unit:,.{precision}f} {suffix}"


def remaining(done: int, total: int | None, speed: float | None) -> float | None:
    """Seconds left at ``speed`` bytes a second; None when it cannot be told (no total, no
    speed yet, or the total already reached: an estimate outgrown)."""
    if total is None or not speed or speed <= 0 or done >= total:
        return None
    return (total - done) / speed


def outgrown(done: int, total: int | None, estimated: bool) -> bool:
    """Whether an estimated part went past its estimate (then its size is unknown)."""
    return estimated and total is not None and done > total


@contextmanager
def byte_bars(enabled: bool) -> Iterator[BarFactory]:
    """A factory of per-item byte bars (bytes, throughput, time left or elapsed) sharing
    one display (see :class:`BarFactory`)."""
    if not enabled:
        yield no_progress
        return
    from rich import filesize
    from rich.progress import BarColumn, ProgressColumn, Task, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    from reprise.cli.output import clock, stderr
    from reprise.words import say
    from reprise.words.format import duration

    language = clock().language
    elapsed = TimeElapsedColumn()

    class Amount(ProgressColumn):
        """Bytes done against the total, or its estimate (``~``)."""

        def render(self, task: Task) -> Text:
            total = None if task.total is None else int(task.total)
            text = amount(int(task.completed), total, bool(task.fields.get("estimated")))
            return Text(text, style="progress.download")

    class Throughput(ProgressColumn):
        """Current speed while running, average speed once done (Rich shows '?')."""

        def render(self, task: Task) -> Text:
            speed = task.speed if not task.finished else None
            if speed is None and task.elapsed:
                speed = task.completed / task.elapsed
            text = f"{filesize.decimal(int(speed))}/s" if speed else "?"
            return Text(text, style="progress.data.speed")

    class TimeLeft(ProgressColumn):
        """The time left while it can be told, else the time elapsed."""

        def render(self, task: Task) -> Text:
            total = None if task.total is None else int(task.total)
            left = None if task.finished else remaining(int(task.completed), total, task.speed)
            if left is None:
                return elapsed.render(task)
            text = say(language, "clock.left", left=duration(left, language))
            return Text(text, style="progress.remaining")

    bars: Progress = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        Amount(),
        Throughput(),
        TimeLeft(),
        console=stderr(),
        transient=False,
    )

    @contextmanager
    def bar(label: str, extra: str | int, estimate: int | None = None) -> Iterator[ByteProgress]:
        known = isinstance(extra, int)
        estimated = not known and estimate is not None and estimate > 0
        total = extra if isinstance(extra, int) else (estimate if estimated else None)
        description = label if known else f"{label} {extra}"
        task = bars.add_task(description, total=total, estimated=estimated)
        shown = next(one for one in bars.tasks if one.id == task)

        def advance(count: int) -> None:
            bars.advance(task, count)
            if outgrown(int(shown.completed), _total(shown.total), estimated):
                shown.total = None  # past the estimate: a bar of unknown size from now on
                shown.fields["estimated"] = False

        yield advance
        shown.fields["estimated"] = False
        bars.update(task, total=shown.completed)

    with bars:
        yield bar


def _total(value: float | None) -> int | None:
    return None if value is None else int(value)
