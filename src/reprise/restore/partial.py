"""Partial point-in-time recovery: one database or one table as it was at time T, loaded
into the live server under a new name, without stopping anything.

The whole cluster is recovered into a side instance (physical backups cannot do less),
then only the wanted object is dumped from it and restored into the target:

- a database becomes a new database (``--as``, default ``<db>_at_<YYYYmmdd_HHMM>``);
- a table is moved, in the side instance, into a schema of its own with its indexes and
  sequences, so that nothing clashes with the live table; that schema (``--as``, default
  ``restored_<YYYYmmdd_HHMM>``) is restored into the live database. Foreign keys are left
  out: the copy is there to compare and repair from, not to be referenced.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import InputError, RepriseError, option
from reprise.pg.binaries import find_tool
from reprise.pg.connect import connect, split_dsn
from reprise.restore import logical
from reprise.restore.pitr import (
    PitrRequest,
    RecoveringServer,
    plan_pitr,
    recover,
    side_folder,
)
from reprise.restore.report import Report
from reprise.restore.run import save_failure, save_report

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.restore.staging import PartProgress
    from reprise.store import Store

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]*$")


def parse_only(text: str) -> tuple[str, str | None, str | None]:
    """``DB`` or ``DB.SCHEMA.TABLE``."""
    parts = text.split(".")
    if len(parts) not in (1, 3) or not all(_NAME.match(part) for part in parts):
        raise InputError(
            f"{option('only')} {text!r}: expected DB or DB.SCHEMA.TABLE",
            hint=f"e.g. {option('only')} akig or {option('only')} akig.public.invoices",
        )
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], None, None)


def run_partial(
    plan: Plan,
    store: Store,
    request: PitrRequest,
    *,
    only: str,
    target: str,
    as_name: str | None,
    progress: PartProgress | None = None,
) -> tuple[Report, Path]:
    """Recover to ``request.at`` in a side instance and load ``only`` into ``target``."""
    database, schema, table = parse_only(only)
    stamp = (request.at or datetime.now().astimezone()).strftime("%Y%m%d_%H%M")
    new_name = as_name or (f"{database}_at_{stamp}" if table is None else f"restored_{stamp}")
    if not _NAME.match(new_name):
        raise InputError(
            f"{option('as_name')} {new_name!r}: use letters, digits and _",
            hint=f"e.g. {option('as_name')} invoices_before_incident",
        )
    pitr = plan_pitr(plan, store, request)
    manifest = pitr.base.manifest
    report = Report(
        "pitr",
        manifest.service,
        manifest.source,
        pitr.base.repository,
        manifest.id,
        manifest.finished_at,
        "",
    )
    report.figures["target"] = request.at.isoformat(sep=" ") if request.at else "latest"
    report.figures["only"] = only
    report.figures["restored_as"] = new_name
    work = side_folder()
    server: RecoveringServer | None = None
    try:
        with report.step("check target (read-only)"):
            _check_live(target, int(manifest.server["version_num"]), database, table, new_name)
        report.target = f"{logical.public_address(split_dsn(target)[0])}: " + (
            new_name if table is None else f"{database}.{new_name}.{table}"
        )
        server, reached = recover(
            plan, report, pitr, work / "data", start=True, port=None, progress=progress
        )
        assert reached is not None and server is not None
        report.figures["reached_time"] = reached.time.isoformat(sep=" ") if reached.time else None
        report.figures["reached_lsn"] = reached.lsn
        dump = work / "extract.pgdump"
        with report.step(f"extract {only} from the recovered instance"):
            _extract(server, database, schema, table, new_name, dump)
        with report.step(f"load it into the target as {new_name}"):
            _load(
                target,
                int(manifest.server["version_num"]) // 10000,
                database,
                table,
                new_name,
                dump,
            )
    except RepriseError as error:
        save_failure(plan, store, report, error)
        raise
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report.finish("ok")
    return report, save_report(plan, store, report)


def _check_live(
    target: str, version_num: int, database: str, table: str | None, new_name: str
) -> None:
    if table is None:
        logical.check_target(target, version_num, [(database, new_name)], clean=False)
        return
    with connect(target, what="restore target", dbname=database) as connection:
        if connection.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (new_name,)
        ).fetchone():
            raise InputError(
                f"schema {new_name!r} already exists in {database} on the target",
                hint=f"choose another name with {option('as_name')}",
            )


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    return logical.run_tool(argv, what=what, env=env, hint=None).stdout


def _extract(
    server: RecoveringServer,
    database: str,
    schema: str | None,
    table: str | None,
    new_name: str,
    dump: Path,
) -> None:
    from psycopg import sql

    pg_dump = find_tool("pg_dump", min_major=server.installation.major)
    if table is None:
        _run(
            [str(pg_dump), "-Fc", "-Z0", f"--file={dump}", server.dsn(database)],
            f"pg_dump {database}",
        )
        return
    assert schema is not None
    with connect(server.dsn(database), what="recovered instance") as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", (schema, table)
        ).fetchone()
        if not found:
            raise InputError(
                f"{database}.{schema}.{table} does not exist at that time",
                hint="check the name, or choose another time",
            )
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(new_name)))
        connection.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier(schema, table), sql.Identifier(new_name)
            )
        )
    _run(
        [
            str(pg_dump),
            "-Fc",
            "-Z0",
            "--no-owner",
            "--no-privileges",
            f"--schema={new_name}",
            f"--file={dump}",
            server.dsn(database),
        ],
        f"pg_dump {database}.{new_name}",
    )


def _load(
    target: str, major: int, database: str, table: str | None, new_name: str, dump: Path
) -> None:
    import os

    from psycopg.conninfo import make_conninfo

    conninfo, password = split_dsn(target)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    pg_restore = find_tool("pg_restore", min_major=major)
    if table is None:
        with connect(target, what="restore target") as connection:
            from psycopg import sql

            connection.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(new_name))
            )
        _run(
            [
                str(pg_restore),
                "--no-password",
                "--jobs=2",
                "--no-owner",
                f"--dbname={make_conninfo(conninfo, dbname=new_name)}",
                str(dump),
            ],
            f"pg_restore into {new_name}",
            env,
        )
        return
    listing = _run([str(pg_restore), "-l", str(dump)], "pg_restore -l")
    kept = "".join(line + "\n" for line in listing.splitlines() if " FK CONSTRAINT " not in line)
    with tempfile.NamedTemporaryFile("w", suffix=".list", dir=dump.parent) as handle:
        handle.write(kept)
        handle.flush()
        _run(
            [
                str(pg_restore),
                "--no-password",
                "--no-owner",
                "--no-privileges",
                f"--use-list={handle.name}",
                f"--dbname={make_conninfo(conninfo, dbname=database)}",
                str(dump),
            ],
            f"pg_restore into {database}.{new_name}",
            env,
        )
