"""Restores of correctly signed backups whose tars are hostile (a compromised backup host
signs with the plan's own key), and of targets with planted symlinks, by the real program:
every attack is refused (exit 3 for the archive, 2 for the target), a sentinel folder
outside the target is byte-for-byte unchanged, and nothing is left half-written. A
legitimate tree still comes back exactly."""

from __future__ import annotations

import json
import os
import sys
import tarfile
from pathlib import Path

import psycopg
import pytest

from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import World, sample_database
from tests.support.forge import (
    ForgedPart,
    entry,
    forge_backup,
    hostile_cases,
    pax_member,
    regular,
    sentinel,
    snapshot,
    tar_bytes,
)


def _files_plan(world: World, paths: list[Path], extra: str = "") -> None:
    world.write_plan(f"""\
- kind: files
  paths: [{", ".join(map(str, paths))}]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 50}}
{extra}""")


def _forge_files(world: World, data: bytes) -> str:
    return forge_backup(
        world.plan,
        source="app-files",
        kind="files",
        parts=[ForgedPart("files.tar", "files", data, format="tar")],
        server={"paths": ["/srv/site"]},
    )


def _reindex(world: World) -> None:
    result = world.reprise("repo", "reindex")
    assert result.returncode == 0, result.stderr


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_hostile_files_backups_are_refused_with_exit_3_and_nothing_outside_changes(
    world: World, tmp_path: Path
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    _files_plan(world, [tmp_path / "site"])
    assert world.reprise("repo", "init").returncode == 0
    forged = {case: _forge_files(world, data) for case, data in hostile_cases(outside).items()}
    _reindex(world)
    for case, backup_id in forged.items():
        target = tmp_path / "targets" / case.replace(" ", "-")
        result = world.reprise("restore", "app", "--backup", backup_id, "--target-dir", str(target))
        assert result.returncode == 3, (case, result.stderr)
        assert "member " in result.stderr and "refused: " in result.stderr, case
        assert "Traceback" not in result.stderr
        assert _leftovers(target) == [], (case, "the target holds what was refused")
        assert snapshot(outside) == before, case


def test_setuid_bits_are_dropped_unless_the_source_and_the_restore_both_keep_them(
    world: World, tmp_path: Path
) -> None:
    data = tar_bytes(
        regular("bin/su", b"#!/bin/sh\n", mode=0o4755, uid=0),
        regular("bin/wall", b"wall\n", mode=0o2711),
    )
    _files_plan(world, [tmp_path / "site"])
    assert world.reprise("repo", "init").returncode == 0
    backup_id = _forge_files(world, data)
    _reindex(world)
    target = tmp_path / "dropped"
    result = world.reprise("restore", "app", "--backup", backup_id, "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "bin" / "su").stat().st_mode & 0o7777 == 0o755
    assert (target / "bin" / "wall").stat().st_mode & 0o7777 == 0o711
    assert "setuid/setgid/sticky bits dropped on 2" in result.stdout
    undeclared = world.reprise(
        "restore",
        "app",
        "--backup",
        backup_id,
        "--target-dir",
        str(tmp_path / "undeclared"),
        "--preserve-special",
    )
    assert undeclared.returncode == 2 and "preserve_special: true" in undeclared.stderr
    assert not (tmp_path / "undeclared" / "bin").exists()
    _files_plan(world, [tmp_path / "site"], "  preserve_special: true\n")
    kept = tmp_path / "kept"
    result = world.reprise(
        "restore", "app", "--backup", backup_id, "--target-dir", str(kept), "--preserve-special"
    )
    assert result.returncode == 0, result.stderr
    assert (kept / "bin" / "su").stat().st_mode & 0o7777 == 0o4755
    assert (kept / "bin" / "wall").stat().st_mode & 0o7777 == 0o2711


def test_archives_that_would_crash_the_unpacker_end_with_exit_3_not_an_internal_error(
    world: World, tmp_path: Path
) -> None:
    """Headers no system call accepts (an infinite time, a damaged sparse map, a name too
    long or too deep) are refused by name: exit 3, no traceback, nothing left in the
    target."""
    _files_plan(world, [tmp_path / "site"])
    assert world.reprise("repo", "init").returncode == 0
    cases = {
        "infinite mtime": pax_member("srv/f", {"mtime": b"inf"}),
        "damaged sparse map": pax_member(
            "srv/f",
            {
                "GNU.sparse.major": b"1",
                "GNU.sparse.minor": b"0",
                "GNU.sparse.name": b"big",
                "GNU.sparse.realsize": b"8589934592",
            },
            content=b"1",
        ),
        "sparse file": pax_member("srv/f", {}, kind=tarfile.GNUTYPE_SPARSE),
        "name too long": pax_member("srv/" + "n" * 300, {}),
        "too deep": pax_member("d/" * 1500 + "f", {}),
    }
    forged = {case: _forge_files(world, data) for case, data in cases.items()}
    _reindex(world)
    for case, backup_id in forged.items():
        target = tmp_path / "targets" / case.replace(" ", "-")
        result = world.reprise("restore", "app", "--backup", backup_id, "--target-dir", str(target))
        assert result.returncode == 3, (case, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr and "This is a bug" not in result.stderr
        assert _leftovers(target) == [], case


@pytest.fixture
def rich_tree(tmp_path: Path) -> Path:
    """Symlinks inside the tree, hard links, empty and read-only folders, odd modes and
    fixed times."""
    root = tmp_path / "site"
    (root / "conf").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "ro").mkdir()
    (root / "conf" / "app.ini").write_text("[db]\nhost = db.local\n")
    (root / "conf" / "app.ini").chmod(0o664)
    (root / "conf" / "secret.key").write_text("s3cr3t\n")
    (root / "conf" / "secret.key").chmod(0o600)
    (root / "ro" / "frozen.txt").write_text("frozen\n")
    (root / "ro" / "frozen.txt").chmod(0o444)
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o750)
    (root / "data.bin").write_bytes(os.urandom(1_500_000))
    os.link(root / "data.bin", root / "data-hardlink.bin")
    (root / "current").symlink_to("conf/app.ini")
    (root / "conf" / "data").symlink_to("../data.bin")
    (root / "to-empty").symlink_to("empty")
    (root / "ro").chmod(0o555)
    for path in [*sorted(root.rglob("*"), reverse=True), root]:
        os.utime(path, (1_650_000_000.5, 1_650_000_000.5), follow_symlinks=False)
    return root


def test_a_legitimate_files_backup_still_round_trips_exactly(world: World, rich_tree: Path) -> None:
    _files_plan(world, [rich_tree])
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    target = world.root / "restored"
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    copy = target / str(rich_tree).lstrip("/")
    assert snapshot(copy) == snapshot(rich_tree)
    assert (copy / "data.bin").stat().st_ino == (copy / "data-hardlink.bin").stat().st_ino
    assert _leftovers(target) == [str(rich_tree).lstrip("/").split("/")[0]]


def test_a_symlink_planted_in_the_target_is_refused_or_replaced_never_followed(
    world: World, files_tree: Path, tmp_path: Path
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    _files_plan(world, [files_tree])
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    top = str(files_tree).lstrip("/").split("/")[0]  # "tmp"
    # As a folder on the way: `ln -s /elsewhere TARGET/tmp`.
    target = tmp_path / "planted-folder"
    target.mkdir()
    (target / top).symlink_to(outside)
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 2, result.stderr
    assert "is a symbolic link in the target" in result.stderr
    assert "--follow-target-symlinks" in result.stderr
    assert snapshot(outside) == before
    assert _leftovers(target) == [top]
    # As a file name: refused without --overwrite, replaced (not written through) with it.
    target = tmp_path / "planted-file"
    assert world.reprise("restore", "app", "--target-dir", str(target)).returncode == 0
    app_ini = target / str(files_tree).lstrip("/") / "conf" / "app.ini"
    app_ini.unlink()
    app_ini.symlink_to(outside / "victim.txt")
    refused = world.reprise("restore", "app", "--target-dir", str(target))
    assert refused.returncode == 2 and "already exist" in refused.stderr
    replaced = world.reprise("restore", "app", "--target-dir", str(target), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert not app_ini.is_symlink() and app_ini.read_text() == "[db]\nhost = db.local\n"
    assert snapshot(outside) == before
    # In the --target-dir path itself.
    (tmp_path / "alias").symlink_to(outside)
    through = world.reprise("restore", "app", "--target-dir", str(tmp_path / "alias" / "x"))
    assert through.returncode == 2 and "is a symbolic link" in through.stderr
    assert snapshot(outside) == before
    # Followed only when asked, into a folder the user chose.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = tmp_path / "followed"
    target.mkdir()
    (target / top).symlink_to(elsewhere)
    followed = world.reprise(
        "restore", "app", "--target-dir", str(target), "--follow-target-symlinks"
    )
    assert followed.returncode == 0, followed.stderr
    assert (elsewhere / str(files_tree).lstrip("/").split("/", 1)[1] / "conf" / "app.ini").exists()


PHYSICAL = """\
- kind: postgres_physical
  dsn: "postgresql://nobody@127.0.0.1:9/postgres"
  repository: local
  schedule: "@daily"
  retention: {keep_last: 50}
"""

BASE_SERVER = {
    "version_num": 150000,
    "start_lsn": "0/2000028",
    "end_lsn": "0/2000100",
    "start_timeline": 1,
    "wal_segment_size": 16 * 1024 * 1024,
    "system_identifier": "7000000000000000000",
    "superuser": "postgres",
}


def _forge_base(world: World, data: bytes) -> str:
    return forge_backup(
        world.plan,
        source="app-postgres-physical",
        kind="postgres_physical",
        parts=[ForgedPart("base.tar", "base", data, format="tar")],
        server=BASE_SERVER,
    )


def test_hostile_base_backups_are_refused_by_pitr_and_nothing_outside_changes(
    world: World, tmp_path: Path
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    forged = {case: _forge_base(world, data) for case, data in hostile_cases(outside).items()}
    benign = _forge_base(
        world,
        tar_bytes(
            regular("PG_VERSION", b"15\n", mode=0o600),
            entry("global", tarfile.DIRTYPE, mode=0o700),
            regular("global/pg_control", b"\0" * 64, mode=0o600),
        ),
    )
    _reindex(world)
    recoveries = tmp_path / "recoveries"
    for case, backup_id in forged.items():
        datadir = recoveries / case.replace(" ", "-")
        result = world.reprise(
            "restore", "app", "--pitr", "--backup", backup_id, "--to-dir", str(datadir)
        )
        assert result.returncode == 3, (case, result.stderr)
        assert "member " in result.stderr and "refused: " in result.stderr, case
        assert not datadir.exists(), case
        assert _leftovers(recoveries) == [], (case, "a private folder was left behind")
        assert snapshot(outside) == before, case
    datadir = recoveries / "benign"
    result = world.reprise("restore", "app", "--pitr", "--backup", benign, "--to-dir", str(datadir))
    assert result.returncode == 0, result.stderr
    assert (datadir / "PG_VERSION").read_text() == "15\n"
    assert datadir.stat().st_mode & 0o777 == 0o700
    assert (datadir / "recovery.signal").exists()
    assert _leftovers(recoveries) == ["benign"]


def test_a_base_backup_replaced_or_altered_after_signing_is_unpacked_but_never_used(
    world: World, tmp_path: Path
) -> None:
    """The base backup is decrypted straight into the unpacker (one pass); its checksums
    are proven at the end. A part re-encrypted by anyone holding the public recipient (a
    valid age file, other content) or with a flipped byte fails with exit 3, and nothing
    it held reaches the data directory."""
    import pyrage
    import zstandard

    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    genuine = tar_bytes(
        regular("PG_VERSION", b"15\n", mode=0o600),
        regular("global/pg_control", b"\0" * 64, mode=0o600),
    )
    replaced_id, flipped_id = _forge_base(world, genuine), _forge_base(world, genuine)
    _reindex(world)
    recipients = [
        pyrage.x25519.Recipient.from_str(line.strip())
        for line in (world.plan_dir / "keys" / "recipients.txt").read_text().splitlines()
        if line.startswith("age1")
    ]
    impostor = tar_bytes(regular("PG_VERSION", b"planted\n", mode=0o600))
    (replaced,) = world.repository.rglob(f"{replaced_id}/base.tar*.zst.age")
    replaced.write_bytes(pyrage.encrypt(zstandard.ZstdCompressor().compress(impostor), recipients))
    (flipped,) = world.repository.rglob(f"{flipped_id}/base.tar*.zst.age")
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    recoveries = tmp_path / "recoveries"
    for backup_id in (replaced_id, flipped_id):
        datadir = recoveries / backup_id
        result = world.reprise(
            "restore", "app", "--pitr", "--backup", backup_id, "--to-dir", str(datadir)
        )
        assert result.returncode == 3, result.stderr
        assert "base.tar" in result.stderr
        assert "altered" in result.stderr or "damaged" in result.stderr, result.stderr
        assert not datadir.exists()
        assert _leftovers(recoveries) == [], "a private folder was left behind"


def _forge_two_part_base(world: World) -> str:
    return forge_backup(
        world.plan,
        source="app-postgres-physical",
        kind="postgres_physical",
        parts=[
            ForgedPart(
                "base.tar",
                "base",
                tar_bytes(
                    regular("PG_VERSION", b"15\n", mode=0o600),
                    entry("pg_wal", tarfile.DIRTYPE, mode=0o700),
                    regular("global/pg_control", b"\0" * 64, mode=0o600),
                ),
                format="tar",
            ),
            ForgedPart(
                "pg_wal.tar",
                "wal",
                tar_bytes(regular("000000010000000000000002", b"w" * 1000, mode=0o600)),
                format="tar",
            ),
        ],
        server=BASE_SERVER,
    )


@pytest.mark.parametrize("decoders", ["age and zstd programs", "in-process"])
def test_one_part_swapped_with_another_part_of_the_same_backup_is_never_used(
    world: World, tmp_path: Path, decoders: str
) -> None:
    """Both parts are genuine, signed, encrypted to us: each is proven against its own
    entry of the manifest, so the base tar stored under the pg_wal tar's name (and the
    other way round) fails with exit 3 and leaves nothing. The same with the part decoded
    in-process (no age or zstd program on PATH)."""
    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    genuine_id, swapped_id = _forge_two_part_base(world), _forge_two_part_base(world)
    _reindex(world)
    (base,) = world.repository.rglob(f"{swapped_id}/base.tar*.zst.age")
    (wal,) = world.repository.rglob(f"{swapped_id}/pg_wal.tar*.zst.age")
    base_bytes, wal_bytes = base.read_bytes(), wal.read_bytes()
    base.write_bytes(wal_bytes)
    wal.write_bytes(base_bytes)
    env = {}
    if decoders == "in-process":  # the interpreter's folder only: no age, no zstd
        env["PATH"] = str(Path(sys.executable).parent)
    recoveries = tmp_path / "recoveries"
    datadir = recoveries / "swapped"
    result = world.reprise(
        "restore", "app", "--pitr", "--backup", swapped_id, "--to-dir", str(datadir), env=env
    )
    assert result.returncode == 3, result.stderr
    assert "base.tar" in result.stderr and "altered" in result.stderr, result.stderr
    assert not datadir.exists() and _leftovers(recoveries) == []
    datadir = recoveries / "genuine"
    result = world.reprise(
        "restore", "app", "--pitr", "--backup", genuine_id, "--to-dir", str(datadir), env=env
    )
    assert result.returncode == 0, result.stderr
    assert (datadir / "pg_wal" / "000000010000000000000002").read_bytes() == b"w" * 1000
    assert (datadir / "global" / "pg_control").read_bytes() == b"\0" * 64
    assert _leftovers(recoveries) == ["genuine"]


def test_a_base_backup_whose_pg_wal_is_a_file_is_refused_before_the_wal_tar_unpacks(
    world: World, tmp_path: Path
) -> None:
    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    backup_id = forge_backup(
        world.plan,
        source="app-postgres-physical",
        kind="postgres_physical",
        parts=[
            ForgedPart(
                "base.tar",
                "base",
                tar_bytes(regular("PG_VERSION", b"15\n"), regular("pg_wal", b"not a folder")),
                format="tar",
            ),
            ForgedPart(
                "pg_wal.tar", "wal", tar_bytes(regular("000000010000000000000002")), format="tar"
            ),
        ],
        server=BASE_SERVER,
    )
    _reindex(world)
    recoveries = tmp_path / "recoveries"
    datadir = recoveries / "data"
    result = world.reprise(
        "restore", "app", "--pitr", "--backup", backup_id, "--to-dir", str(datadir)
    )
    assert result.returncode == 3, result.stderr
    assert "pg_wal of the base backup" in result.stderr and "Traceback" not in result.stderr
    assert not datadir.exists() and _leftovers(recoveries) == []


def test_a_pg_wal_tar_cannot_turn_a_link_of_the_base_backup_outward(
    world: World, tmp_path: Path
) -> None:
    """Each tar alone is fine: the base's postgresql.auto.conf -> 'pg_wal/a/../../…'
    stays inside while pg_wal/a is missing, and the pg_wal tar's 'a -> .' stays in pg_wal.
    Together the link reaches the sentinel, and the recovery settings (written as root)
    would be appended to it."""
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    base = tar_bytes(
        regular("PG_VERSION", b"15\n", mode=0o600),
        entry("pg_wal", tarfile.DIRTYPE, mode=0o700),
        entry(
            "postgresql.auto.conf", tarfile.SYMTYPE, linkname="pg_wal/a/../../outside/victim.txt"
        ),
    )
    backup_id = forge_backup(
        world.plan,
        source="app-postgres-physical",
        kind="postgres_physical",
        parts=[
            ForgedPart("base.tar", "base", base, format="tar"),
            ForgedPart(
                "pg_wal.tar",
                "wal",
                tar_bytes(entry("a", tarfile.SYMTYPE, linkname=".")),
                format="tar",
            ),
        ],
        server=BASE_SERVER,
    )
    _reindex(world)
    datadir = tmp_path / "data"
    result = world.reprise(
        "restore", "app", "--pitr", "--backup", backup_id, "--to-dir", str(datadir)
    )
    assert result.returncode == 3, result.stderr
    assert "member 'postgresql.auto.conf' refused" in result.stderr
    assert not datadir.exists()
    assert not [path for path in tmp_path.iterdir() if ".data.reprise-" in path.name]
    assert snapshot(outside) == before


def test_a_second_files_part_cannot_turn_the_first_ones_links_outward(
    world: World, tmp_path: Path
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    _files_plan(world, [tmp_path / "site"])
    assert world.reprise("repo", "init").returncode == 0
    first = tar_bytes(
        entry("d", tarfile.DIRTYPE),
        entry("x", tarfile.SYMTYPE, linkname="d/a/a/../../../outside/victim.txt"),
    )
    second = tar_bytes(entry("d/a", tarfile.SYMTYPE, linkname="."))
    backup_id = forge_backup(
        world.plan,
        source="app-files",
        kind="files",
        parts=[
            ForgedPart("files.tar", "files", first, format="tar"),
            ForgedPart("more.tar", "files", second, format="tar"),
        ],
        server={"paths": ["/srv/site"]},
    )
    _reindex(world)
    target = tmp_path / "target"
    result = world.reprise("restore", "app", "--backup", backup_id, "--target-dir", str(target))
    assert result.returncode == 3, result.stderr
    assert "member 'x' refused" in result.stderr
    assert _leftovers(target) == []
    assert snapshot(outside) == before


def _postgres_plan(world: World, postgres: ConnectionInfo, extra: str = "") -> None:
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [hostile_src]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 50}}
{extra}""")


def _exists(postgres: ConnectionInfo, database: str) -> bool:
    with psycopg.connect(postgres.dsn()) as connection:
        return (
            connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            is not None
        )


def test_hostile_directory_format_dumps_are_refused_before_the_server_is_touched(
    world: World, postgres: ConnectionInfo, tmp_path: Path
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    _postgres_plan(world, postgres)
    assert world.reprise("repo", "init").returncode == 0
    cases = dict(hostile_cases(outside))
    cases["two folders"] = tar_bytes(regular("one/toc.dat"), regular("two/toc.dat"))
    forged = {
        case: forge_backup(
            world.plan,
            source="app-postgres",
            kind="postgres",
            parts=[
                ForgedPart(
                    "db-hostile_src.pgdir.tar",
                    "database",
                    data,
                    format="directory",
                    database="hostile_src",
                )
            ],
            server={"version_num": 100000},
        )
        for case, data in cases.items()
    }
    _reindex(world)
    for number, (case, backup_id) in enumerate(forged.items()):
        name = f"hostile_copy_{number}"
        result = world.reprise(
            "restore",
            "app",
            "--backup",
            backup_id,
            "--target",
            postgres.dsn(),
            "--database",
            "hostile_src",
            "--as",
            name,
        )
        assert result.returncode == 3, (case, result.stderr)
        assert "Traceback" not in result.stderr
        assert not _exists(postgres, name), (case, "the target server was touched")
        assert snapshot(outside) == before, case


def test_a_directory_format_dump_still_restores(world: World, postgres: ConnectionInfo) -> None:
    sample_database(postgres, "hostile_src", rows=300)
    _postgres_plan(world, postgres, "  format: directory\n  jobs: 2\n  globals: false\n")
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "hostile_dir_copy" WITH (FORCE)')
    result = world.reprise(
        "restore",
        "app",
        "--target",
        postgres.dsn(),
        "--database",
        "hostile_src",
        "--as",
        "hostile_dir_copy",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "ok"
    query = "SELECT count(*), sum(amount) FROM invoices"
    with (
        psycopg.connect(postgres.dsn("hostile_src")) as source,
        psycopg.connect(postgres.dsn("hostile_dir_copy")) as copy,
    ):
        assert copy.execute(query).fetchone() == source.execute(query).fetchone()
