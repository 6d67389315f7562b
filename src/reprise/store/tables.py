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
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


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
    Column("problem", String(20), nullable=True),
    Column("problem_detail", Text, nullable=True),
    Column("problem_since", UtcDateTime, nullable=True),
    Index(None, "service", "finished_at"),
    Index(None, "source", "finished_at"),
)
"""Catalog of complete backups (an index of signed manifests; `repo reindex` rebuilds it).
A row with a ``problem`` (damaged, untrusted, moved, replayed) is a folder that looks like a
backup but does not verify: listed and reported, never restored, until someone forgets it."""

accepted_recipients = Table(
    "accepted_recipients",
    metadata,
    Column("repository", String(100), primary_key=True),
    Column("recipients", JSON, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=False),
    Column("accepted_by", String(200), nullable=False),
    Column("origin", String(40), nullable=False),
)
"""The age recipients backups of a repository may be encrypted to, pinned here (not in the
repository, which its writers could change); each change is also journaled."""

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

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("cause", Text, nullable=True),
    Column("severity", String(2), nullable=False),
    Column("status", String(8), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("commander", String(200), nullable=True),
    Column("last_failure_at", UtcDateTime, nullable=False),
    Column("last_report_at", UtcDateTime, nullable=True),
    Column("exercise", Boolean, nullable=False, default=False, server_default=false()),
    Index(None, "status"),
)
"""Incidents: one event that took services down (a power failure), from opening to closing;
``last_failure_at`` is when the latest affected service began failing (for grouping)."""

incident_services = Table(
    "incident_services",
    metadata,
    Column("incident_id", Id, primary_key=True),
    Column("service", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("initial_state", String(12), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("target_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
)
"""The services an incident affects: current state, target resolution time (opening + RTO,
editable) and when it last came back up (cleared if it fails again)."""

incident_states = Table(
    "incident_states",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, nullable=False),
    Column("service", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("state", String(12), nullable=False),
    Column("source", String(300), nullable=False),
    Index(None, "incident_id", "service"),
)
"""Each affected service's state history, with what set it (a check or a person)."""

incident_tasks = Table(
    "incident_tasks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, nullable=False),
    Column("service", String(100), nullable=True),
    Column("position", Integer, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("title", Text, nullable=False),
    Column("role", String(100), nullable=True),
    Column("status", String(8), nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("updated_by", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Index(None, "incident_id"),
)
"""Tasks of an incident (the affected services' procedure steps): todo, doing, done, skipped."""

incident_timeline = Table(
    "incident_timeline",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Index(None, "incident_id", "at"),
)
"""Everything that happened during an incident, with who or what did it."""

incident_reports = Table(
    "incident_reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("language", String(2), nullable=False),
    Column("body", Text, nullable=False),
    Column("path", Text, nullable=True),
    Index(None, "incident_id"),
)
"""Progress and final reports as they were sent or written."""

runbook_runs = Table(
    "runbook_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scenario", String(100), nullable=False),
    Column("incident_id", Id, nullable=True),
    Column("parameters", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("next_step", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("started_by", String(200), nullable=False),
    Column("exercise", Boolean, nullable=False, default=False, server_default=false()),
    Index(None, "scenario", "incident_id"),
)
"""Runbook runs: ``next_step`` is where a stopped run resumes (0-based)."""

runbook_steps = Table(
    "runbook_steps",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("title", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("message", Text, nullable=False),
    Column("output", Text, nullable=True),
    Column("by", String(200), nullable=False),
    Index(None, "run_id"),
)
"""Each attempt of each runbook step, with its timing and output (a resumed step has two)."""

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job", String(150), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("trigger", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("deadline", UtcDateTime, nullable=False),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("figures", JSON, nullable=True),
    Column("retryable", Boolean, nullable=True),
    UniqueConstraint("job", "due_at", "attempt"),
    Index(None, "job", "started_at"),
    Index(None, "status"),
    Index(None, "job", "status", "finished_at"),
)
"""Every run of a scheduled job (``backup:<source>``, ``drill:<service>``…). A run is
claimed by inserting its row: the unique (job, due_at, attempt) makes sure that two
services sharing the state never run the same time slot twice. ``status`` is running, ok,
failed, timeout, cancelled or lost (its process vanished past ``deadline``)."""

service_instances = Table(
    "service_instances",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(40), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("beat_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime, nullable=True),
    Column("role", String(10), nullable=False),
    Column("details", JSON, nullable=False),
    Index(None, "beat_at"),
)
"""Each `reprise serve` process: its last heartbeat (every few seconds), whether it leads,
its scheduling lag and running jobs; ``stopped_at`` when it stopped cleanly."""

leases = Table(
    "leases",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
"""Who leads (``name`` = leader): the holder renews ``expires_at`` well before it passes;
another service may take the lease only once it has. Times are the database server's, so
that hosts with skewed clocks agree."""

audits = Table(
    "audits",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("result", String(16), nullable=False),
    Column("quick", Boolean, nullable=False),
    Column("services", JSON, nullable=False),
    Column("items", JSON, nullable=False),
    Column("language", String(2), nullable=False),
    Column("by", String(200), nullable=False),
    Column("report", Text, nullable=True),
    Index(None, "started_at"),
)
"""Compliance audits (`reprise audit`): every item measured against its objective;
``result`` is compliant, not_compliant or error (it could not run); ``report`` the Markdown."""

web_users = Table(
    "web_users",
    metadata,
    Column("login", String(100), primary_key=True),
    Column("password_hash", String(300), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("last_login_at", UtcDateTime, nullable=True),
    Column("language", String(2), nullable=True),
    Column("signed_out_at", UtcDateTime, nullable=True),
)
"""Passwords of the plan's members who sign in to the web (``login`` in the plan; the
role, hence the permission, always comes from the plan). ``password_hash`` is argon2id;
``failures`` counts wrong passwords in a row, ``locked_until`` is the lockout they earned;
``language`` the pages' language the person chose (None: the plan's); ``signed_out_at``
ends every session begun before it (signing out ends the copies of a cookie too)."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("permission", String(10), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)
"""API tokens (`reprise token create`): only the SHA-256 of the token is kept (a token is
256 random bits, so a slow hash adds nothing); ``prefix`` tells them apart in listings."""

web_secrets = Table(
    "web_secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
"""Keys the web signs with (session cookies, acknowledgement links), made at first use and
shared by every service on a shared state."""

heartbeat_pings = Table(
    "heartbeat_pings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("service", String(100), nullable=False),
    Column("check_name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("remote", String(100), nullable=True),
    Column("body", Text, nullable=True),
    Index(None, "service", "check_name", "at"),
)
"""Pings of heartbeat checks (``/ping/<token>``): ``kind`` is success, start or fail;
``body`` the first bytes the job sent (its log tail), never interpreted."""

job_requests = Table(
    "job_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("job", String(150), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("taken_at", UtcDateTime, nullable=True),
    Column("taken_by", String(200), nullable=True),
    Index(None, "taken_at"),
)
"""Runs asked for from the web or the API ("back up now"): the leading service takes each
at its next tick and runs it as a manual run of the job."""
