"""``reprise restore --pitr``: point-in-time recovery from a physical backup."""

from __future__ import annotations

from pathlib import Path

import typer


def pitr_command(ctx: typer.Context, service: str, *, backup: str | None, at: str | None,
                 source: str | None, only: str | None, target: str | None,
                 to_dir: Path | None, as_name: str | None, start: bool, port: int | None,
                 dry_run: bool, json: bool) -> None:
    """Recover a service to a point in time (arrives with physical backups)."""
    from reprise.errors import InputError

    raise InputError("point-in-time recovery needs a postgres_physical source, which this "
                     "build does not back up yet", hint="restore a logical backup meanwhile")
