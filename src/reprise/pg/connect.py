"""Connections to the user's PostgreSQL servers, with errors people can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from reprise.errors import InputError, OperationError

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT = 10


def split_dsn(dsn: str) -> tuple[str, str | None]:
    """The DSN as a conninfo string without its password, and the password.

    Programs get the password through PGPASSWORD, never on a command line that ``ps``
    shows to every user of the machine.
    """
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parts = conninfo_to_dict(dsn)
    except Exception as error:
        raise InputError(
            f"invalid PostgreSQL DSN: {error}", hint="postgresql://user@host:5432/dbname"
        ) from error
    password = parts.pop("password", None)
    return make_conninfo("", **parts), (str(password) if password is not None else None)


def _explain(error: Exception, where: str) -> OperationError:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "password authentication failed" in text or "no password supplied" in text:
        hint = "check the user and password (the DSN, PGPASSWORD or ~/.pgpass)"
    elif "does not exist" in text:
        hint = "check the database and user names in the DSN"
    elif "Connection refused" in text or "timeout" in text or "could not translate" in text:
        hint = "check that the server runs and listens on that host and port"
    else:
        hint = None
    return OperationError(
        f"{where}: cannot connect to PostgreSQL: {text}",
        hint=hint,
        retryable=hint is None or "server runs" in hint,
    )


@contextmanager
def connect(
    dsn: str, *, what: str, dbname: str | None = None, options: str | None = None
) -> Iterator[psycopg.Connection[Any]]:
    """A connection (autocommit) to ``dsn``, or to ``dbname`` on the same server."""
    import psycopg

    extra: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT,
        "autocommit": True,
        "application_name": "reprise",
    }
    if dbname is not None:
        extra["dbname"] = dbname
    if options:
        extra["options"] = options
    try:
        connection = psycopg.connect(dsn, **extra)
    except psycopg.Error as error:
        raise _explain(error, what) from error
    try:
        yield connection
    finally:
        connection.close()
