"""Backup sources of a service (its ``backups`` entries), discriminated on ``kind``.

Every entry names its repository, its schedule and its retention. Retention has no
default on purpose: a tool that silently keeps "the last 7" of an hourly backup keeps
seven hours, which nobody meant.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from reprise.plan.common import AbsolutePath, Dsn, Identifier, PlanModel, Text
from reprise.plan.units import Duration, Schedule, Size

_SOURCE_NAME_HINT = "use lowercase letters, digits, '-' and '_' (it becomes a folder name)"


class Retention(PlanModel):
    """Which backups to keep, restic-style: rules combine, a backup kept by any rule stays.

    The newest verified backup of a service is always kept, whatever the rules say.
    """

    keep_last: int | None = Field(None, ge=1, le=100_000, description="The newest N backups.")
    keep_within: Duration | None = Field(None, description="Every backup younger than this.")
    keep_hourly: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="The newest backup of each of the last N hours that have one.",
    )
    keep_daily: int | None = Field(None, ge=1, le=100_000)
    keep_weekly: int | None = Field(None, ge=1, le=100_000)
    keep_monthly: int | None = Field(None, ge=1, le=100_000)
    keep_yearly: int | None = Field(None, ge=1, le=100_000)

    @model_validator(mode="after")
    def _has_a_rule(self) -> Retention:
        if all(value is None for value in self.__dict__.values()):
            raise PydanticCustomError(
                "retention_empty",
                "a retention needs at least one rule",
                {"hint": "add for example keep_daily: 7 and keep_weekly: 4"},
            )
        return self


class SourceBase(PlanModel):
    """What every backup source has."""

    takes_wal: ClassVar[bool] = False
    """Its backups are bases that `reprise wal push` archives WAL for (physical sources)."""

    name: Identifier | None = Field(
        None,
        description="Folder of this source in the repository (backups/<name>/); "
        "default: <service>-<kind>. Changing it starts a new history.",
    )
    repository: Identifier = Field(description="Name of an entry of `repositories`.")
    schedule: Schedule = Field(description="When to run: cron or @hourly/@daily/…")
    timeout: Duration = Field(
        timedelta(hours=6),
        description="A scheduled run is stopped past this (no incomplete backup is listed).",
    )
    retention: Retention = Field(examples=[{"keep_daily": 7, "keep_weekly": 4}])
    compression_level: int = Field(3, ge=1, le=19, description="zstd level.")
    labels: dict[str, str] = Field(default_factory=dict)


def _databases(value: Any) -> Any:
    hint = "write databases: all, or a list such as [akig, akig_audit]"
    if value == "all":
        return value
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        raise PydanticCustomError(
            "databases", "expected 'all' or a list of database names", {"hint": hint}
        )
    if any(not isinstance(item, str) or not item.strip() for item in value):
        raise PydanticCustomError(
            "databases", "database names must be non-empty strings", {"hint": hint}
        )
    return value


class PostgresSource(SourceBase):
    """Logical backup: pg_dump of each database plus pg_dumpall --globals-only (roles)."""

    kind: Literal["postgres"]
    dsn: Dsn
    databases: Annotated[Literal["all"] | list[str], BeforeValidator(_databases)] = Field(
        "all", description="'all' (every database that accepts connections) or a list."
    )
    exclude_databases: list[str] = Field(default_factory=list)
    format: Literal["custom", "directory"] = Field(
        "custom", description="directory allows parallel dumps (jobs > 1) of big databases."
    )
    jobs: int = Field(1, ge=1, le=64, description="Parallel pg_dump jobs (directory format).")
    globals: bool = Field(True, description="Also dump roles and tablespaces.")
    table_stats: Literal["checksums", "counts", "none"] = Field(
        "counts",
        description="Per-table figures recorded for drills, in the dump's snapshot: "
        "row counts (cheap), counts and a content checksum (converts "
        "every row to text again: about doubles the server's work on "
        "a busy host), or none.",
    )

    @model_validator(mode="after")
    def _jobs_need_directory(self) -> PostgresSource:
        if self.jobs > 1 and self.format != "directory":
            raise PydanticCustomError(
                "jobs_format",
                "jobs: {jobs} needs format: directory",
                {"jobs": self.jobs, "hint": "add format: directory, or set jobs: 1"},
            )
        return self


class WalAsync(PlanModel):
    """Asynchronous WAL archiving (as pgBackRest's archive-async): the spool is durable local
    storage; PostgreSQL is told a segment is archived once it is in the spool or the
    repository, and sees a failure (and keeps the segment) when the spool is full."""

    spool: AbsolutePath | None = Field(
        None, description="Spool folder (default: <state dir>/wal-out/<source>)."
    )
    max_size: Size = Field(
        4 * 1024**3, description="Refuse new segments past this much waiting in the spool."
    )
    parallel: int = Field(4, ge=1, le=32, description="Uploads at once.")


class PostgresPhysicalSource(SourceBase):
    """Physical backup: pg_basebackup (tar), the base for point-in-time recovery."""

    takes_wal: ClassVar[bool] = True

    kind: Literal["postgres_physical"]
    dsn: Dsn
    checkpoint: Literal["fast", "spread"] = "fast"
    wal_archive: bool = Field(
        True, description="WAL is archived with `reprise wal push` for point-in-time recovery."
    )
    wal_async: WalAsync | None = Field(
        None,
        description="Archive asynchronously: `wal push` puts the segment in a local spool "
        "(fsync'd) and returns; a pusher uploads the spool in parallel.",
    )


class FilesSource(SourceBase):
    """Directories and files as one tar stream (permissions, owners and links kept)."""

    kind: Literal["files"]
    paths: Annotated[list[AbsolutePath], Field(min_length=1)]
    exclude: list[str] = Field(default_factory=list, description="Glob patterns to leave out.")
    one_file_system: bool = False
    preserve_special: bool = Field(
        False,
        description="The tree legitimately holds setuid, setgid or sticky files "
        "(e.g. a system folder): a restore given --preserve-special keeps "
        "those bits. Otherwise every restore drops them.",
    )


class CommandSource(SourceBase):
    """The standard output of a command, e.g. a router's configuration over ssh."""

    kind: Literal["command"]
    command: Text = Field(description="Run with /bin/sh -c; must exit 0.")
    timeout: Duration = Field(
        timedelta(minutes=10), description="The command, and a scheduled run, stop past this."
    )
    filename: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] = Field(
        "output.txt", description="Name of the part in the repository."
    )


AnySource = PostgresSource | PostgresPhysicalSource | FilesSource | CommandSource
"""Every source model: a new kind is added here, to ``SOURCE_KINDS``, and to the backup
and restore registries (``backup/sources/registry.py``, ``restore/registry.py``)."""

BackupSource = Annotated[AnySource, Field(discriminator="kind")]
"""Any backup source; ``kind`` selects the model."""

SOURCE_KINDS = ("postgres", "postgres_physical", "files", "command")
"""The ``kind`` of each model of ``AnySource`` (tests/unit/test_registries.py checks)."""


def default_source_name(service_id: str, source: AnySource) -> str:
    """The repository folder of a source: its ``name``, else ``<service>-<kind>``.

    The default never depends on the other entries, so adding a second source to a service
    does not rename the first one's history.
    """
    return source.name or f"{service_id}-{source.kind.replace('_', '-')}"
