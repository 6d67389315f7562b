"""Red-team tests for issue 21's root-run pieces: scripts/install.sh and `reprise doctor`.

Each test plays someone who is not root (a local user, the ``postgres`` user, a database
superuser who sets archive_command) and asserts what the project's rules promise: trust
comes from the plan, never from a file others can write; nothing follows a symbolic link
it did not create; a file that decides what runs as root is writable by root alone; bad
input gets a clear refusal (never exit 70) and loses nothing.

One install (about 20 s) and one archiving scratch server for the module; every tree,
group and server is removed whatever happens.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import secrets
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reprise.pg.scratch import ConnectionInfo, ScratchPostgres
from tests.support.backups import World
from tests.support.packaging import CHECKOUT, built_wheel
from tests.support.pitr import (
    archiving_server,
    give_to_server_user,
    physical_source,
    server_side_reprise,
    shared_world,
    switch_and_wait,
)

SCRIPT = Path(os.environ.get("REPRISE_INSTALL_SCRIPT", str(CHECKOUT / "scripts" / "install.sh")))
"""The script under attack (a patched copy when REPRISE_INSTALL_SCRIPT names one)."""
INTERNAL_ERROR = 70

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="attacks on root-run code: run the tests as root"),
]


# ---------------------------------------------------------------------------------------
# install.sh


@dataclass(frozen=True)
class Tree:
    """A throwaway root-owned tree standing for /, with a group name no host has."""

    root: Path
    group: str

    def path(self, name: str) -> Path:
        return (
            self.root
            / {
                "prefix": "opt/reprise",
                "bindir": "bin",
                "datadir": "share",
                "fishdir": "fish",
                "etcdir": "etc/reprise",
                "statedir": "var/lib/reprise",
                "unitdir": "units",
            }[name]
        )

    def variables(self) -> dict[str, str]:
        names = ("prefix", "bindir", "datadir", "fishdir", "etcdir", "statedir", "unitdir")
        return {f"REPRISE_{name.upper()}": str(self.path(name)) for name in names}


def make_tree() -> Tree:
    root = Path(tempfile.mkdtemp(prefix="reprise-attack-", dir="/tmp"))
    root.chmod(0o755)
    for folder in ("opt", "bin", "share", "etc", "var/lib", "units"):
        (root / folder).mkdir(mode=0o755, parents=True)
    return Tree(root, f"rpa{secrets.token_hex(4)}")


def install_script(
    tree: Tree, *args: str, group: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "--group", group or tree.group, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd="/",
        env={**os.environ, **tree.variables()},
    )


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def remove_group(name: str) -> None:
    if not _group_exists(name):
        return
    for member in grp.getgrnam(name).gr_mem:
        subprocess.run(["gpasswd", "-d", member, name], capture_output=True, check=False)
    subprocess.run(["groupdel", name], capture_output=True, check=False)


def remove_tree(tree: Tree) -> None:
    remove_group(tree.group)
    shutil.rmtree(tree.root, ignore_errors=True)


def nobody() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


def postgres() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no 'postgres' user on this host")


def attrs(path: Path) -> tuple[int, int, int, bytes]:
    status = path.lstat()
    content = path.read_bytes() if stat.S_ISREG(status.st_mode) else b""
    return stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid, content


def victim(tree: Tree, name: str = "victim") -> Path:
    """A root-only file outside every prefix, that nothing may touch."""
    path = tree.root / name
    path.write_text("precious\n")
    path.chmod(0o600)
    return path


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def installed() -> Iterator[Tree]:
    postgres()
    tree = make_tree()
    try:
        first = install_script(tree, "--wheel", str(built_wheel()), "--pg-user", "postgres")
        assert first.returncode == 0, _output(first)
        yield tree
    finally:
        remove_tree(tree)


def test_hostile_option_values_are_refused_before_any_change() -> None:
    tree = make_tree()
    marker = tree.root / "ran"
    hostile = [
        ("--prefix", "/tmp/a b"),
        ("--prefix", "/tmp/a\nb"),
        ("--prefix", "-rf"),
        ("--prefix", "relative/path"),
        ("--prefix", f"/tmp/$(touch {marker})"),
        ("--etcdir", "/tmp/../etc"),
        ("--statedir", "/"),
        ("--unitdir", "/tmp/`id`"),
        ("--group", "-rf"),
        ("--group", "a b"),
        ("--group", f"x;touch {marker}"),
        ("--group", "x\n"),
        ("--group", ""),
        ("--pg-user", "postgres;id"),
        ("--pg-user", "--help"),
        ("--example", "../../etc/passwd"),
    ]
    try:
        before = sorted(str(path) for path in tree.root.rglob("*"))
        for flag, value in hostile:
            args = ["bash", str(SCRIPT), flag, value]
            if flag != "--group":
                args += ["--group", tree.group]
            result = subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                cwd="/",
                env={**os.environ, **tree.variables()},
            )
            assert result.returncode == 2, (flag, value, _output(result))
            assert "install.sh: error:" in result.stderr, (flag, value, _output(result))
        assert sorted(str(path) for path in tree.root.rglob("*")) == before
        assert not marker.exists()
        assert not _group_exists(tree.group)
    finally:
        remove_tree(tree)


def _fake_python(folder: Path, marker: Path) -> Path:
    """An 'interpreter' that records who ran it, then fails."""
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    python = folder / "python3"
    python.write_text(f"#!/bin/sh\nid -u >> {marker}\nexit 1\n")
    python.chmod(0o755)
    return python


def test_a_python_others_can_write_is_never_run_as_root() -> None:
    """--python is checked for its folder, not for the file: a user who owns (or may
    write) the interpreter decides what root runs, at the first version probe."""
    tree = make_tree()
    marker = tree.root / "ran-as"
    try:
        owned = _fake_python(tree.root / "py-owned", marker)
        os.chown(owned, nobody().pw_uid, nobody().pw_gid)
        writable = _fake_python(tree.root / "py-writable", marker)
        writable.chmod(0o777)
        for python in (owned, writable):
            result = install_script(tree, "--python", str(python), "--no-systemd")
            assert result.returncode == 2, _output(result)
            assert str(python) in result.stderr, _output(result)
            assert not marker.exists(), f"{python} ran as uid {marker.read_text().split()}"
    finally:
        remove_tree(tree)


def test_a_wheel_others_can_write_is_refused(installed: Tree) -> None:
    """Whoever may change the wheel between its checksum and pip decides what root
    installs (and the postgres user then runs)."""
    wheel = built_wheel()
    owned_dir = installed.root / "download-owned"
    owned_dir.mkdir(mode=0o755)
    owned = owned_dir / wheel.name
    shutil.copy2(wheel, owned)
    os.chown(owned, nobody().pw_uid, nobody().pw_gid)
    open_dir = installed.root / "download-open"
    open_dir.mkdir(mode=0o755)
    os.chown(open_dir, nobody().pw_uid, nobody().pw_gid)
    in_open = open_dir / wheel.name
    shutil.copy2(wheel, in_open)
    try:
        for candidate in (owned, in_open):
            result = install_script(installed, "--wheel", str(candidate), "--pg-user", "postgres")
            assert result.returncode == 2, _output(result)
            assert "--wheel" in result.stderr, _output(result)
    finally:
        shutil.rmtree(owned_dir, ignore_errors=True)
        shutil.rmtree(open_dir, ignore_errors=True)


def test_completion_and_man_folders_others_can_write_are_refused_or_repaired(
    installed: Tree,
) -> None:
    """root's bash sources the completion script; a folder others can write above it lets
    them swap it for their own code."""
    completions = installed.path("datadir") / "bash-completion" / "completions"
    man1 = installed.path("datadir") / "man" / "man1"
    completions.chmod(0o777)
    os.chown(man1, nobody().pw_uid, nobody().pw_gid)
    try:
        result = install_script(installed, "--wheel", str(built_wheel()), "--pg-user", "postgres")
        if result.returncode != 2:
            for folder in (completions, man1):
                status = folder.stat()
                assert status.st_uid == 0 and not status.st_mode & 0o022, (
                    f"{folder} kept uid {status.st_uid} mode {oct(status.st_mode)}; "
                    + _output(result)
                )
    finally:
        completions.chmod(0o755)
        os.chown(man1, 0, 0)


def test_what_postgres_and_others_changed_is_repaired_without_following_links(
    installed: Tree,
) -> None:
    """postgres plants a link in wal/ and opens wal/ to all; someone made .env writable by
    the group (postgres is in it); a venv file became group-writable; the unit file is a link to a
    file outside the tree. A re-run repairs the modes and writes through no link."""
    pg = postgres()
    target = victim(installed)
    before = attrs(target)
    wal = installed.path("statedir") / "repository" / "wal"
    planted = wal / "planted"
    planted.symlink_to(target)
    os.lchown(planted, pg.pw_uid, pg.pw_gid)
    wal.chmod(0o777)
    env = installed.path("etcdir") / ".env"
    env.chmod(0o660)  # root's, writable by the group: postgres could write it
    venv_file = installed.path("prefix") / "pyvenv.cfg"
    venv_file.chmod(0o664)
    unit = installed.path("unitdir") / "reprise.service"
    unit_text = unit.read_bytes()
    unit.unlink()
    unit.symlink_to(target)
    try:
        result = install_script(installed, "--wheel", str(built_wheel()), "--pg-user", "postgres")
        assert attrs(target) == before, _output(result)
        assert result.returncode != INTERNAL_ERROR, _output(result)
        assert stat.S_IMODE(wal.stat().st_mode) == 0o700 and wal.stat().st_uid == pg.pw_uid
        assert (stat.S_IMODE(env.stat().st_mode), env.stat().st_uid) == (0o640, 0)
        assert not venv_file.stat().st_mode & 0o022
        if result.returncode == 0:
            assert not unit.is_symlink(), _output(result)
        else:
            assert "symbolic link" in result.stderr, _output(result)
    finally:
        planted.unlink(missing_ok=True)
        if unit.is_symlink():
            unit.unlink()
            unit.write_bytes(unit_text)
            unit.chmod(0o644)


def test_keys_another_user_owns_are_not_adopted(installed: Tree) -> None:
    """recipients.txt owned by another user: whoever owns it chose who can decrypt every
    backup. A re-run must not make it root's (and trusted) in silence: refused, naming
    the file, which is left as it was for the administrator to examine."""
    recipients = installed.path("etcdir") / "keys" / "recipients.txt"
    os.chown(recipients, nobody().pw_uid, -1)
    before = attrs(recipients)
    try:
        result = install_script(installed, "--wheel", str(built_wheel()), "--pg-user", "postgres")
        assert result.returncode == 2, _output(result)
        assert str(recipients) in result.stderr, _output(result)
        assert attrs(recipients) == before
    finally:
        os.chown(recipients, 0, -1)


@pytest.mark.parametrize("where", ["man page", "keys"])
def test_a_link_in_place_of_a_file_or_folder_is_refused_untouched(
    installed: Tree, where: str
) -> None:
    target = victim(installed, f"victim-{where.replace(' ', '-')}")
    if where == "keys":
        target.unlink()
        target.mkdir(mode=0o700)
        (target / "inside").write_text("precious\n")
        place = installed.path("etcdir") / "keys"
    else:
        place = installed.path("datadir") / "man" / "man1" / "reprise.1"
    before = attrs(target)
    aside = place.with_name(place.name + ".aside")
    place.rename(aside)
    place.symlink_to(target)
    try:
        result = install_script(installed, "--wheel", str(built_wheel()), "--pg-user", "postgres")
        assert result.returncode not in (0, INTERNAL_ERROR), _output(result)
        assert "symbolic link" in result.stderr, _output(result)
        assert attrs(target) == before
        if where == "keys":
            assert attrs(target / "inside")[:3] == (0o644, 0, 0)
    finally:
        place.unlink()
        aside.rename(place)


def test_an_existing_group_with_other_members_is_refused() -> None:
    """--group names a group that already lets another user in: that user would read the
    plan, .env and the signing key. Refused before any change, naming who is in it."""
    tree = make_tree()
    group = f"rpo{secrets.token_hex(4)}"
    subprocess.run(["groupadd", group], check=True, capture_output=True)
    try:
        subprocess.run(["gpasswd", "-a", "nobody", group], check=True, capture_output=True)
        # Debian's Python, except that it cannot build the environment: without a refusal
        # the run gets past every check and fails (exit 1) at its first change.
        folder = tree.root / "py"
        folder.mkdir(mode=0o755)
        python = folder / "python3"
        python.write_text(
            '#!/bin/sh\n[ "$1 $2" = "-m venv" ] && exit 1\nexec /usr/bin/python3 "$@"\n'
        )
        python.chmod(0o755)
        result = install_script(tree, "--python", str(python), group=group)
        assert result.returncode == 2, _output(result)
        assert "nobody" in result.stderr, _output(result)
    finally:
        remove_group(group)
        remove_tree(tree)


def test_uninstall_removes_only_what_install_made() -> None:
    """A virtual environment install.sh never made (no record) is not deleted; --purge
    through a root link removes the link, never what it points to."""
    tree = make_tree()
    try:
        foreign = tree.path("prefix")
        foreign.mkdir()
        (foreign / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (foreign / "someone-elses").write_text("data\n")
        elsewhere = tree.root / "real-etc"
        elsewhere.mkdir(mode=0o755)
        (elsewhere / "reprise.yaml").write_text("precious\n")
        tree.path("etcdir").symlink_to(elsewhere)
        result = install_script(tree, "--uninstall", "--purge")
        assert result.returncode == 0, _output(result)
        assert (elsewhere / "reprise.yaml").read_text() == "precious\n"
        assert (foreign / "someone-elses").exists(), _output(result)
    finally:
        remove_tree(tree)


# ---------------------------------------------------------------------------------------
# reprise doctor


@dataclass
class Archiving:
    world: World
    server: ScratchPostgres
    info: ConnectionInfo
    marks: Path
    """A folder the server's user owns, where archive_commands leave their marks."""


