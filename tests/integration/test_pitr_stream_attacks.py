"""Red-team attacks on the PITR base backup path by the real program: ``reprise restore
--pitr`` decodes the stored part with ``age | zstd`` straight into the stream unpacker and
proves the stored bytes only at the end. Hand-written hostile tars (signed by a
compromised host) are refused by name with exit 3; parts re-encrypted by anyone holding
the public recipient are refused as altered; in every case nothing is left beside the
data directory, the data directory does not exist (no server can start on it), and no
run ends with an internal error (exit 70)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_hostile_archives import BASE_SERVER, PHYSICAL
from tests.support.backups import World
from tests.support.forge import ForgedPart, forge_backup, sentinel, snapshot
from tests.unit.test_unpack_stream_attacks import END, file, header, pax

GENUINE = file(b"PG_VERSION", b"15\n") + file(b"global/pg_control", b"\0" * 64) + END


def _forge(world: World, data: bytes) -> str:
    return forge_backup(
        world.plan,
        source="app-postgres-physical",
        kind="postgres_physical",
        parts=[ForgedPart("base.tar", "base", data, format="tar")],
        server=BASE_SERVER,
    )


def _replace(world: World, backup_id: str, plain: bytes) -> None:
    """Re-encrypt the stored part with the plan's public recipient (no signing key)."""
    import pyrage
    import zstandard

    recipients = [
        pyrage.x25519.Recipient.from_str(line.strip())
        for line in (world.plan_dir / "keys" / "recipients.txt").read_text().splitlines()
        if line.startswith("age1")
    ]
    (stored,) = world.repository.rglob(f"{backup_id}/base.tar*.zst.age")
    stored.write_bytes(pyrage.encrypt(zstandard.ZstdCompressor().compress(plain), recipients))


def _restore(world: World, backup_id: str, datadir: Path) -> tuple[int, str]:
    result = world.reprise(
        "restore", "app", "--pitr", "--backup", backup_id, "--to-dir", str(datadir)
    )
    return result.returncode, result.stderr


def test_hand_written_hostile_base_tars_are_refused_by_name_and_leave_nothing(
    world: World, tmp_path: Path
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    up = b"../" * 20 + bytes(outside).lstrip(b"/")
    refused = {
        "pax path midway": file(b"PG_VERSION", b"15\n") + pax({b"path": up + b"/p"}) + file(b"b"),
        "ustar prefix ..": file(b"PG_VERSION", b"15\n") + file(b"x", prefix=b".."),
        "file, symlink, file through it": file(b"PG_VERSION", b"15\n")
        + file(b"base")
        + header(b"base", kind=b"2", link=up)
        + file(b"base/x"),
        "hard link to a symlink": file(b"t")
        + header(b"s", kind=b"2", link=b"t")
        + header(b"h", kind=b"1", link=b"s"),
    }
    invalid = {
        "checksum lies": file(b"PG_VERSION", b"15\n", checksum=3),
        "negative base-256 size": header(b"PG_VERSION", size_field=b"\xff" * 12),
        "size beyond the stream": header(b"PG_VERSION", size_field=b"77777777777\0") + b"15\n",
    }
    forged = {case: _forge(world, data + END) for case, data in {**refused, **invalid}.items()}
    assert world.reprise("repo", "reindex").returncode == 0
    recoveries = tmp_path / "recoveries"
    for case, backup_id in forged.items():
        datadir = recoveries / case.replace(" ", "-").replace(",", "")
        code, stderr = _restore(world, backup_id, datadir)
        assert code == 3, (case, stderr)
        assert "Traceback" not in stderr, case
        if case in refused:
            assert "member " in stderr and "refused: " in stderr, (case, stderr)
        else:
            assert "not a valid tar archive" in stderr, (case, stderr)
        assert not datadir.exists(), case
        assert not recoveries.exists() or list(recoveries.iterdir()) == [], case
        assert snapshot(outside) == before, case


def test_parts_altered_after_signing_leave_no_data_directory(world: World, tmp_path: Path) -> None:
    """Each part is a valid age file of a valid zstd stream holding a tar a server would
    start on (PG_VERSION, a configuration, recovery.signal), but its stored bytes are not
    the signed ones: unpacked, then refused at the checksum; nothing remains."""
    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    startable = (
        file(b"PG_VERSION", b"15\n", mode=0o600)
        + file(b"postgresql.conf", b"shared_preload_libraries = 'evil'\n")
        + file(b"recovery.signal", b"")
        + header(b"pg_wal", kind=b"5", mode=0o700)
        + header(b"pg_tblspc", kind=b"5", mode=0o700)
        + header(b"pg_tblspc/16384", kind=b"2", link=b"../pg_wal")
    )
    altered = {
        "other content": startable + END,
        "genuine tar then trailing bytes": GENUINE + b"trailing" * 1000,
        "genuine tar cut before its end blocks": GENUINE[: -len(END)],
        "many small members": startable
        + b"".join(header(b"many/%d" % number) for number in range(3000))
        + END,
    }
    forged = {case: _forge(world, GENUINE) for case in altered}
    assert world.reprise("repo", "reindex").returncode == 0
    for case, plain in altered.items():
        _replace(world, forged[case], plain)
    recoveries = tmp_path / "recoveries"
    for case, backup_id in forged.items():
        datadir = recoveries / case.replace(" ", "-")
        code, stderr = _restore(world, backup_id, datadir)
        assert code == 3, (case, stderr)
        assert "Traceback" not in stderr
        assert "base.tar" in stderr and ("altered" in stderr or "differs" in stderr), stderr
        assert not datadir.exists(), case
        assert not recoveries.exists() or list(recoveries.iterdir()) == [], case


@pytest.mark.parametrize("zeros_mib", [64])
def test_a_re_encrypted_zstd_bomb_is_stopped_at_the_signed_plain_size(
    world: World, tmp_path: Path, zeros_mib: int
) -> None:
    """The plain stream of a re-encrypted part runs far past the signed plain size (a zstd
    bomb: 64 MiB of zeros is 2 KiB stored; gigabytes cost the attacker kilobytes). The
    decoding must stop at the signed size and call the part altered, not unpack everything
    (filling the disk) and only then compare the checksum: a hostile member placed after
    the zeros must never be reached."""
    world.write_plan(PHYSICAL)
    assert world.reprise("repo", "init").returncode == 0
    backup_id = _forge(world, GENUINE)
    assert world.reprise("repo", "reindex").returncode == 0
    size = zeros_mib * 1024 * 1024
    _replace(world, backup_id, header(b"zeros", size) + b"\0" * size + file(b"../escape") + END)
    datadir = tmp_path / "recoveries" / "bomb"
    code, stderr = _restore(world, backup_id, datadir)
    assert code == 3, stderr
    assert "refused" not in stderr, "the whole oversized stream was unpacked: " + stderr
    assert "base.tar" in stderr
    assert not datadir.exists()
