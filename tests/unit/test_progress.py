"""Progress bars: shown for people, silent for programs."""

from __future__ import annotations

import time

import pytest

from reprise.cli import progress


def test_bars_render_bytes_and_throughput(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    with progress.byte_bars(True) as bars:
        with bars("20261121T101500Z-a1b2c3", "db-akig.pgdump") as advance:
            for _ in range(4):
                advance(1024 * 1024)
                time.sleep(0.02)
        with bars("part.zst.age", 2048) as advance:
            advance(2048)
    err = capsys.readouterr().err
    assert "db-akig.pgdump" in err and "4.2/4.2 MB" in err and "/s" in err
    assert "part.zst.age" in err


def test_no_bars_in_json_mode_or_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert progress.wanted(json_mode=True) is False
    assert progress.wanted(json_mode=False) is False  # pytest's stderr is not a terminal
    with progress.byte_bars(False) as bars, bars("x", "y") as advance:
        advance(10)
    assert capsys.readouterr().err == ""
