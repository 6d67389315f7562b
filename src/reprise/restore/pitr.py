"""Point-in-time recovery: a base backup, then the archived WAL up to a time or its end.

The base backup preceding the target is verified and unpacked; the replay path through
the archive (following timeline switches) is computed before anything starts, so that a
target outside the archive's window or a missing segment is named up front. With
``start``, the recovered instance is started with a restore_command fed by a parallel
fetcher, and the time and LSN actually reached are reported.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from reprise.errors import (
    InputError,
    OperationError,
    RepriseError,
    VerificationError,
    option,
)
from reprise.pg.binaries import find_server
from reprise.pg.scratch import free_port
from reprise.repository import open_repository
from reprise.repository.catalog import CatalogEntry, find_backup, list_backups
from reprise.repository.streams import no_progress
from reprise.restore.choose import choose_job
from reprise.restore.report import Report
from reprise.restore.run import save_failure, save_report, verified_manifest
from reprise.restore.staging import free_space_check
from reprise.wal.archive import WalArchive
from reprise.wal.names import parse_lsn
from reprise.wal.replay import ReplayPath, replay_path
from reprise.wal.spool import Feeder
from reprise.words.format import stamp

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob
    from reprise.plan.model import Plan, Service
    from reprise.restore.staging import PartProgress
    from reprise.store import Store

RECOVERY_TIMEOUT = 6 * 3600
POLL = 0.05
"""Seconds before the first looks at the recovering server (a short recovery ends in a
fraction of a second: a coarser poll would be most of the wait); the wait then grows to
:data:`POLL_MAX`, so a recovery of hours is not asked twenty times a second."""
POLL_MAX = 1.0

logger = logging.getLogger(__name__)


@dataclass
class PitrRequest:
    """What the user asked for."""

    service: str
    source: str | None = None
    backup_id: str | None = None
    at: datetime | None = None
    to_dir: Path | None = None
    start: bool = False
    port: int | None = None
    follow_target_symlinks: bool = False


@dataclass
class PitrPlan:
    """The chosen base backup and the WAL to replay."""

    job: BackupJob
    base: CatalogEntry
    path: ReplayPath
    window: tuple[datetime, datetime | None]
    at: datetime | None
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form of --dry-run."""
        manifest = self.base.manifest
        return {
            "service": manifest.service,
            "source": manifest.source,
            "base_backup": manifest.id,
            "base_time": manifest.finished_at.isoformat(),
            "target": self.at.isoformat() if self.at else "latest",
            "timeline": self.path.timeline,
            "wal_files": len(self.path.files),
            "wal_stored_bytes": sum(item.stored_size for item in self.path.files),
            "window": [moment.isoformat() if moment else None for moment in self.window],
            "steps": self.steps,
        }


def parse_target_time(text: str, timezone: str, *, label: str = "") -> datetime:
    """'2026-05-04 14:03:00+02' (no offset: the plan's time zone); ``label`` names where the
    text was typed, for the error (default: the ``at`` setting)."""
    label = label or option("at")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{label} {text!r}: not a date and time", hint="write it like '2026-05-04 14:03:00+02'"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def current_window(
    plan: Plan, store: Store, service: Service
) -> tuple[datetime, datetime | None] | None:
    """The service's current PITR window (its newest base backup to its newest archived
    segment), or None when it archives no WAL or the archive cannot be read: the SLA, the
    service page and the metrics ask the same question."""
    if not any(entry.takes_wal for entry in service.backups):
        return None
    try:
        return plan_pitr(plan, store, PitrRequest(service=service.id)).window
    except RepriseError as error:
        logger.info("no PITR window for %s: %s", service.id, error.render()[0])
        return None


def _window_text(window: tuple[datetime, datetime | None]) -> str:
    newest = window[1].isoformat(sep=" ", timespec="seconds") if window[1] else "(no WAL)"
    return f"{window[0].isoformat(sep=' ', timespec='seconds')} to about {newest}"


