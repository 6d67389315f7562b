"""Tables of the state database (SQLAlchemy Core).

The state database is an index and a journal, never the only copy of anything a restore
needs (the repository is self-describing). Later work adds its tables here and a
migration under ``migrations/versions``; a test checks that both agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always returned timezone-aware.

    SQLite has no time zone type; without this, a naive datetime read back would be
    compared with aware ones and fail (or, worse, be taken for local time).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")
"""Integer primary keys: 64-bit on PostgreSQL, SQLite's rowid alias on SQLite."""

plan_versions = Table(
    "plan_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    Index(None, "loaded_at"),
)
"""Each distinct plan file content seen, with when it was first loaded."""

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("time", UtcDateTime, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Index(None, "time"),
    Index(None, "kind", "time"),
    Index(None, "subject", "time"),
)
"""Append-only journal: what happened, when, to what. Rows are never updated."""

backups = Table(
    "backups",
    metadata,
    Column("repository", String(100), primary_key=True),
    Column("backup_id", String(40), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("service", String(100), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("plain_size", BigInteger, nullable=False),
    Column("stored_size", BigInteger, nullable=False),
    Column("manifest", JSON, nullable=False),
    Column("verified_at", UtcDateTime, nullable=True),
    Column("verify_status", String(20), nullable=True),
    Column("verify_detail", Text, nullable=True),
    Index(None, "service", "finished_at"),
    Index(None, "source", "finished_at"),
)
"""Catalog of complete backups (an index of signed manifests; `repo reindex` rebuilds it)."""

backup_parts = Table(
    "backup_parts",
    metadata,
    Column("repository", String(100), primary_key=True),
    Column("backup_id", String(40), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("stored_size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("verified_at", UtcDateTime, nullable=True),
    Column("deep_verified_at", UtcDateTime, nullable=True),
    Index(None, "deep_verified_at"),
    Index(None, "verified_at"),
)
"""Parts of cataloged backups with when each was last checked (budgeted verification)."""

drills = Table(
    "drills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("source", String(100), nullable=False),
    Column("repository", String(100), nullable=False),
    Column("backup_id", String(40), nullable=False),
    Column("backup_time", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("rto_seconds", Float, nullable=True),
    Column("objective_seconds", Float, nullable=True),
    Column("result", String(20), nullable=False),
    Column("failures", JSON, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("report", Text, nullable=True),
    Index(None, "service", "started_at"),
)
"""Restore drills: the backup used, each step's duration, the RTO achieved, the result."""


check_results = Table(
    "check_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("check_name", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("latency", Float, nullable=True),
    Column("message", Text, nullable=False),
    Index(None, "service", "check_name", "at"),
    Index(None, "hour"),
)
"""Raw check results (kept ``monitoring.raw_retention``): ``at`` in epoch seconds, ``hour``
its epoch hour, the bucket of the hourly roll-up."""

check_rollups = Table(
    "check_rollups",
    metadata,
    Column("service", String(100), primary_key=True),
    Column("check_name", String(200), primary_key=True),
    Column("period", String(5), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("total", Integer, nullable=False),
    Column("up", Integer, nullable=False),
    Column("degraded", Integer, nullable=False),
    Column("down", Integer, nullable=False),
    Column("latency_sum", Float, nullable=False),
    Column("latency_max", Float, nullable=True),
)
"""Hourly (``bucket`` = epoch hour) and daily (epoch day, UTC) counts of results, for uptime."""

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("message", Text, nullable=False),
    Column("root", String(100), nullable=True),
    Column("notified_at", UtcDateTime, nullable=True),
    Column("level", Integer, nullable=False),
    Column("next_at", UtcDateTime, nullable=True),
    Column("digest_due", UtcDateTime, nullable=True),
    Column("acked_at", UtcDateTime, nullable=True),
    Column("acked_by", String(200), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("roles", JSON, nullable=False),
    Index(None, "service", "resolved_at"),
)
"""Alerts: one per problem of a service, from detection to recovery; ``level`` counts the
escalations, ``root`` names the failed dependency of an impacted service."""

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, nullable=True),
    Column("kind", String(20), nullable=False),
    Column("role", String(100), nullable=False),
    Column("contact", String(300), nullable=False),
    Column("subject", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", Text, nullable=True),
    Index(None, "at"),
)
"""Every notification sent or given up on (contacts redacted), for display and audit."""

silences = Table(
    "silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Index(None, "ends_at"),
)
"""Ad-hoc silences: the service is still checked, its alerts are held back until the end."""
