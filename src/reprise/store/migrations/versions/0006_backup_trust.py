"""Backup trust: catalog rows marked with a problem, and the accepted recipients of each
repository.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reprise.store.tables import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backups") as batch:
        batch.add_column(sa.Column("problem", sa.String(20), nullable=True))
        batch.add_column(sa.Column("problem_detail", sa.Text, nullable=True))
        batch.add_column(sa.Column("problem_since", UtcDateTime, nullable=True))
    op.create_table(
        "accepted_recipients",
        sa.Column("repository", sa.String(100), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("accepted_at", UtcDateTime, nullable=False),
        sa.Column("accepted_by", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("repository", name="pk_accepted_recipients"),
    )


def downgrade() -> None:
    op.drop_table("accepted_recipients")
    with op.batch_alter_table("backups") as batch:
        batch.drop_column("problem_since")
        batch.drop_column("problem_detail")
        batch.drop_column("problem")
