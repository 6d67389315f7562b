"""``postgres`` source: a logical backup of a server.

Per database, ``pg_dump`` in custom format (or directory format with parallel jobs), plus
``pg_dumpall --globals-only`` so that a restore on a new server recreates roles and
tablespaces first. Large objects are included (pg_dump does so for whole databases).
What pg_dump leaves to ``--create`` (the database's owner, encoding, locale, settings,
privileges and comment) is read in the dump's snapshot into the manifest
(:mod:`reprise.pg.database_properties`), so that a restore, also under another name,
recreates the database as it was.

Each database is dumped from a snapshot exported by a transaction of ours
(``pg_dump --snapshot``); in that same snapshot, while the dump streams, a second query
counts the rows of every table and computes a checksum of its content (see
``table_stats``). Drills compute the same figures on the restored copy and compare.
"""

from __future__ import annotations

import functools
import os
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from reprise.backup.sources.base import PartSpec, SourceFacts, safe_part_name
from reprise.backup.sources.process import producer_output, threaded_pipe
from reprise.errors import InputError, OperationError
from reprise.pg.binaries import find_tool, look_ahead
from reprise.pg.connect import connect, split_dsn
from reprise.pg.database_properties import read_properties
from reprise.pg.table_stats import stats_settings, table_stats

if TYPE_CHECKING:
    import psycopg

    from reprise.plan.sources import PostgresSource


def _list_databases(connection: psycopg.Connection[Any], config: PostgresSource) -> list[str]:
    rows = connection.execute(
        "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname"
    ).fetchall()
    existing = [str(row[0]) for row in rows]
    if config.databases == "all":
        chosen = [name for name in existing if name not in config.exclude_databases]
    else:
        missing = [name for name in config.databases if name not in existing]
        if missing:
            raise InputError(
                f"database {', '.join(missing)} does not exist on the server",
                hint=f"the server has: {', '.join(existing)}",
            )
        chosen = list(config.databases)
    if not chosen:
        raise InputError(
            "no database left to back up (every one is excluded)",
            hint="fix databases / exclude_databases",
        )
    return chosen


def _database_sizes(connection: psycopg.Connection[Any], names: list[str]) -> dict[str, int]:
    """Each database's size on disk (pg_database_size) less that of an empty one
    (template0: the system catalogs every database carries, which a dump leaves out): the
    estimate of its dump that progress bars show. Empty when it cannot be read (no
    CONNECT right): bars then go without a total."""
    try:
        rows = connection.execute(
            "SELECT datname, pg_database_size(datname) - pg_database_size('template0') "
            "FROM pg_database WHERE datname = ANY(%s)",
            (names,),
        ).fetchall()
    except Exception:  # noqa: BLE001 - only an estimate
        connection.rollback()
        return {}
    return {str(name): int(size) for name, size in rows if size is not None and size > 0}


