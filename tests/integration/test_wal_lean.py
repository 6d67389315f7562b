"""The lean door of `wal push`/`wal fetch`: no Typer, pydantic or SQLAlchemy on the hot
path once the plan's settings are cached, and a cache that never outlives the plan, its
variables or its permissions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reprise.cli.lean import Command, parse
from tests.support.backups import World

HEAVY = ("typer", "pydantic", "sqlalchemy", "rich")


def _segment(folder: Path, number: int) -> Path:
    path = folder / f"0000000100000000000000{number:02X}"
    path.write_bytes(os.urandom(64 * 1024) + bytes(1024 * 1024))
    return path


def _run(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """The real program with -X importtime: stderr lists every module it imported."""
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reprise", "--plan", str(world.plan), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **world.env},
    )


def _imported(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }


def _archived(repository: Path) -> list[str]:
    folder = repository / "wal" / "app-postgres-physical"
    return sorted(p.name.split("-")[0] for p in folder.glob("*.zst.age")) if folder.exists() else []


@pytest.fixture
def world(tmp_path: Path) -> World:
    from reprise.cli.main import main

    plan_dir = tmp_path / "plan"
    assert main(["init", str(plan_dir), "--example", "minimal"]) == 0
    world = World(tmp_path, plan_dir, tmp_path / "repository")
    world.env["REPRISE_STATE_DIR"] = str(tmp_path / "state")
    world.env["REPRISE_CACHE_DIR"] = str(tmp_path / "cache")
    world.env["REPO_DIR"] = str(tmp_path / "repository")
    world.write_plan(
        """\
- kind: postgres_physical
  dsn: "host=/nonexistent user=x"
  repository: local
  schedule: "@daily"
  retention: {keep_last: 5}
""",
        "  local: {kind: local, path: '${REPO_DIR}'}",
    )
    assert world.reprise("repo", "init").returncode == 0
    return world


def test_after_one_full_run_push_and_fetch_skip_the_heavy_libraries(
    world: World, tmp_path: Path
) -> None:
    first = _run(world, "wal", "push", str(_segment(tmp_path, 1)))
    assert first.returncode == 0, first.stderr
    assert {"typer", "pydantic"} <= _imported(first)  # the plan was loaded and validated

    second = _run(world, "wal", "push", str(_segment(tmp_path, 2)))
    assert second.returncode == 0, second.stderr
    assert not set(HEAVY) & _imported(second)
    assert _archived(world.repository) == ["000000010000000000000001", "000000010000000000000002"]

    fetched = _run(world, "wal", "fetch", "000000010000000000000002", str(tmp_path / "out"))
    assert fetched.returncode == 0, fetched.stderr
    assert not set(HEAVY) & _imported(fetched)
    assert (tmp_path / "out").read_bytes() == (tmp_path / "000000010000000000000002").read_bytes()
    absent = _run(world, "wal", "fetch", "0000000100000000000000FF", str(tmp_path / "none"))
    assert absent.returncode == 1
    assert not set(HEAVY) & _imported(absent)


def test_the_cache_follows_the_plan_and_the_variables_it_uses(world: World, tmp_path: Path) -> None:
    assert _run(world, "wal", "push", str(_segment(tmp_path, 1))).returncode == 0
    # a variable the plan uses changes: the next push goes to the new repository
    other = tmp_path / "other-repository"
    world.env["REPO_DIR"] = str(other)
    assert world.reprise("repo", "init").returncode == 0
    moved = _run(world, "wal", "push", str(_segment(tmp_path, 2)))
    assert moved.returncode == 0, moved.stderr
    assert "pydantic" in _imported(moved)
    assert _archived(other) == ["000000010000000000000002"]
    # the plan itself changes (a new trusted key file, another repository path)
    third = tmp_path / "third-repository"
    world.plan.write_text(world.plan.read_text().replace("${REPO_DIR}", str(third)))
    assert world.reprise("repo", "init").returncode == 0
    assert _run(world, "wal", "push", str(_segment(tmp_path, 3))).returncode == 0
    assert _archived(third) == ["000000010000000000000003"]
    assert _archived(world.repository) == ["000000010000000000000001"]


def test_a_cache_others_could_write_is_ignored_and_rewritten(world: World, tmp_path: Path) -> None:
    assert _run(world, "wal", "push", str(_segment(tmp_path, 1))).returncode == 0
    (cached,) = (tmp_path / "cache").glob("wal-*.json")
    data = json.loads(cached.read_text())
    data["settings"]["local_path"] = str(tmp_path / "elsewhere")  # forged, fingerprint kept
    cached.write_text(json.dumps(data))
    cached.chmod(0o666)
    pushed = _run(world, "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    assert "pydantic" in _imported(pushed)  # the plan was read again
    assert not (tmp_path / "elsewhere").exists()
    assert cached.stat().st_mode & 0o777 == 0o600
    assert json.loads(cached.read_text())["settings"]["local_path"] == str(world.repository)


def test_a_plan_others_can_change_is_refused_even_with_a_cache(
    world: World, tmp_path: Path
) -> None:
    assert _run(world, "wal", "push", str(_segment(tmp_path, 1))).returncode == 0
    world.plan.chmod(0o666)
    refused = _run(world, "wal", "push", str(_segment(tmp_path, 2)))
    assert refused.returncode == 2
    assert "plan file" in refused.stderr
    assert _archived(world.repository) == ["000000010000000000000001"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["wal", "push", "/x/000000010000000000000001"], ("push", None)),
        (["--plan", "/etc/reprise", "wal", "push", "p", "--source", "s"], ("push", "s")),
        (["--plan=/etc/reprise", "wal", "fetch", "n", "d", "--prefetch", "4"], ("fetch", None)),
        (["-p", "x", "wal", "fetch", "n", "d", "--spool=/s", "--source=db"], ("fetch", "db")),
    ],
)
def test_the_plain_forms_take_the_lean_door(argv: list[str], expected: tuple[str, str]) -> None:
    command = parse(argv)
    assert isinstance(command, Command)
    assert (command.action, command.source) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["wal", "push"],
        ["wal", "push", "a", "b"],
        ["wal", "push", "--help"],
        ["--log-level", "debug", "wal", "push", "p"],
        ["wal", "fetch", "n", "d", "--prefetch", "99"],
        ["wal", "fetch", "n", "d", "--prefetch", "-1"],
        ["wal", "fetch", "n"],
        ["wal", "list", "app"],
        ["backup", "run"],
        ["--plan"],
        [],
    ],
)
def test_everything_else_goes_to_the_full_cli(argv: list[str]) -> None:
    assert parse(argv) is None
