"""Compliance: audits, and exercises told apart from real incidents and runbook runs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("exercise", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("runbook_runs") as batch:
        batch.add_column(
            sa.Column("exercise", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "audits",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("quick", sa.Boolean, nullable=False),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("report", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audits"),
    )
    op.create_index("ix_audits_started_at", "audits", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_audits_started_at", "audits")
    op.drop_table("audits")
    with op.batch_alter_table("runbook_runs") as batch:
        batch.drop_column("exercise")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("exercise")
