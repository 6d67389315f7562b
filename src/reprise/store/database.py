"""Open the state database (SQLite or PostgreSQL) and bring its schema up to date.

Migrations run on first use, under a lock so that two Reprise processes starting together
never migrate at once: a PostgreSQL advisory lock, or a lock file beside the SQLite file.
A database migrated by a newer Reprise is refused rather than used half-understood.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from reprise.errors import StateStoreError

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATION_LOCK_KEY = 0x5265707269736531  # "Reprise1": the advisory lock taken while migrating
_MIGRATIONS = "reprise.store:migrations"
HEAD_REVISION = "0005"
"""The newest migration (a test checks it against Alembic's): a database already there is
used without importing Alembic, which keeps every command's start-up fast."""


@dataclass
class Store:
    """An open state database. ``display_url`` is safe to print (password hidden)."""

    engine: Engine
    display_url: str

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def normalise_url(url: str) -> str:
    """Pick the drivers Reprise ships with: psycopg 3 for PostgreSQL, stdlib for SQLite."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # Only settings that take no lock: journal_mode=WAL needs an exclusive lock and fails
    # while another process migrates, so `migrate` sets it once (it persists in the file).
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_store_engine(url: str) -> tuple[Engine, str]:
    """An engine for ``url`` and its printable form; no connection is made yet."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise StateStoreError(f"state.url is not a database URL: {url!r}",
                              hint="use sqlite:////var/lib/reprise/reprise.db or "
                                   "postgresql://user@host/dbname") from None
    display = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True,
                               connect_args={"connect_timeout": 10})
    else:
        raise StateStoreError(f"unsupported state database {backend!r} in {display}",
                              hint="use a sqlite:/// or postgresql:// URL")
    return engine, display


@contextmanager
def _migration_lock(connection: Connection, engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                               {"key": _MIGRATION_LOCK_KEY})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with Path(f"{database}.migrate-lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this version of Reprise knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(store: Store) -> str | None:
    """The migration the database is at (None when it has never been migrated)."""
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(store: Store) -> None:
    """Bring the schema to the newest migration; raise StateStoreError if the database is
    ahead of this Reprise."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with store.engine.connect() as connection, _migration_lock(connection, store.engine):
        connection.commit()  # the lock is held by the session, outside any transaction
        if store.dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            connection.commit()
        config = _alembic_config(connection)
        known = {script.revision for script in
                 ScriptDirectory.from_config(config).walk_revisions()}
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in known:
            raise StateStoreError(
                f"the state database {store.display_url} is at schema revision {current!r}, "
                "which this version of Reprise does not know (a newer Reprise migrated it)",
                hint="upgrade Reprise on this host, or point state.url at another database",
            )
        command.upgrade(config, "head")
        connection.commit()


def _at_head(store: Store) -> bool:
    """Whether the schema is already the newest (read without Alembic or any lock)."""
    try:
        with store.engine.connect() as connection:
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except SQLAlchemyError:
        return False  # no table yet: a new database
    return row is not None and row[0] == HEAD_REVISION


def open_store(url: str) -> Store:
    """Open the state database at ``url``, migrating it on first use."""
    engine, display = create_store_engine(url)
    store = Store(engine, display)
    try:
        if not _at_head(store):
            migrate(store)
    except StateStoreError:
        store.close()
        raise
    except SQLAlchemyError as error:
        store.close()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StateStoreError(f"cannot open the state database {display}: {reason}",
                              hint="check that the server is running and the URL, user and "
                                   "password in state.url are right") from None
    except OSError as error:
        store.close()
        raise StateStoreError(f"cannot open the state database {display}: {error.strerror}",
                              hint="check the state directory exists and is writable") from None
    return store
