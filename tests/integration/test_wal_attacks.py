"""Red team of the lean `wal push`/`wal fetch` door, its settings cache and the
asynchronous spool (wal_async): crafted caches, plans, spools and command lines.

Every test is an attack that must be refused; ten of them found weaknesses that were
fixed (a followed pusher.log symlink, a lock file created by a reader, NAME_FILE secrets
left out of the fingerprint, two servers racing on one name, crashes on a hostile cache
or argument, a fetch name with path parts, a followed last-error symlink, .env variables
that kept the lean door shut).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reprise.errors import InputError
from reprise.wal import cache, outbox
from tests.support.backups import World, mounted_tmpfs

SOURCE = "app-postgres-physical"
SYNC_SOURCE = """\
- kind: postgres_physical
  dsn: "host=/nonexistent user=x"
  repository: local
  schedule: "@daily"
  retention: {keep_last: 5}
"""


def _async_source(spool: Path, max_size: str = "64MiB") -> str:
    return SYNC_SOURCE + f"  wal_async: {{spool: {spool}, max_size: {max_size}, parallel: 1}}\n"


def _segment(folder: Path, number: int, size: int = 256 * 1024) -> Path:
    path = folder / f"0000000100000000000000{number:02X}"
    path.write_bytes(os.urandom(size))
    return path


def _run(
    world: World, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real console program (lean door first), with -X importtime: stderr tells
    whether the full CLI (pydantic) ran."""
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reprise", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**os.environ, **world.env, **(env or {})},
    )


def _full_cli_ran(result: subprocess.CompletedProcess[str]) -> bool:
    return any(
        line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == "pydantic"
        for line in result.stderr.splitlines()
    )


def _errors(result: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(line for line in result.stderr.splitlines() if not line.startswith("import"))


def _archived(repository: Path) -> list[str]:
    folder = repository / "wal" / SOURCE
    return sorted(p.name.split("-")[0] for p in folder.glob("*.zst.age")) if folder.exists() else []


def _world(tmp_path: Path, sources: str) -> World:
    from reprise.cli.main import main

    plan_dir = tmp_path / "plan"
    assert main(["init", str(plan_dir), "--example", "minimal"]) == 0
    world = World(tmp_path, plan_dir, tmp_path / "repository")
    world.env["REPRISE_STATE_DIR"] = str(tmp_path / "state")
    world.env["REPRISE_CACHE_DIR"] = str(tmp_path / "cache")
    world.env["REPO_DIR"] = str(tmp_path / "repository")
    world.write_plan(sources, "  local: {kind: local, path: '${REPO_DIR}'}")
    assert world.reprise("repo", "init").returncode == 0
    return world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return _world(tmp_path, SYNC_SOURCE)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def async_world(tmp_path: Path, spool: Path) -> World:
    return _world(tmp_path, _async_source(spool))


@contextlib.contextmanager
def pusher_held(spool: Path) -> Iterator[None]:
    """Hold the spool's pusher lock, so that `wal push` starts no background pusher."""
    spool.mkdir(mode=0o700, exist_ok=True)
    descriptor = os.open(spool / outbox.LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _cache_file(world: World) -> Path:
    (found,) = (world.root / "cache").glob("wal-*.json")
    return found


def _warm(world: World) -> None:
    """One full run writes the cache; the next run must take the lean door."""
    first = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(world.root, 1)))
    assert first.returncode == 0, first.stderr
    _cache_file(world)


def _forge(world: World, settings: dict[str, object]) -> None:
    """Rewrite the cache with ``settings`` and a fingerprint that matches them."""
    path = _cache_file(world)
    data = json.loads(path.read_text())
    data["settings"].update(settings)
    digest = hashlib.sha256(f"user {os.geteuid()}\n".encode())
    for name in data["settings"]["inputs"]:
        try:
            content = Path(name).read_bytes()
        except OSError:
            content = cache.MISSING
        digest.update(f"file {name}\n".encode())
        digest.update(hashlib.sha256(content).digest())
    environment = {**os.environ, **world.env}
    for variable in data["settings"]["variables"]:
        value = environment.get(variable)
        digest.update(f"var {variable}\n".encode())
        digest.update(b"\x00unset" if value is None else hashlib.sha256(value.encode()).digest())
    data["fingerprint"] = digest.hexdigest()
    path.write_text(json.dumps(data))
    path.chmod(0o600)


