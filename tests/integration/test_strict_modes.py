"""StrictModes, as sshd and sudo apply them: the files that decide what Reprise runs (the
plan, its folder, .env, the keys and their folder, the state directory) must be owned by
root or the running user and not writable by group or others; otherwise exit 2 with the
exact command that fixes it. Secret files stay private (0600), or 0640 with the plan's
dedicated readers group, the one supported way to let `postgres` run `wal push`."""

from __future__ import annotations

import contextlib
import grp
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reprise.errors import UnsafePermissionsError
from reprise.security import ensure_owner_only_writable, ensure_private_file
from tests.support.backups import ECHO_SOURCE, World

NOBODY = 65534

SOURCE = ECHO_SOURCE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changes owners: runs as root (CI)")


@pytest.fixture
def ready(world: World, cli: Any) -> World:
    """A plan with keys, a .env and an initialised repository, all as `reprise init` and an
    admin leave them."""
    world.write_plan(SOURCE)
    env = world.plan_dir / ".env"
    env.write_text("SMTP_PASSWORD=secret\n")
    env.chmod(0o600)
    assert cli("--plan", world.plan, "repo", "init").exit_code == 0
    return world


TARGETS: dict[str, Callable[[World], Path]] = {
    "plan file": lambda w: w.plan,
    "plan folder": lambda w: w.plan_dir,
    ".env file": lambda w: w.plan_dir / ".env",
    "keys folder": lambda w: w.plan_dir / "keys",
    "recipients file": lambda w: w.plan_dir / "keys" / "recipients.txt",
    "signing key": lambda w: w.plan_dir / "keys" / "signing.key",
    "age identity": lambda w: w.plan_dir / "keys" / "identity.txt",
}


def _add_mode(path: Path, bits: int) -> None:
    path.chmod(stat.S_IMODE(path.stat().st_mode) | bits)


@pytest.mark.parametrize("role", TARGETS)
@pytest.mark.parametrize(("who", "bits"), [("others", 0o002), ("group", 0o020)])
def test_a_plan_file_writable_by_group_or_others_is_refused_with_the_chmod_to_run(
    ready: World, cli: Any, role: str, who: str, bits: int
) -> None:
    path = TARGETS[role](ready)
    _add_mode(path, bits)
    result = cli("plan", "validate", ready.plan)
    assert result.exit_code == 2, result.stderr
    assert f"the {role} is writable by {who}" in result.stderr
    assert f"Fix: chmod go-w {path}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("role", TARGETS)
def test_a_plan_file_owned_by_another_user_is_refused_with_the_chown_to_run(
    ready: World, cli: Any, role: str
) -> None:
    path = TARGETS[role](ready)
    os.chown(path, NOBODY, -1)
    result = cli("plan", "validate", ready.plan)
    assert result.exit_code == 2, result.stderr
    assert (
        f"the {role} is owned by nobody, not by root or the user running Reprise (root)"
        in result.stderr
    )
    assert f"Fix: chown root {path}" in result.stderr


@pytest.mark.parametrize("role", ["plan folder", "recipients file", "signing key", "keys folder"])
def test_backup_run_refuses_a_world_writable_plan_file_before_doing_anything(
    ready: World, cli: Any, role: str
) -> None:
    path = TARGETS[role](ready)
    _add_mode(path, 0o002)
    result = cli("--plan", ready.plan, "backup", "run", "app")
    assert result.exit_code == 2, result.stderr
    assert f"chmod go-w {path}" in result.stderr
    assert not (ready.repository / "backups").exists()


def test_a_world_writable_recipients_file_is_refused_by_the_real_program(ready: World) -> None:
    recipients = ready.plan_dir / "keys" / "recipients.txt"
    recipients.chmod(0o666)
    recipients.write_text(recipients.read_text() + "age1" + "q" * 58 + "\n")
    result = ready.reprise("backup", "run", "app")
    assert result.returncode == 2, result.stderr
    assert (
        f"{recipients}: the recipients file is writable by group and others (mode 0666)"
        in result.stderr
    )
    assert f"Fix: chmod go-w {recipients}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_group_writable_folder_above_the_plan_is_refused(ready: World, cli: Any) -> None:
    above = ready.root
    _add_mode(above, 0o020)
    result = cli("plan", "validate", ready.plan)
    assert result.exit_code == 2
    assert f"{above}: a folder above the plan folder is writable by group" in result.stderr
    assert f"Fix: chmod go-w {above}" in result.stderr