@pytest.fixture(scope="module")
def archiving() -> Iterator[Archiving]:
    pg = postgres()
    world = shared_world("reprise-attack-doctor-")
    server = archiving_server(world)
    try:
        info = server.start()
        world.write_plan(physical_source(info))
        assert world.reprise("repo", "init").returncode == 0
        give_to_server_user(world.root)
        switch_and_wait(info.dsn())
        marks = world.root / "marks"
        marks.mkdir(mode=0o755)
        os.chown(marks, pg.pw_uid, pg.pw_gid)
        yield Archiving(world, server, info, marks)
    finally:
        server.stop()
        shutil.rmtree(world.root, ignore_errors=True)


def _sql(info: ConnectionInfo, *statements: str) -> None:
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def _archive_command(info: ConnectionInfo) -> str:
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        row = connection.execute("SHOW archive_command").fetchone()
    assert row is not None
    return str(row[0])


def _set_archive_command(info: ConnectionInfo, command: str) -> None:
    quoted = command.replace("'", "''")
    _sql(info, f"ALTER SYSTEM SET archive_command = '{quoted}'", "SELECT pg_reload_conf()")
    deadline = time.monotonic() + 10
    while _archive_command(info) != command and time.monotonic() < deadline:
        time.sleep(0.05)


def _hostile_command(archiving: Archiving, before: str) -> str:
    """The good archive_command with shell text a database superuser slipped in front."""
    plan = shlex.quote(str(archiving.world.plan))
    return f'REPRISE_MARK="{before}" {server_side_reprise()} --plan {plan} wal push %p'