# The settings cache ----------------------------------------------------------------------


def test_a_symlinked_cache_file_is_not_followed(world: World, tmp_path: Path) -> None:
    _warm(world)
    cached = _cache_file(world)
    forged = tmp_path / "forged.json"
    data = json.loads(cached.read_text())
    data["settings"]["local_path"] = str(tmp_path / "elsewhere")
    forged.write_text(json.dumps(data))
    forged.chmod(0o600)
    cached.unlink()
    cached.symlink_to(forged)
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    assert _full_cli_ran(pushed)
    assert not (tmp_path / "elsewhere").exists()
    assert _archived(world.repository)[-1] == "000000010000000000000002"


def test_a_symlinked_or_shared_cache_folder_is_ignored(world: World, tmp_path: Path) -> None:
    _warm(world)
    real = tmp_path / "cache"
    _forge(world, {"local_path": str(tmp_path / "elsewhere")})
    moved = tmp_path / "real-cache"
    real.rename(moved)
    real.symlink_to(moved)  # the folder itself is a link
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    assert _full_cli_ran(pushed)
    assert not (tmp_path / "elsewhere").exists()
    real.unlink()
    moved.rename(real)
    _forge(world, {"local_path": str(tmp_path / "elsewhere")})
    real.chmod(0o777)  # others could have planted the file
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 3)))
    assert pushed.returncode == 0, pushed.stderr
    assert _full_cli_ran(pushed)
    assert not (tmp_path / "elsewhere").exists()
    assert _archived(world.repository)[-2:] == [
        "000000010000000000000002",
        "000000010000000000000003",
    ]


def test_a_cache_file_of_another_owner_is_ignored(world: World, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file away")
    _warm(world)
    _forge(world, {"local_path": str(tmp_path / "elsewhere")})
    os.chown(_cache_file(world), 65534, 65534)  # nobody's, mode 0600
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    assert _full_cli_ran(pushed)
    assert not (tmp_path / "elsewhere").exists()


def test_a_huge_cache_file_is_ignored(world: World, tmp_path: Path) -> None:
    _warm(world)
    cached = _cache_file(world)
    data = json.loads(cached.read_text())
    data["padding"] = "x" * (cache.MAX_SIZE + 10)
    cached.write_text(json.dumps(data))
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    assert _full_cli_ran(pushed)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not json",
        b"[1, 2, 3]",
        b'{"fingerprint": 1, "settings": []}',
        b'{"settings": {"format": 1, "trusted": 5}}',
        b'{"settings": {"format": "1"}}',
    ],
)
def test_a_malformed_cache_sends_the_command_to_the_full_cli(
    world: World, tmp_path: Path, body: bytes
) -> None:
    _warm(world)
    cached = _cache_file(world)
    cached.write_bytes(body)
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    assert _full_cli_ran(pushed)


def test_a_json_bomb_in_the_cache_never_crashes_wal_fetch(world: World, tmp_path: Path) -> None:
    _warm(world)
    _cache_file(world).write_bytes(b"[" * 200_000 + b"]" * 200_000)
    fetched = _run(
        world,
        "--plan",
        str(world.plan),
        "wal",
        "fetch",
        "000000010000000000000001",
        str(tmp_path / "out"),
    )
    assert "Traceback" not in fetched.stderr
    assert fetched.returncode == 0, _errors(fetched)


@pytest.mark.parametrize("field", ["inputs", "variables"])
def test_wrong_types_in_the_cache_never_crash_wal_fetch(
    world: World, tmp_path: Path, field: str
) -> None:
    _warm(world)
    cached = _cache_file(world)
    data = json.loads(cached.read_text())
    data["settings"][field] = [5]
    cached.write_text(json.dumps(data))
    fetched = _run(
        world,
        "--plan",
        str(world.plan),
        "wal",
        "fetch",
        "000000010000000000000001",
        str(tmp_path / "out"),
    )
    assert "Traceback" not in fetched.stderr
    assert fetched.returncode == 0, _errors(fetched)


