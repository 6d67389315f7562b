"""SIGTERM handled as Ctrl-C by the commands that run other programs."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (the scheduler's timeout, cron's `timeout`, systemd stopping, `kill`) stops
    the command like Ctrl-C: the clean-up paths run, so that a producer such as pg_dump,
    pg_restore or a scratch server, each in a process group of its own, is stopped too
    rather than left running."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
