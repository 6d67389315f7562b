"""Helpers shared by the restore tests: databases on the target, what a restore stages."""

from __future__ import annotations

from pathlib import Path

import psycopg

from reprise.pg.scratch import ConnectionInfo
from reprise.restore.workspace import MEMORY
from tests.support.backups import World


def database_exists(postgres: ConnectionInfo, database: str) -> bool:
    with psycopg.connect(postgres.dsn()) as connection:
        row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        return row.fetchone() is not None


def drop_databases(postgres: ConnectionInfo, *databases: str) -> None:
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        for database in databases:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def memory_folders() -> set[Path]:
    """The restores' staging folders in memory now."""
    return set(MEMORY.glob("reprise-restore-*")) if MEMORY.is_dir() else set()


def assert_nothing_staged(world: World, before: set[Path]) -> None:
    """No staged file left, on disk or in memory (``before``: the memory folders then)."""
    work = world.root / "state" / "work"
    assert not work.exists() or not any(work.iterdir())
    assert not (memory_folders() - before)
