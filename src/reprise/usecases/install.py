"""`reprise install systemd`: the systemd unit that runs `reprise serve` for the plan,
rendered from the plan (what it may write, whether it reads home folders), then printed or
written, reloaded and enabled."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError, OperationError, RepriseError, option
from reprise.paths import SYSTEM_STATE_DIR
from reprise.security import ensure_owner_only_writable, write_private_file

if TYPE_CHECKING:
    from reprise.plan.loader import LoadedPlan
    from reprise.plan.model import Plan

__all__ = ["SystemdInstall", "SystemdRequest", "Unit", "install_systemd", "render_units"]

UNIT_DIR = Path("/etc/systemd/system")
UNIT_MODE = 0o644
SERVICE = "reprise.service"

HOMES = (Path("/home"), Path("/root"), Path("/run/user"))
"""What ``ProtectHome=`` hides."""

TEMPORARY = (Path("/tmp"), Path("/var/tmp"))  # noqa: S108 - what PrivateTmp= replaces
"""What ``PrivateTmp=`` replaces with folders of the service's own."""

HOME_READERS = frozenset({"command", "postgres", "postgres_physical"})
"""Kinds (checks, backup sources, steps) that run programs reading the running user's home:
ssh its keys and known hosts, libpq ``~/.pgpass`` and ``~/.pg_service.conf``."""

_USER = re.compile(r"^[a-z_][a-z0-9_-]*\$?$")
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class SystemdRequest:
    """Who the service runs as (None: root), where units go, whether to enable it, and how
    systemd starts Reprise (None: this very program)."""

    user: str | None = None
    unit_dir: Path = UNIT_DIR
    enable: bool = True
    command: list[str] | None = None


@dataclass(frozen=True)
class Unit:
    """One unit file: its name and its text."""

    name: str
    text: str


@dataclass
class SystemdInstall:
    """What was written, and whether systemd took it (``error`` says why not)."""

    units: list[Unit]
    written: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)
    enabled: bool = False
    error: RepriseError | None = None


def reprise_command() -> list[str]:
    """How systemd starts this Reprise: the ``reprise`` program being run, else the one on
    PATH, else this Python with ``-m reprise``. Symbolic links are kept (a link in
    /usr/local/bin survives an upgrade of what it points to)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "reprise" and os.access(argv0, os.X_OK):
        return [str(argv0.absolute())]
    found = shutil.which("reprise")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "reprise"]


def _check_text(value: str, what: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InputError(
            f"{what} {value!r} holds a control character, which a unit file cannot carry",
            hint="rename it",
        )
    return value


def _quote(word: str, *, exec_line: bool = False) -> str:
    """``word`` as one systemd word: ``%`` (specifiers) doubled, ``$`` too on an Exec line
    (variables), and double quotes when it holds anything but plain characters."""
    word = word.replace("%", "%%")
    if exec_line:
        word = word.replace("$", "$$")
    if _SAFE_WORD.match(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _service_user(name: str | None) -> pwd.struct_passwd | None:
    """The account the service runs as (None: root), which must exist here."""
    if name is None or name == "root":
        return None
    if not _USER.match(name):
        raise InputError(f"{name!r} is not a user name", hint="give an existing account's name")
    if name == "nobody":  # systemd warns too: what nobody owns, every such service can change
        raise InputError(
            "the service cannot run as 'nobody', which other programs share",
            hint="create a system user of its own (adduser --system reprise)",
        )
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise InputError(
            f"there is no user {name!r} on this host",
            hint=f"create it (adduser --system {name}) or choose another",
        ) from None


def _state_dir(plan: Plan, user: pwd.struct_passwd | None) -> tuple[Path, Path | None]:
    """The state directory the service will use, and the ``$REPRISE_STATE_DIR`` the unit
    must set so that the service finds the state the CLI finds here: the variable of this
    environment (a plan may read it, ``${REPRISE_STATE_DIR:-…}``), else, when the plan does
    not name its state directory, the default of the service's user."""
    configured = os.environ.get("REPRISE_STATE_DIR")
    pinned = Path(configured).expanduser().absolute() if configured else None
    if plan.state.dir is not None:
        return plan.state.dir, pinned
    if pinned is None:
        pinned = SYSTEM_STATE_DIR if user is None else Path(user.pw_dir) / ".local/state/reprise"
    return pinned, pinned


def _sqlite_dir(plan: Plan) -> Path | None:
    """The folder of a SQLite state database named by ``state.url``."""
    url = plan.state.url or ""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    return Path(path).parent if path.startswith("/") else None


def _writable(plan: Plan, state: Path) -> list[Path]:
    folders = [state]
    database = _sqlite_dir(plan)
    if database is not None:
        folders.append(database)
    folders += [repo.path for repo in plan.repositories.values() if repo.kind == "local"]
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)


def _under(path: Path | str, folders: tuple[Path, ...]) -> bool:
    text = str(path)
    return any(text == str(folder) or text.startswith(f"{folder}/") for folder in folders)


def _under_home(path: Path | str) -> bool:
    return _under(path, HOMES)


