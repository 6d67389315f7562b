"""What a drill checks on the restored copy: the data, the indexes, the plan's assertions.

Each check returns a list of findings rather than raising, so that a drill reports every
problem it saw, not only the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from reprise.pg.connect import connect
from reprise.plan.units import format_duration
from reprise.restore.logical import table_figures


@dataclass(frozen=True)
class Finding:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also the report's rows)."""
        return {"name": self.name, "result": "ok" if self.ok else "failed", "detail": self.detail}


def compare_tables(dsn: str, restored_as: str, recorded: dict[str, Any]) -> list[Finding]:
    """Row counts (and checksums when recorded) of every table against the backup's."""
    mode = recorded.get("table_stats", "none")
    name = f"tables of {recorded['name']}"
    if mode == "none":
        return [Finding(name, True, "no figures recorded at backup time (table_stats: none)")]
    now = {
        (item["schema"], item["name"]): item
        for item in table_figures(dsn, restored_as, mode)["tables"]
    }
    problems = []
    for before in recorded.get("tables", []):
        key = (before["schema"], before["name"])
        label = f"{recorded['name']}.{key[0]}.{key[1]}"
        after = now.pop(key, None)
        if after is None:
            problems.append(f"{label}: missing after restore")
        elif after["rows"] != before["rows"]:
            problems.append(f"{label}: {before['rows']} rows at backup, {after['rows']} restored")
        elif mode == "checksums" and after.get("checksum") != before.get("checksum"):
            problems.append(f"{label}: same row count, different content checksum")
    problems += [
        f"{recorded['name']}.{schema}.{table}: not in the backup's figures" for schema, table in now
    ]
    tables = len(recorded.get("tables", []))
    if problems:
        return [
            Finding(
                name,
                False,
                "; ".join(problems[:10])
                + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""),
            )
        ]
    what = "row counts and checksums" if mode == "checksums" else "row counts"
    return [Finding(name, True, f"{tables} table(s): {what} match the backup")]


_BTREE_INDEXES = """
SELECT c.oid, n.nspname || '.' || c.relname
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = c.relam
WHERE am.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
"""


def check_indexes(dsn: str, database: str) -> list[Finding]:
    """amcheck's bt_index_check on every B-tree index, where the extension exists.

    The structure only (no ``heapallindexed``): in a logical restore every index was just
    built by CREATE INDEX from the restored rows, so matching it against the heap again
    would check PostgreSQL's own index build, not the backup, at the cost of a second
    pass over every table per index (2.6 s of a 9 s drill on the bench's 7 M rows). The
    rows themselves are checked against the backup's figures beside this."""
    import psycopg

    name = f"indexes of {database} (amcheck)"
    with connect(dsn, what="drill", dbname=database) as connection:
        try:
            connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        except psycopg.Error as error:
            return [Finding(name, True, f"skipped: amcheck is not available ({error})")]
        indexes = connection.execute(_BTREE_INDEXES).fetchall()
        broken = []
        for oid, label in indexes:
            try:
                connection.execute("SELECT bt_index_check(%s::regclass, false)", (oid,))
            except psycopg.Error as error:
                broken.append(f"{label}: {str(error).strip()}")
    if broken:
        return [Finding(name, False, "; ".join(broken))]
    return [Finding(name, True, f"{len(indexes)} B-tree index(es) structurally sound")]


_PREFIX = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_$-]*):\s+(.*)$", re.DOTALL)
UNDEFINED_TABLE = "42P01"
DEFAULT_ASSERTION_TIMEOUT = timedelta(seconds=30)


def _explain(database: str, error: Exception, timeout: timedelta) -> str:
    """What went wrong, for the drill report: PostgreSQL's words, and ours where the cause
    is the way assertions are run."""
    sqlstate = getattr(error, "sqlstate", None)
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if sqlstate == "42601" and "multiple commands" in text:
        why, fix = "holds several statements", "write one statement per assertion"
    elif sqlstate == "57014":
        why = f"cancelled after {format_duration(timeout)} (drill.assertion_timeout)"
        fix = "make the query cheaper, or raise drill.assertion_timeout"
    elif sqlstate == "25006":
        why, fix = "assertions run read-only, and this one writes", "assert with a SELECT"
    elif sqlstate == "42501":
        why = "assertions run as a role that can only read the restored tables"
        fix = "assert with a SELECT on the restored data"
    else:
        return f"{database}: {text}"
    return f"{database}: {why}: {text} (fix: {fix})"


def run_assertions(
    dsn: str,
    databases: list[str],
    assertions: list[str],
    *,
    timeout: timedelta = DEFAULT_ASSERTION_TIMEOUT,
) -> list[Finding]:
    """The plan's SQL assertions (``integrity``): each must return true.

    ``akig: SELECT …`` runs in that database; without a prefix, in every restored database
    but ``postgres``, where a missing table means "not this database" as long as one
    database answered.

    Each assertion is one statement, sent with the extended query protocol (which
    PostgreSQL refuses for several statements), in a read-only transaction, cancelled past
    ``timeout``; ``dsn`` should be a role that can only read (see
    :func:`reprise.pg.scratch.create_reader`).
    """
    import psycopg

    milliseconds = max(1, int(timeout.total_seconds() * 1000))
    options = (
        f"-c default_transaction_read_only=on -c statement_timeout={milliseconds} "
        f"-c lock_timeout={milliseconds} -c idle_in_transaction_session_timeout="
        f"{milliseconds}"
    )
    findings = []
    for assertion in assertions:
        match = _PREFIX.match(assertion)
        if match and match.group(1) in databases:
            where, query = [match.group(1)], match.group(2)
        else:
            where = [name for name in databases if name != "postgres"] or databases
            query = assertion
        answers: list[str] = []
        problems: list[str] = []
        for database in where:
            with connect(dsn, what="drill", dbname=database, options=options) as connection:
                try:
                    with connection.transaction():
                        connection.execute("SET TRANSACTION READ ONLY")
                        row = connection.execute(query, prepare=True).fetchone()
                except psycopg.Error as error:
                    if error.sqlstate == UNDEFINED_TABLE and not match:
                        continue
                    problems.append(_explain(database, error, timeout))
                    continue
            value = row[0] if row else None
            answers.append(database)
            if value is not True:
                problems.append(f"{database}: returned {value!r}, expected true")
        if not answers and not problems:
            problems.append("no restored database has the tables it reads")
        findings.append(
            Finding(
                query.strip(), not problems, "; ".join(problems) or f"true in {', '.join(answers)}"
            )
        )
    return findings
