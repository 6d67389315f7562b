"""scripts/install.sh, the system install: run as root into a throwaway root-owned tree
(every prefix moved by its flag or variable), then a scratch PostgreSQL running as the
``postgres`` user archives its WAL through the installed command, exactly as printed.

The install (a virtual environment from /usr/bin/python3 with the wheel built from this
checkout, about 20 s) is made once for the module; the tests run in file order and the
last ones uninstall it.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import reprise
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres
from tests.support.completion import complete_in_bash
from tests.support.packaging import CHECKOUT, built_wheel
from tests.support.pitr import switch_and_wait

SCRIPT = CHECKOUT / "scripts" / "install.sh"
SERVICE = "db"  # the filled-in plan's service with the postgres_physical source

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="install.sh installs for the whole host (a group, root-owned folders): run "
        "the tests as root to exercise it",
    ),
]


@dataclass(frozen=True)
class Tree:
    """A throwaway root-owned tree standing for /: every prefix of the install inside."""

    root: Path
    group: str

    @property
    def prefix(self) -> Path:
        return self.root / "opt" / "reprise"

    @property
    def bindir(self) -> Path:
        return self.root / "bin"

    @property
    def datadir(self) -> Path:
        return self.root / "share"

    @property
    def mandir(self) -> Path:
        """The script's default, ``$DATADIR/man`` (not given)."""
        return self.datadir / "man"

    @property
    def fishdir(self) -> Path:
        return self.root / "fish"

    @property
    def completions(self) -> dict[str, Path]:
        """Each shell's completion script, where that shell looks for it."""
        return {
            "bash": self.datadir / "bash-completion" / "completions" / "reprise",
            "zsh": self.datadir / "zsh" / "site-functions" / "_reprise",
            "fish": self.fishdir / "reprise.fish",
        }

    @property
    def etcdir(self) -> Path:
        return self.root / "etc" / "reprise"

    @property
    def statedir(self) -> Path:
        return self.root / "var" / "lib" / "reprise"

    @property
    def unitdir(self) -> Path:
        return self.root / "units"

    @property
    def plan(self) -> Path:
        return self.etcdir / "reprise.yaml"

    @property
    def reprise(self) -> Path:
        return self.bindir / "reprise"

    def variables(self) -> dict[str, str]:
        """The prefixes as environment variables (the group goes as a flag)."""
        return {
            "REPRISE_PREFIX": str(self.prefix),
            "REPRISE_BINDIR": str(self.bindir),
            "REPRISE_DATADIR": str(self.datadir),
            "REPRISE_FISHDIR": str(self.fishdir),
            "REPRISE_ETCDIR": str(self.etcdir),
            "REPRISE_STATEDIR": str(self.statedir),
            "REPRISE_UNITDIR": str(self.unitdir),
        }


def make_tree() -> Tree:
    """A fresh tree under /tmp (root's, 0755) with a group name no host has."""
    root = Path(tempfile.mkdtemp(prefix="reprise-install-", dir="/tmp"))
    root.chmod(0o755)
    for folder in ("opt", "bin", "share", "etc", "var/lib", "units"):
        (root / folder).mkdir(mode=0o755, parents=True)
    return Tree(root, f"rpt{secrets.token_hex(4)}")


