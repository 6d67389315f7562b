"""``wal.server-user`` and ``wal.push-access``.

``wal.push-access`` does, as whoever runs it, what ``wal push`` needs before it archives
anything: read the plan, its ``.env``, the public keys and the signing key, and write (then
delete) a probe object in the source's ``wal/`` folder of the repository.

``wal.server-user`` runs ``wal.push-access`` for real as the operating-system user the
server runs as (the owner of its postmaster process, with that process's groups and
environment), through the very program its archive_command starts: no reasoning on modes,
the kernel decides."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.doctor.archiving import settings
from reprise.doctor.checks import Check, Context, Status, Text, problem, text, worst

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob

SERVER_USER = "wal.server-user"
PUSH_ACCESS = "wal.push-access"
PROBE_TIMEOUT = 120.0


@dataclass(frozen=True)
class OsUser:
    """Who a server process runs as: user, groups, environment."""

    uid: int
    gid: int
    groups: list[int]
    name: str
    environment: dict[str, str] = field(default_factory=dict)


def server_user(data_directory: Path) -> OsUser | None:
    """The user, groups and environment of the postmaster of ``data_directory`` (its pid
    is the first line of postmaster.pid), else the data directory's owner with that user's
    groups; None when the data directory is not on this host."""
    try:
        descriptor = os.open(data_directory / "postmaster.pid", os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor) as handle:
            pid = int(handle.read(4096).split()[0])
        # The server's user writes postmaster.pid: believe it only for a process of the
        # data directory's owner that works in that data directory (the postmaster).
        process = Path(f"/proc/{pid}")
        if (
            process.stat().st_uid != data_directory.stat().st_uid
            or (process / "cwd").resolve() != data_directory.resolve()
        ):
            raise ValueError("postmaster.pid names another process")
        status = Path(f"/proc/{pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields["Uid"].split()[1])
        gid = int(fields["Gid"].split()[1])
        groups = [int(item) for item in fields.get("Groups", "").split()]
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        environment = dict(
            item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item
        )
        return OsUser(uid, gid, groups, _name(uid), environment)
    except (OSError, ValueError, KeyError, IndexError):
        pass
    try:
        owner = data_directory.stat()
    except OSError:
        return None
    name = _name(owner.st_uid)
    groups = os.getgrouplist(name, owner.st_gid) if name != str(owner.st_uid) else []
    return OsUser(owner.st_uid, owner.st_gid, groups, name)


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_server_user(context: Context) -> list[Check]:
    """The server's user can do what ``wal push`` needs, through the configured program."""
    title = text("title.wal.server-user")
    jobs = context.archiving()
    if not jobs:
        return [Check(SERVER_USER, "skip", title, text("detail.no_physical"))]
    results = [_as_server_user(context, job) for job in jobs]
    status = worst([status for status, _detail, _fix in results])
    chosen = next(
        (item for item in results if item[0] == status), results[0]
    )  # the worst one speaks
    return [Check(SERVER_USER, status, title, chosen[1], chosen[2])]