def _excerpt(text: str, width: int = 60) -> str:
    """``text`` on one short line: it goes into a comment of the unit."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _home_reason(loaded: LoadedPlan, needed: list[Path]) -> str | None:
    """Why the service must see home folders (read-only), or None when it need not."""
    for path in needed:
        if _under_home(path):
            return f"{path} is under a home folder"
    for value in _walk(loaded.plan.model_dump()):
        if isinstance(value, dict) and value.get("kind") in HOME_READERS:
            return (
                f"the plan runs {value['kind']} checks, backups or steps, whose programs "
                "read ~/.ssh or ~/.pgpass"
            )
        if isinstance(value, Path | str) and _under_home(value):
            return f"the plan names {_excerpt(str(value))}, under a home folder"
    return None


def _documentation() -> str | None:
    """The guide in a source checkout (a wheel does not ship the docs)."""
    guide = Path(__file__).resolve().parents[3] / "docs" / "service.md"
    return guide.as_uri() if guide.is_file() else None


def render_units(loaded: LoadedPlan, request: SystemdRequest) -> list[Unit]:
    """The units for ``loaded``'s plan (InputError for an unknown user or a path a unit
    cannot carry)."""
    from jinja2 import Environment, StrictUndefined

    user = _service_user(request.user)
    plan_path = loaded.path.resolve()
    command = request.command or reprise_command()
    state, pinned = _state_dir(loaded.plan, user)
    writable = _writable(loaded.plan, state)
    for path in [plan_path, *writable]:
        _check_text(str(path), "the path")
    for word in command:
        _check_text(word, "the command word")
    exec_start = [*command, "--plan", str(plan_path), "serve"]
    reason = _home_reason(loaded, [plan_path, *writable, Path(command[0])])
    environment = [_quote(f"REPRISE_STATE_DIR={pinned}")] if pinned else []
    in_tmp = next((path for path in [plan_path, *writable] if _under(path, TEMPORARY)), None)
    template = (resources.files("reprise.scaffold") / "systemd" / f"{SERVICE}.j2").read_text(
        encoding="utf-8"
    )
    jinja = Environment(  # noqa: S701 - a unit file, not HTML: nothing to escape
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True
    )
    text = jinja.from_string(template).render(
        plan=plan_path,
        documentation=_documentation(),
        exec_start=" ".join(_quote(word, exec_line=True) for word in exec_start),
        user=None if user is None else user.pw_name,
        environment=environment,
        read_write_paths=" ".join(_quote(f"-{path}") for path in writable),
        protect_home="read-only" if reason else "yes",
        private_tmp="no" if in_tmp else "yes",
        private_tmp_reason=(
            f"The service shares /tmp: {in_tmp} is there (move it, then install again)."
            if in_tmp
            else "A /tmp of its own (the throwaway PostgreSQL of drills lives there)."
        ),
        protect_home_reason=(
            f"Home folders read-only: {reason}."
            if reason
            else "Home folders hidden: nothing in the plan needs them."
        ),
    )
    return [Unit(SERVICE, text)]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)


def _systemd_running() -> bool:
    """sd_booted(3): whether this host was booted with systemd as PID 1."""
    return Path("/run/systemd/system").is_dir()


def _enable(run: Runner) -> OperationError | None:
    """``systemctl daemon-reload`` then ``enable``; the error to report, if any."""
    later = f"systemctl daemon-reload && systemctl enable --now {SERVICE}"
    if shutil.which("systemctl") is None or not _systemd_running():
        return OperationError(
            f"the unit is written but not enabled: systemd is not running on this host "
            f"(PID 1 is {_pid1()})",
            hint=f"on the host that boots with systemd, run: {later}",
        )
    for args in (["systemctl", "daemon-reload"], ["systemctl", "enable", SERVICE]):
        try:
            result = run(args)
        except (OSError, subprocess.SubprocessError) as error:
            return OperationError(f"{' '.join(args)} failed: {error}", hint=f"run: {later}")
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip() or f"exit {result.returncode}"
            return OperationError(f"{' '.join(args)} failed: {detail}", hint=f"run: {later}")
    return None


def _pid1() -> str:
    try:
        return Path("/proc/1/comm").read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def _check_unit_dir(folder: Path) -> None:
    if not folder.is_dir():
        raise InputError(
            f"{folder} is not a folder",
            hint=f"create it, or choose another with {option('unit_dir')}",
        )
    # systemd runs what these files say as root: only root (or us) may change them.
    ensure_owner_only_writable(folder, "unit folder")
    if not os.access(folder, os.W_OK):
        raise InputError(
            f"cannot write to {folder}",
            hint=f"run as root, or print the unit with {option('print')}",
        )


def install_systemd(
    loaded: LoadedPlan, request: SystemdRequest, run: Runner = _run
) -> SystemdInstall:
    """Write the units (mode 0644) into ``request.unit_dir``, then reload systemd and
    enable the service unless ``request.enable`` is false. Raises InputError before writing
    anything; a failure of systemd comes back in ``error`` after the files are written."""
    units = render_units(loaded, request)
    _check_unit_dir(request.unit_dir)
    result = SystemdInstall(units)
    for unit in units:
        path = request.unit_dir / unit.name
        existed = path.exists()
        try:
            write_private_file(path, unit.text.encode(), mode=UNIT_MODE)
        except OSError as error:
            raise OperationError(
                f"{path}: cannot write the unit ({error.strerror})",
                hint="check the folder's free space and permissions",
            ) from None
        (result.replaced if existed else result.written).append(path)
    if request.enable:
        result.error = _enable(run)
        result.enabled = result.error is None
    return result
