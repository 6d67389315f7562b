"""The service: its instances' heartbeats, and whether a failed job run may pass on retry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("retryable", sa.Boolean, nullable=True))
    op.create_table(
        "service_instances",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("beat_at", UtcDateTime, nullable=False),
        sa.Column("stopped_at", UtcDateTime, nullable=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_instances"),
    )
    op.create_index("ix_service_instances_beat_at", "service_instances", ["beat_at"])


def downgrade() -> None:
    op.drop_index("ix_service_instances_beat_at", "service_instances")
    op.drop_table("service_instances")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("retryable")
