"""The settings a PITR writes into the restored data directory never go through a link."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprise.errors import VerificationError
from reprise.restore.pitr import write_recovery_settings


def _write(datadir: Path) -> None:
    write_recovery_settings(
        datadir,
        restore_command="reprise wal fetch %f %p",
        at=None,
        port=None,
        socket_dir=None,
        note="test",
    )


def test_recovery_settings_are_written_as_private_plain_files(tmp_path: Path) -> None:
    (tmp_path / "pg_hba.conf").write_text("host all all 0.0.0.0/0 reject\n")
    _write(tmp_path)
    assert (tmp_path / "recovery.signal").stat().st_mode & 0o777 == 0o600
    assert (
        "restore_command = 'reprise wal fetch %f %p'"
        in (tmp_path / "postgresql.auto.conf").read_text()
    )
    assert (tmp_path / "pg_hba.conf").read_text().splitlines()[1:] == [
        "local all all trust",
        "host all all 0.0.0.0/0 reject",
    ]


@pytest.mark.parametrize("name", ["postgresql.auto.conf", "pg_hba.conf", "recovery.signal"])
def test_a_settings_file_that_is_a_link_is_refused_and_its_target_untouched(
    tmp_path: Path, name: str
) -> None:
    datadir = tmp_path / "data"
    datadir.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    (datadir / name).symlink_to(victim)
    with pytest.raises(VerificationError, match="a symbolic link in the restored data"):
        _write(datadir)
    assert victim.read_text() == "root's file\n"