def _recording_command(archiving: Archiving, name: str) -> tuple[str, Path]:
    """An archive_command whose program is a `reprise` the server's user owns and that
    writes who ran it, behind shell text that writes it too: (command, the record)."""
    pg = postgres()
    folder = archiving.marks / name
    folder.mkdir(mode=0o755)
    record = folder / "who"
    program = folder / "reprise"
    program.write_text(f"#!/bin/sh\nid -u >> {record}\nexit 1\n")
    program.chmod(0o755)
    for path in (folder, program):
        os.chown(path, pg.pw_uid, pg.pw_gid)
    plan = shlex.quote(str(archiving.world.plan))
    return f'REPRISE_MARK="$(id -u >> {record})" {program} --plan {plan} wal push %p', record


def _doctor(
    world: World, *args: str, timeout: float = 300
) -> tuple[int, list[dict[str, Any]], str]:
    result = world.reprise("doctor", "--json", *args, timeout=timeout)
    assert result.returncode != INTERNAL_ERROR, result.stderr
    checks = json.loads(result.stdout) if result.stdout.strip() else []
    return result.returncode, checks, result.stderr


@pytest.mark.postgres
def test_hostile_only_ids_are_refused_clearly(archiving: Archiving) -> None:
    for name in ("[/]", "", "$(id)", "wal.server-user;id", "../repository.local"):
        result = archiving.world.reprise("doctor", "--only", name)
        assert result.returncode == 2, (name, result.stderr)
        assert "no check named" in result.stderr, (name, result.stderr)