def plan_pitr(plan: Plan, store: Store, request: PitrRequest) -> PitrPlan:
    """Choose the base backup and compute the replay path; refuse impossible targets."""
    job = choose_job(plan, request.service, request.source, physical=True)
    bases = list_backups(store, source=job.name)
    if not bases:
        raise InputError(
            f"{job.name} has no base backup in the catalog",
            hint="run `reprise backup run` for it first",
        )
    archive = WalArchive(open_repository(plan, job.source.repository), job.name)
    files = list(archive.files())
    if request.backup_id is not None:
        base = find_backup(store, request.backup_id)
    elif request.at is not None:
        earlier = [entry for entry in bases if entry.manifest.finished_at <= request.at]
        if not earlier:
            newest = _newest_wal(files)
            raise InputError(
                f"no base backup precedes {request.at.isoformat(sep=' ')}: recovery is "
                f"possible from {_window_text((bases[0].manifest.finished_at, newest))}",
                hint="choose a time inside that window",
            )
        base = earlier[-1]
    else:
        base = bases[-1]
    path = _path_of(base, archive, files, plan)
    window = (bases[0].manifest.finished_at, path.newest_time or base.manifest.finished_at)
    if request.at is not None and window[1] is not None and request.at > window[1]:
        raise InputError(
            f"{request.at.isoformat(sep=' ')} is after the newest archived WAL: "
            f"recovery is possible from {_window_text(window)}",
            hint=f"choose an earlier time, or {option('latest')}",
        )
    if path.missing:
        raise OperationError(
            f"WAL segment {path.missing} is missing from the archive of "
            f"{job.name}: recovery cannot go past "
            f"{path.last_segment.name if path.last_segment else 'the base backup'}"
            f" (archived up to {_window_text(window)})",
            hint="find the segment (pg_wal of the server, another copy) and "
            "push it with `reprise wal push`, or recover to an earlier "
            "time from an older point",
        )
    archive.check_signatures(path.histories + path.files)  # before anything is restored
    pitr = PitrPlan(job, base, path, window, request.at)
    zone, language = plan.organisation.timezone, plan.organisation.language
    target = (
        stamp(request.at, language, zone, seconds=True)
        if request.at
        else "the end of the archived WAL"
    )
    taken = stamp(base.manifest.finished_at, language, zone, seconds=True)
    pitr.steps = [
        f"verify base backup {base.manifest.id} ({taken}) and unpack it",
        f"replay {len(path.files)} archived WAL file(s) on timeline "
        f"{path.timeline} up to {target}, fetched ahead in parallel",
        "promote, report the time and LSN reached",
    ]
    return pitr


def _newest_wal(files: list[Any]) -> datetime | None:
    return max((item.modified for item in files), default=None)


def _path_of(base: CatalogEntry, archive: WalArchive, files: list[Any], plan: Plan) -> ReplayPath:
    from reprise.repository import keys as keyring

    server = base.manifest.server
    size = int(server.get("wal_segment_size") or 16 * 1024 * 1024)
    start_lsn = parse_lsn(server.get("end_lsn") or server["start_lsn"])
    identities: list[Any] = []

    def read_history(item: Any) -> str:
        if not identities:
            identities.extend(keyring.identities(plan.keys))
        return archive.read_small(item, identities).decode("utf-8", "replace")

    return replay_path(
        files,
        start_timeline=int(server.get("start_timeline") or 1),
        start_segno=start_lsn // size,
        segment_size=size,
        read_history=read_history,
    )


@dataclass
class Reached:
    """Where recovery ended."""

    time: datetime | None
    lsn: str
    timeline: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "time": self.time.isoformat() if self.time else None,
            "lsn": self.lsn,
            "timeline": self.timeline,
        }


def _server_user() -> tuple[int, int] | None:
    from reprise.pg.scratch import server_os_user

    user = server_os_user()
    return (user.pw_uid, user.pw_gid) if user else None


def side_folder() -> Path:
    """A private folder for a side instance that the server's user can enter (the state
    directory is root's own)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="reprise-pitr-")).resolve()
    owner = _server_user()
    if owner is not None:
        os.chown(folder, *owner)
    return folder


def _chown_tree(root: Path, owner: tuple[int, int] | None) -> None:
    if owner is None:
        return
    for directory, dirs, files in os.walk(root):
        os.chown(directory, *owner)
        for name in dirs + files:
            os.lchown(Path(directory, name), *owner)


def _base_parts(manifest: Any) -> tuple[Any, list[Any]]:
    """The data directory's tar, and any pg_wal tar (pg_basebackup -X stream)."""
    base = [part for part in manifest.parts if part.role == "base"] or manifest.parts[:1]
    wal = [
        part
        for part in manifest.parts
        if part.format == "tar" and part.name.startswith("pg_wal.tar")
    ]
    return base[0], wal