def test_a_cache_is_never_shared_between_plans_or_working_folders(
    world: World, tmp_path: Path
) -> None:
    _warm(world)
    before = set((tmp_path / "cache").glob("wal-*.json"))
    # the same plan by a relative path from another folder: its own cache entry
    relative = os.path.relpath(world.plan, tmp_path / "state")
    (tmp_path / "state").mkdir(exist_ok=True)
    pushed = _run(
        world, "--plan", relative, "wal", "push", str(_segment(tmp_path, 2)), cwd=tmp_path / "state"
    )
    assert pushed.returncode == 0, pushed.stderr
    # REPRISE_PLAN naming another plan (a copy with another repository): never the cache of
    # the first plan
    other_dir = tmp_path / "other-plan"
    other_dir.mkdir(mode=0o700)
    for path in world.plan_dir.iterdir():
        target = other_dir / path.name
        if path.is_dir():
            target.mkdir(mode=0o700)
            for inner in path.iterdir():
                (target / inner.name).write_bytes(inner.read_bytes())
                (target / inner.name).chmod(inner.stat().st_mode & 0o777)
        else:
            target.write_bytes(path.read_bytes())
            target.chmod(path.stat().st_mode & 0o777)
    other_repository = tmp_path / "other-repository"
    (other_dir / "reprise.yaml").write_text(
        (other_dir / "reprise.yaml").read_text().replace("${REPO_DIR}", str(other_repository))
    )
    assert world.reprise("--plan", str(other_dir), "repo", "init").returncode == 0
    moved = _run(
        world,
        "wal",
        "push",
        str(_segment(tmp_path, 3)),
        env={"REPRISE_PLAN": str(other_dir / "reprise.yaml")},
    )
    assert moved.returncode == 0, moved.stderr
    assert _full_cli_ran(moved)
    assert _archived(other_repository) == ["000000010000000000000003"]
    assert "000000010000000000000003" not in _archived(world.repository)
    assert len(set((tmp_path / "cache").glob("wal-*.json")) - before) >= 1


def test_a_changed_key_file_or_default_variable_invalidates_the_cache(
    world: World, tmp_path: Path
) -> None:
    _warm(world)
    # ${X:-default}: setting X later moves the repository
    world.plan.write_text(
        world.plan.read_text().replace("${REPO_DIR}", f"${{WAL_REPO:-{world.repository}}}")
    )
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    other = tmp_path / "other"
    world.env["WAL_REPO"] = str(other)
    assert world.reprise("repo", "init").returncode == 0
    moved = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 3)))
    assert moved.returncode == 0, moved.stderr
    assert _full_cli_ran(moved)
    assert _archived(other) == ["000000010000000000000003"]
    # the recipients file changes: the cache is compiled again
    recipients = world.plan_dir / "keys" / "recipients.txt"
    recipients.write_text(recipients.read_text() + "\n")
    again = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 4)))
    assert again.returncode == 0, again.stderr
    assert _full_cli_ran(again)


def test_a_dotenv_others_can_read_is_refused_even_with_a_cache(
    world: World, tmp_path: Path
) -> None:
    env = world.plan_dir / ".env"
    env.write_text("UNUSED=1\n")
    env.chmod(0o600)
    _warm(world)
    env.chmod(0o644)
    refused = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert refused.returncode == 2, refused.stderr
    assert ".env" in refused.stderr
    assert _archived(world.repository) == ["000000010000000000000001"]


def test_a_secret_file_behind_name_file_invalidates_the_cache(tmp_path: Path) -> None:
    world = _world(tmp_path, SYNC_SOURCE)
    credential = tmp_path / "credential"
    credential.write_text(str(world.repository))
    credential.chmod(0o600)
    del world.env["REPO_DIR"]
    world.env["REPO_DIR_FILE"] = str(credential)
    _warm(world)
    other = tmp_path / "other-repository"
    credential.write_text(str(other))
    assert world.reprise("repo", "init").returncode == 0  # the plan now names `other`
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert pushed.returncode == 0, pushed.stderr
    assert _archived(other) == ["000000010000000000000002"]
    assert _archived(world.repository) == ["000000010000000000000001"]


def test_a_plan_using_a_dotenv_variable_takes_the_lean_door(tmp_path: Path) -> None:
    world = _world(tmp_path, SYNC_SOURCE)
    env = world.plan_dir / ".env"
    env.write_text(f"REPO_DIR={world.repository}\n")
    env.chmod(0o600)
    del world.env["REPO_DIR"]
    _warm(world)
    second = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 2)))
    assert second.returncode == 0, second.stderr
    assert not _full_cli_ran(second)


