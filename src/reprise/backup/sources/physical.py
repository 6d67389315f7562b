"""``postgres_physical`` source: a base backup for point-in-time recovery.

``pg_basebackup`` writes one tar of the data directory to its standard output, which
streams through the usual pipeline (no local copy). The WAL needed to make the copy
consistent is included (``-X fetch``), so a base backup restores on its own; the WAL
archive (``reprise wal push``) carries it forward to any later point in time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from reprise.backup.sources.base import PartSpec, SourceFacts
from reprise.backup.sources.process import producer_output
from reprise.pg.binaries import find_tool
from reprise.pg.connect import connect, split_dsn

if TYPE_CHECKING:
    from reprise.plan.sources import PostgresPhysicalSource

_START = re.compile(r"write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\d+)")
_END = re.compile(r"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)")

_FACTS = """
SELECT current_setting('server_version'), current_setting('server_version_num')::int,
       (SELECT system_identifier::text FROM pg_control_system()),
       (SELECT timeline_id FROM pg_control_checkpoint()),
       current_setting('wal_segment_size'),
       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),
       (SELECT rolname FROM pg_roles WHERE oid = 10),
       current_setting('archive_mode'), current_setting('data_directory', true)
"""


class PhysicalRun:
    """Streams ``pg_basebackup -Ft -D -`` as one part and records its WAL positions."""

    def __init__(self, config: PostgresPhysicalSource, source_name: str) -> None:
        self.config = config
        self.source_name = source_name
        self.facts = SourceFacts()
        self.conninfo, self.password = split_dsn(config.dsn)
        with connect(config.dsn, what=source_name) as connection:
            row = connection.execute(_FACTS).fetchone()
        assert row is not None
        self.facts.server = {
            "version": row[0],
            "version_num": row[1],
            "system_identifier": row[2],
            "timeline": row[3],
            "wal_segment_size": _bytes(row[4], row[5]),
            "superuser": row[6],
            "archive_mode": row[7],
            "data_directory": row[8],
        }
        major = int(row[1]) // 10000
        self.tool = find_tool("pg_basebackup", major=major)

    def parts(self) -> Iterator[PartSpec]:
        """One part: the data directory as a tar."""
        yield PartSpec(name="base.tar", role="base", open=self._open, format="tar")

    @contextmanager
    def _open(self) -> Iterator[BinaryIO]:
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        argv = [
            str(self.tool),
            f"--dbname={self.conninfo}",
            "--pgdata=-",
            "--format=tar",
            "--wal-method=fetch",
            f"--checkpoint={self.config.checkpoint}",
            "--verbose",
            "--no-password",
            f"--label=reprise {self.source_name}",
        ]
        stderr: list[str] = []
        with producer_output(
            argv,
            what=f"{self.source_name}: pg_basebackup",
            env=env,
            stderr_out=stderr,
            hint="the user needs the REPLICATION attribute and a "
            "pg_hba.conf 'replication' line; max_wal_senders > 0",
        ) as stream:
            yield stream
        text = stderr[0] if stderr else ""
        start, end = _START.search(text), _END.search(text)
        if start:
            self.facts.server["start_lsn"] = start.group(1)
            self.facts.server["start_timeline"] = int(start.group(2))
        if end:
            self.facts.server["end_lsn"] = end.group(1)


def _bytes(text: str, raw: Any) -> int:
    """wal_segment_size in bytes (pg_settings gives it in bytes from PostgreSQL 11)."""
    value = int(raw)
    return value if value >= 1024 * 1024 else value * 8192


def open_run(config: PostgresPhysicalSource, source_name: str, work_dir: Path) -> PhysicalRun:
    """The backup of a ``postgres_physical`` source (pg_basebackup's tar), as registered in
    ``reprise.backup.sources.registry``."""
    del work_dir  # streamed: nothing is staged on disk
    return PhysicalRun(config, source_name)