def unpack_base(
    plan: Plan,
    report: Report,
    entry: CatalogEntry,
    datadir: Path,
    progress: PartProgress | None,
    *,
    follow_symlinks: bool = False,
) -> tuple[Any, list[Any]]:
    """Verify and unpack the base backup into ``datadir`` (absent or empty): unpacked
    safely into a private folder beside it (:mod:`reprise.restore.unpack`), then renamed
    into place, so a refused archive leaves nothing behind."""
    from reprise.repository.local import storage_error
    from reprise.restore.unpack import (
        UnsafeMemberError,
        check_symlinks,
        check_target_path,
        move_into_place,
        private_folder,
        sync_file_system,
    )
    from reprise.restore.unpack_part import unpack_part

    repository, manifest, identities = verified_manifest(plan, entry, report)
    datadir = check_target_path(datadir, what=option("to_dir"), follow_symlinks=follow_symlinks)
    if datadir.exists() and any(datadir.iterdir()):
        raise InputError(f"{datadir} is not empty", hint="recover into a new folder")
    base, wal = _base_parts(manifest)
    parts = [base, *wal]
    datadir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (
        private_folder(datadir.parent, f".{datadir.name}.reprise-") as work,
        report.step(
            "fetch, decrypt, verify and unpack the base backup",
            size=sum(part.stored_size for part in parts),
        ),
    ):
        free_space_check(datadir.parent, sum(part.plain_size for part in parts))
        tree = work / "data"
        tree.mkdir(mode=0o700)
        for part in parts:
            where = f"backup {manifest.id} part {part.name}"
            into = tree
            if part is not base:
                into = tree / "pg_wal"
                if into.is_symlink() or (into.exists() and not into.is_dir()):
                    raise UnsafeMemberError(
                        f"{where}: pg_wal of the base backup is a symlink or a file, not a folder",
                        hint="use another backup",
                    )
                into.mkdir(mode=0o700, exist_ok=True)
            with (progress or no_progress)(part.name, part.stored_size) as callback:
                unpack_part(
                    repository, manifest, part, identities, into, where=where, progress=callback
                )
        if wal:  # a pg_wal link can turn a base link outward ('pg_wal/a/..', a -> .)
            check_symlinks(tree, where=f"backup {manifest.id}")
        tree.chmod(0o700)
        try:  # once for every part, proven: then it may take the data directory's name
            sync_file_system(tree)
        except OSError as error:
            raise storage_error(error, datadir.parent, "flushing the base backup") from error
        if datadir.exists():
            move_into_place(tree, datadir, overwrite=False, follow_symlinks=follow_symlinks)
            datadir.chmod(0o700)
        else:
            tree.rename(datadir)
    return manifest, identities


def write_recovery_settings(
    datadir: Path,
    *,
    restore_command: str,
    at: datetime | None,
    port: int | None,
    socket_dir: Path | None,
    note: str,
) -> None:
    """recovery.signal and the recovery settings (appended: they win over earlier lines)."""
    lines = [
        f"# Added by reprise restore --pitr: {note}",
        f"restore_command = '{restore_command.replace(chr(39), chr(39) * 2)}'",
        "recovery_target_action = 'promote'",
        "recovery_target_timeline = 'latest'",
        "archive_mode = 'off'  # a recovered copy must not archive into the source's WAL",
    ]
    if at is not None:
        lines.append(f"recovery_target_time = '{at.isoformat(sep=' ')}'")
    if port is not None:
        lines += [f"port = {port}", "listen_addresses = '127.0.0.1'"]
    if socket_dir is not None:
        lines.append(f"unix_socket_directories = '{socket_dir}'")
    _write_own_file(datadir / "postgresql.auto.conf", "\n" + "\n".join(lines) + "\n", append=True)
    _write_own_file(datadir / "recovery.signal", "", append=True)
    if not (datadir / "postgresql.conf").exists():  # Debian keeps it in /etc
        _write_own_file(datadir / "postgresql.conf", "# written by reprise restore --pitr\n")
    hba = datadir / "pg_hba.conf"
    previous = _read_own_file(hba) if hba.exists() else ""
    _write_own_file(
        hba,
        "# reprise restore --pitr: its private socket folder only\n"
        "local all all trust\n" + previous,
    )