# The lean parser -------------------------------------------------------------------------


def _both(world: World, *args: str) -> tuple[int, int]:
    lean = _run(world, *args)
    full = _run(world, *args, env={"REPRISE_NO_LEAN": "1"})
    return lean.returncode, full.returncode


def test_a_fetch_name_with_path_parts_is_refused_as_the_full_cli_does(
    world: World, tmp_path: Path
) -> None:
    _warm(world)
    lean, full = _both(
        world,
        "--plan",
        str(world.plan),
        "wal",
        "fetch",
        "../000000010000000000000001",
        str(tmp_path / "out"),
    )
    assert full == 255
    assert lean == full


def test_a_unicode_digit_prefetch_never_crashes_the_lean_parser(
    world: World, tmp_path: Path
) -> None:
    _warm(world)
    result = _run(
        world,
        "--plan",
        str(world.plan),
        "wal",
        "fetch",
        "000000010000000000000001",
        str(tmp_path / "out"),
        "--prefetch",
        "\u00b2",
    )
    assert "Traceback" not in result.stderr
    assert result.returncode != 1


@pytest.mark.parametrize(
    "argv",
    [
        ["wal", "push", "--", "PATH"],
        ["wal", "push", "PATH", "--unknown"],
        ["wal", "push", "PATH", "--source"],
        ["wal", "push", "PATH", "PATH"],
        ["--verbose", "wal", "push", "PATH"],
        ["wal", "fetch", "000000010000000000000001", "D", "--prefetch", "65"],
        ["wal", "fetch", "000000010000000000000001", "D", "--prefetch", "-1"],
        ["wal", "fetch", "000000010000000000000001", "D", "--prefetch", "\u0663"],
        ["wal", "fetch", "000000010000000000000001"],
        ["wal", "fetch", "000000010000000000000001", ""],
        ["wal", "pusher"],
        ["wal"],
    ],
)
def test_odd_command_lines_go_to_the_full_cli(argv: list[str]) -> None:
    from reprise.cli.lean import parse

    parsed = parse(["--plan", "/p", *argv])
    if parsed is not None:  # only forms the full CLI reads the same way
        assert parsed.prefetch <= 64
        assert all(part and not part.startswith("-") for part in parsed.arguments)
        assert argv[-1] == "\u0663"  # ARABIC-INDIC THREE: int() reads it as Typer does


@pytest.mark.parametrize(
    "tail",
    [
        ["wal", "push", "SEGMENT", "--source", SOURCE],
        ["wal", "push", "--source=" + SOURCE, "SEGMENT"],
        ["wal", "push", "SEGMENT", "--source", "nosuch"],
        ["wal", "push", "/nonexistent/000000010000000000000009"],
        ["wal", "push", "SEGMENT", "--", "x"],
    ],
)
def test_the_lean_door_exits_as_the_full_cli(world: World, tmp_path: Path, tail: list[str]) -> None:
    _warm(world)
    args = [str(_segment(tmp_path, 7)) if word == "SEGMENT" else word for word in tail]
    lean, full = _both(world, "--plan", str(world.plan), *args)
    assert lean == full


def test_fetch_faults_exit_255_on_the_lean_door(world: World, tmp_path: Path) -> None:
    _warm(world)
    # a forged archived segment (signature of another content)
    (target,) = (world.repository / "wal" / SOURCE).glob("*.zst.age")
    target.write_bytes(target.read_bytes()[:-10] + os.urandom(10))
    damaged = _run(
        world,
        "--plan",
        str(world.plan),
        "wal",
        "fetch",
        "000000010000000000000001",
        str(tmp_path / "out"),
        "--prefetch",
        "0",
    )
    assert not _full_cli_ran(damaged)
    assert damaged.returncode == 255, damaged.stderr
    assert not (tmp_path / "out").exists()
    # a destination that cannot be written
    unwritable = _run(
        world,
        "--plan",
        str(world.plan),
        "wal",
        "fetch",
        "000000010000000000000001",
        str(tmp_path / "no" / "such" / "out"),
    )
    assert unwritable.returncode == 255


# The asynchronous spool ------------------------------------------------------------------