def test_a_sticky_world_writable_folder_above_the_plan_is_accepted(ready: World, cli: Any) -> None:
    ready.root.chmod(0o1777)  # like /tmp: others cannot replace what they do not own
    assert cli("plan", "validate", ready.plan).exit_code == 0


def test_a_sticky_world_writable_plan_folder_itself_is_refused(ready: World, cli: Any) -> None:
    ready.plan_dir.chmod(0o1777)  # anyone could add a .env or a key file there
    result = cli("plan", "validate", ready.plan)
    assert result.exit_code == 2
    assert "the plan folder is writable by group and others (mode 1777)" in result.stderr


def test_a_plan_reached_through_a_symlink_is_checked_where_it_really_is(
    ready: World, cli: Any, tmp_path: Path
) -> None:
    link = tmp_path / "etc-reprise"
    link.symlink_to(ready.plan_dir)
    os.chown(ready.plan_dir, NOBODY, -1)
    result = cli("plan", "validate", link / "reprise.yaml")
    assert result.exit_code == 2
    assert "is owned by nobody" in result.stderr


def test_a_plan_reached_through_a_symlink_another_user_owns_is_refused(
    ready: World, cli: Any, tmp_path: Path
) -> None:
    # /tmp-like: others cannot replace the link, but its owner can point it elsewhere
    # between the check and the read (fs.protected_symlinks is not always on).
    sticky = tmp_path / "sticky"
    sticky.mkdir(mode=0o1777)
    sticky.chmod(0o1777)
    link = sticky / "etc-reprise"
    link.symlink_to(ready.plan_dir)
    os.lchown(link, NOBODY, -1)
    result = cli("plan", "validate", link / "reprise.yaml")
    assert result.exit_code == 2, result.stdout
    assert (
        f"{link}: a symbolic link on the way to the plan folder is owned by nobody" in result.stderr
    )
    assert f"chown -h root {link}" in result.stderr
    os.lchown(link, 0, -1)
    assert cli("plan", "validate", link / "reprise.yaml").exit_code == 0


def test_a_keys_folder_linked_through_a_group_writable_folder_is_refused(
    ready: World, cli: Any, tmp_path: Path
) -> None:
    keys = ready.plan_dir / "keys"
    real = tmp_path / "vault" / "keys"
    real.parent.mkdir(mode=0o700)
    shutil.move(keys, real)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "keys").symlink_to(real)  # a hop that a group member could swap
    keys.symlink_to(shared / "keys")
    assert cli("plan", "validate", ready.plan).exit_code == 0
    shared.chmod(0o775)
    result = cli("plan", "validate", ready.plan)
    assert result.exit_code == 2, result.stdout
    assert f"{shared}: a folder above the keys folder is writable by group" in result.stderr


