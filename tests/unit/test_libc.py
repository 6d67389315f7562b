"""The C library's functions the os module lacks, found without starting a process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from reprise import libc
from reprise.writeback import WritebackCounter


def test_the_functions_reprise_uses_are_found() -> None:
    for name in ("sync_file_range", "syncfs", "tee"):
        assert callable(libc.function(name)), name


def test_a_function_the_library_lacks_is_none() -> None:
    assert libc.function("reprise_no_such_function") is None


def test_finding_and_calling_them_starts_no_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ctypes.util.find_library`` runs ``ldconfig -p``: in the middle of a backup's
    part, that was a process and tens of milliseconds of CPU."""
    started: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        started.append(args)
        raise AssertionError("a process was started")

    libc._loaded.cache_clear()
    monkeypatch.setattr(subprocess, "Popen", refuse)
    target = tmp_path / "part"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        counter = WritebackCounter(descriptor)
        os.write(descriptor, b"x" * 4096)
        counter.wrote(4096)
        counter.finish()
    finally:
        os.close(descriptor)
    assert started == []
    assert target.read_bytes() == b"x" * 4096
