"""Early write-back asks the kernel for each WRITEBACK_STEP written, in order, and the
rest at the end; a local repository's part starts it as it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprise import writeback
from reprise.repository.local import LocalBackend


def test_each_step_and_the_rest_are_handed_to_the_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[int, int, int]] = []
    monkeypatch.setattr(writeback, "start_writeback", lambda *args: asked.append(args))
    monkeypatch.setattr(writeback, "WRITEBACK_STEP", 100)
    counter = writeback.WritebackCounter(7)
    for count in (60, 60, 30, 120, 5):
        counter.wrote(count)
    assert asked == [(7, 0, 120), (7, 120, 150)]
    counter.finish()
    assert asked[-1] == (7, 270, 5)


def test_a_real_file_accepts_the_request(tmp_path: Path) -> None:
    path = tmp_path / "part"
    with path.open("wb") as handle:
        handle.write(b"x" * 4096)
        handle.flush()
        writeback.start_writeback(handle.fileno(), 0, 4096)  # raises nothing
    assert path.stat().st_size == 4096


def test_a_local_part_starts_its_write_back_while_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[int, int, int]] = []
    monkeypatch.setattr(writeback, "start_writeback", lambda *args: asked.append(args))
    monkeypatch.setattr(writeback, "WRITEBACK_STEP", 1000)
    backend = LocalBackend(tmp_path)
    writer = backend.open_writer("backups/a/part")
    for _ in range(5):
        writer.write(b"y" * 700)
    writer.commit()
    assert [(offset, length) for _fd, offset, length in asked] == [(0, 1400), (1400, 1400)]
    assert (tmp_path / "backups" / "a" / "part").read_bytes() == b"y" * 3500
