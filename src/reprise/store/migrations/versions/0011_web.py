"""The web: members' passwords, API tokens, signing keys, heartbeat pings, runs asked for.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", UtcDateTime, nullable=True),
        sa.Column("last_login_at", UtcDateTime, nullable=True),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("signed_out_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("login", name="pk_web_users"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("permission", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("last_used_at", UtcDateTime, nullable=True),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "web_secrets",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_web_secrets"),
    )
    op.create_table(
        "heartbeat_pings",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("check_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("remote", sa.String(100), nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_heartbeat_pings"),
    )
    op.create_index(
        "ix_heartbeat_pings_service_check_name_at",
        "heartbeat_pings",
        ["service", "check_name", "at"],
    )
    op.create_table(
        "job_requests",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("job", sa.String(150), nullable=False),
        sa.Column("requested_at", UtcDateTime, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("taken_at", UtcDateTime, nullable=True),
        sa.Column("taken_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_job_requests"),
    )
    op.create_index("ix_job_requests_taken_at", "job_requests", ["taken_at"])
    # /metrics counts runs per job and status on every scrape
    op.create_index("ix_jobs_job_status_finished_at", "jobs", ["job", "status", "finished_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_job_status_finished_at", "jobs")
    op.drop_index("ix_job_requests_taken_at", "job_requests")
    op.drop_table("job_requests")
    op.drop_index("ix_heartbeat_pings_service_check_name_at", "heartbeat_pings")
    op.drop_table("heartbeat_pings")
    op.drop_table("web_secrets")
    op.drop_table("api_tokens")
    op.drop_table("web_users")