@pytest.mark.postgres
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0"])
def test_a_timeout_that_is_no_duration_is_refused(archiving: Archiving, value: str) -> None:
    """--timeout nan passes `timeout <= 0`, then waits forever or crashes on int(nan);
    inf crashes on int(inf) once the segment arrives."""
    result = archiving.world.reprise(
        "doctor", "--only", "wal.archive-command", "--timeout", value, timeout=120
    )
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert "timeout" in result.stderr


@pytest.mark.postgres
def test_shell_text_in_archive_command_never_runs_as_root(archiving: Archiving) -> None:
    good = _archive_command(archiving.info)
    marks = archiving.marks / "who"
    _set_archive_command(archiving.info, _hostile_command(archiving, f"$(id -u >> {marks})"))
    try:
        _code, checks, _ = _doctor(archiving.world, "--only", "wal.server-user")
        assert checks and checks[0]["id"] == "wal.server-user"
        uids = marks.read_text().split() if marks.exists() else []
        assert "0" not in uids, f"doctor ran the archive_command's shell text as root: {uids}"
    finally:
        _set_archive_command(archiving.info, good)
        marks.unlink(missing_ok=True)


@pytest.mark.postgres
def test_a_hanging_archive_command_is_bounded_by_the_timeout(archiving: Archiving) -> None:
    """The archive_command's program hangs (a `reprise` that sleeps, and shell text that
    does): doctor --timeout 3 gives its verdict in seconds, not minutes."""
    pg = postgres()
    good = _archive_command(archiving.info)
    hanging = archiving.marks / "hanging" / "reprise"
    hanging.parent.mkdir(mode=0o755)
    hanging.write_text("#!/bin/sh\nsleep 30\n")
    hanging.chmod(0o755)
    for path in (hanging.parent, hanging):
        os.chown(path, pg.pw_uid, pg.pw_gid)
    plan = shlex.quote(str(archiving.world.plan))
    commands = [
        f"{hanging} --plan {plan} wal push %p",
        _hostile_command(archiving, "$(sleep 30)"),
    ]
    try:
        for command in commands:
            _set_archive_command(archiving.info, command)
            started = time.monotonic()
            code, checks, _ = _doctor(
                archiving.world, "--only", "wal.server-user", "--timeout", "3"
            )
            elapsed = time.monotonic() - started
            assert elapsed < 25, f"{command}: doctor --timeout 3 took {elapsed:.0f} s"
            if command.startswith(str(hanging)):
                assert code == 1 and checks[0]["status"] == "fail", checks
    finally:
        _set_archive_command(archiving.info, good)
        shutil.rmtree(hanging.parent, ignore_errors=True)