def _server_facts(connection: psycopg.Connection[Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "version": connection.execute("SHOW server_version").fetchone()[0],  # type: ignore[index]
        "version_num": connection.info.server_version,
    }
    try:
        row = connection.execute(
            "SELECT system_identifier::text, timeline_id "
            "FROM pg_control_system(), pg_control_checkpoint()"
        ).fetchone()
        if row is not None:
            facts["system_identifier"] = row[0]
            facts["timeline"] = row[1]
    except Exception:  # noqa: BLE001 - needs pg_monitor; only informative
        connection.rollback()
    return facts


_SERVER_GONE = (
    "server closed the connection",
    "terminating connection",
    "connection to server",
    "could not connect",
    "no connection to the server",
    "the database system is shutting down",
    "the database system is in recovery",
    "could not receive data from server",
    "ssl syscall error",
)
"""What libpq says when the server dies or goes away under pg_dump."""


class PostgresRun:
    """Backs up the databases of one server, one part each, plus the globals."""

    def __init__(self, config: PostgresSource, source_name: str, work_dir: Path) -> None:
        self.config = config
        self.source_name = source_name
        self.work_dir = work_dir
        self.facts = SourceFacts()
        lookup = look_ahead()  # pg_dump's lookup runs programs: meanwhile, the server
        try:
            self.base_conninfo, self.password = split_dsn(config.dsn)
            with connect(config.dsn, what=source_name) as connection:
                self.facts.server = _server_facts(connection)
                self.databases = _list_databases(connection, config)
                self.sizes = _database_sizes(connection, self.databases)
        finally:
            lookup.join()
        major = self.facts.server["version_num"] // 10000
        self.major = major
        self.pg_dump = find_tool("pg_dump", min_major=major)
        self.pg_dumpall = find_tool("pg_dumpall", min_major=major) if config.globals else None

    def tool_hint(self, detail: str) -> str:
        """The fix for a pg_dump / pg_dumpall failure, from the end of what it printed."""
        lowered = detail.lower()
        if "version mismatch" in lowered:
            return (
                f"install pg_dump {self.major} or newer (Debian: apt-get install "
                f"postgresql-client-{self.major}); pg_dump must not be older than the "
                "server"
            )
        if any(sign in lowered for sign in _SERVER_GONE):
            return (
                "the server went away during the dump: check that it is running (and its "
                "log), then run the backup again; nothing incomplete was kept"
            )
        if "permission denied" in lowered:
            return (
                "the backup role cannot read everything: grant it pg_read_all_data (or "
                "back up as a superuser)"
            )
        if "lock" in lowered and "timeout" in lowered:
            return "another session held a lock too long; run the backup again"
        return "see the end of its message above; nothing incomplete was kept"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def parts(self) -> Iterator[PartSpec]:
        """Globals first (a restore needs the roles before the databases), then each DB."""
        if self.pg_dumpall is not None:
            yield PartSpec(
                name="globals.sql", role="globals", open=self._open_globals, format="sql"
            )
        extension = "pgdump" if self.config.format == "custom" else "pgdir.tar"
        for database in self.databases:
            yield PartSpec(
                name=f"db-{safe_part_name(database)}.{extension}",
                role="database",
                database=database,
                format=self.config.format,
                open=functools.partial(self._open_database, database),
                estimate=self.sizes.get(database),
            )

    @contextmanager
    def _open_globals(self) -> Iterator[BinaryIO]:
        assert self.pg_dumpall is not None
        argv = [
            str(self.pg_dumpall),
            "--globals-only",
            "--no-password",
            f"--dbname={self.base_conninfo}",
        ]
        what = f"{self.source_name}: pg_dumpall --globals-only"
        try:
            with producer_output(argv, what=what, env=self._env(), hint=self.tool_hint) as stream:
                yield stream
        except OperationError as error:
            if "pg_authid" not in error.message:
                raise
            # Without superuser rights, role passwords cannot be read: dump roles without.
            self.facts.warnings.append(
                "roles dumped without passwords (pg_authid is not "
                "readable by this user); set them again after a restore"
            )
            argv.insert(2, "--no-role-passwords")
            with producer_output(argv, what=what, env=self._env(), hint=self.tool_hint) as stream:
                yield stream

    @contextmanager
    def _open_database(self, database: str) -> Iterator[BinaryIO]:
        conninfo = self._conninfo(database)
        entry: dict[str, Any] = {"name": database}
        self.facts.databases.append(entry)
        with connect(
            self.config.dsn,
            what=self.source_name,
            dbname=database,
            options=stats_settings(self.config.table_stats, beside_dump=True),
        ) as connection:
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
            entry["properties"] = self._properties(connection, database)
            stats: dict[str, Any] = {}
            worker = threading.Thread(
                target=self._collect_stats,
                args=(connection, stats),
                name=f"stats-{database}",
                daemon=True,
            )
            worker.start()
            try:
                if self.config.format == "custom":
                    with self._dump_custom(conninfo, snapshot, database) as stream:
                        yield stream
                else:
                    with self._dump_directory(conninfo, snapshot, database) as stream:
                        yield stream
            finally:
                worker.join()
            if "error" in stats:
                raise stats["error"]
            entry.update(stats["result"])

    def _properties(self, connection: psycopg.Connection[Any], database: str) -> dict[str, Any]:
        """Owner, encoding, locale, settings, privileges, comment: what pg_dump leaves to
        ``--create``, read in the dump's snapshot so that a restore recreates them."""
        import psycopg

        try:
            return read_properties(connection)
        except psycopg.Error as error:
            text = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise OperationError(
                f"{self.source_name}: cannot read the properties of database {database}: {text}",
                hint="the backup user must be able to read pg_database, "
                "pg_db_role_setting and pg_shseclabel",
            ) from error

    def _collect_stats(self, connection: psycopg.Connection[Any], out: dict[str, Any]) -> None:
        try:
            out["result"] = table_stats(connection, self.config.table_stats)
        except BaseException as error:  # noqa: BLE001 - handed to the dumping thread
            out["error"] = OperationError(f"{self.source_name}: table statistics failed: {error}")

    def _conninfo(self, database: str) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.base_conninfo, dbname=database)

    def _dump_argv(self, conninfo: str, snapshot: str, *extra: str) -> list[str]:
        return [
            str(self.pg_dump),
            "--no-password",
            f"--snapshot={snapshot}",
            "-Z0",
            *extra,
            f"--dbname={conninfo}",
        ]

    @contextmanager
    def _dump_custom(self, conninfo: str, snapshot: str, database: str) -> Iterator[BinaryIO]:
        argv = self._dump_argv(conninfo, snapshot, "--format=custom")
        with producer_output(
            argv,
            what=f"{self.source_name}: pg_dump {database}",
            env=self._env(),
            hint=self.tool_hint,
        ) as stream:
            yield stream

    @contextmanager
    def _dump_directory(self, conninfo: str, snapshot: str, database: str) -> Iterator[BinaryIO]:
        """Directory format cannot stream: pg_dump -j writes files; they are then streamed
        as one tar. This needs temporary disk for the uncompressed dump (documented)."""
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="pgdir-") as scratch:
            target = Path(scratch, "dump")
            argv = self._dump_argv(
                conninfo,
                snapshot,
                "--format=directory",
                f"--jobs={self.config.jobs}",
                f"--file={target}",
            )
            with producer_output(
                argv,
                what=f"{self.source_name}: pg_dump {database}",
                env=self._env(),
                hint=self.tool_hint,
            ) as stream:
                stream.read()

            def produce(sink: BinaryIO) -> None:
                with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                    archive.add(target, arcname=safe_part_name(database))

            with threaded_pipe(produce, name="pgdir-tar") as stream:
                yield stream


def open_run(config: PostgresSource, source_name: str, work_dir: Path) -> PostgresRun:
    """The backup of a ``postgres`` source (globals and one dump per database), as registered in
    ``reprise.backup.sources.registry``."""
    return PostgresRun(config, source_name, work_dir)
