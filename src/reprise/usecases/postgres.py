"""The PostgreSQL programs Reprise finds on this host, per major version."""

from __future__ import annotations

from reprise.pg.binaries import Installation, find_installations

__all__ = ["Installation", "postgres_installations"]


def postgres_installations() -> list[Installation]:
    """Installations found, newest first, and whether each can run a scratch server."""
    return list(find_installations())
