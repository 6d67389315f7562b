"""Restore drills: which backup, how long each step took, the RTO achieved, the result.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("repository", sa.String(100), nullable=False),
        sa.Column("backup_id", sa.String(40), nullable=False),
        sa.Column("backup_time", UtcDateTime, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("rto_seconds", sa.Float, nullable=True),
        sa.Column("objective_seconds", sa.Float, nullable=True),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("report", sa.Text, nullable=True),
    )
    op.create_index("ix_drills_service_started_at", "drills", ["service", "started_at"])


def downgrade() -> None:
    op.drop_table("drills")