@pytest.mark.postgres
def test_links_planted_in_the_repository_are_not_followed_by_the_probes(
    archiving: Archiving,
) -> None:
    world = archiving.world
    pg = postgres()
    target = world.root / "victim"
    target.mkdir(mode=0o700)
    wal_root = world.repository / "wal"
    (source_wal,) = [path for path in wal_root.iterdir() if path.is_dir()]
    aside = source_wal.with_name(source_wal.name + ".aside")
    source_wal.rename(aside)
    source_wal.symlink_to(target)
    os.lchown(source_wal, pg.pw_uid, pg.pw_gid)  # planted by the wal/ folder's owner
    doctor_folder = world.repository / "doctor"
    doctor_folder.write_text("an object named like the probe folder\n")
    try:
        code, checks, _ = _doctor(world, "--only", "wal.push-access", "--only", "repository")
        assert code == 1
        found = {check["id"]: check for check in checks}
        assert found["wal.push-access"]["status"] == "fail"
        assert "symbolic link" in found["wal.push-access"]["detail"]
        assert found["repository.local"]["status"] == "fail"
        assert doctor_folder.read_text() == "an object named like the probe folder\n"
        doctor_folder.unlink()
        doctor_folder.symlink_to(target)
        code, checks, _ = _doctor(world, "--only", "repository")
        assert code == 1 and "symbolic link" in checks[0]["detail"], checks
        assert list(target.iterdir()) == []
    finally:
        if doctor_folder.is_symlink() or doctor_folder.exists():
            doctor_folder.unlink()
        source_wal.unlink()
        aside.rename(source_wal)
        shutil.rmtree(target, ignore_errors=True)


