"""Restoring a logical (``postgres``) backup into a server: globals, then each database.

Before anything is written, the target is checked read-only: reachable, a major version
not older than the dump's, and each target database absent or empty (unless ``clean``).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError, OperationError, RepriseError, VerificationError, option
from reprise.pg.binaries import find_tool
from reprise.pg.connect import connect, split_dsn

if TYPE_CHECKING:
    from reprise.repository.manifest import Manifest, Part
    from reprise.restore.run import RestoreRequest
    from reprise.restore.streamed import DumpStream

_EMPTY_CHECK = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
"""


@dataclass(frozen=True)
class DatabaseTarget:
    """Where one dumped database goes."""

    source: str
    target: str
    exists: bool
    empty: bool


@dataclass(frozen=True)
class TargetServer:
    """What the read-only check of the target found."""

    dsn: str
    version_num: int
    user: str
    databases: list[DatabaseTarget]
    superuser: bool = False

    @property
    def description(self) -> str:
        """Host, port and major version, without credentials."""
        conninfo, _password = split_dsn(self.dsn)
        return f"{public_address(conninfo)} (PostgreSQL {self.version_num // 10000})"


def public_address(conninfo: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(conninfo)
    return f"{parts.get('host', 'local socket')}:{parts.get('port', 5432)}"


def check_target(
    dsn: str, dump_version_num: int, pairs: list[tuple[str, str]], *, clean: bool
) -> TargetServer:
    """Check the target server without changing it; raise naming what is wrong."""
    with connect(dsn, what="restore target") as connection:
        version = connection.info.server_version
        user, superuser = connection.execute(
            "SELECT current_user, current_setting('is_superuser') = 'on'"
        ).fetchone()  # type: ignore[misc]
        existing = {
            str(row[0]) for row in connection.execute("SELECT datname FROM pg_database").fetchall()
        }
    if version // 10000 < dump_version_num // 10000:
        raise InputError(
            f"the target runs PostgreSQL {version // 10000}, older than the dump's server "
            f"({dump_version_num // 10000}); pg_restore cannot go back in versions",
            hint=f"restore into PostgreSQL {dump_version_num // 10000} or newer",
        )
    targets = []
    for source, target in pairs:
        empty = True
        if target in existing:
            with connect(dsn, what="restore target", dbname=target) as connection:
                empty = connection.execute(_EMPTY_CHECK).fetchone()[0] == 0  # type: ignore[index]
            if not empty and not clean:
                raise InputError(
                    f"database {target!r} on the target is not empty; restoring into it "
                    "would mix old and new data",
                    hint=f"restore under another name ({option('as_name')} NEW_NAME), or "
                    f"replace its content with {option('clean')}",
                )
        targets.append(DatabaseTarget(source, target, target in existing, empty))
    return TargetServer(dsn, version, str(user), targets, bool(superuser))


def _env(password: str | None, *, options: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    if options:
        env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} {options}".strip()
    return env


#: For pg_restore as a superuser: the dump's data already holds what its triggers did.
#: pg_restore -j creates a trigger on a partitioned table as soon as the (data-less)
#: parent exists, possibly while its partitions are still being loaded: the trigger then
#: fires on restored rows (an audit table gets extra rows, or duplicate keys).
NO_TRIGGERS = "-c session_replication_role=replica"


PARTIAL_HINT = (
    "the target may now hold part of the data; fix the cause and restore again with "
    + option("clean")
)


def run_tool(
    argv: list[str],
    *,
    what: str,
    env: dict[str, str] | None = None,
    hint: str | None = PARTIAL_HINT,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program; raise with the end of its stderr when it fails."""
    result = subprocess.run(
        argv, capture_output=True, text=True, env=env, check=False, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise tool_failure(what, result.returncode, result.stderr, hint=hint)
    return result


def tool_failure(
    what: str, code: int, stderr: str, *, hint: str | None = PARTIAL_HINT
) -> OperationError:
    """A PostgreSQL program's failure, with the end of what it said."""
    tail = "\n".join(stderr.strip().splitlines()[-8:])
    ended = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return OperationError(f"{what}: {ended}{': ' + tail if tail else ''}", hint=hint)


def _role_lines(user: str) -> re.Pattern[str]:
    quoted = re.escape(user) + "|" + re.escape('"' + user.replace('"', '""') + '"')
    return re.compile(rf"^(CREATE|ALTER) ROLE ({quoted})( |;)")


def restore_globals(server: TargetServer, path: Path) -> list[str]:
    """Replay roles and tablespaces; roles that already exist are kept. The role we connect
    as is left alone (the backup's password for it would lock us out). Returns warnings."""
    psql = find_tool("psql")
    conninfo, password = split_dsn(server.dsn)
    own_role = _role_lines(server.user)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".sql", dir=path.parent, encoding="utf-8"
    ) as filtered:
        with path.open(encoding="utf-8") as original:
            for line in original:
                if not own_role.match(line):
                    filtered.write(line)
        filtered.flush()
        stderr = run_tool(
            [
                str(psql),
                "-X",
                "-q",
                "--no-password",
                "-v",
                "ON_ERROR_STOP=0",
                "-f",
                filtered.name,
                f"--dbname={conninfo}",
            ],
            what="psql (globals)",
            env=_env(password),
        ).stderr
    errors = [line for line in stderr.splitlines() if "ERROR:" in line]
    benign = [line for line in errors if "already exists" in line]
    warnings = [
        f"globals: {line.split('ERROR:', 1)[1].strip()}" for line in errors if line not in benign
    ]
    if benign:
        warnings.append(
            f"globals: {len(benign)} role(s) or tablespace(s) already existed "
            "and were kept as they are"
        )
    return warnings


def _dump_path(staged: Path, format_: str | None, scratch: Path, where: str) -> Path:
    """A custom-format file is used as is; a directory-format tar is unpacked first, safely
    (:mod:`reprise.restore.unpack`: nothing outside ``scratch``, no links leaving it, no
    special files), and must hold exactly one folder."""
    from reprise.restore.unpack import unpack

    if format_ != "directory":
        return staged
    summary = unpack(staged, scratch, where=where)
    folder = scratch / summary.top_level[0] if len(summary.top_level) == 1 else None
    if folder is None or folder.is_symlink() or not folder.is_dir():
        raise VerificationError(
            f"{where}: a directory-format dump must hold one folder, "
            f"not {', '.join(summary.top_level) or 'nothing'}",
            hint="the backup cannot be trusted; use another one",
        )
    staged.unlink()
    return folder


OLD_BACKUP_WARNING = (
    "{name}: this backup predates Reprise recording database properties; the database "
    "was created with the target's defaults (owned by {user}, the target's encoding and "
    "locale) and without the original's settings, privileges or comment. Its dump holds "
    "them: `restore {to_dir}` then `pg_restore --create` brings them back"
)


def restore_database(
    server: TargetServer,
    target: DatabaseTarget,
    staged: Path,
    format_: str | None,
    *,
    jobs: int,
    clean: bool,
    dump_major: int,
    where: str | None = None,
    properties: dict[str, Any] | None = None,
    stream: DumpStream | None = None,
) -> list[str]:
    """pg_restore one database (creating it when absent), then give it the backup's
    properties (owner, encoding, locale, settings, privileges, comment) under the target
    name. ``properties`` is None for backups made before they were recorded: then the
    database is created as before, with the target's defaults. With ``stream``, pg_restore
    loads it while the part is read (:mod:`reprise.restore.streamed`), and a database
    created here is dropped again if the part proves damaged. Returns warnings."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from reprise.pg import database_properties

    pg_restore = find_tool("pg_restore", min_major=dump_major)
    conninfo, password = split_dsn(server.dsn)
    warnings: list[str] = []
    argv = [str(pg_restore), "--no-password"]
    with tempfile.TemporaryDirectory(dir=staged.parent, prefix="pgdir-") as scratch:
        # Unpacked (and refused if hostile) before the target is touched.
        dump = (
            staged if stream else _dump_path(staged, format_, Path(scratch), where or staged.name)
        )
        with connect(server.dsn, what="restore target") as connection:
            if target.exists:
                if properties is not None:
                    warnings += database_properties.existing_differences(
                        connection, target.target, properties
                    )
            elif properties is not None:
                warnings += database_properties.create_database(
                    connection, target.target, properties
                )
            else:
                warnings.append(
                    OLD_BACKUP_WARNING.format(
                        name=target.target, user=server.user, to_dir=option("to_dir")
                    )
                )
                try:
                    connection.execute(
                        sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                            sql.Identifier(target.target)
                        )
                    )
                except psycopg.Error as error:
                    raise OperationError(
                        f"cannot create database {target.target!r}: "
                        f"{str(error).strip().splitlines()[0]}",
                        hint="nothing of this database was written; fix "
                        "the cause and restore again",
                    ) from error
        if target.exists and clean and not target.empty:
            argv += ["--clean", "--if-exists"]
        database = f"--dbname={make_conninfo(conninfo, dbname=target.target)}"
        what = f"pg_restore {target.source} → {target.target}"
        env = _env(password, options=NO_TRIGGERS if server.superuser else None)
        if stream is None:
            run_tool([*argv, f"--jobs={max(1, jobs)}", database, str(dump)], what=what, env=env)
        else:
            try:
                stream.restore(argv, database, env, jobs=jobs, what=what)
            except BaseException as error:
                if not target.exists and not stream.proven:
                    # A cut stream (a damaged chunk, a killed program, Ctrl-C): nothing
                    # of it stays. After a whole one, pg_restore's failure is as ever.
                    _drop_unfinished(server, target.target, error)
                raise
    if properties is not None:
        with connect(server.dsn, what="restore target") as connection:
            database_properties.apply_properties(connection, target.target, properties)
    return warnings


def _drop_unfinished(server: TargetServer, name: str, error: BaseException) -> None:
    """Drop the database a cut stream half loaded; when that fails too, say so in the
    error's hint (the database stays, named)."""
    try:
        drop_database(server, name)
    except Exception as failure:  # noqa: BLE001 - the original error goes on
        if isinstance(error, RepriseError):
            reason = str(failure).strip().splitlines()[0] if str(failure).strip() else ""
            error.hint = (
                f"{error.hint + '; ' if error.hint else ''}the database {name!r} this restore "
                f"created holds part of the data and could not be dropped ({reason}): "
                "drop it before restoring again"
            )


def drop_database(server: TargetServer, name: str) -> None:
    """Drop a database this restore created (its sessions ended first)."""
    from psycopg import sql

    force = sql.SQL(" WITH (FORCE)") if server.version_num >= 130000 else sql.SQL("")
    with connect(server.dsn, what="restore target") as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force)
        )


