"""Where things live in a repository (format v1); see docs/repository-format.md."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

CONFIG_KEY = "reprise-repository.json"
BACKUPS = "backups/"
LOCKS = "locks/"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"

BACKUP_ID = re.compile(r"^(\d{8}T\d{6}Z)-([0-9a-f]{6})$")


def new_backup_id(now: datetime | None = None) -> str:
    """UTC time to the second plus a short random suffix: sorts by time, never collides."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def backup_time(backup_id: str) -> datetime | None:
    """The time encoded in a backup id (None for a name that is not one)."""
    match = BACKUP_ID.match(backup_id)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def backup_prefix(source: str, backup_id: str) -> str:
    """The folder of one backup."""
    return f"{BACKUPS}{source}/{backup_id}/"


def lock_key(source: str) -> str:
    """The lock object of a source."""
    return f"{LOCKS}{source}.json"
