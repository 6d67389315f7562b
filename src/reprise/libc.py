"""Functions of the C library that Python's ``os`` module lacks (``sync_file_range``,
``syncfs``, ``tee``), taken from the C library the process has already loaded.

``ctypes.util.find_library("c")`` would start ``ldconfig -p`` and parse its output: a
process and tens of milliseconds of CPU in the middle of every backup."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _loaded() -> Any:
    import ctypes  # only when a function is first asked for: not on every command's start

    return ctypes.CDLL(None, use_errno=True)


def function(name: str) -> Any | None:
    """The C library's ``name`` (set its ``argtypes`` before calling it), or None where
    the library lacks it."""
    try:
        return getattr(_loaded(), name)
    except (OSError, AttributeError):
        return None
