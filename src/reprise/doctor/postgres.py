"""``postgres.reachable``, ``postgres.client`` and ``clock.skew``: each PostgreSQL source
answers, the client programs Reprise runs against it are not older than the server, and
the database's clock agrees with this host's."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reprise.doctor.checks import Check, Context, Status, problem, text, worst

if TYPE_CHECKING:
    from reprise.plan.jobs import BackupJob

KINDS = ("postgres", "postgres_physical")
SKEW_WARN = 5.0
SKEW_FAIL = 60.0
IDS = ("postgres.reachable", "postgres.client", "clock.skew")


@dataclass(frozen=True)
class Server:
    """What a source's server said when asked, or why it did not answer."""

    version_num: int = 0
    version: str = ""
    skew: float = 0.0
    """The database clock minus this host's, in seconds."""
    error: str = ""
    fix: str = ""

    @property
    def major(self) -> int:
        """The server's major version (15 for 150004)."""
        return self.version_num // 10000


def server(context: Context, job: BackupJob) -> Server:
    """The source's server, asked once per run."""
    return context.once("servers", job.name, lambda: _ask(job))


def _ask(job: BackupJob) -> Server:
    from reprise.errors import RepriseError
    from reprise.pg.connect import connect

    dsn = str(getattr(job.source, "dsn", ""))
    try:
        with connect(dsn, what=f"source {job.name}") as connection:
            row = connection.execute(
                "SELECT current_setting('server_version_num')::int, "
                "current_setting('server_version')"
            ).fetchone()
            before = time.time()
            clock = connection.execute(
                "SELECT extract(epoch FROM clock_timestamp())::float8"
            ).fetchone()
            after = time.time()
    except RepriseError as error:
        message, hint = problem(error)
        return Server(error=message, fix=hint)
    assert row is not None and clock is not None
    return Server(int(row[0]), str(row[1]).split()[0], float(clock[0]) - (before + after) / 2)


def check_reachable(context: Context) -> list[Check]:
    """Each PostgreSQL source answers."""
    title = text("title.postgres.reachable")
    jobs = context.sources(*KINDS)
    if not jobs:
        return [Check(IDS[0], "skip", title, text("detail.no_postgres"))]
    lines: list[str] = []
    fixes: list[str] = []
    statuses: list[Status] = []
    for job in jobs:
        found = server(context, job)
        if found.error:
            statuses.append("fail")
            lines.append(f"{job.name}: {found.error}")
            fixes.append(found.fix)
        else:
            statuses.append("ok")
            lines.append(f"{job.name}: PostgreSQL {found.version}")
    status = worst(statuses)
    fix = text("fix.postgres.reachable", hints="; ".join(f for f in fixes if f) or "—")
    return [
        Check(
            IDS[0],
            status,
            title,
            text("detail.lines", lines="; ".join(lines)),
            fix if status == "fail" else None,
        )
    ]


def check_client(context: Context) -> list[Check]:
    """pg_dump/pg_restore (logical sources) and pg_basebackup (physical ones) are at least
    the server's version (pg_basebackup: the same major version)."""
    from reprise.errors import ToolNotFoundError
    from reprise.pg.binaries import find_installations, find_tool

    title = text("title.postgres.client")
    jobs = context.sources(*KINDS)
    if not jobs:
        return [Check(IDS[1], "skip", title, text("detail.no_postgres"))]
    lines: list[str] = []
    fixes: list[str] = []
    statuses: list[Status] = []
    versions = {inst.bindir: inst.version for inst in find_installations()}
    for job in jobs:
        found = server(context, job)
        if found.error:
            statuses.append("skip")
            lines.append(f"{job.name}: —")
            continue
        tools = ("pg_dump", "pg_restore") if job.source.kind == "postgres" else ("pg_basebackup",)
        for tool in tools:
            try:
                if tool == "pg_basebackup":
                    path = find_tool(tool, major=found.major)
                else:
                    path = find_tool(tool, min_major=found.major)
            except ToolNotFoundError as error:
                message, hint = problem(error)
                statuses.append("fail")
                lines.append(f"{job.name} (PostgreSQL {found.version}): {message}")
                fixes.append(hint)
                continue
            statuses.append("ok")
            version = versions.get(path.parent, "?")
            lines.append(f"{job.name}: PostgreSQL {found.version}, {tool} {version}")
    status = worst(statuses)
    fix = text("fix.postgres.client", hints="; ".join(dict.fromkeys(fixes)) or "—")
    return [
        Check(
            IDS[1],
            status,
            title,
            text("detail.lines", lines="; ".join(lines)),
            fix if status == "fail" else None,
        )
    ]


def check_clock(context: Context) -> list[Check]:
    """The database's clock against this host's (warn over 5 s, fail over 60 s)."""
    title = text("title.clock.skew")
    jobs = [job for job in context.sources(*KINDS) if not server(context, job).error]
    if not jobs:
        return [Check(IDS[2], "skip", title, text("detail.no_reachable_postgres"))]
    lines: list[str] = []
    statuses: list[Status] = []
    for job in jobs:
        skew = server(context, job).skew
        size = abs(skew)
        statuses.append("fail" if size > SKEW_FAIL else "warn" if size > SKEW_WARN else "ok")
        lines.append(f"{job.name}: {skew:+.1f} s")
    status = worst(statuses)
    detail = text("detail.clock", lines="; ".join(lines), warn=int(SKEW_WARN), fail=int(SKEW_FAIL))
    return [
        Check(IDS[2], status, title, detail, text("fix.clock.skew") if status != "ok" else None)
    ]