def _as_server_user(context: Context, job: BackupJob) -> tuple[Status, Text, Text | None]:
    found = settings(context, job)
    if found.error:
        return "skip", text("detail.source_error", source=job.name, error=found.error), None
    command = found.command
    if command is None:
        return "skip", text("detail.server_user.no_command", source=job.name), None
    if found.data_directory is None:
        return "skip", text("detail.server_user.no_datadir", source=job.name), None
    user = server_user(found.data_directory)
    if user is None:
        return "skip", text("detail.server_user.remote", source=job.name), None
    if user.uid == 0 or user.gid == 0:
        return (
            "fail",
            text("detail.server_user.root", source=job.name, directory=str(found.data_directory)),
            text("fix.server_user.program"),
        )
    if os.geteuid() not in (0, user.uid):
        return "skip", text("detail.server_user.not_root", source=job.name, user=user.name), None
    environment = user.environment or {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": _home(user.uid),
        "LANG": "C.UTF-8",
    }
    # No shell: the archive_command is the database's text; only its words are run.
    argv = [*command.words, "doctor", "--only", PUSH_ACCESS, "--json"]
    try:
        ran = _run(
            argv,
            min(PROBE_TIMEOUT, max(context.timeout, 10.0)),
            cwd=str(found.data_directory),
            env={**environment, **command.environment},
            **_as(user),
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return (
            "fail",
            text("detail.server_user.ran", source=job.name, user=user.name, error=str(error)),
            text("fix.server_user.program"),
        )
    verdict = _verdict(ran.stdout)
    if verdict is None:
        tail = (
            " ".join((ran.stderr or ran.stdout).strip().splitlines()[-3:])
            or f"exit {ran.returncode}"
        )
        # 126/127: the shell found no program to run; anything else ran and was refused
        missing = ran.returncode in (126, 127) or "No module named" in ran.stderr
        fix = (
            text("fix.server_user.program")
            if missing
            else text("fix.server_user.access", user=user.name)
        )
        return (
            "fail",
            text("detail.server_user.ran", source=job.name, user=user.name, error=tail),
            fix,
        )
    status, detail = verdict
    if status == "ok":
        return "ok", text("detail.server_user.ok", source=job.name, user=user.name), None
    return (
        status,
        text("detail.server_user.refused", user=user.name, error=detail),
        text("fix.server_user.access", user=user.name),
    )


def _run(argv: list[str], timeout: float, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in its own session; on timeout kill the whole session (a program it
    started keeps no pipe open)."""
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **options,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def _as(user: OsUser) -> dict[str, Any]:
    """subprocess arguments that switch to ``user`` (none when already running as it)."""
    if os.geteuid() != 0:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": user.groups}


def _verdict(output: str) -> tuple[Status, str] | None:
    """The status and detail of ``wal.push-access`` in the probe's JSON output; when the
    probe could not get that far (the plan refused to that user), its failures."""
    try:
        checks = [item for item in json.loads(output) if isinstance(item, dict)]
    except (ValueError, TypeError):
        return None
    found = next((item for item in checks if item.get("id") == PUSH_ACCESS), None)
    if found is None:
        failed = [str(item.get("detail") or "") for item in checks if item.get("status") == "fail"]
        return ("fail", "; ".join(failed)) if failed else None
    status = found.get("status")
    if status not in ("ok", "warn", "fail", "skip"):
        return None
    return status, str(found.get("detail") or "")


def _home(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_dir
    except KeyError:
        return "/"


def check_push_access(context: Context) -> list[Check]:
    """What ``wal push`` needs, as the user running this."""
    title = text("title.wal.push-access", user=_name(os.geteuid()))
    jobs = context.archiving()
    if not jobs:
        return [Check(PUSH_ACCESS, "skip", title, text("detail.no_physical"))]
    for job in jobs:
        try:
            _push_prerequisites(context, job)
        except Exception as error:  # noqa: BLE001 - any refusal is the finding
            message, hint = problem(error)
            return [
                Check(
                    PUSH_ACCESS,
                    "fail",
                    title,
                    text("detail.source_error", source=job.name, error=message),
                    text("fix.wal.settings", hint=hint or "—"),
                )
            ]
    names = ", ".join(job.name for job in jobs)
    return [Check(PUSH_ACCESS, "ok", title, text("detail.push_access.ok", sources=names))]


def _push_prerequisites(context: Context, job: BackupJob) -> None:
    """Raise what ``wal push`` would meet: settings compiled from the plan (which reads
    the public keys and the signing key), the signing key loaded as the archiver loads it,
    and a probe object written, read back and deleted where the WAL goes."""
    from reprise.repository import open_backend
    from reprise.repository.backend import round_trip
    from reprise.repository.keys import age_recipients, load_signing_key
    from reprise.security import create_private_file, make_private_dirs
    from reprise.wal.archive import WAL_ROOT
    from reprise.wal.settings import compile_settings

    compiled = compile_settings(context.loaded, job.name)
    if compiled.signing_key is not None:
        load_signing_key(Path(compiled.signing_key), compiled.readers_group)
    age_recipients(compiled.recipients)
    probe = f"doctor-probe-{secrets.token_hex(6)}"
    if compiled.asynchronous is not None:
        spool = Path(compiled.asynchronous.spool)
        make_private_dirs(spool)
        os.close(create_private_file(spool / f".{probe}"))
        (spool / f".{probe}").unlink()
        return
    backend = open_backend(context.plan, compiled.repository)
    round_trip(backend, f"{WAL_ROOT}/{job.name}")