def test_a_state_directory_reached_through_another_users_symlink_is_refused(
    ready: World, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real-state"
    real.mkdir(mode=0o700)
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    link = sticky / "state"
    link.symlink_to(real)
    os.lchown(link, NOBODY, -1)
    monkeypatch.setenv("REPRISE_STATE_DIR", str(link))
    result = cli("--plan", ready.plan, "backup", "run", "app")
    assert result.exit_code == 2, result.stdout
    assert "a symbolic link on the way to the state directory is owned by nobody" in result.stderr
    assert not any(real.iterdir())


def test_readable_plan_files_with_default_modes_are_accepted(ready: World, cli: Any) -> None:
    ready.plan.chmod(0o644)  # only writing is refused: a plan may be readable
    ready.plan_dir.chmod(0o755)
    (ready.plan_dir / "keys").chmod(0o755)
    (ready.plan_dir / "keys" / "recipients.txt").chmod(0o644)
    assert cli("plan", "validate", ready.plan).exit_code == 0


@pytest.mark.parametrize("problem", ["world-writable", "group-writable", "foreign-owned"])
def test_an_unsafe_state_directory_is_refused_with_the_fix(
    ready: World, cli: Any, problem: str
) -> None:
    state = Path(os.environ["REPRISE_STATE_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    if problem == "foreign-owned":
        os.chown(state, NOBODY, -1)
        fix = f"chown root {state}"
    else:
        state.chmod(0o777 if problem == "world-writable" else 0o770)
        fix = f"chmod go-w {state}"
    result = cli("--plan", ready.plan, "backup", "run", "app")
    assert result.exit_code == 2, result.stderr
    assert f"{state}: the state directory is " in result.stderr
    assert f"Fix: {fix}" in result.stderr
    assert not (ready.repository / "backups").exists()


def test_a_missing_state_directory_is_created_private(ready: World, cli: Any) -> None:
    state = Path(os.environ["REPRISE_STATE_DIR"])
    shutil.rmtree(state, ignore_errors=True)
    assert cli("--plan", ready.plan, "backup", "run", "app").exit_code == 0
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_the_core_check_names_the_role_and_accepts_a_missing_path(tmp_path: Path) -> None:
    ensure_owner_only_writable(tmp_path / "absent", "signing key")
    target = tmp_path / "recipients.txt"
    target.write_text("age1\n")
    target.chmod(0o646)
    with pytest.raises(UnsafePermissionsError) as refused:
        ensure_owner_only_writable(target, "recipients file")
    assert refused.value.hint == f"chmod go-w {target}"
    assert refused.value.exit_code == 2
    assert "the recipients file is writable by others (mode 0646)" in refused.value.message


# The postgres user and the readers group ------------------------------------------------


@contextlib.contextmanager
def readers_group(name: str = "reprise") -> Iterator[grp.struct_group]:
    """The dedicated group, created for the test when the host has none (removed after)."""
    created = False
    try:
        group = grp.getgrnam(name)
    except KeyError:
        if shutil.which("groupadd") is None:
            pytest.skip("no groupadd to create the readers group")
        subprocess.run(["groupadd", "--system", name], check=True)
        created = True
        group = grp.getgrnam(name)
    try:
        yield group
    finally:
        if created:
            subprocess.run(["groupdel", name], check=False)


def test_a_secret_file_may_be_0640_only_with_the_plans_readers_group(tmp_path: Path) -> None:
    with readers_group() as group:
        key = tmp_path / "signing.key"
        key.write_text("secret")
        key.chmod(0o640)
        os.chown(key, 0, group.gr_gid)
        ensure_private_file(key, "signing key", readers_group=group.gr_name)
        with pytest.raises(UnsafePermissionsError) as refused:
            ensure_private_file(key, "signing key")  # the plan names no readers group
        assert refused.value.hint is not None and refused.value.hint.startswith(f"chmod 600 {key}")
        for mode in (0o660, 0o644, 0o650):  # group-writable, world-readable, executable
            key.chmod(mode)
            with pytest.raises(UnsafePermissionsError):
                ensure_private_file(key, "signing key", readers_group=group.gr_name)
        key.chmod(0o640)
        os.chown(key, 0, 0)  # another group than the readers group
        with pytest.raises(UnsafePermissionsError) as refused:
            ensure_private_file(key, "signing key", readers_group=group.gr_name)
        assert f"chgrp {group.gr_name} {key} && chmod 640 {key}" in str(refused.value.hint)


PHYSICAL_PLAN = """\
version: 1
organisation: {{name: Test, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
repositories:
  local: {{kind: local, path: {repository}}}
keys:
  recipients_file: keys/recipients.txt
  signing_key: keys/signing.key
  readers_group: {group}
services:
  - id: db
    name: Database
    category: base de données
    criticality: critical
    drill: {{enabled: false}}
    backups:
      - kind: postgres_physical
        dsn: "postgresql://backup:${{BACKUP_PASSWORD}}@127.0.0.1:1/postgres"
        repository: local
        schedule: "@daily"
        retention: {{keep_last: 5}}
"""


def _venv_reachable_by(user: str) -> bool:
    probe = subprocess.run(
        ["runuser", "-u", user, "--", sys.executable, "-c", "import reprise"],
        capture_output=True,
        check=False,
        cwd="/",
    )
    return probe.returncode == 0


@pytest.fixture
def postgres_setup(cli: Any) -> Iterator[tuple[Path, grp.struct_group]]:
    """The documented setup (docs/restore.md): the plan, .env and keys owned by root,
    group reprise, 0640 / 0750; the repository root's, with a wal/ folder postgres owns.
    Built under /tmp, because a pytest tmp_path is not traversable by postgres."""
    import pwd

    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user on this host (install Debian's postgresql package)")
    if shutil.which("runuser") is None:
        pytest.skip("runuser is needed to run reprise as postgres")
    if not _venv_reachable_by("postgres"):
        pytest.skip(
            f"{sys.executable} (the venv) is not readable by postgres; the permission "
            "rules are still tested through the core function above"
        )
    with readers_group() as group:
        base = Path(tempfile.mkdtemp(prefix="reprise-strict-"))
        try:
            base.chmod(0o755)
            plan_dir = base / "etc-reprise"
            repository = base / "repository"
            assert cli("init", plan_dir, "--example", "minimal").exit_code == 0
            (plan_dir / "reprise.yaml").write_text(
                PHYSICAL_PLAN.format(repository=repository, group=group.gr_name)
            )
            (plan_dir / ".env").write_text("BACKUP_PASSWORD=s3cret\n")
            (plan_dir / "keys" / "identity.txt").unlink()  # not on a backup host
            for path in [plan_dir, *plan_dir.rglob("*")]:
                os.chown(path, 0, group.gr_gid)
                path.chmod(0o750 if path.is_dir() else 0o640)
            assert cli("--plan", plan_dir, "repo", "init").exit_code == 0
            os.chown(repository, 0, group.gr_gid)  # root's; postgres may only enter it
            repository.chmod(0o750)
            (repository / "wal").mkdir(mode=0o700)  # postgres's: where it archives
            os.chown(repository / "wal", postgres.pw_uid, postgres.pw_gid)
            wal = base / "pg_wal" / "000000010000000000000001"
            wal.parent.mkdir(mode=0o700)
            wal.write_bytes(os.urandom(8192))
            for path in (wal.parent, wal):
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
            yield base, group
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _as_postgres(
    group: grp.struct_group, base: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``reprise ARGS`` run as postgres, a member of the readers group, as PostgreSQL runs
    its archive_command."""
    return subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "-G",
            group.gr_name,
            "--",
            sys.executable,
            "-m",
            "reprise",
            "--plan",
            str(base / "etc-reprise"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C.UTF-8",
            "HOME": str(base),
            "REPRISE_STATE_DIR": str(base / "postgres-state"),
            "REPRISE_CACHE_DIR": str(base / "postgres-cache"),
        },
    )


def test_postgres_in_the_readers_group_can_archive_wal_with_read_only_access(
    postgres_setup: tuple[Path, grp.struct_group],
) -> None:
    base, group = postgres_setup
    result = _as_postgres(
        group, base, "wal", "push", str(base / "pg_wal" / "000000010000000000000001")
    )
    assert result.returncode == 0, result.stderr
    archived = list((base / "repository" / "wal").rglob("000000010000000000000001-*"))
    assert [path.name.endswith(".zst.age") for path in archived].count(True) == 1
    for path in archived:  # the segment (and its signature, if any): postgres's, private
        assert path.stat().st_uid == pwd_uid("postgres")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_postgres_is_refused_when_the_plan_is_group_writable(
    postgres_setup: tuple[Path, grp.struct_group],
) -> None:
    base, group = postgres_setup
    plan = base / "etc-reprise" / "reprise.yaml"
    plan.chmod(0o660)  # any member of the group could change the commands root runs
    result = _as_postgres(
        group, base, "wal", "push", str(base / "pg_wal" / "000000010000000000000001")
    )
    assert result.returncode == 2, result.stderr
    assert f"Fix: chmod go-w {plan}" in result.stderr


def test_postgres_is_refused_a_signing_key_readable_by_others(
    postgres_setup: tuple[Path, grp.struct_group],
) -> None:
    base, group = postgres_setup
    key = base / "etc-reprise" / "keys" / "signing.key"
    key.chmod(0o644)
    result = _as_postgres(group, base, "plan", "validate")
    assert result.returncode == 2, result.stderr
    assert f"chmod 600 {key}" in result.stderr


def test_postgres_is_refused_a_plan_owned_by_another_user(
    postgres_setup: tuple[Path, grp.struct_group],
) -> None:
    base, group = postgres_setup
    plan = base / "etc-reprise" / "reprise.yaml"
    os.chown(plan, NOBODY, group.gr_gid)
    result = _as_postgres(group, base, "plan", "validate")
    assert result.returncode == 2, result.stderr
    assert "not by root or the user running Reprise (postgres)" in result.stderr
    assert f"Fix: chown postgres {plan}" in result.stderr


def pwd_uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid
