"""Monitoring: raw check results and their roll-ups, alerts, notification deliveries and
silences.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("check_name", sa.String(200), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("latency", sa.Float, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_check_results_service_check_name_at", "check_results", ["service", "check_name", "at"]
    )
    op.create_index("ix_check_results_hour", "check_results", ["hour"])
    op.create_table(
        "check_rollups",
        sa.Column("service", sa.String(100), primary_key=True),
        sa.Column("check_name", sa.String(200), primary_key=True),
        sa.Column("period", sa.String(5), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("up", sa.Integer, nullable=False),
        sa.Column("degraded", sa.Integer, nullable=False),
        sa.Column("down", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_max", sa.Float, nullable=True),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("root", sa.String(100), nullable=True),
        sa.Column("notified_at", UtcDateTime, nullable=True),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("next_at", UtcDateTime, nullable=True),
        sa.Column("digest_due", UtcDateTime, nullable=True),
        sa.Column("acked_at", UtcDateTime, nullable=True),
        sa.Column("acked_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("roles", sa.JSON, nullable=False),
    )
    op.create_index("ix_alerts_service_resolved_at", "alerts", ["service", "resolved_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("contact", sa.String(300), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_deliveries_at", "deliveries", ["at"])
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("starts_at", UtcDateTime, nullable=False),
        sa.Column("ends_at", UtcDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])


def downgrade() -> None:
    for table in ("silences", "deliveries", "alerts", "check_rollups", "check_results"):
        op.drop_table(table)
