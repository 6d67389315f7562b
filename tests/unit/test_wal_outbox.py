"""The asynchronous WAL spool, in-process: what `put` accepts and refuses, the copy without
copy_file_range, and a pusher that keeps failed files and records why."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from reprise.errors import OperationError, UnsafePermissionsError
from reprise.wal import outbox

NAME = "000000010000000000000001"


def _segment(folder: Path, name: str = NAME, size: int = 1024 * 1024) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def test_put_copies_once_and_refuses_a_different_file(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    segment = _segment(tmp_path)
    assert outbox.put(spool, segment, 10 * 1024 * 1024) is True
    assert (spool / NAME).read_bytes() == segment.read_bytes()
    assert outbox.put(spool, segment, 10 * 1024 * 1024) is False  # PostgreSQL's retry
    original = segment.read_bytes()
    segment.write_bytes(b"other" * 1000)
    with pytest.raises(OperationError, match="a different"):
        outbox.put(spool, segment, 10 * 1024 * 1024)
    assert (spool / NAME).read_bytes() == original
    assert spool.stat().st_mode & 0o777 == 0o700


def test_a_full_spool_refuses_and_keeps_nothing_half_written(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    outbox.put(spool, _segment(tmp_path), 5 * 512 * 1024)
    outbox.put(spool, _segment(tmp_path, "000000010000000000000002"), 5 * 512 * 1024)
    third = _segment(tmp_path, "000000010000000000000003")
    with pytest.raises(OperationError, match="spool is full"):
        outbox.put(spool, third, 5 * 512 * 1024)
    assert sorted(path.name for path in spool.iterdir()) == [
        "000000010000000000000001",
        "000000010000000000000002",
    ]


def test_a_spool_others_can_write_is_refused(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    spool.chmod(0o777)
    with pytest.raises(UnsafePermissionsError):
        outbox.put(spool, _segment(tmp_path), 10 * 1024 * 1024)
    assert not (spool / NAME).exists()


def test_the_copy_falls_back_when_the_kernel_cannot_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    segment = _segment(tmp_path, size=3 * 1024 * 1024 + 17)
    assert outbox.put(tmp_path / "spool", segment, 10 * 1024 * 1024)
    assert (tmp_path / "spool" / NAME).read_bytes() == segment.read_bytes()


def test_the_pusher_keeps_what_failed_records_why_then_clears_it(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    outbox.put(spool, _segment(tmp_path), 10 * 1024 * 1024)
    outbox.put(spool, _segment(tmp_path, "000000010000000000000002"), 10 * 1024 * 1024)
    pushed: list[str] = []

    def failing(path: Path) -> None:
        raise OperationError(f"{path.name}: repository unreachable")

    report = outbox.Pusher(spool, failing, parallel=2, idle_exit=0.0, stop=_stop_after(1.5)).run()
    assert report.failures >= 2 and report.pushed == 0
    assert len(outbox.waiting(spool)) == 2
    assert "repository unreachable" in (outbox.last_error(spool) or "")
    assert outbox.status(spool).segments == 2

    report = outbox.Pusher(
        spool, lambda path: pushed.append(path.name), parallel=2, idle_exit=0.0
    ).run()
    assert report.pushed == 2
    assert sorted(pushed) == ["000000010000000000000001", "000000010000000000000002"]
    assert outbox.waiting(spool) == []
    assert outbox.last_error(spool) is None


def test_a_second_pusher_on_the_same_spool_does_nothing(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    outbox.put(spool, _segment(tmp_path), 10 * 1024 * 1024)
    with outbox.pusher_lock(spool) as mine:
        assert mine
        assert outbox.pusher_running(spool)
        report = outbox.Pusher(spool, lambda _path: None, parallel=1, idle_exit=0.0).run()
    assert report.ran is False
    assert len(outbox.waiting(spool)) == 1
    assert not outbox.pusher_running(spool)


def _stop_after(seconds: float) -> threading.Event:
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    return stop