def install_script(
    tree: Tree,
    *args: str,
    user: pwd.struct_passwd | None = None,
    pythonpath: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run scripts/install.sh with the tree's prefixes; as ``user`` when given; with
    ``pythonpath`` first on the installed program's import path when given."""
    extra: dict[str, Any] = (
        {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    )
    env = {**os.environ, **tree.variables()}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        ["bash", str(SCRIPT), "--group", tree.group, *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd="/",
        env=env,
        **extra,
    )


def remove_tree(tree: Tree) -> None:
    """Delete the group (postgres out of it first) and the tree, whatever state they are in."""
    members = grp.getgrnam(tree.group).gr_mem if _group_exists(tree.group) else []
    for member in members:
        subprocess.run(["gpasswd", "-d", member, tree.group], capture_output=True, check=False)
    if _group_exists(tree.group):
        subprocess.run(["groupdel", tree.group], capture_output=True, check=False)
    shutil.rmtree(tree.root, ignore_errors=True)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no 'postgres' user on this host (Debian's postgresql package creates it)")


def as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a command as postgres with its groups, as a login or a service manager gives them."""
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
    )


@dataclass
class Installed:
    tree: Tree
    first: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    postgres_user()
    tree = make_tree()
    try:
        first = install_script(tree, "--wheel", str(built_wheel()))
        assert first.returncode == 0, first.stdout + first.stderr
        yield Installed(tree, first)
    finally:
        remove_tree(tree)


def _mode(path: Path) -> tuple[int, str, str]:
    status = path.lstat()
    return (
        stat.S_IMODE(status.st_mode),
        pwd.getpwuid(status.st_uid).pw_name,
        grp.getgrgid(status.st_gid).gr_name,
    )


def snapshot(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry of the tree: mode, owner, group and content (or link target)."""
    found: dict[str, tuple[int, int, int, str]] = {}
    for path in [root, *root.rglob("*")]:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode):
            content = str(path.readlink())
        elif stat.S_ISREG(status.st_mode):
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            content = ""
        found[str(path.relative_to(root))] = (
            stat.S_IMODE(status.st_mode),
            status.st_uid,
            status.st_gid,
            content,
        )
    return found


def printed_setting(output: str, name: str) -> str:
    """The value (quotes included) of a ``name = '…'`` line the script printed."""
    match = re.search(rf"^{name} = ('.*')$", output, re.MULTILINE)
    assert match is not None, output
    return match.group(1)


class ServiceStartedServer(ScratchPostgres):
    """A scratch server with its user's supplementary groups, as systemd or pg_ctlcluster
    start PostgreSQL (ScratchPostgres drops them: a drill's server must read nothing those
    groups may); the archiver gets the group install.sh added postgres to."""

    def _run_as_kwargs(self) -> dict[str, Any]:
        kwargs = super()._run_as_kwargs()
        if kwargs:
            user = pwd.getpwuid(kwargs["user"])
            kwargs["extra_groups"] = os.getgrouplist(user.pw_name, user.pw_gid)
        return kwargs


def test_installed_command_prints_the_version(installed: Installed) -> None:
    tree = installed.tree
    assert tree.reprise.resolve() == (tree.prefix / "bin" / "reprise").resolve()
    result = subprocess.run(
        [str(tree.reprise), "--version"], capture_output=True, text=True, check=True
    )
    assert reprise.__version__ in result.stdout
    built = (tree.prefix / "pyvenv.cfg").read_text()
    assert re.search(r"^executable = /usr/bin/python3", built, re.MULTILINE), built
    # The postgres user runs the very same program.
    as_user = as_postgres(str(tree.reprise), "--version")
    assert as_user.returncode == 0, as_user.stderr
    assert reprise.__version__ in as_user.stdout


def test_layout_gives_postgres_exactly_what_wal_push_needs(installed: Installed) -> None:
    tree, group = installed.tree, installed.tree.group
    assert "postgres" in grp.getgrnam(group).gr_mem
    expected = {
        tree.etcdir: (0o750, "root", group),
        tree.etcdir / "keys": (0o750, "root", group),
        tree.plan: (0o640, "root", group),
        tree.etcdir / ".env": (0o640, "root", group),
        tree.etcdir / "keys" / "recipients.txt": (0o640, "root", group),
        tree.etcdir / "keys" / "signing.key": (0o640, "root", group),
        tree.etcdir / "keys" / "identity.txt": (0o600, "root", "root"),
        tree.statedir: (0o750, "root", group),
        tree.statedir / "state": (0o700, "root", "root"),
        tree.statedir / "repository": (0o750, "root", group),
        tree.statedir / "repository" / "wal": (0o700, "postgres", "postgres"),
        tree.unitdir / "reprise.service": (0o644, "root", "root"),
    }
    assert {path: _mode(path) for path in expected} == expected
    assert f"readers_group: {group}" in tree.plan.read_text()
    env = (tree.etcdir / ".env").read_text()
    assert f"REPRISE_REPOSITORY={tree.statedir / 'repository'}" in env
    # Whatever decides what runs as root is root's and writable by root alone.
    for path in [tree.prefix, *tree.prefix.rglob("*")]:
        status = path.lstat()
        assert status.st_uid == 0, path
        if not stat.S_ISLNK(status.st_mode):
            assert not status.st_mode & 0o022, path
            assert status.st_mode & 0o004, path  # and readable by postgres
    unit = (tree.unitdir / "reprise.service").read_text()
    assert f"ExecStart={tree.reprise} --plan {tree.plan} serve" in unit


def _installed_output(tree: Tree, *args: str) -> str:
    return subprocess.run(
        [str(tree.reprise), *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


#: The first line of each shell's completion script.
FIRST_LINES = {
    "bash": "_reprise_completion() {",
    "zsh": "#compdef reprise",
    "fish": "complete --command reprise --no-files --arguments ",
}


def test_man_page_and_completions_are_installed_for_every_user(installed: Installed) -> None:
    tree = installed.tree
    page = tree.mandir / "man1" / "reprise.1"
    for path in (page, *tree.completions.values()):
        assert _mode(path) == (0o644, "root", "root"), path
    # The page of the installed version, dated when it was installed (not today: a run on
    # another day must not rewrite it).
    text = page.read_text()
    (metadata,) = tree.prefix.glob("lib/python3*/site-packages/reprise_dr-*.dist-info/METADATA")
    installed_on = datetime.fromtimestamp(metadata.stat().st_mtime, UTC)
    assert text.splitlines()[0] == (
        f'.TH REPRISE 1 "{installed_on:%Y-%m-%d}" "reprise {reprise.__version__}" "User Commands"'
    )
    assert text.splitlines()[1:] == _installed_output(tree, "man").splitlines()[1:]
    for shell, path in tree.completions.items():
        script = path.read_text()
        assert script.splitlines()[0].startswith(FIRST_LINES[shell]), (shell, script[:200])
        assert script == _installed_output(tree, "completion", shell), shell


def bash_complete(tree: Tree, line: str) -> list[str]:
    """Complete ``line`` in a real bash with the installed bash script, the installed
    program first on PATH (as tests/integration/test_shell_completion.py drives it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_REPRISE_", "REPRISE_"))}
    env["PATH"] = f"{tree.bindir}:/usr/bin:/bin"
    return complete_in_bash(tree.completions["bash"], line, env, program=tree.reprise)


def test_installed_bash_completion_completes_through_the_installed_program(
    installed: Installed,
) -> None:
    assert bash_complete(installed.tree, "reprise ba") == ["backup"]
    assert bash_complete(installed.tree, "reprise completion ") == ["bash", "zsh", "fish"]


def test_a_man_page_the_installed_program_cannot_print_stops_the_install(
    installed: Installed, tmp_path: Path
) -> None:
    """`reprise man` printing nothing is a broken installed version: exit 1 and say so,
    and leave the page in place."""
    tree = installed.tree
    page = tree.mandir / "man1" / "reprise.1"
    before = page.read_bytes()
    silent = tmp_path / "silent"
    silent.mkdir()
    # sys.argv is not set yet when site imports this: the command line is read from /proc.
    (silent / "sitecustomize.py").write_text(
        "import os\n"
        "if open('/proc/self/cmdline', 'rb').read().split(b'\\0')[-2:] == [b'man', b'']:\n"
        "    os._exit(0)\n"
    )
    broken = install_script(tree, "--wheel", str(built_wheel()), pythonpath=silent)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "'reprise man' printed nothing: the installed Reprise" in broken.stderr
    assert "Fix: install.sh --reinstall" in broken.stderr
    assert page.read_bytes() == before


def test_postgres_reads_the_plan_and_signing_key_but_not_the_identity(
    installed: Installed,
) -> None:
    tree = installed.tree
    for readable in (tree.plan, tree.etcdir / ".env", tree.etcdir / "keys" / "signing.key"):
        result = as_postgres("cat", str(readable))
        assert result.returncode == 0, (readable, result.stderr)
    denied = as_postgres("cat", str(tree.etcdir / "keys" / "identity.txt"))
    assert denied.returncode != 0
    assert "Permission denied" in denied.stderr
    state = as_postgres("ls", str(tree.statedir / "state"))
    assert state.returncode != 0
    validated = as_postgres(str(tree.reprise), "--plan", str(tree.plan), "plan", "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_wal_push_says_what_postgres_cannot_read(installed: Installed) -> None:
    """The two failures of the issue's manual install that showed as "internal error … bug
    in Reprise": a .env and a plan folder that postgres cannot read."""
    tree = installed.tree
    segment = tree.root / "segments" / "000000010000000000000099"
    segment.parent.mkdir(mode=0o755)
    segment.write_bytes(b"\0" * 1024)
    segment.chmod(0o644)
    push = [str(tree.reprise), "--plan", str(tree.plan), "wal", "push", str(segment)]
    env_file = tree.etcdir / ".env"
    env_file.chmod(0o600)
    try:
        unreadable_env = as_postgres(*push)
    finally:
        env_file.chmod(0o640)
    assert unreadable_env.returncode == 2, unreadable_env.stderr
    assert f"{env_file}: cannot read the .env file (Permission denied)" in unreadable_env.stderr
    assert "internal error" not in unreadable_env.stderr

    user = postgres_user()
    without_group = subprocess.run(
        push,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
    )
    assert without_group.returncode == 2, without_group.stderr
    assert f"{tree.plan}: permission denied while reading the plan" in without_group.stderr
    assert "internal error" not in without_group.stderr
    assert not list((tree.statedir / "repository" / "wal").rglob("*99-*"))


FILLED_IN_PLAN = """\
# The starting plan, filled in as the next steps say: the PostgreSQL source is this server.
version: 1
organisation: {{name: Install test, language: en, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 4h, uptime: 99.9%}}
roles:
  - {{id: ops, title: Operations, permission: admin, members: []}}
repositories:
  local: {{kind: local, path: "${{REPRISE_REPOSITORY}}"}}
keys:
  readers_group: {group}
  recipients_file: keys/recipients.txt
  identity: keys/identity.txt
  signing_key: keys/signing.key
state:
  dir: ${{REPRISE_STATE_DIR}}
services:
  - id: {service}
    name: Database
    category: base de données
    criticality: critical
    owner: ops
    backups:
      - kind: postgres_physical
        dsn: "${{DB_DSN}}"
        repository: local
        schedule: "@daily"
        retention: {{keep_daily: 7}}
    drill: {{enabled: false}}
"""


@pytest.fixture(scope="module")
def server(installed: Installed) -> Iterator[ConnectionInfo]:
    """A scratch PostgreSQL running as postgres whose archive_command is the line the
    script printed, and the plan filled in to name it as its source (its DSN in .env)."""
    tree = installed.tree
    command = printed_setting(installed.first.stdout, "archive_command")
    # The archiver's settings cache goes to the tree rather than to postgres's real home.
    cache = tree.root / "cache"
    cache.mkdir(mode=0o700)
    user = postgres_user()
    os.chown(cache, user.pw_uid, user.pw_gid)
    scratch = ServiceStartedServer(
        settings={
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"'REPRISE_CACHE_DIR={cache} {command[1:]}",
            "archive_timeout": "'0'",
        }
    )
    with scratch as info:
        # Written in place: the files keep the owner and mode the script gave them.
        with tree.plan.open("w") as plan:
            plan.write(FILLED_IN_PLAN.format(group=tree.group, service=SERVICE))
        with (tree.etcdir / ".env").open("a") as env:
            env.write(f"DB_DSN={info.dsn()}\n")
        initialised = subprocess.run(
            [str(tree.reprise), "--plan", str(tree.plan), "repo", "init", "local"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert initialised.returncode == 0, initialised.stdout + initialised.stderr
        # The unit is rendered from the plan (what it may write): install again after
        # changing it, as docs/service.md says.
        again = install_script(tree, "--wheel", str(built_wheel()))
        assert again.returncode == 0, again.stdout + again.stderr
        assert [line for line in again.stdout.splitlines() if line.startswith("  + ")] == [
            f"  + wrote {tree.unitdir / 'reprise.service'} (reprise serve for {tree.plan})"
        ], again.stdout
        yield info


@pytest.mark.postgres
def test_postgres_archives_wal_through_the_printed_archive_command(
    installed: Installed, server: ConnectionInfo
) -> None:
    tree = installed.tree
    assert printed_setting(installed.first.stdout, "archive_command") == (
        f"'{tree.reprise} --plan {tree.plan} wal push %p'"
    )
    assert printed_setting(installed.first.stdout, "restore_command").startswith(
        f"'{tree.reprise} --plan {tree.plan} wal fetch %f %p"
    )
    segment = switch_and_wait(server.dsn(), timeout=90)
    second = switch_and_wait(server.dsn(), timeout=90)  # the lean door, from the cache
    listed = subprocess.run(
        [str(tree.reprise), "--plan", str(tree.plan), "wal", "list", SERVICE, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    timelines = json.loads(listed.stdout)
    assert any(line["first"] <= segment and second <= line["last"] for line in timelines), (
        segment,
        second,
        timelines,
    )
    archived = list((tree.statedir / "repository" / "wal").rglob(f"{segment}-*.zst.age"))
    assert len(archived) == 1
    assert _mode(archived[0])[1] == "postgres"


@pytest.mark.postgres
def test_doctor_passes_on_the_installation(installed: Installed, server: ConnectionInfo) -> None:
    tree = installed.tree
    doctor = subprocess.run(
        [str(tree.reprise), "--plan", str(tree.plan), "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if "No such option: --json" in doctor.stderr:
        pytest.xfail("reprise doctor does not take --json yet (a placeholder is installed)")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_a_second_run_changes_nothing(installed: Installed) -> None:
    tree = installed.tree
    before = snapshot(tree.root)
    generated = [tree.mandir / "man1" / "reprise.1", *tree.completions.values()]
    assert {str(path.relative_to(tree.root)) for path in generated} <= set(before)
    again = install_script(tree, "--wheel", str(built_wheel()))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing changed" in again.stdout
    assert "+ " not in again.stdout
    assert snapshot(tree.root) == before


def test_uninstall_removes_the_program_and_keeps_the_plan_and_state(
    installed: Installed,
) -> None:
    tree = installed.tree
    removed = install_script(tree, "--uninstall")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    for gone in (
        tree.prefix,
        tree.reprise,
        tree.unitdir / "reprise.service",
        tree.mandir / "man1" / "reprise.1",
        *tree.completions.values(),
    ):
        assert not gone.exists() and not gone.is_symlink(), gone
    assert not _group_exists(tree.group)
    assert tree.plan.is_file()
    assert (tree.etcdir / "keys" / "identity.txt").is_file()
    assert (tree.statedir / "repository" / "wal").is_dir()
    assert "--purge" in removed.stdout
    # No file keeps the number of the deleted group, which a later group could get.
    for path in [*tree.etcdir.rglob("*"), *tree.statedir.rglob("*")]:
        gid = path.lstat().st_gid
        assert gid in (0, pwd.getpwnam("postgres").pw_gid), path

    again = install_script(tree, "--uninstall")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing changed" in again.stdout

    purged = install_script(tree, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert not tree.etcdir.exists()
    assert not tree.statedir.exists()


@pytest.fixture
def spare_tree() -> Iterator[Tree]:
    tree = make_tree()
    try:
        yield tree
    finally:
        remove_tree(tree)


def test_a_prefix_owned_by_another_user_is_refused_before_any_change(spare_tree: Tree) -> None:
    nobody = pwd.getpwnam("nobody")
    os.chown(spare_tree.root / "etc", nobody.pw_uid, nobody.pw_gid)
    result = install_script(spare_tree, "--wheel", str(built_wheel()))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{spare_tree.root / 'etc'} (--etcdir {spare_tree.etcdir}) is owned by uid" in (
        result.stderr
    )
    assert "Fix: chown root" in result.stderr
    assert not spare_tree.prefix.exists()
    assert not _group_exists(spare_tree.group)


def test_a_prefix_writable_by_others_is_refused(spare_tree: Tree) -> None:
    (spare_tree.root / "var" / "lib").chmod(0o777)
    result = install_script(spare_tree, "--wheel", str(built_wheel()))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "writable by group or others (mode 777)" in result.stderr
    assert "Fix: chmod go-w" in result.stderr
    assert not spare_tree.prefix.exists()


def test_anyone_but_root_is_refused(spare_tree: Tree) -> None:
    result = install_script(spare_tree, user=postgres_user())
    assert result.returncode == 2, result.stdout + result.stderr
    assert "must run as root" in result.stderr
    assert not spare_tree.prefix.exists()
