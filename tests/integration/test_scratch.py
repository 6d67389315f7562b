"""Throwaway PostgreSQL instances: they start, require a password, and leave nothing
behind on normal exit, on exceptions, on SIGINT, on SIGTERM, and (after the next start)
even on SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reprise.errors import ScratchInstanceError, ToolNotFoundError
from reprise.pg.binaries import find_installations, find_server, find_tool
from reprise.pg.scratch import ScratchPostgres, reap_orphans

pytestmark = pytest.mark.postgres


@pytest.fixture
def base(tmp_path: Path) -> Iterator[Path]:
    """A directory the unprivileged server user can enter (pytest's tmp_path is 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="reprise-test-"))
    directory.chmod(0o711)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def postmaster_pid(datadir: Path) -> int:
    return int((datadir / "postmaster.pid").read_text().splitlines()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_an_instance_serves_queries_and_is_removed_on_exit(base: Path) -> None:
    scratch = ScratchPostgres(base_dir=base)
    with scratch as info:
        root = scratch.root
        assert root is not None
        pid = postmaster_pid(scratch.datadir)
        with psycopg.connect(info.dsn()) as connection:
            assert connection.execute("select 1 + 1").fetchone() == (2,)
            listen = connection.execute("show listen_addresses").fetchone()
        assert listen == ("127.0.0.1",)
        assert info.socket_dir.parent == root
    assert wait_gone(pid)
    assert not root.exists()


def test_connections_need_the_random_password(base: Path) -> None:
    with ScratchPostgres(base_dir=base) as info:
        wrong = f"postgresql://{info.user}:not-it@{info.host}:{info.port}/postgres"
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong, connect_timeout=5)


def test_an_exception_inside_the_block_still_cleans_up(base: Path) -> None:
    scratch = ScratchPostgres(base_dir=base)
    with pytest.raises(RuntimeError), scratch:
        root = scratch.root
        pid = postmaster_pid(scratch.datadir)
        raise RuntimeError("drill failed")
    assert wait_gone(pid)
    assert root is not None
    assert not root.exists()


def test_two_instances_run_side_by_side(base: Path) -> None:
    with ScratchPostgres(base_dir=base) as one, ScratchPostgres(base_dir=base) as two:
        assert one.port != two.port
        for info in (one, two):
            with psycopg.connect(info.dsn()) as connection:
                assert connection.execute("select 1").fetchone() == (1,)


HOLDER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from reprise.pg.scratch import ScratchPostgres
    scratch = ScratchPostgres(base_dir=Path(sys.argv[1]))
    with scratch as info:
        pid = int((scratch.datadir / "postmaster.pid").read_text().splitlines()[0])
        print(json.dumps({"root": str(scratch.root), "pid": pid}), flush=True)
        time.sleep(120)
""")


def start_holder(base: Path) -> tuple[subprocess.Popen[str], Path, int]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(base)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()  # the holder prints one line only
    if not line:
        process.kill()
        process.wait()
        pytest.fail("the holder process did not start its instance")
    started = json.loads(line)
    return process, Path(started["root"]), started["pid"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_owner_stops_and_removes_the_instance(
    base: Path, sig: signal.Signals
) -> None:
    process, root, pid = start_holder(base)
    try:
        assert alive(pid)
        process.send_signal(sig)
        # The owner gives pg_ctl up to 45 s (then SIGKILL) before it removes the folder: a
        # loaded machine may need most of it, so wait for the behaviour, not for a fast run.
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert wait_gone(pid)
    assert not root.exists()


def test_after_sigkill_the_next_start_reaps_the_orphan(base: Path) -> None:
    process, root, pid = start_holder(base)
    process.kill()
    process.wait(timeout=10)
    assert alive(pid), "postgres should survive its owner's SIGKILL"
    assert root.exists()
    removed = reap_orphans(base)
    assert removed == [root]
    assert wait_gone(pid)
    assert not root.exists()


def test_reaping_leaves_instances_of_live_owners_alone(base: Path) -> None:
    with ScratchPostgres(base_dir=base) as info:
        assert reap_orphans(base) == []
        with psycopg.connect(info.dsn()) as connection:
            assert connection.execute("select 1").fetchone() == (1,)


def test_binaries_are_found_per_major_version() -> None:
    server = find_server()
    assert server.has_server
    assert server.major >= 12
    assert find_tool("pg_dump", major=server.major).name == "pg_dump"
    assert all(inst.version.startswith(str(inst.major)) for inst in find_installations())


def test_a_missing_version_names_the_version_and_the_package() -> None:
    newest = max(inst.major for inst in find_installations())
    with pytest.raises(ToolNotFoundError) as caught:
        find_tool("pg_dump", min_major=newest + 1)
    assert f"version {newest + 1} or newer" in caught.value.message
    assert f"postgresql-client-{newest + 1}" in (caught.value.hint or "")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the instance to another user")
def test_as_root_a_directory_the_server_user_cannot_enter_is_refused(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(ScratchInstanceError, match="cannot enter") as caught:
        ScratchPostgres(base_dir=private).start()
    assert "TMPDIR" in (caught.value.hint or "")
    assert list(private.iterdir()) == []


def test_stock_client_tools_connect_with_the_pg_environment(base: Path) -> None:
    with ScratchPostgres(base_dir=base) as info:
        result = subprocess.run(
            [str(find_tool("psql")), "-Atc", "select current_user"],
            env={**os.environ, **info.env()},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == info.user