@contextlib.contextmanager
def _shadowed_catalog(info: ConnectionInfo, *definitions: str) -> Iterator[None]:
    """Objects in ``public`` that shadow pg_catalog's for every new session of the
    database: what its owner or a superuser can do (and, before PostgreSQL 15, any role
    for its own sessions with ALTER ROLE … SET search_path)."""
    try:
        _sql(info, *definitions, "ALTER DATABASE postgres SET search_path = public, pg_catalog")
        yield
    finally:
        _sql(
            info,
            "ALTER DATABASE postgres RESET search_path",
            "DROP FUNCTION IF EXISTS public.current_setting(text)",
            "DROP VIEW IF EXISTS public.pg_stat_archiver",
        )


@pytest.mark.postgres
def test_a_server_that_lies_about_its_data_directory_never_gets_root(
    archiving: Archiving,
) -> None:
    """doctor asks `SELECT current_setting(...)` unqualified: the database can answer
    data_directory = / (no postmaster.pid there: doctor falls back to the folder's owner,
    root) and an archive_command of its choice, which doctor then runs in a shell as root.
    A remote or compromised server must never get a command run as root on this host."""
    command, marks = _recording_command(archiving, "lied")
    command = command.replace("'", "''")
    shadow = (
        "CREATE FUNCTION public.current_setting(text) RETURNS text LANGUAGE sql AS $$ "
        "SELECT CASE $1 WHEN 'data_directory' THEN '/' "
        f"WHEN 'archive_command' THEN '{command}' "
        "ELSE pg_catalog.current_setting($1) END $$"
    )
    try:
        with _shadowed_catalog(archiving.info, shadow):
            _code, checks, _ = _doctor(archiving.world, "--only", "wal.server-user")
        uids = marks.read_text().split() if marks.exists() else []
        assert "0" not in uids, f"doctor ran the server's archive_command as root: {uids}"
        assert checks[0]["id"] == "wal.server-user", checks  # a verdict, whichever
    finally:
        shutil.rmtree(marks.parent, ignore_errors=True)


@pytest.mark.postgres
def test_odd_pg_stat_archiver_values_get_a_clear_verdict(archiving: Archiving) -> None:
    """A pg_stat_archiver that answers a 100 kB WAL name and an infinite failure time."""
    shadow = (
        "CREATE VIEW public.pg_stat_archiver AS SELECT "
        "repeat('F', 100000) AS last_archived_wal, NULL::timestamptz AS last_archived_time, "
        "'000000010000000000000001' AS last_failed_wal, "
        "'infinity'::timestamptz AS last_failed_time"
    )
    with _shadowed_catalog(archiving.info, shadow):
        code, checks, _ = _doctor(
            archiving.world, "--only", "wal.archive-command", "--timeout", "20"
        )
    assert code in (0, 1) and checks[0]["id"] == "wal.archive-command", checks
    assert checks[0]["detail"], checks


@pytest.mark.postgres
def test_a_forged_postmaster_pid_never_makes_doctor_run_as_root(archiving: Archiving) -> None:
    """The data directory is the server user's: that user (or a database superuser through
    COPY … TO PROGRAM) can put a root process's pid in postmaster.pid. doctor must not take
    that process for the server and run the archive_command's program as root. Last in the
    module: PostgreSQL rechecks its lock file every minute and stops when it changed."""
    good = _archive_command(archiving.info)
    command, marks = _recording_command(archiving, "forged")
    _set_archive_command(archiving.info, command)
    pid_file = archiving.server.datadir / "postmaster.pid"
    original = pid_file.read_bytes()
    root_process = subprocess.Popen(["sleep", "60"])
    try:
        lines = original.split(b"\n")
        pid_file.write_bytes(b"\n".join([str(root_process.pid).encode(), *lines[1:]]))
        try:
            _code, checks, _ = _doctor(archiving.world, "--only", "wal.server-user")
        finally:
            pid_file.write_bytes(original)
        uids = marks.read_text().split() if marks.exists() else []
        assert "0" not in uids, f"doctor ran the archive_command as root: {uids}"
        # Refused, or the forged pid ignored and the server's real user used instead.
        assert set(uids) <= {str(postgres().pw_uid)}, uids
        assert checks[0]["id"] == "wal.server-user", checks
    finally:
        pid_file.write_bytes(original)
        root_process.kill()
        root_process.wait()
        _set_archive_command(archiving.info, good)
        shutil.rmtree(marks.parent, ignore_errors=True)