def _no_link(path: Path, error: OSError) -> VerificationError:
    return VerificationError(
        f"{path}: a symbolic link in the restored data directory, "
        "where PostgreSQL keeps a plain file",
        hint="the base backup cannot be trusted; use another one",
    )


def _write_own_file(path: Path, text: str, *, append: bool = False) -> None:
    """Write a settings file of the restored data directory, never through a symlink (the
    unpacker keeps links inside the directory; this is the second lock on the door)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _no_link(path, error) from None
        raise
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def _read_own_file(path: Path) -> str:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _no_link(path, error) from None
        raise
    with os.fdopen(descriptor, encoding="utf-8", errors="replace") as handle:
        return handle.read()


class RecoveringServer:
    """The recovered instance, started as the server user, watched until recovery ends."""

    def __init__(
        self,
        datadir: Path,
        major: int,
        socket_dir: Path,
        port: int,
        user: str,
        owner: tuple[int, int] | None,
    ) -> None:
        self.datadir = datadir
        self.installation = find_server(major=major)
        self.socket_dir = socket_dir
        self.port = port
        self.user = user
        self.owner = owner
        self.log = datadir.parent / f"{datadir.name}.log"

    def _as_user(self) -> dict[str, Any]:
        return (
            {"user": self.owner[0], "group": self.owner[1], "extra_groups": []}
            if self.owner
            else {}
        )

    def dsn(self, database: str = "postgres") -> str:
        """Connection string over the private socket."""
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={database}"

    def start(self) -> None:
        """pg_ctl start without waiting (recovery may take long)."""
        self.log.touch()
        if self.owner:
            os.chown(self.log, *self.owner)
        result = subprocess.run(
            [
                str(self.installation.tool("pg_ctl")),
                "-D",
                str(self.datadir),
                "-l",
                str(self.log),
                "-W",
                "start",
            ],
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,
            cwd=self.datadir.parent,
            timeout=60,
            **self._as_user(),
        )
        if result.returncode != 0:
            raise OperationError(
                f"the recovered instance did not start: {result.stderr.strip() or self.log_tail()}"
            )

    def log_tail(self, count: int = 6) -> str:
        """The end of the server log."""
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        important = [line for line in lines if "FATAL" in line or "PANIC" in line]
        return " | ".join((important or lines)[-count:])

    def alive(self) -> bool:
        """The postmaster is running."""
        pid_file = self.datadir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def wait_until_promoted(self, feeder: Feeder | None, timeout: float) -> Reached:
        """Poll until recovery ends; raise with the server's own words if it stops."""
        import psycopg

        deadline = time.monotonic() + timeout
        started = time.monotonic()
        delay = POLL
        while time.monotonic() < deadline:
            if feeder is not None and feeder.error is not None:
                if isinstance(feeder.error, VerificationError):
                    raise VerificationError(
                        f"fetching WAL failed: {feeder.error.message}", hint=feeder.error.hint
                    )
                raise OperationError(f"fetching WAL failed: {feeder.error}")
            if time.monotonic() - started > 2 and not self.alive():
                raise OperationError(
                    f"the recovered instance stopped: {self.log_tail()}",
                    hint=f"server log: {self.log}",
                )
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2, autocommit=True) as conn:
                    row = conn.execute(
                        "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), "
                        "pg_last_wal_replay_lsn()::text, "
                        "(SELECT timeline_id FROM pg_control_checkpoint())"
                    ).fetchone()
            except psycopg.OperationalError:
                time.sleep(delay)
                delay = min(delay * 1.2, POLL_MAX)
                continue
            assert row is not None
            if not row[0]:
                return Reached(row[1], row[2] or "", int(row[3]))
            time.sleep(delay)
            delay = min(delay * 1.2, POLL_MAX)
        raise OperationError(
            f"recovery did not end within {timeout:.0f} s", hint=f"see the server log {self.log}"
        )

    def stop(self) -> None:
        """Stop the instance (fast)."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [
                    str(self.installation.tool("pg_ctl")),
                    "-D",
                    str(self.datadir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ],
                capture_output=True,
                check=False,
                timeout=90,
                start_new_session=True,
                cwd=self.datadir.parent,
                **self._as_user(),
            )


def recover(
    plan: Plan,
    report: Report,
    pitr: PitrPlan,
    datadir: Path,
    *,
    start: bool,
    port: int | None,
    progress: PartProgress | None,
    plan_path: Path | None = None,
    follow_target_symlinks: bool = False,
) -> tuple[RecoveringServer | None, Reached | None]:
    """Unpack and configure ``datadir``; with ``start``, recover and return the running
    server and where it got to (the caller stops it, or leaves it running)."""
    manifest, identities = unpack_base(
        plan, report, pitr.base, datadir, progress, follow_symlinks=follow_target_symlinks
    )
    owner = _server_user()
    note = f"base backup {manifest.id}, target {pitr.at or 'latest'}"
    if not start:
        from shlex import quote

        plan_arg = f"--plan {quote(str(plan_path))} " if plan_path else ""
        command = f"reprise {plan_arg}wal fetch --source {quote(pitr.job.name)} %f %p"
        write_recovery_settings(
            datadir, restore_command=command, at=pitr.at, port=port, socket_dir=None, note=note
        )
        _chown_tree(datadir, owner)
        return None, None
    archive = WalArchive(open_repository(plan, pitr.job.source.repository), pitr.job.name)
    spool = datadir.parent / f"{datadir.name}.wal-spool"
    feeder = Feeder(archive, pitr.path.histories + pitr.path.files, identities, spool, owner=owner)
    feeder.prepare()
    socket_dir = datadir.parent / f".{datadir.name}.socket"
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    if owner is not None:
        os.chown(socket_dir, *owner)
    chosen_port = port or free_port()
    write_recovery_settings(
        datadir,
        restore_command=feeder.restore_command(),
        at=pitr.at,
        port=chosen_port,
        socket_dir=socket_dir,
        note=note,
    )
    _chown_tree(datadir, owner)
    server = RecoveringServer(
        datadir,
        int(manifest.server["version_num"]) // 10000,
        socket_dir,
        chosen_port,
        str(manifest.server.get("superuser") or "postgres"),
        owner,
    )
    try:
        with report.step(f"replay WAL ({len(pitr.path.files)} file(s) available)") as step:
            feeder.start()
            server.start()
            reached = server.wait_until_promoted(feeder, RECOVERY_TIMEOUT)
            step.detail = (
                f"reached {reached.time.isoformat(sep=' ') if reached.time else '?'}"
                f", LSN {reached.lsn}, now on timeline {reached.timeline}"
            )
    except BaseException:
        server.stop()
        raise
    finally:
        feeder.stop()
        shutil.rmtree(spool, ignore_errors=True)
    return server, reached


def run_pitr(
    plan: Plan,
    store: Store,
    request: PitrRequest,
    *,
    progress: PartProgress | None = None,
    plan_path: Path | None = None,
) -> tuple[Report, Path, Reached | None]:
    """``restore --pitr --to-dir``: recover into a data directory (and leave it running
    with ``start``)."""
    assert request.to_dir is not None
    pitr = plan_pitr(plan, store, request)
    manifest = pitr.base.manifest
    report = Report(
        "pitr",
        manifest.service,
        manifest.source,
        pitr.base.repository,
        manifest.id,
        manifest.finished_at,
        str(request.to_dir),
    )
    report.figures["target"] = request.at.isoformat(sep=" ") if request.at else "latest"
    report.figures["window"] = _window_text(pitr.window)
    reached: Reached | None = None
    try:
        _server, reached = recover(
            plan,
            report,
            pitr,
            request.to_dir,
            start=request.start,
            port=request.port,
            progress=progress,
            plan_path=plan_path,
            follow_target_symlinks=request.follow_target_symlinks,
        )
    except RepriseError as error:
        save_failure(plan, store, report, error)
        raise
    if reached is not None:
        report.figures["reached_time"] = reached.time.isoformat(sep=" ") if reached.time else None
        report.figures["reached_lsn"] = reached.lsn
        report.figures["timeline"] = reached.timeline
        if reached.time is not None:
            report.figures["data_loss_window"] = (
                f"{(datetime.now(UTC) - reached.time).total_seconds():.1f} s before now"
            )
    report.finish("ok")
    return report, save_report(plan, store, report), reached
