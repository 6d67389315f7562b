"""The safe unpacker and the move into place, on real tar files and real folders: every
rule refuses its attack and names the member, nothing outside the destination changes,
and a legitimate tree comes back exactly. Runs on Python 3.11.2, which has no filter=."""

from __future__ import annotations

import ast
import os
import stat
import tarfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reprise.errors import FileExistsRefusal, VerificationError
from reprise.restore.unpack import (
    UnpackPolicy,
    UnsafeMemberError,
    UnsafeName,
    UnsafeTargetError,
    check_symlinks,
    check_target_path,
    member_parts,
    move_into_place,
    unpack,
    unpack_stream,
)
from tests.support.forge import (
    entry,
    hostile_cases,
    pax_member,
    regular,
    sentinel,
    snapshot,
    tar_bytes,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def _unpack(
    tmp_path: Path,
    data: bytes,
    policy: UnpackPolicy | None = None,
    name: str = "into",
    way: str = "file",
) -> Path:
    archive = tmp_path / f"{name}.tar"
    archive.write_bytes(data)
    into = tmp_path / name
    into.mkdir(mode=0o700)
    if way == "stream":  # read once through readinto, as from zstd's pipe (a PITR base)
        with archive.open("rb", buffering=0) as source:
            unpack_stream(source, into, policy=policy, where="test part")
    else:
        unpack(archive, into, policy=policy, where="test part")
    return into


WAYS = pytest.mark.parametrize("way", ["file", "stream"])
"""Rules that must hold for both readers: tarfile's, and the stream reader that parses
the common headers itself and hands the rest of the stream to tarfile at the first
extended header."""


@pytest.mark.parametrize("case", sorted(hostile_cases(Path("/x"))))
@WAYS
def test_each_hostile_member_is_refused_by_name_and_nothing_outside_changes(
    tmp_path: Path, way: str, case: str
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    with pytest.raises(UnsafeMemberError) as refused:
        _unpack(tmp_path, hostile_cases(outside)[case], way=way)
    assert refused.value.exit_code == 3
    assert "test part: member " in refused.value.message and "refused: " in refused.value.message
    assert snapshot(outside) == before


@WAYS
def test_a_member_written_through_a_symlink_of_the_same_archive_is_refused(
    tmp_path: Path, way: str
) -> None:
    data = tar_bytes(
        entry("real", tarfile.DIRTYPE),
        entry("alias", tarfile.SYMTYPE, linkname="real"),
        regular("alias/file.txt"),
    )
    with pytest.raises(UnsafeMemberError, match=r"'alias/file.txt'.*through the symlink"):
        _unpack(tmp_path, data, way=way)


@WAYS
def test_a_symlink_chain_that_climbs_out_is_refused_even_when_each_link_looks_inside(
    tmp_path: Path,
    way: str,
) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    # d/l -> .. is the root; x -> d/l/.. is lexically "d", really the root's parent.
    chain = tar_bytes(
        entry("d", tarfile.DIRTYPE),
        entry("d/l", tarfile.SYMTYPE, linkname=".."),
        entry("x", tarfile.SYMTYPE, linkname="d/l/.."),
    )
    with pytest.raises(UnsafeMemberError, match=r"'x'.*leaves the destination"):
        _unpack(tmp_path, chain, way=way)
    # The same, with the link that makes it escape coming later in the archive.
    later = tar_bytes(
        entry("d", tarfile.DIRTYPE),
        entry("x", tarfile.SYMTYPE, linkname="d/l/.."),
        entry("d/l", tarfile.SYMTYPE, linkname=".."),
    )
    with pytest.raises(UnsafeMemberError, match=r"'x'.*symlinks unpacked after it"):
        _unpack(tmp_path, later, name="second", way=way)
    assert snapshot(outside) == before


@WAYS
def test_hard_links_only_to_regular_files_already_unpacked(tmp_path: Path, way: str) -> None:
    ahead = tar_bytes(entry("early", tarfile.LNKTYPE, linkname="later.txt"), regular("later.txt"))
    with pytest.raises(UnsafeMemberError, match="already unpacked"):
        _unpack(tmp_path, ahead, name="a", way=way)
    to_link = tar_bytes(
        regular("f.txt"),
        entry("s", tarfile.SYMTYPE, linkname="f.txt"),
        entry("h", tarfile.LNKTYPE, linkname="s"),
    )
    with pytest.raises(UnsafeMemberError, match="regular file"):
        _unpack(tmp_path, to_link, name="b", way=way)


@WAYS
def test_setuid_setgid_and_sticky_bits_are_dropped_unless_preserved(
    tmp_path: Path, way: str
) -> None:
    data = tar_bytes(
        regular("bin/su", mode=0o4755),
        regular("bin/wall", mode=0o2755),
        entry("shared", tarfile.DIRTYPE, mode=0o1777),
        regular("plain", mode=0o640),
    )
    dropped = _unpack(tmp_path, data, name="a", way=way)
    assert stat.S_IMODE((dropped / "bin/su").stat().st_mode) == 0o755
    assert stat.S_IMODE((dropped / "bin/wall").stat().st_mode) == 0o755
    assert stat.S_IMODE((dropped / "shared").stat().st_mode) == 0o777
    assert stat.S_IMODE((dropped / "plain").stat().st_mode) == 0o640
    kept = _unpack(tmp_path, data, UnpackPolicy(preserve_special=True), name="b", way=way)
    assert stat.S_IMODE((kept / "bin/su").stat().st_mode) == 0o4755
    assert stat.S_IMODE((kept / "shared").stat().st_mode) == 0o1777


@WAYS
def test_a_legitimate_tree_round_trips_exactly(tmp_path: Path, way: str) -> None:
    """With a long and a non-ASCII name midway (PAX headers: the stream reader hands the
    rest of the stream to tarfile there), a hard link to a file unpacked before them."""
    source = tmp_path / "site"
    (source / "conf").mkdir(parents=True)
    (source / "empty").mkdir()
    (source / "ro").mkdir()
    (source / "conf" / "app.ini").write_text("[db]\n")
    (source / "conf" / "app.ini").chmod(0o664)
    (source / "ro" / "frozen.txt").write_text("frozen\n")
    (source / "ro" / "frozen.txt").chmod(0o444)
    (source / "data.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    os.link(source / "data.bin", source / "data-again.bin")
    (source / "current").symlink_to("conf/app.ini")
    (source / "conf" / "up").symlink_to("../data.bin")
    (source / "dangling").symlink_to("not/yet/there")
    (source / "conf" / ("long-" * 30)).write_text("long\n")
    (source / "conf" / "é.txt").write_text("accent\n")
    (source / "ro").chmod(0o555)
    for path in [*source.rglob("*"), source]:
        os.utime(path, (1_600_000_000.25, 1_600_000_000.25), follow_symlinks=False)
    archive = tmp_path / "site.tar"
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(source, arcname="site")
    into = tmp_path / "into"
    into.mkdir(mode=0o700)
    if way == "stream":
        with archive.open("rb", buffering=0) as stream:
            summary = unpack_stream(stream, into, where="test")
    else:
        summary = unpack(archive, into, where="test")
    assert summary.top_level == ["site"] and summary.hardlinks == 1
    assert snapshot(into / "site") == snapshot(source)
    assert (into / "site" / "data.bin").stat().st_ino == (
        into / "site" / "data-again.bin"
    ).stat().st_ino


@WAYS
def test_not_a_tar_is_a_verification_failure(tmp_path: Path, way: str) -> None:
    with pytest.raises(VerificationError, match="not a valid tar"):
        _unpack(tmp_path, b"\x00garbage" * 200, way=way)


def test_a_stream_cut_inside_a_member_is_not_a_valid_tar(tmp_path: Path) -> None:
    data = tar_bytes(regular("a.txt", b"a" * 5000), regular("b.txt", b"b" * 5000))
    for cut in (700, 512 * 12 + 100, 512 * 13):  # in a file, in the next header, after it
        with pytest.raises(VerificationError, match="not a valid tar"):
            _unpack(tmp_path, data[:cut], name=f"cut-{cut}", way="stream")
    with pytest.raises(VerificationError, match="not a valid tar"):
        _unpack(tmp_path, b"", name="empty", way="stream")


def test_a_stream_ends_at_the_end_of_archive_block(tmp_path: Path) -> None:
    """What follows the two zero blocks is left to the caller (it drains and measures it)."""
    data = tar_bytes(regular("a.txt", b"a" * 100)) + b"trailing bytes"
    archive = tmp_path / "a.tar"
    archive.write_bytes(data)
    into = tmp_path / "into"
    into.mkdir()
    with archive.open("rb", buffering=0) as source:
        assert unpack_stream(source, into, where="test").files == 1
    assert (into / "a.txt").read_bytes() == b"a" * 100


@given(st.text(alphabet="ab./\x00", max_size=24))
def test_an_accepted_member_name_always_stays_inside_the_destination(name: str) -> None:
    try:
        parts = member_parts(name)
    except UnsafeName:
        assert name.startswith("/") or "\x00" in name or ".." in name.split("/")
        return
    joined = os.path.normpath(Path("/dest", *parts))
    assert joined == "/dest" or joined.startswith("/dest/")
    assert all(part not in ("", ".", "..") and "/" not in part for part in parts)
    assert member_parts("/".join(parts)) == parts


@given(st.lists(st.sampled_from(["a", "b", ".", "..", ""]), max_size=8))
def test_names_with_a_dot_dot_component_are_always_refused(components: list[str]) -> None:
    name = "/".join(components)
    if ".." in components:
        with pytest.raises(UnsafeName):
            member_parts(name)


def _target_with_tree(tmp_path: Path) -> tuple[Path, Path]:
    tree = tmp_path / "tree"
    (tree / "tmp" / "app").mkdir(parents=True)
    (tree / "tmp" / "app" / "config.ini").write_text("restored\n")
    target = tmp_path / "target"
    target.mkdir()
    return tree, target


def test_a_symlink_planted_as_a_folder_of_the_target_is_refused(tmp_path: Path) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    tree, target = _target_with_tree(tmp_path)
    (target / "tmp").symlink_to(outside)
    with pytest.raises(UnsafeTargetError, match="tmp is a symbolic link in the target"):
        move_into_place(tree, target, overwrite=True)
    assert snapshot(outside) == before
    assert (tree / "tmp" / "app" / "config.ini").exists(), "nothing moved"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (target / "tmp").unlink()
    (target / "tmp").symlink_to(elsewhere)
    assert move_into_place(tree, target, overwrite=False, follow_symlinks=True) == 1
    assert (elsewhere / "app" / "config.ini").read_text() == "restored\n"


def test_a_symlink_planted_as_a_file_is_replaced_never_written_through(tmp_path: Path) -> None:
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    tree, target = _target_with_tree(tmp_path)
    (target / "tmp" / "app").mkdir(parents=True)
    (target / "tmp" / "app" / "config.ini").symlink_to(outside / "victim.txt")
    with pytest.raises(FileExistsRefusal, match="already exist"):
        move_into_place(tree, target, overwrite=False)
    assert move_into_place(tree, target, overwrite=True) == 1
    restored = target / "tmp" / "app" / "config.ini"
    assert not restored.is_symlink() and restored.read_text() == "restored\n"
    assert snapshot(outside) == before


def test_a_target_path_through_a_symlink_is_refused_unless_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafeTargetError, match="alias is a symbolic link"):
        check_target_path(
            tmp_path / "alias" / "restore", what="--target-dir", follow_symlinks=False
        )
    assert (
        check_target_path(tmp_path / "alias" / "restore", what="--target-dir", follow_symlinks=True)
        == tmp_path / "real" / "restore"
    )
    assert (
        check_target_path(tmp_path / "new" / "x", what="--target-dir", follow_symlinks=False)
        == tmp_path / "new" / "x"
    )


def test_no_source_file_extracts_with_tarfile_or_passes_filter() -> None:
    """Every unpack goes through reprise.restore.unpack: no call depends on Python 3.11.4+
    (filter=) or on tarfile's own extraction rules."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attribute = node.func.attr
                has_filter = any(keyword.arg == "filter" for keyword in node.keywords)
                if attribute in ("extractall", "unpack_archive") or (
                    attribute == "extract" and has_filter
                ):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {attribute}")
            if isinstance(node, ast.Attribute) and node.attr in (
                "extraction_filter",
                "data_filter",
                "tar_filter",
                "fully_trusted_filter",
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {node.attr}")
    assert offenders == []


@pytest.mark.parametrize(
    ("case", "member", "rule"),
    [
        ("infinite mtime", pax_member("f", {"mtime": b"inf"}), "modification time"),
        ("NaN mtime", pax_member("f", {"mtime": b"nan"}), "modification time"),
        ("mtime beyond time_t", pax_member("f", {"mtime": b"1e30"}), "modification time"),
        (
            "folder mtime beyond time_t",
            pax_member("d", {"mtime": b"-1e30"}, kind=tarfile.DIRTYPE),
            "modification time",
        ),
        (
            "symlink mtime beyond time_t",
            pax_member("s", {"mtime": b"1" + b"0" * 19}, kind=tarfile.SYMTYPE, linkname="f"),
            "modification time",
        ),
        (
            "GNU sparse 0.0 of 1 TiB",
            pax_member(
                "f",
                {
                    "GNU.sparse.size": str(2**40).encode(),
                    "GNU.sparse.numblocks": b"1",
                    "GNU.sparse.offset": str(2**40 - 1).encode(),
                    "GNU.sparse.numbytes": b"1",
                },
            ),
            "sparse files are refused",
        ),
        (
            "GNU sparse type S",
            pax_member("f", {}, kind=tarfile.GNUTYPE_SPARSE),
            "sparse files are refused",
        ),
        ("name component over 255 bytes", pax_member("d/" + "n" * 256, {}), "255 bytes"),
        ("folder more than 256 deep", pax_member("d/" * 300 + "f", {}), "256 folders deep"),
        (
            "symlink target over 4095 bytes",
            pax_member("s", {}, kind=tarfile.SYMTYPE, linkname="a/" * 2100),
            "4095 bytes",
        ),
    ],
)
@WAYS
def test_times_sizes_and_names_no_system_call_can_take_are_refused_before_any_write(
    tmp_path: Path, way: str, case: str, member: bytes, rule: str
) -> None:
    """Each would otherwise end as a traceback (OverflowError, ValueError), an unrelated
    "disk" error, a half-moved tree, or (sparse) a disk filled from a few bytes of archive."""
    with pytest.raises(UnsafeMemberError, match=rule) as refused:
        _unpack(tmp_path, member, way=way)
    assert refused.value.exit_code == 3, case
    assert list((tmp_path / "into").iterdir()) == [], case


@pytest.mark.parametrize(
    ("records", "shown"),
    [
        ({"uid": str(2**40).encode()}, "1099511627776:"),
        ({"uid": b"-5"}, "-5:"),
        ({"gid": str(2**32 - 1).encode()}, ":4294967295"),
    ],
)
@WAYS
def test_owners_outside_the_id_range_are_refused_when_owners_are_applied(
    tmp_path: Path, way: str, records: dict[str, bytes], shown: str
) -> None:
    member = pax_member("f", {"uname": b"", "gname": b"", **records})
    with pytest.raises(UnsafeMemberError, match=f"owner .*{shown}.* out of range"):
        _unpack(tmp_path, member, UnpackPolicy(restore_owners=True), way=way)
    assert (_unpack(tmp_path, member, name="ignored", way=way) / "f").read_bytes() == b"x"


def test_an_owner_name_with_a_nul_byte_falls_back_to_the_numeric_id(tmp_path: Path) -> None:
    member = pax_member(
        "f", {"uname": b"ro\x00ot", "gname": b"x\x00", "uid": b"4242", "gid": b"4343"}
    )
    into = _unpack(tmp_path, member, UnpackPolicy(restore_owners=os.geteuid() == 0))
    if os.geteuid() == 0:
        assert ((into / "f").stat().st_uid, (into / "f").stat().st_gid) == (4242, 4343)


@WAYS
def test_a_damaged_sparse_map_is_an_invalid_tar_not_a_crash(tmp_path: Path, way: str) -> None:
    # Python 3.11's GNU sparse 1.0 parser raises a bare ValueError on a map without "\n".
    member = pax_member(
        "f",
        {
            "GNU.sparse.major": b"1",
            "GNU.sparse.minor": b"0",
            "GNU.sparse.name": b"big",
            "GNU.sparse.realsize": str(2**33).encode(),
        },
        content=b"1",
    )
    with pytest.raises(VerificationError, match="not a valid tar") as refused:
        _unpack(tmp_path, member, way=way)
    assert refused.value.exit_code == 3


def test_a_link_through_a_missing_folder_is_checked_past_it(tmp_path: Path) -> None:
    """'etc/../d/l/..' does not resolve inside the private folder (no etc there), but once
    merged into a target that has an etc folder it climbs out through d/l -> '..'; every
    component after a missing one is checked too, as os.path.realpath does."""
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    data = tar_bytes(
        entry("d", tarfile.DIRTYPE),
        entry("d/l", tarfile.SYMTYPE, linkname=".."),
        entry("x", tarfile.SYMTYPE, linkname="etc/../d/l/../outside/victim.txt"),
    )
    with pytest.raises(UnsafeMemberError, match=r"'x'.*leaves the destination"):
        _unpack(tmp_path, data)
    later = tar_bytes(
        entry("d", tarfile.DIRTYPE),
        entry("x", tarfile.SYMTYPE, linkname="etc/../d/l/.."),
        entry("d/l", tarfile.SYMTYPE, linkname=".."),
    )
    with pytest.raises(UnsafeMemberError, match=r"'x'.*symlinks unpacked after it"):
        _unpack(tmp_path, later, name="second")
    fine = _unpack(
        tmp_path,
        tar_bytes(entry("d", tarfile.DIRTYPE), entry("x", tarfile.SYMTYPE, linkname="etc/../d")),
        name="fine",
    )
    assert (fine / "x").readlink() == Path("etc/../d")
    assert snapshot(outside) == before


def _collapse_then_climb(depth: int) -> str:
    """Lexically inside ('a' repeated, then as many '..'), really outside once 'a' is a link
    to '.': every 'a' collapses, every '..' climbs."""
    return "a/" * depth + "../" * (depth + 1) + "outside/victim.txt"


def test_a_second_archive_cannot_turn_the_first_ones_links_outward(tmp_path: Path) -> None:
    """A forged manifest may list two files parts unpacked into one folder: the second's
    'd/a -> .' would make the first's link climb out, so the whole folder is re-checked."""
    outside = sentinel(tmp_path / "outside")
    before = snapshot(outside)
    first = tmp_path / "first.tar"
    first.write_bytes(
        tar_bytes(
            entry("d", tarfile.DIRTYPE),
            entry("x", tarfile.SYMTYPE, linkname="d/" + _collapse_then_climb(3)),
        )
    )
    second = tmp_path / "second.tar"
    second.write_bytes(tar_bytes(entry("d/a", tarfile.SYMTYPE, linkname=".")))
    into = tmp_path / "into"
    into.mkdir(mode=0o700)
    unpack(first, into, where="part 1")
    with pytest.raises(UnsafeMemberError, match=r"part 2: member 'x' refused: .*leaves"):
        unpack(second, into, where="part 2")
    assert snapshot(outside) == before


def test_links_of_a_tree_built_from_archives_in_different_folders_are_checked_together(
    tmp_path: Path,
) -> None:
    """A base backup's 'pg_wal/a/…/..' link and its pg_wal tar's 'a -> .' are each fine
    alone (each unpacker sees its own folder); check_symlinks on the whole tree refuses."""
    tree = tmp_path / "data"
    (tree / "pg_wal").mkdir(parents=True, mode=0o700)
    base = tmp_path / "base.tar"
    base.write_bytes(
        tar_bytes(
            entry("pg_wal", tarfile.DIRTYPE, mode=0o700),
            entry(
                "postgresql.auto.conf",
                tarfile.SYMTYPE,
                linkname="pg_wal/" + _collapse_then_climb(4),
            ),
        )
    )
    wal = tmp_path / "pg_wal.tar"
    wal.write_bytes(tar_bytes(entry("a", tarfile.SYMTYPE, linkname=".")))
    unpack(base, tree, where="base")
    unpack(wal, tree / "pg_wal", where="wal")
    with pytest.raises(UnsafeMemberError, match=r"'postgresql.auto.conf' refused: .*leaves"):
        check_symlinks(tree, where="backup X")
    check_symlinks(tree / "pg_wal", where="only pg_wal")  # inside pg_wal, all fine


def test_a_link_whose_target_cannot_be_looked_at_is_refused_not_assumed_inside(
    tmp_path: Path,
) -> None:
    """Folders deep enough that root + target exceed PATH_MAX: lstat fails with
    ENAMETOOLONG where the kernel, walking relative to the link, would not."""
    names = [f"{index:02d}" + "n" * 250 for index in range(16)]  # + the root: > 4096
    deep = "/".join(names)
    data = tar_bytes(
        regular(deep + "/f"),
        entry(deep + "/l", tarfile.SYMTYPE, linkname=".."),
        entry("x", tarfile.SYMTYPE, linkname=deep + "/l/f"),
    )
    with pytest.raises(UnsafeMemberError, match=r"'x' refused: its target cannot be checked"):
        _unpack(tmp_path, data)