def test_a_spool_others_can_write_is_refused_and_nothing_is_acknowledged(
    async_world: World, spool: Path, tmp_path: Path
) -> None:
    spool.mkdir(mode=0o700)
    spool.chmod(0o777)
    with pusher_held(spool):
        pushed = _run(
            async_world, "--plan", str(async_world.plan), "wal", "push", str(_segment(tmp_path, 1))
        )
    assert pushed.returncode not in (0, 70), pushed.stderr
    assert outbox.waiting(spool) == []


def test_a_planted_pusher_log_symlink_is_never_followed(
    async_world: World, spool: Path, tmp_path: Path
) -> None:
    spool.mkdir(mode=0o700)
    spool.chmod(0o777)  # a spool others can write: refused, but what does wal push touch?
    victim = tmp_path / "victim" / "created-through-the-link"
    victim.parent.mkdir()
    (spool / outbox.PUSHER_LOG).symlink_to(victim)
    pushed = _run(
        async_world, "--plan", str(async_world.plan), "wal", "push", str(_segment(tmp_path, 1))
    )
    assert pushed.returncode != 0
    assert not victim.exists()


def test_symlinks_at_the_lock_or_a_spool_link_are_refused(
    async_world: World, spool: Path, tmp_path: Path
) -> None:
    spool.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere-lock"
    (spool / outbox.LOCK).symlink_to(elsewhere)
    pushed = _run(
        async_world, "--plan", str(async_world.plan), "wal", "push", str(_segment(tmp_path, 1))
    )
    assert pushed.returncode != 0  # cannot tell whether a pusher runs: PostgreSQL retries
    assert not elsewhere.exists()
    # spool path itself a symlink to a folder another user owns
    if os.geteuid() == 0:
        (spool / outbox.LOCK).unlink()
        for path in spool.iterdir():
            path.unlink()
        spool.rmdir()
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o755)
        os.chown(foreign, 65534, 65534)
        spool.symlink_to(foreign)
        with contextlib.suppress(Exception):
            pushed = _run(
                async_world,
                "--plan",
                str(async_world.plan),
                "wal",
                "push",
                str(_segment(tmp_path, 2)),
            )
        assert pushed.returncode != 0
        assert outbox.waiting(foreign) == []


def test_part_leftovers_and_odd_files_are_never_pushed_nor_counted(
    async_world: World, spool: Path, tmp_path: Path
) -> None:
    spool.mkdir(mode=0o700)
    (spool / ".000000010000000000000001.99.part").write_bytes(b"half")
    (spool / "000000010000000000000001.partial.tmp").write_bytes(b"x")
    assert outbox.waiting(spool) == []
    with pusher_held(spool):
        pushed = _run(
            async_world, "--plan", str(async_world.plan), "wal", "push", str(_segment(tmp_path, 1))
        )
    assert pushed.returncode == 0, pushed.stderr
    assert [path.name for path in outbox.waiting(spool)] == ["000000010000000000000001"]
    assert (spool / "000000010000000000000001").read_bytes() == (
        tmp_path / "000000010000000000000001"
    ).read_bytes()


def test_a_different_segment_under_a_spooled_name_is_refused(
    async_world: World, spool: Path, tmp_path: Path
) -> None:
    spool.mkdir(mode=0o700)
    (spool / "000000010000000000000001").write_bytes(b"another server's segment")
    with pusher_held(spool):
        pushed = _run(
            async_world, "--plan", str(async_world.plan), "wal", "push", str(_segment(tmp_path, 1))
        )
    assert pushed.returncode != 0
    assert (spool / "000000010000000000000001").read_bytes() == b"another server's segment"


def test_two_servers_spooling_the_same_name_at_once_never_lose_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    segment = _segment(tmp_path, 1)
    real_copy = outbox._copy

    def copy_while_the_other_server_spools(source: int, target: int) -> None:
        real_copy(source, target)
        (spool / segment.name).write_bytes(b"the other server's acknowledged segment")

    monkeypatch.setattr(outbox, "_copy", copy_while_the_other_server_spools)
    with contextlib.suppress(Exception):
        outbox.put(spool, segment, 1 << 30)
    assert (spool / segment.name).read_bytes() == b"the other server's acknowledged segment"