def database_pairs(
    manifest_databases: list[str], only: str | None, as_name: str | None
) -> list[tuple[str, str]]:
    """(dumped name, target name) for each database to restore."""
    if only is not None:
        if only not in manifest_databases:
            raise InputError(
                f"the backup holds no database {only!r}",
                hint=f"it holds: {', '.join(manifest_databases)}",
            )
        return [(only, as_name or only)]
    if as_name is not None:
        if len(manifest_databases) != 1:
            raise InputError(
                f"{option('as_name')} renames one database; the backup holds "
                f"{', '.join(manifest_databases)}",
                hint=f"add {option('database')} NAME",
            )
        return [(manifest_databases[0], as_name)]
    return [(name, name) for name in manifest_databases]


def restore_mode(request: RestoreRequest, kind: str) -> str:
    """Where a restore of a logical backup goes: ``server`` (``target``) or ``directory``
    (``to_dir``, the plain dump files)."""
    if request.target_dir:
        raise InputError(
            f"{option('target_dir')} is for files and command sources",
            hint=f"use {option('target')} DSN, or {option('to_dir')} DIR for the dump files",
        )
    if not (request.target or request.to_dir):
        raise InputError(
            f"say where to restore: {option('target')} DSN (a server) or {option('to_dir')} "
            "DIR (the plain dump files)",
            hint=f"e.g. {option('target')} postgresql://postgres@localhost/postgres",
        )
    return "server" if request.target else "directory"


def select_parts(
    manifest: Manifest, request: RestoreRequest
) -> tuple[list[tuple[str, str]], list[Part]]:
    """The databases asked for (dumped name, target name), and the parts holding them and
    the globals."""
    names = [part.database for part in manifest.parts if part.role == "database" and part.database]
    pairs = database_pairs(names, request.database, request.as_name)
    wanted = {source for source, _target in pairs}
    parts = [part for part in manifest.parts if part.role == "globals" or part.database in wanted]
    return pairs, parts


def table_figures(dsn: str, database: str, mode: str) -> dict[str, Any]:
    """The per-table figures of a restored database, computed as at backup time."""
    from reprise.pg.table_stats import STATS_SETTINGS, table_stats

    with connect(
        dsn, what="restored database", dbname=database, options=STATS_SETTINGS
    ) as connection:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return table_stats(connection, mode)
