"""Building blocks shared by every part of the plan model: the strict base class,
identifiers, hosts, ports, regular expressions, paths relative to the plan file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError


class PlanModel(BaseModel):
    """Base of every plan section: unknown keys are errors, values are immutable.

    A DR tool that ignores a misspelt ``retention`` key silently keeps the default and loses
    data; so every section forbids extra keys, and the diagnostics suggest the nearest one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)


_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _identifier(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "identifier",
            "expected an identifier, got '{got}'",
            {"got": value, "hint": "write an id such as 'akig-db'"},
        )
    if not _ID.match(value):
        suggestion = re.sub(r"[^a-z0-9_-]+", "-", value.lower()).strip("-_") or "my-service"
        raise PydanticCustomError(
            "identifier",
            "'{got}' is not a valid id (lowercase letters, digits, '-' and '_', "
            "at most 63 characters, starting with a letter or digit)",
            {"got": value, "hint": f"write it as {suggestion[:63]!r}"},
        )
    return value


Identifier = Annotated[
    str,
    BeforeValidator(_identifier),
    WithJsonSchema({"type": "string", "pattern": _ID.pattern, "examples": ["akig-db"]}),
]
"""An id used in references and in file names: ``akig-db``, ``recovery-lead``."""


def _non_empty(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError(
            "empty", "must not be empty", {"hint": "write a value, or remove the key"}
        )
    return value


Text = Annotated[str, BeforeValidator(_non_empty)]
"""A non-empty string."""


def _host(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise PydanticCustomError(
                "host", "must not be empty", {"hint": "write a host name or an IP address"}
            )
        if "://" in value or "/" in value or " " in value.strip():
            raise PydanticCustomError(
                "host",
                "expected a host name or IP address, got '{got}'",
                {
                    "got": value,
                    "hint": "write only the host, e.g. 'mail.example.org' or "
                    "'10.0.0.1' (no scheme, path or port)",
                },
            )
    return value


Host = Annotated[str, BeforeValidator(_host), Field(examples=["10.0.0.1", "mail.example.org"])]
"""A host name or IP address, without scheme or port."""

Port = Annotated[int, Field(ge=1, le=65535, examples=[22])]
"""A TCP or UDP port."""


def _regex(value: Any) -> Any:
    if isinstance(value, str):
        try:
            re.compile(value)
        except re.error as error:
            raise PydanticCustomError(
                "regex",
                "not a valid regular expression: {reason}",
                {
                    "reason": str(error),
                    "hint": "check the brackets and escape special characters with a backslash",
                },
            ) from None
    return value


Regex = Annotated[str, BeforeValidator(_regex)]
"""A Python regular expression (checked when the plan loads)."""


def _plan_path(value: Any, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return path


PlanPath = Annotated[
    Path,
    BeforeValidator(_non_empty),
    AfterValidator(_plan_path),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A path; relative paths are read from the plan file's directory.",
        }
    ),
]
"""A path; relative paths are resolved against the directory that holds the plan."""


def _absolute_path(value: Any) -> Any:
    if isinstance(value, str) and not value.startswith("/"):
        raise PydanticCustomError(
            "absolute_path",
            "must be an absolute path (got '{got}')",
            {
                "got": value,
                "hint": "start the path with /, as it is read on the host where "
                "the check or backup runs",
            },
        )
    return value


AbsolutePath = Annotated[str, BeforeValidator(_absolute_path)]
"""An absolute path on the machine where a check or backup runs."""


def _dsn(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        is_url = text.startswith(("postgresql://", "postgres://"))
        is_keywords = "=" in text and "://" not in text
        if not (is_url or is_keywords):
            raise PydanticCustomError(
                "dsn",
                "not a PostgreSQL connection string",
                {
                    "hint": "write postgresql://user@host:5432/dbname, or keywords such as "
                    "'host=db.local dbname=app user=backup'; keep passwords in .env "
                    "or ~/.pgpass"
                },
            )
    return value


Dsn = Annotated[str, BeforeValidator(_dsn), Field(examples=["postgresql://backup@db/postgres"])]
"""A libpq connection string (URL or ``key=value`` form)."""


def one_or_many(value: Any) -> Any:
    """Let a single string stand for a one-element list (``roles: lead``)."""
    return [value] if isinstance(value, str) else value


def address(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def describe_dsn(dsn: str) -> str:
    """host:port/database of a DSN, without user or password."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except ProgrammingError:
        return "postgres"
    host = parts.get("host") or "local socket"
    port = parts.get("port") or "5432"
    database = parts.get("dbname") or parts.get("user") or ""
    return f"{host}:{port}/{database}"
