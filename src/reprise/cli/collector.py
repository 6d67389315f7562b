"""Python's cyclic garbage collector in the ``reprise`` process: kept off the start-up and
the exit, where it only scans objects that live until the end.

A command's start imports some 600 modules (Typer, pydantic, SQLAlchemy, psycopg…) and
builds the plan: tens of thousands of objects that stay until the process ends. The
collector scans them again and again while they are made (about 40 ms of a 0.5 s backup
of a small database), then once more, in full, when Python exits (60 to 100 ms). Frozen
(:func:`gc.freeze`), they are never scanned again; objects made later are collected as
usual, so long-running commands (``serve``, ``monitor``) keep a working collector.

Only the console process does this (:func:`console`): tests run many commands in their
own process, whose garbage must stay collectable.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_console = False


def console() -> None:
    """Mark this process as the ``reprise`` command (its start-up objects live until it
    ends); without this call the functions below change nothing."""
    global _console
    _console = True


@contextmanager
def building() -> Iterator[None]:
    """Make long-lived objects (a command's modules, the plan) with the collector paused,
    then freeze what exists: the collector skips it from then on."""
    if not _console:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def before_exit() -> None:
    """Freeze every object before Python's exit, whose last full collections would
    otherwise scan them all once more. Exit handlers (``atexit``, ``weakref.finalize``)
    still run and streams are still flushed; only garbage caught in reference cycles is
    left to the end of the process, as the command closes its files and databases itself."""
    if _console:
        gc.freeze()
