"""Parsing of option values shared by several commands."""

from __future__ import annotations

from datetime import timedelta

import typer

ROW_ID_MAX = 2**63 - 1
"""The largest id a state database can hold (SQLite and PostgreSQL bigint): a larger number
typed by a person is a usage error, not a database overflow."""


def duration_option(flag: str, value: str) -> timedelta:
    """Read a ``--since 7d`` style option, as a usage error (exit 2) when malformed."""
    from pydantic_core import PydanticCustomError

    from reprise.plan.units import parse_duration

    try:
        return parse_duration(value)
    except PydanticCustomError as error:
        hint = (error.context or {}).get("hint", "")
        raise typer.BadParameter(f"{error.message()}; {hint}", param_hint=flag) from None
