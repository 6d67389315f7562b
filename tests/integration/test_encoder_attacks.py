"""Parts stored through the ``zstd | age`` programs, attacked and broken: a program killed
mid-part, a producer that dies or hangs, an interrupted backup, a full disk, an S3
repository, programs planted on PATH, a part re-encrypted by someone holding only the
public recipient. Each failure is clear (exit code per the README, never 70), lists
nothing, leaves no program running and no temporary object behind; each success restores
to the byte."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pyrage
import pytest
import zstandard

from reprise.backup import encoder
from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import (
    S3_ENV,
    S3Server,
    World,
    database_figures,
    mounted_tmpfs,
    sample_database,
)
from tests.support.processes import Watched, process_table

COMMAND_SOURCE = """\
- kind: command
  command: "{command}"
  timeout: {timeout}
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 5}}
"""

SOURCE = "app-command"
PART = "output.txt.zst.age"


def _command_world(world: World, command: str, timeout: str = "2m") -> None:
    world.write_plan(COMMAND_SOURCE.format(command=command, timeout=timeout))
    assert world.reprise("repo", "init").returncode == 0


def _manifest(world: World, backup_id: str, source: str = SOURCE) -> dict[str, object]:
    path = world.repository / "backups" / source / backup_id / "manifest.json"
    manifest: dict[str, object] = json.loads(path.read_text())
    return manifest


def _parts(world: World, backup_id: str, source: str = SOURCE) -> list[dict[str, object]]:
    parts = _manifest(world, backup_id, source)["parts"]
    assert isinstance(parts, list)
    return parts


def _identity(world: World) -> pyrage.x25519.Identity:
    text = (world.plan_dir / "keys" / "identity.txt").read_text()
    [line] = [line for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-")]
    return pyrage.x25519.Identity.from_str(line)


def _assert_nothing_left(world: World, good: list[str], source: str = SOURCE) -> None:
    """Only the complete backups are listed, no folder or temporary file is left over."""
    assert [item["id"] for item in world.backups()] == good
    leftovers = [folder.name for folder in world.backup_dirs(source) if folder.name not in good]
    assert leftovers == [], f"incomplete folders left: {leftovers}"
    assert not list(world.repository.rglob("*.tmp-*")), "temporary file left"


# --- failure paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "signal_number"),
    [("zstd", signal.SIGKILL), ("age", signal.SIGKILL), ("zstd", signal.SIGTERM)],
)
def test_a_program_killed_mid_part_fails_the_backup_at_once(
    world: World, program: str, signal_number: int
) -> None:
    """The producer has written and now waits (a pg_dump behind a lock): the program's
    death is reported at once, naming it, not when the producer next writes or ends."""
    _command_world(world, "head -c 300000 /dev/urandom; sleep 47")
    run = Watched(world, "backup", "run", "app")
    victim = run.child(program)
    time.sleep(0.5)  # the first bytes went through
    started = time.monotonic()
    os.kill(victim, signal_number)
    code, err = run.finish()
    assert time.monotonic() - started < 30, "waited for the producer instead of failing"
    assert code == 1, err
    assert f"{program} failed while storing the part: killed by signal {signal_number}" in err
    assert "Traceback" not in err
    _assert_nothing_left(world, [])


def test_a_producer_dying_mid_stream_stores_nothing(world: World) -> None:
    """The programs end the frame cleanly when the producer's pipe closes: the producer's
    exit status is what tells a cut part from a whole one."""
    # `$$` in a plan is a literal `$`: the shell kills itself, half a second after writing.
    _command_world(world, "head -c 300000 /dev/urandom; sleep 0.5; kill -9 $$$$")
    run = Watched(world, "backup", "run", "app")
    code, err = run.finish()
    assert code == 1, err
    assert "killed by signal 9" in err and "Traceback" not in err
    assert {"zstd", "age"} <= set(run.seen.values()), "stored through the programs"
    _assert_nothing_left(world, [])


def test_a_hanging_producer_is_stopped_at_the_timeout_with_the_programs(world: World) -> None:
    _command_world(world, "head -c 300000 /dev/urandom; sleep 48", timeout="2s")
    run = Watched(world, "backup", "run", "app")
    code, err = run.finish()
    assert code == 1, err
    assert "did not finish within 2 s" in err
    assert {"zstd", "age", "sleep"} <= set(run.seen.values())
    _assert_nothing_left(world, [])


@pytest.mark.parametrize(
    ("stop", "sleep"), [(signal.SIGINT, "49"), (signal.SIGTERM, "54")], ids=["ctrl-c", "sigterm"]
)
def test_an_interrupted_backup_run_stops_everything(
    world: World, stop: signal.Signals, sleep: str
) -> None:
    """Ctrl-C, or `kill` and systemd stopping a manual backup (SIGTERM): the producer, in
    a session of its own, is stopped too, and the previous backup stays the only one."""
    _command_world(world, "echo first")
    good = world.backup_once()
    _command_world(world, f"head -c 300000 /dev/urandom; sleep {sleep}")
    run = Watched(world, "backup", "run", "app")
    run.child("age")
    time.sleep(0.5)
    run.process.send_signal(stop)
    code, err = run.finish()
    assert code == 130, err
    assert "Traceback" not in err
    _assert_nothing_left(world, [good])


def test_sigterm_to_a_scheduled_job_mid_part_stops_everything(world: World) -> None:
    """systemd stopping the job (or the scheduler's timeout) is SIGTERM to `jobs run`."""
    _command_world(world, "head -c 300000 /dev/urandom; sleep 51")
    run = Watched(world, "jobs", "run", f"backup:{SOURCE}")
    run.child("age")
    time.sleep(0.5)
    run.process.send_signal(signal.SIGTERM)
    code, err = run.finish()
    assert code == 130, err
    assert "Traceback" not in err
    _assert_nothing_left(world, [])


def test_a_full_disk_with_the_programs(world: World) -> None:
    with mounted_tmpfs(world.repository, "size=3m,mode=0755"):
        _command_world(world, "head -c 100000 /dev/urandom")
        good = world.backup_once()
        assert _parts(world, good)[0]["plain_sha256"] is None, "stored by the programs"
        _command_world(world, "head -c 8000000 /dev/urandom")  # incompressible, > 3 MB
        run = Watched(world, "backup", "run", "app")
        code, err = run.finish()
        assert code == 1, err
        assert "no space left on the device" in err and "Traceback" not in err
        assert {"zstd", "age"} <= set(run.seen.values())
        _assert_nothing_left(world, [good])
        assert world.reprise("backup", "verify", "--all", "--deep").returncode == 0
        _command_world(world, "echo small")
        second = world.backup_once()
        _assert_nothing_left(world, [good, second])


def test_a_full_disk_under_a_files_source(world: World, tmp_path: Path) -> None:
    """The tar writer runs in a thread of ours: once the repository fails, it must end on
    a broken pipe (nothing keeps the pipe's reading end open behind it)."""
    tree = tmp_path / "big"
    tree.mkdir()
    (tree / "random.bin").write_bytes(os.urandom(8_000_000))
    with mounted_tmpfs(world.repository, "size=3m,mode=0755"):
        world.write_plan(f"""\
- kind: files
  paths: [{tree}]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""")
        assert world.reprise("repo", "init").returncode == 0
        run = Watched(world, "backup", "run", "app")
        code, err = run.finish(timeout=60)
        assert code == 1, err
        assert "no space left on the device" in err and "Traceback" not in err
        assert {"zstd", "age"} <= set(run.seen.values())
        _assert_nothing_left(world, [], "app-files")


def test_s3_through_the_programs_round_trip_and_a_killed_age(
    world: World, s3_server: S3Server
) -> None:
    client = s3_server.client()
    client.create_bucket(Bucket="reprise-test")
    world.env.update(S3_ENV)
    repositories = (
        "  offsite: {kind: s3, bucket: reprise-test, prefix: prod/reprise, "
        f"endpoint_url: '{s3_server.url}', region: us-east-1, part_size: 5MiB}}"
    )
    source = COMMAND_SOURCE.replace("repository: local", "repository: offsite")
    world.write_plan(
        source.format(command="head -c 7000000 /dev/urandom", timeout="2m"), repositories
    )
    assert world.reprise("repo", "init").returncode == 0
    good = world.backup_once()
    prefix = f"prod/reprise/backups/{SOURCE}/{good}/"
    manifest = json.loads(
        client.get_object(Bucket="reprise-test", Key=prefix + "manifest.json")["Body"].read()
    )
    assert manifest["parts"][0]["plain_sha256"] is None, "stored by the programs"
    assert world.reprise("backup", "verify", good, "--deep").returncode == 0
    target = world.root / "restored"
    restored = world.reprise("restore", "app", "--target-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    assert (target / "output.txt").stat().st_size == 7_000_000

    world.write_plan(
        source.format(command="head -c 30000000 /dev/urandom; sleep 52", timeout="2m"),
        repositories,
    )
    run = Watched(world, "backup", "run", "app")
    victim = run.child("age")
    deadline = time.monotonic() + 30
    while not client.list_multipart_uploads(Bucket="reprise-test").get("Uploads"):
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.05)
    os.kill(victim, signal.SIGKILL)
    code, err = run.finish()
    assert code == 1, err
    assert "age failed while storing the part: killed by signal 9" in err
    listed = client.list_objects_v2(Bucket="reprise-test").get("Contents", [])
    backups = [item["Key"] for item in listed if "/backups/" in item["Key"]]
    assert all(good in key for key in backups), backups
    assert not client.list_multipart_uploads(Bucket="reprise-test").get("Uploads")
    assert [item["id"] for item in world.backups()] == [good]


# --- trust ------------------------------------------------------------------------------


def _fake(folder: Path, name: str, mode: int = 0o755) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text("#!/bin/sh\ntouch /tmp/encoder-attack-ran\nexit 0\n")
    program.chmod(mode)
    return program


def test_relative_path_entries_are_never_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reprise serve` runs in whatever folder it was started from: `.` or an empty entry
    on PATH must not make it run the `zstd` found there."""
    planted = tmp_path / "cwd"
    _fake(planted, "zstd")
    _fake(planted, "age")
    monkeypatch.chdir(planted)
    for path in (".:/usr/bin", ":/usr/bin", "cwd:/usr/bin"):
        monkeypatch.setenv("PATH", path)
        if path.startswith("cwd"):
            monkeypatch.chdir(tmp_path)
        assert encoder.programs() == ("/usr/bin/zstd", "/usr/bin/age"), path
    monkeypatch.setenv("PATH", ".")
    assert encoder.programs() is None


def test_a_program_others_can_replace_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    _fake(shared, "zstd")
    shared.chmod(0o777)  # anyone may swap the program
    writable = tmp_path / "writable"
    _fake(writable, "age", mode=0o757)  # anyone may rewrite it
    monkeypatch.setenv("PATH", f"{shared}:{writable}:/usr/bin")
    with caplog.at_level(logging.WARNING, logger="reprise.backup"):
        assert encoder.programs() == ("/usr/bin/zstd", "/usr/bin/age")
    assert f"not running {shared / 'zstd'}" in caplog.text
    assert f"not running {writable / 'age'}" in caplog.text
    sticky = tmp_path / "sticky"
    _fake(sticky, "zstd")
    sticky.chmod(0o1777)  # like /tmp: others cannot replace a file they do not own
    monkeypatch.setenv("PATH", f"{sticky}:/usr/bin")
    assert encoder.programs() == (str(sticky / "zstd"), "/usr/bin/age")


@pytest.mark.skipif(os.geteuid() != 0, reason="root only")
def test_root_runs_only_programs_root_owns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "user-bin"
    program = _fake(folder, "zstd")
    os.chown(program, 65534, 65534)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin")
    assert encoder.programs() == ("/usr/bin/zstd", "/usr/bin/age")


def test_the_programs_see_none_of_our_environment_and_no_secret_on_argv(
    world: World, tmp_path: Path
) -> None:
    """Wrappers record what zstd and age are given: no credential of ours (a repository's
    secret key, a database password) and, on age's command line, only public recipients."""
    wrappers = tmp_path / "wrappers"
    wrappers.mkdir()
    for name in ("zstd", "age"):
        wrapper = wrappers / name
        wrapper.write_text(
            f"#!/bin/sh\n/usr/bin/env > {wrappers}/{name}.env\n"
            f'echo "$@" > {wrappers}/{name}.argv\nexec /usr/bin/{name} "$@"\n'
        )
        wrapper.chmod(0o755)
    _command_world(world, "echo secret data")
    result = world.reprise(
        "backup",
        "run",
        "app",
        "--json",
        env={
            "PATH": f"{wrappers}:{os.environ['PATH']}",
            "AWS_SECRET_ACCESS_KEY": "planted-secret-1",
            "PGPASSWORD": "planted-secret-2",
            "ZSTD_CLEVEL": "19",
        },
    )
    assert result.returncode == 0, result.stderr
    for name in ("zstd", "age"):
        seen = (wrappers / f"{name}.env").read_text()
        assert "planted-secret" not in seen and "ZSTD_CLEVEL" not in seen, seen
    argv = (wrappers / "age.argv").read_text().split()
    public = (world.plan_dir / "keys" / "recipients.txt").read_text()
    assert [word for word in argv if word.startswith("age1")] == [
        line for line in public.splitlines() if line.startswith("age1")
    ]
    assert not [word for word in argv if "SECRET" in word.upper()]
    [backup] = json.loads(result.stdout)
    target = world.root / "restored"
    assert world.reprise("restore", "app", "--target-dir", str(target)).returncode == 0
    assert (target / "output.txt").read_text() == "secret data\n"
    assert _parts(world, backup["id"])[0]["plain_sha256"] is None


def test_a_slow_trickle_and_a_fast_flood_are_stored_to_the_byte(world: World) -> None:
    """One byte every 10 ms (1 ms pauses after small reads must lose nothing), then 5 MB at
    once from a command that closes its output early and keeps running a moment."""
    _command_world(world, "i=0; while [ $i -lt 60 ]; do printf x; sleep 0.01; i=$((i+1)); done")
    trickle = world.backup_once()
    target = world.root / "trickle"
    assert world.reprise("restore", "app", "--target-dir", str(target)).returncode == 0
    assert (target / "output.txt").read_text() == "x" * 60
    assert _parts(world, trickle)[0]["plain_size"] == 60
    _command_world(world, "head -c 5000000 /dev/zero; exec >&-; sleep 1")
    flood = world.backup_once()
    assert _parts(world, flood)[0]["plain_size"] == 5_000_000
    assert world.reprise("backup", "verify", flood, "--deep").returncode == 0


def _reencrypted(world: World, stored: Path, change: str) -> None:
    """Rewrite ``stored`` as someone holding only the public recipient could."""
    identity = _identity(world)
    recipient = identity.to_public()
    frame = pyrage.decrypt(stored.read_bytes(), [identity])
    plain = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(frame)).read()
    if change == "same content":
        forged = frame  # age's fresh file key alone changes every stored byte
    elif change == "other content":
        forged = subprocess.run(
            ["zstd", "-q", "--check", "--stdout"],
            input=plain.replace(b"pay 10", b"pay 99"),
            capture_output=True,
            check=True,
        ).stdout
    else:  # the frame's checksum of the plain content no longer matches it
        forged = frame[:-4] + bytes(byte ^ 0xFF for byte in frame[-4:])
        with pytest.raises(zstandard.ZstdError):
            zstandard.ZstdDecompressor().stream_reader(io.BytesIO(forged)).read()
    stored.write_bytes(pyrage.encrypt(forged, [recipient]))


@pytest.mark.parametrize("change", ["same content", "other content", "wrong frame checksum"])
def test_a_part_reencrypted_without_the_signing_key_is_caught(world: World, change: str) -> None:
    _command_world(world, "printf 'pay 10 to alice\\n'")
    backup = world.backup_once()
    [part] = _parts(world, backup)
    assert part["plain_sha256"] is None
    stored = world.repository / "backups" / SOURCE / backup / PART
    _reencrypted(world, stored, change)
    for deep in ([], ["--deep"]):
        result = world.reprise("backup", "verify", backup, *deep)
        assert result.returncode == 3, result.stdout + result.stderr
        assert PART in result.stdout + result.stderr
    target = world.root / "restored"
    restored = world.reprise("restore", "app", "--target-dir", str(target))
    assert restored.returncode == 3, restored.stderr
    assert not (target / "output.txt").exists()


# --- the in-process path ----------------------------------------------------------------


@pytest.mark.parametrize("present", [[], ["zstd"], ["age"]])
def test_without_the_programs_the_in_process_path_records_the_plain_hash(
    world: World, files_tree: Path, tmp_path: Path, present: list[str]
) -> None:
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    for name in present:
        (bare / name).symlink_to(f"/usr/bin/{name}")
    world.env["PATH"] = str(bare)  # /bin/sh is named in full; printf is its own
    world.write_plan(f"""\
- kind: files
  paths: [{files_tree}]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
- kind: command
  command: "printf 'plain text'"
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""")
    assert world.reprise("repo", "init").returncode == 0
    result = world.reprise("backup", "run", "app", "--json")
    assert result.returncode == 0, result.stderr
    made = {item["source"]: item["id"] for item in json.loads(result.stdout)}
    for source, backup in made.items():
        for part in _parts(world, backup, source):
            digest = part["plain_sha256"]
            assert isinstance(digest, str) and len(digest) == 64, part
        deep = world.reprise("backup", "verify", backup, "--deep")
        assert deep.returncode == 0, deep.stdout + deep.stderr
    target = world.root / "restored"
    restored = world.reprise("restore", "app", "--target-dir", str(target), "--source", SOURCE)
    assert restored.returncode == 0, restored.stderr
    assert (target / "output.txt").read_text() == "plain text"


def test_programs_and_in_process_parts_read_back_alike(world: World, files_tree: Path) -> None:
    """A files source through the programs: restored to the byte, modes and links kept."""
    world.write_plan(f"""\
- kind: files
  paths: [{files_tree}]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""")
    assert world.reprise("repo", "init").returncode == 0
    backup = world.backup_once()
    assert all(part["plain_sha256"] is None for part in _parts(world, backup, "app-files"))
    assert world.reprise("backup", "verify", backup, "--deep").returncode == 0
    target = world.root / "restored"
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    copy = target / str(files_tree).lstrip("/")
    assert (copy / "data.bin").read_bytes() == (files_tree / "data.bin").read_bytes()
    assert (copy / "conf" / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (copy / "current").readlink() == Path("conf/app.ini")


def test_a_program_that_cannot_start_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `zstd` on PATH whose interpreter is gone: an operation error naming it (exit 1),
    not an internal error."""
    from reprise.backup.pipeline import store_stream
    from reprise.errors import OperationError

    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "zstd").write_text("#!/nonexistent/interpreter\n")
    (broken / "zstd").chmod(0o755)
    (broken / "age").symlink_to(shutil.which("age") or "/usr/bin/age")
    monkeypatch.setenv("PATH", str(broken))
    recipient = pyrage.x25519.Identity.generate().to_public()

    class Sink:
        def write(self, data: object) -> int:
            raise AssertionError("nothing to store")

    with pytest.raises(OperationError, match=r"cannot start .*zstd"):
        store_stream("p", io.BytesIO(b"data"), Sink(), [recipient])  # type: ignore[arg-type]


def test_a_detached_process_holding_the_output_cannot_outlast_the_timeout(
    world: World,
) -> None:
    """`setsid` takes the process out of the producer's group, which the timeout kills; it
    still holds the output pipe, so it is found by that pipe and stopped too."""
    _command_world(world, "setsid sleep 30.25 & head -c 1000 /dev/urandom", timeout="1s")
    started = time.monotonic()
    result = world.reprise("backup", "run", "app")
    assert result.returncode == 1
    assert "did not finish within 1 s" in result.stderr
    assert time.monotonic() - started < 20
    assert not _running(b"sleep\x0030.25\x00"), "the detached process outlived the backup"


def _running(cmdline: bytes) -> list[int]:
    """The live processes (not zombies) whose command line is ``cmdline``."""
    found = []
    for pid, (_, _, state) in process_table().items():
        with contextlib.suppress(OSError):
            if state != "Z" and Path(f"/proc/{pid}/cmdline").read_bytes() == cmdline:
                found.append(pid)
    return found


# --- PostgreSQL through the programs ----------------------------------------------------


def test_a_logical_backup_through_the_programs_restores_the_same_rows(
    world: World, postgres: ConnectionInfo
) -> None:
    sample_database(postgres, "enc_logical", rows=300)
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [enc_logical]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""")
    assert world.reprise("repo", "init").returncode == 0
    backup = world.backup_once()
    parts = _parts(world, backup, "app-postgres")
    assert parts and all(part["plain_sha256"] is None for part in parts)
    deep = world.reprise("backup", "verify", backup, "--deep")
    assert deep.returncode == 0, deep.stdout + deep.stderr
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS enc_logical_copy")
    restored = world.reprise(
        "restore",
        "app",
        "--target",
        postgres.dsn(),
        "--database",
        "enc_logical",
        "--as",
        "enc_logical_copy",
    )
    assert restored.returncode == 0, restored.stderr
    assert database_figures(postgres, "enc_logical_copy") == database_figures(
        postgres, "enc_logical"
    )


def test_a_physical_backup_through_the_programs_verifies_deeply(
    world: World, postgres: ConnectionInfo
) -> None:
    world.write_plan(f"""\
- kind: postgres_physical
  dsn: "{postgres.dsn()}"
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 3}}
""")
    assert world.reprise("repo", "init").returncode == 0
    backup = world.backup_once()
    parts = _parts(world, backup, "app-postgres-physical")
    assert parts and all(part["plain_sha256"] is None for part in parts)
    deep = world.reprise("backup", "verify", backup, "--deep")
    assert deep.returncode == 0, deep.stdout + deep.stderr
    # Recovery from it (with the archived WAL, also stored by the programs) is
    # test_pitr.py's, which runs through this same path whenever the programs are on PATH.


WAL_SOURCE = """\
- kind: postgres_physical
  dsn: "postgresql://backup@127.0.0.1:1/postgres"
  repository: local
  schedule: "@daily"
  retention: {keep_last: 5}
"""


def test_a_wal_file_bigger_than_memory_pushes_is_hashed_and_fetched(
    world: World, tmp_path: Path
) -> None:
    """Servers made with `initdb --wal-segsize 128` have segments above the in-memory
    limit: those are streamed through the programs, and the archive compares the plain
    SHA-256 with the file's (a missing one read as "changed while it was archived")."""
    world.write_plan(WAL_SOURCE)
    assert world.reprise("repo", "init").returncode == 0
    segment = tmp_path / "000000010000000000000001"
    block = os.urandom(4096)
    with segment.open("wb") as out:
        for _ in range(65 * 256):  # 65 MiB, compressible
            out.write(block)
    pushed = world.reprise("wal", "push", str(segment))
    assert pushed.returncode == 0, pushed.stderr
    fetched = world.reprise("wal", "fetch", segment.name, str(tmp_path / "back"), "--prefetch", "0")
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "back").read_bytes() == segment.read_bytes()
