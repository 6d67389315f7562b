"""Open the state database (SQLite or PostgreSQL) and bring its schema up to date.

Migrations run on first use, under a lock so that two Reprise processes starting together
never migrate at once: a PostgreSQL advisory lock, or a lock file beside the SQLite file.
A database migrated by a newer Reprise is refused rather than used half-understood.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import stat
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
HEAD_REVISION = "0011"
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
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # Only settings that take no lock: journal_mode=WAL needs an exclusive lock and fails
    # while another process migrates, so `migrate` sets it once (it persists in the file).
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _prepare_sqlite_file(database: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (it would make it 0644), so that its
    -wal and -shm files, which SQLite creates with the database's mode, are private too; its
    folder is created 0700 and refused when others can change it. A file left 0644 by an
    older Reprise is narrowed to 0600."""
    from reprise.paths import prepare_state_dir
    from reprise.security import PRIVATE_FILE, create_private_file

    prepare_state_dir(database.parent, "folder of the state database")
    try:
        os.close(create_private_file(database))
    except FileExistsError:
        pass
    except OSError as error:
        raise StateStoreError(
            f"cannot create the state database {database}: {error.strerror}",
            hint="check the owner and mode of its folder",
        ) from None
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(OSError):
            status = path.stat()
            if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) & 0o077:
                path.chmod(PRIVATE_FILE)


def _sqlite_problem(reason: str) -> tuple[str, bool] | None:
    """The fix for an SQLite failure a person can act on, and whether retrying may help;
    None for the others (e.g. "no such table", which migration handles)."""
    lowered = reason.lower()
    if "locked" in lowered or "busy" in lowered:
        return (
            "another process (a backup, the monitor, a `sqlite3` shell?) is writing to "
            "it; run the command again when it is done",
            True,
        )
    if "readonly" in lowered or "read-only" in lowered:
        return (
            "Reprise writes its state: the database file and its folder must be owned "
            "by the user running Reprise and writable by it (chmod 600 the file, 700 the "
            "folder)",
            False,
        )
    if "unable to open" in lowered:
        return (
            "check that the state directory exists and that the user running Reprise can write it",
            False,
        )
    if "disk is full" in lowered or "disk i/o" in lowered:
        return "free space on the disk of the state directory, then run it again", True
    if "not a database" in lowered or "malformed" in lowered:
        return (
            "the file is not a Reprise state database (or it is damaged): point state.url "
            "elsewhere, or move it aside and run `reprise repo reindex` to rebuild the "
            "catalog",
            False,
        )
    return None


def _translate_sqlite_errors(engine: Engine, display: str) -> None:
    """Turn SQLite failures a person can fix into one clear StateStoreError, wherever they
    happen (opening, reading, writing), instead of an internal error."""

    def handle(context: Any) -> None:
        original = context.original_exception
        if not isinstance(original, sqlite3.OperationalError | sqlite3.DatabaseError):
            return
        reason = str(original).strip().splitlines()[0] if str(original).strip() else ""
        known = _sqlite_problem(reason)
        if known is None:
            return
        hint, retryable = known
        raise StateStoreError(
            f"the state database {display}: {reason}", hint=hint, retryable=retryable
        ) from None

    event.listen(engine, "handle_error", handle)


def create_store_engine(url: str) -> tuple[Engine, str]:
    """An engine for ``url`` and its printable form; no connection is made yet."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise StateStoreError(
            f"state.url is not a database URL: {url!r}",
            hint="use sqlite:////var/lib/reprise/reprise.db or postgresql://user@host/dbname",
        ) from None
    display = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            _prepare_sqlite_file(Path(database))
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        _translate_sqlite_errors(engine, display)
    elif backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    else:
        raise StateStoreError(
            f"unsupported state database {backend!r} in {display}",
            hint="use a sqlite:/// or postgresql:// URL",
        )
    return engine, display


@contextmanager
def _migration_lock(connection: Connection, engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock = Path(f"{database}.migrate-lock")
    descriptor = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    with os.fdopen(descriptor, "a") as handle:
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
        known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
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
        hint = (
            (
                "check that the server is running and the URL, user and password in "
                "state.url are right"
            )
            if store.dialect == "postgresql"
            else (_sqlite_problem(reason) or ("check the state database file and its folder",))[0]
        )
        raise StateStoreError(
            f"cannot open the state database {display}: {reason}", hint=hint
        ) from None
    except OSError as error:
        store.close()
        raise StateStoreError(
            f"cannot open the state database {display}: {error.strerror}",
            hint="check the state directory exists and is writable",
        ) from None
    return store