def test_a_full_disk_fails_the_push_and_leaves_nothing_complete(
    tmp_path: Path,
) -> None:
    spool = tmp_path / "small"
    with mounted_tmpfs(spool, "size=1m,mode=0700"):
        world = _world(tmp_path, _async_source(spool, "1GiB"))
        with pusher_held(spool):
            pushed = _run(
                world,
                "--plan",
                str(world.plan),
                "wal",
                "push",
                str(_segment(tmp_path, 1, size=3 * 1024 * 1024)),
            )
            assert pushed.returncode != 0, pushed.stderr
            assert outbox.waiting(spool) == []
            assert list(spool.glob("*.part")) == []


def test_a_segment_name_with_path_parts_or_a_bad_name_is_refused(
    async_world: World, spool: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "not-a-wal-file"
    bad.write_bytes(b"x")
    spool.mkdir(mode=0o700)
    with pusher_held(spool):
        pushed = _run(async_world, "--plan", str(async_world.plan), "wal", "push", str(bad))
        assert pushed.returncode == 2, pushed.stderr
        with pytest.raises(InputError):
            outbox.put(spool, tmp_path / "../x/000000010000000000000001/..", 1 << 30)
    assert sorted(path.name for path in spool.iterdir()) == [outbox.LOCK]


# root reading a spool that belongs to postgres -------------------------------------------


@pytest.fixture
def postgres_spool() -> Iterator[Path]:
    """A spool folder owned by postgres (0700), as its `wal push` makes it, under a /tmp
    folder postgres can traverse."""
    import pwd
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("needs root")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user on this host")
    base = Path(tempfile.mkdtemp(prefix="reprise-attack-"))
    try:
        base.chmod(0o755)
        spool = base / "spool"
        spool.mkdir(mode=0o700)
        os.chown(spool, postgres.pw_uid, postgres.pw_gid)
        yield spool
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _as_postgres_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
    )


def test_root_reading_a_postgres_spool_never_blocks_its_wal_push(postgres_spool: Path) -> None:
    probe = _as_postgres_python("import reprise")
    if probe.returncode != 0:
        pytest.skip("the venv is not readable by postgres")
    outbox.status(postgres_spool)  # root: `reprise wal spool app`, or a metrics scrape
    running = _as_postgres_python(  # what postgres's next `wal push` does after spooling
        "from pathlib import Path; from reprise.wal import outbox; "
        f"print(outbox.pusher_running(Path({str(postgres_spool)!r})))"
    )
    assert running.returncode == 0, running.stderr
    owners = {path.name: path.lstat().st_uid for path in postgres_spool.iterdir()}
    assert 0 not in owners.values(), owners


def test_root_never_reads_a_planted_last_error_symlink(
    postgres_spool: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "root-only"
    secret.write_text("root secret")
    secret.chmod(0o600)
    link = postgres_spool / outbox.LAST_ERROR
    link.symlink_to(secret)
    os.lchown(link, postgres_spool.stat().st_uid, postgres_spool.stat().st_gid)
    assert outbox.last_error(postgres_spool) is None or "root secret" not in str(
        outbox.last_error(postgres_spool)
    )


def test_a_spool_under_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone could swap the spool for their own folder
    world = _world(tmp_path, _async_source(shared / "spool"))
    pushed = _run(world, "--plan", str(world.plan), "wal", "push", str(_segment(tmp_path, 1)))
    assert pushed.returncode not in (0, 70), pushed.stderr
    assert outbox.waiting(shared / "spool") == []


def test_an_async_push_of_a_missing_or_odd_file_is_never_acknowledged(
    async_world: World, spool: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "000000010000000000000002"
    folder.mkdir()
    with pusher_held(spool):
        for path in (tmp_path / "000000010000000000000001", folder):
            pushed = _run(async_world, "--plan", str(async_world.plan), "wal", "push", str(path))
            assert pushed.returncode != 0, pushed.stderr
            assert "Traceback" not in pushed.stderr
    assert outbox.waiting(spool) == []
    assert list(spool.glob(".*.part")) == []


def test_an_empty_plan_option_reads_as_the_full_cli_reads_it(world: World, tmp_path: Path) -> None:
    _warm(world)
    segment = str(_segment(tmp_path, 2))
    lean = _run(world, "--plan=", "wal", "push", segment, cwd=world.plan_dir)
    full = _run(
        world, "--plan=", "wal", "push", segment, cwd=world.plan_dir, env={"REPRISE_NO_LEAN": "1"}
    )
    assert lean.returncode == full.returncode, (_errors(lean), _errors(full))
