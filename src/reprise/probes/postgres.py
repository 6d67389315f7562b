"""``postgres``: the server accepts a connection and answers a query as expected."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from reprise.plan.checks import PostgresCheck
from reprise.plan.common import describe_dsn
from reprise.probes.result import ProbeResult, down, slow, up
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_postgres(check: PostgresCheck, run: ProbeRun) -> ProbeResult:
    """Connect, run ``query`` read-only and compare the first column of the first row."""
    import psycopg

    timeout = max(1, math.ceil(check.timeout.total_seconds()))
    where = describe_dsn(check.dsn)
    language = run.language
    started = time.perf_counter()
    try:
        connection = await psycopg.AsyncConnection.connect(
            check.dsn,
            connect_timeout=timeout,
            autocommit=True,
            options=f"-c statement_timeout={timeout * 1000} -c default_transaction_read_only=on",
            application_name="reprise-monitor",
        )
    except psycopg.Error as error:
        message = say(language, "probe.pg_connect", where=where, reason=_first_line(error))
        return down(message, time.perf_counter() - started)
    try:
        async with connection:
            row = await (await connection.execute(check.query)).fetchone()
    except psycopg.Error as error:
        message = say(language, "probe.pg_query_failed", where=where, reason=_first_line(error))
        return down(message, time.perf_counter() - started)
    latency = time.perf_counter() - started
    got = None if row is None or not row else row[0]
    shown = say(language, "probe.pg_no_row") if row is None else repr(got)
    if (
        check.expect is not None
        and str(got) != check.expect
        and not (isinstance(got, bool) and check.expect.lower() in ("true", "t") and got)
    ):
        return down(
            say(
                language,
                "probe.pg_unexpected",
                where=where,
                query=repr(check.query),
                got=shown,
                expected=repr(check.expect),
            ),
            latency,
        )
    message = say(
        language,
        "probe.pg_ok",
        where=where,
        query=repr(check.query),
        got=shown,
        latency=f"{latency * 1000:.0f}",
    )
    return slow(language, up(message, latency), check.degraded_latency)


def _first_line(error: Exception) -> str:
    """The first line of a driver error: the server's or libpq's own words."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
