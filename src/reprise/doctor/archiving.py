"""``wal.archive-command``: each archiving source's server has archive_mode on, an
archive_command that runs this Reprise's ``wal push`` with this plan, and it works: a
segment switched now (after a tiny write, as ``pgbackrest check`` does) reaches the
repository within the timeout, with no archiver failure newer than its last success."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.doctor.archive_command import ArchiveCommand, parse, plan_of
from reprise.doctor.checks import Check, Context, Text, problem, text

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob

ID = "wal.archive-command"
POLL = 0.2


@dataclass(frozen=True)
class Settings:
    """The archiving settings of a source's server, or why they could not be read."""

    archive_mode: str = ""
    archive_command: str = ""
    data_directory: Path | None = None
    error: str = ""
    fix: str = ""

    @property
    def command(self) -> ArchiveCommand | None:
        """The archive_command taken apart (None: it does not run ``wal push``)."""
        return parse(self.archive_command)


def settings(context: Context, job: BackupJob) -> Settings:
    """The server's archiving settings, asked once per run."""
    return context.once("archiving", job.name, lambda: _ask(job))


def _ask(job: BackupJob) -> Settings:
    from reprise.errors import RepriseError
    from reprise.pg.connect import connect

    try:
        with connect(str(getattr(job.source, "dsn", "")), what=f"source {job.name}") as db:
            _catalog_only(db)
            values = [
                _setting(db, name) for name in ("archive_mode", "archive_command", "data_directory")
            ]
    except RepriseError as error:
        message, hint = problem(error)
        return Settings(error=message, fix=hint)
    except Exception as error:  # noqa: BLE001 - a refused SHOW (not superuser) is a finding
        return Settings(error=str(error).strip().splitlines()[0], fix="")
    mode, command, directory = values
    return Settings(mode, command, Path(directory) if directory else None)


def _catalog_only(connection: Any) -> None:
    """Names resolve in pg_catalog only: the database cannot shadow current_setting or
    pg_stat_archiver with objects of its own (it chooses the search_path otherwise)."""
    connection.execute("SET search_path = pg_catalog, pg_temp")


def _setting(connection: Any, name: str) -> str:
    row = connection.execute("SELECT current_setting(%s)", (name,)).fetchone()
    return str(row[0]) if row and row[0] is not None else ""


def _archiver(connection: Any) -> tuple[Any, ...]:
    """pg_stat_archiver: last archived WAL and time, last failed WAL and time."""
    row = connection.execute(
        "SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time "
        "FROM pg_stat_archiver"
    ).fetchone()
    assert row is not None
    return tuple(row)


def check(context: Context) -> list[Check]:
    """One verdict over every archiving source."""
    title = text("title.wal.archive-command")
    jobs = context.archiving()
    if not jobs:
        return [Check(ID, "skip", title, text("detail.no_physical"))]
    for job in jobs:
        found = _one(context, job)
        if found is not None:
            detail, fix = found
            return [Check(ID, "fail", title, detail, fix)]
    names = ", ".join(job.name for job in jobs)
    return [
        Check(
            ID,
            "ok",
            title,
            text("detail.wal.archived", sources=names, seconds=int(context.timeout)),
        )
    ]


def _one(context: Context, job: BackupJob) -> tuple[Text, Text] | None:
    """Why archiving of ``job`` does not work (detail, fix), or None when it does."""
    found = settings(context, job)
    if found.error:
        return text("detail.source_error", source=job.name, error=found.error), text(
            "fix.wal.settings", hint=found.fix or "—"
        )
    if found.archive_mode not in ("on", "always"):
        return text("detail.wal.mode_off", source=job.name, mode=found.archive_mode), text(
            "fix.wal.mode_off"
        )
    wanted = context.loaded.path.absolute().resolve()
    expected = shlex.join(["reprise", "--plan", str(wanted), "wal", "push", "%p"])
    command = found.command
    if command is None:
        return text("detail.wal.not_reprise", source=job.name, command=found.archive_command), text(
            "fix.wal.command", command=expected
        )
    used = plan_of(command, found.data_directory)
    if used != wanted:
        return text(
            "detail.wal.other_plan", source=job.name, plan=str(used or "—"), wanted=str(wanted)
        ), text("fix.wal.command", command=expected)
    if command.source is not None and command.source != job.name:
        return text("detail.wal.other_source", source=job.name, named=command.source), text(
            "fix.wal.command", command=" ".join([expected, "--source", job.name])
        )
    return _switch_and_wait(context, job)


def _switch_and_wait(context: Context, job: BackupJob) -> tuple[Text, Text] | None:
    """Write a restore point, switch segment, and wait for it in the repository."""
    from reprise.errors import RepriseError
    from reprise.pg.connect import connect
    from reprise.repository import open_repository
    from reprise.wal.archive import WalArchive

    fix = text("fix.wal.failing", source=job.name)
    try:
        archive = WalArchive(open_repository(context.plan, job.source.repository), job.name)
        with connect(str(getattr(job.source, "dsn", "")), what=f"source {job.name}") as db:
            _catalog_only(db)
            db.execute("SELECT pg_create_restore_point('reprise doctor')")
            row = db.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
            assert row is not None
            segment = str(row[0])
            deadline = time.monotonic() + context.timeout
            archived_at: float | None = None
            while True:
                stats = _archiver(db)
                failed = stats[2] is not None and (stats[1] is None or stats[3] > stats[1])
                if archived_at is None and archive.find(segment):
                    archived_at = time.monotonic()
                if archived_at is not None:
                    # the statistics may lag behind the repository by a moment
                    if str(stats[0] or "") >= segment or time.monotonic() > archived_at + 5:
                        if failed:
                            return text(
                                "detail.wal.failed_since", source=job.name, segment=str(stats[2])
                            ), fix
                        return None
                elif failed and str(stats[2]) >= segment:
                    return text("detail.wal.failed", source=job.name, segment=str(stats[2])), fix
                elif time.monotonic() > deadline:
                    return text(
                        "detail.wal.timeout",
                        source=job.name,
                        segment=segment,
                        seconds=int(context.timeout),
                        failed=str(stats[2] or "—"),
                    ), fix
                time.sleep(POLL)
    except RepriseError as error:
        message, hint = problem(error)
        return text("detail.source_error", source=job.name, error=message), text(
            "fix.wal.settings", hint=hint or "—"
        )
    except Exception as error:  # noqa: BLE001 - psycopg: not allowed to switch, etc.
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return text("detail.source_error", source=job.name, error=first), text("fix.wal.privileges")
