"""Backup catalog: complete backups and their parts, with verification times.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backups",
        sa.Column("repository", sa.String(100), nullable=False),
        sa.Column("backup_id", sa.String(40), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=False),
        sa.Column("plain_size", sa.BigInteger, nullable=False),
        sa.Column("stored_size", sa.BigInteger, nullable=False),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("verified_at", UtcDateTime, nullable=True),
        sa.Column("verify_status", sa.String(20), nullable=True),
        sa.Column("verify_detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("repository", "backup_id", name="pk_backups"),
    )
    op.create_index("ix_backups_service_finished_at", "backups", ["service", "finished_at"])
    op.create_index("ix_backups_source_finished_at", "backups", ["source", "finished_at"])
    op.create_table(
        "backup_parts",
        sa.Column("repository", sa.String(100), nullable=False),
        sa.Column("backup_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("stored_size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("verified_at", UtcDateTime, nullable=True),
        sa.Column("deep_verified_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("repository", "backup_id", "name", name="pk_backup_parts"),
    )
    op.create_index("ix_backup_parts_deep_verified_at", "backup_parts", ["deep_verified_at"])
    op.create_index("ix_backup_parts_verified_at", "backup_parts", ["verified_at"])


def downgrade() -> None:
    op.drop_table("backup_parts")
    op.drop_table("backups")
