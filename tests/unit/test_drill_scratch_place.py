"""Where a drill's scratch instance goes: in memory when the restored databases (guessed at
three times their dumps) fit there comfortably beside the staged parts, else on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprise.drill import run as drill_run
from reprise.repository.manifest import Part
from reprise.restore import workspace


def _part(role: str, size: int) -> Part:
    return Part(
        name=f"{role}.zst.age",
        role=role,
        plain_size=size,
        stored_size=size // 3,
        sha256="0" * 64,
    )


PARTS = [_part("globals", 10_000), _part("database", 1_000_000_000)]


@pytest.mark.parametrize(
    ("staged_in_memory", "expected_need"),
    [(True, 3_000_000_000 + 1_000_010_000), (False, 3_000_000_000)],
)
def test_the_scratch_counts_the_staged_parts_only_when_they_share_the_memory(
    monkeypatch: pytest.MonkeyPatch, staged_in_memory: bool, expected_need: int
) -> None:
    asked: list[int] = []

    def fits(needed: int, root: Path = workspace.MEMORY) -> bool:
        asked.append(needed)
        return True

    monkeypatch.setattr(workspace, "fits_in_memory", fits)
    staging = workspace.MEMORY / "reprise-restore-1-x" if staged_in_memory else Path("/var/x")
    assert drill_run._scratch_base(PARTS, staging) == workspace.MEMORY
    assert asked == [expected_need]


def test_a_scratch_that_would_not_fit_goes_to_the_temporary_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workspace, "fits_in_memory", lambda _needed, _root=None: False)
    assert drill_run._scratch_base(PARTS, Path("/var/x")) is None


def test_the_memory_rule_leaves_three_quarters_of_the_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(workspace, "available_memory", lambda: 4_000_000_000)
    assert workspace.fits_in_memory(1_000_000, tmp_path)
    assert not workspace.fits_in_memory(1_000_000_001, tmp_path)
    assert not workspace.fits_in_memory(0, tmp_path)
