"""``postgres``: the server accepts a connection and answers a query as expected."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from reprise.plan.checks import PostgresCheck
from reprise.plan.common import describe_dsn
from reprise.probes.result import ProbeResult, down, slow, up

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_postgres(check: PostgresCheck, _run: ProbeRun) -> ProbeResult:
    """Connect, run ``query`` read-only and compare the first column of the first row."""
    import psycopg

    timeout = max(1, math.ceil(check.timeout.total_seconds()))
    where = describe_dsn(check.dsn)
    started = time.perf_counter()
    try:
        async with await psycopg.AsyncConnection.connect(
            check.dsn,
            connect_timeout=timeout,
            autocommit=True,
            options=f"-c statement_timeout={timeout * 1000} -c default_transaction_read_only=on",
            application_name="reprise-monitor",
        ) as connection:
            row = await (await connection.execute(check.query)).fetchone()
    except psycopg.Error as error:
        lines = str(error).strip().splitlines()
        reason = lines[0] if lines else type(error).__name__
        return down(f"{where}: {reason}", time.perf_counter() - started)
    latency = time.perf_counter() - started
    got = None if row is None or not row else row[0]
    shown = "no row" if row is None else repr(got)
    if (
        check.expect is not None
        and str(got) != check.expect
        and not (isinstance(got, bool) and check.expect.lower() in ("true", "t") and got)
    ):
        return down(
            f"{where}: {check.query!r} returned {shown}, expected {check.expect!r}", latency
        )
    return slow(
        up(f"{where}: {check.query!r} → {shown} in {latency * 1000:.0f} ms", latency),
        check.degraded_latency,
    )
