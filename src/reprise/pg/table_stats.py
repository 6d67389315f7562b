"""Per-table row counts and content checksums, computed the same way at backup time and
on a restored copy, so that a drill proves the data came back whole.

Row counts cost a sequential scan of each table (no conversion: about 0.07 s per million
rows). The checksum of a table is order-independent: the sum, as a numeric, of
``hashtextextended(t::text, 0)`` over its rows, with the session settings below fixed so
that a row's text form does not depend on the server's configuration.
``hashtextextended`` is the hash that hash partitioning stores on disk, so PostgreSQL keeps
it stable across versions (it differs only between little- and big-endian machines). It
costs the conversion of every row to text, about what the dump's own COPY costs (0.55 s per
million rows of bench/backup.py's mixed data, against 1.2 s for MD5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

SERIAL_SETTINGS = " -c max_parallel_workers_per_gather=0 -c jit=off"
"""For counting beside a running dump: on the bench's 7 M rows a parallel count (3
processes, JIT) costs 0.57 s of server CPU taken from the dump's cores, a serial one 0.45 s
and still ends long before the dump. Checksums cost about what the dump's COPY costs, so
they keep the planner's choice (parallel workers let them end with the dump on a server
with spare cores)."""

STATS_SETTINGS = (
    "-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=postgres "
    "-c extra_float_digits=1 -c bytea_output=hex -c lc_monetary=C"
)

_TABLES = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def stats_settings(mode: str, *, beside_dump: bool) -> str:
    """The session settings (libpq ``options``) of a connection computing ``mode``."""
    if beside_dump and mode not in ("checksums", "none"):
        return STATS_SETTINGS + SERIAL_SETTINGS
    return STATS_SETTINGS


def table_stats(connection: psycopg.Connection[Any], mode: str) -> dict[str, Any]:
    """``{"table_stats": mode, "tables": [{schema, name, rows, checksum}]}`` for every
    user table visible in the connection's transaction."""
    from psycopg import sql

    if mode == "none":
        return {"table_stats": mode, "tables": []}
    tables = []
    for schema, name in connection.execute(_TABLES).fetchall():
        target = sql.Identifier(schema, name)
        if mode == "checksums":
            query = sql.SQL(
                "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)"
                "::text FROM ONLY {} t"
            ).format(target)
        else:
            query = sql.SQL("SELECT count(*), NULL FROM ONLY {}").format(target)
        row = connection.execute(query).fetchone()
        assert row is not None
        entry: dict[str, Any] = {"schema": schema, "name": name, "rows": int(row[0])}
        if mode == "checksums":
            entry["checksum"] = row[1]
        tables.append(entry)
    return {"table_stats": mode, "tables": tables}
